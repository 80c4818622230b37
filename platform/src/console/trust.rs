//! Trust in one terminal: its open alarms (a refused takeover) and clearing them (operators),
//! and revoking or restoring it (admins, with a reason). Every change is audited. (The token
//! that re-keys a terminal is made on its page, [`super::terminal`].)

use axum::extract::{Path, State};
use axum::http::StatusCode;
use maud::{Markup, html};

use super::PageAnswer;
use crate::html::{csrf_field, table, text, url_component};
use crate::http::error::see_other;
use crate::http::extract::{field, role};
use crate::http::{AppState, OperatorForm, PageFailure};
use crate::store::{Alarm, FleetRow, Role, Session, StoreError};

/// The open alarms, each linking to its terminal and, for operators, with a clear button.
pub(super) fn alarm_table(alarms: &[Alarm], session: &Session) -> Markup {
    let rows: Vec<Vec<Markup>> = alarms
        .iter()
        .map(|a| {
            vec![
                html! { a href={ "/console/terminals/" (url_component(&a.terminal_id)) } { (a.terminal_id) } },
                text(&a.kind),
                text(&a.detail),
                text(format!("{} … {} ({}×)", a.raised_at, a.last_at, a.occurrences)),
                html! {
                    @if session.role >= Role::Operator {
                        form class="inline" method="post" action={ "/console/alarms/" (a.id) "/clear" } {
                            (csrf_field(&session.csrf))
                            button type="submit" class="clear-alarm" { "清除 Clear" }
                        }
                    }
                },
            ]
        })
        .collect();
    table(
        "alarms",
        &["终端 Terminal", "类型 Kind", "内容 Detail", "时间 When", ""],
        &rows,
    )
}

/// The terminal page's trust section: revocation state, alarms, and the forms the
/// operator's role allows.
pub(super) fn section(t: &FleetRow, alarms: &[Alarm], session: &Session) -> Markup {
    let base = format!("/console/terminals/{}", url_component(&t.id));
    html! {
        h2 { "信任 Trust" }
        @if let Some((at, reason)) = &t.revoked {
            p class="error" id="revoked" { "已吊销 Revoked " (at) ": " (reason) }
        }
        @if !alarms.is_empty() { (alarm_table(alarms, session)) }
        @if session.role >= Role::Operator {
            form method="post" action={ (base) "/rekey-token" } id="rekey-form" {
                (csrf_field(&session.csrf))
                button type="submit" { "生成重新注册令牌 Token to re-key this terminal" }
            }
        }
        @if session.role >= Role::Admin {
            @if t.revoked.is_some() {
                form method="post" action={ (base) "/restore" } id="restore-form" {
                    (csrf_field(&session.csrf))
                    button type="submit" { "恢复 Restore" }
                }
            } @else {
                form method="post" action={ (base) "/revoke" } id="revoke-form" {
                    (csrf_field(&session.csrf))
                    "原因 reason " input name="reason" maxlength="200" required;
                    " "
                    button type="submit" { "吊销 Revoke" }
                }
            }
        }
    }
}

/// `POST /console/terminals/{id}/revoke` (admins, reason required).
pub(super) async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { operator, fields }: OperatorForm<role::Admin>,
) -> PageAnswer {
    let reason = field(&fields, "reason").trim();
    if reason.is_empty() || reason.chars().count() > 200 || reason.chars().any(char::is_control) {
        return Err(PageFailure::refused(
            StatusCode::BAD_REQUEST,
            &operator,
            "reason: 1 to 200 characters",
        ));
    }
    set_revoked(&state, &operator, &id, Some(reason)).await
}

/// `POST /console/terminals/{id}/restore` (admins).
pub(super) async fn restore(
    State(state): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { operator, .. }: OperatorForm<role::Admin>,
) -> PageAnswer {
    set_revoked(&state, &operator, &id, None).await
}

async fn set_revoked(
    state: &AppState,
    session: &Session,
    id: &str,
    reason: Option<&str>,
) -> PageAnswer {
    match state
        .store()
        .set_revoked(id, reason, &session.operator)
        .await
    {
        Ok(()) => Ok(see_other(&format!(
            "/console/terminals/{}",
            url_component(id)
        ))),
        Err(StoreError::UnknownTerminal) => Err(no_such_terminal(session)),
        Err(e) => Err(e.into()),
    }
}

/// `POST /console/alarms/{id}/clear` (operators): back to the alarm's terminal.
pub(super) async fn clear_alarm(
    State(state): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { operator, .. }: OperatorForm<role::Operator>,
) -> PageAnswer {
    let no_alarm = || PageFailure::refused(StatusCode::NOT_FOUND, &operator, "no such open alarm");
    let number = id.parse::<i64>().map_err(|_| no_alarm())?;
    let store = state.store();
    let alarm = store
        .clear_alarm(number, &operator.operator)
        .await?
        .ok_or_else(no_alarm)?;
    let _ = store
        .audit(
            &operator.operator,
            "alarm_clear",
            &format!(
                "#{number} {} on {}: {}",
                alarm.kind, alarm.terminal_id, alarm.detail
            ),
        )
        .await;
    Ok(see_other(&format!(
        "/console/terminals/{}",
        url_component(&alarm.terminal_id)
    )))
}

pub(super) fn no_such_terminal(session: &Session) -> PageFailure {
    PageFailure::refused(StatusCode::NOT_FOUND, session, "no such terminal")
}
