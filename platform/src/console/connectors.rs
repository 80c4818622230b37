//! Departments' connectors: the list with each one's deliveries counted, making one (admins:
//! its signing secret and inbound key shown once), disabling, enabling and rotating it
//! (admins), and the dead letters, which operators replay one at a time or all of a
//! department's. Every change is audited by the store.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use maud::{Markup, html};

use super::{PageAnswer, page};
use crate::html::{csrf_field, table, text, url_component};
use crate::http::extract::{field, role};
use crate::http::{AppState, Operator, OperatorForm, PageFailure};
use crate::store::{ConnectorSecrets, Role, Session, StoreError};

/// Dead letters listed per department.
const DEAD_LISTED: i64 = 200;

/// `GET /console/connectors` (operators).
pub(super) async fn show(
    State(state): State<AppState>,
    operator: Operator<role::Operator>,
) -> PageAnswer {
    render(&state, &operator, None).await
}

async fn render(state: &AppState, session: &Session, notice: Option<Markup>) -> PageAnswer {
    let store = state.store();
    let connectors = store.connectors().await?;
    let admin = session.role >= Role::Admin;
    let rows: Vec<Vec<Markup>> = connectors
        .iter()
        .map(|c| {
            let base = format!("/console/connectors/{}", url_component(&c.department));
            vec![
                text(&c.department),
                html! { code { (c.url) } },
                text(if c.enabled { "启用 enabled" } else { "停用 disabled" }),
                text(c.pending.to_string()),
                text(c.delivered.to_string()),
                text(c.dead.to_string()),
                html! {
                    @if admin {
                        form class="inline" method="post" action={ (base) (if c.enabled { "/disable" } else { "/enable" }) } {
                            (csrf_field(&session.csrf))
                            button type="submit" { @if c.enabled { "停用 Disable" } @else { "启用 Enable" } }
                        }
                        form class="inline" method="post" action={ (base) "/url" } {
                            (csrf_field(&session.csrf))
                            input name="url" size="30" maxlength="2000" value=(c.url) required;
                            button type="submit" { "改地址 Change URL" }
                        }
                        form class="inline" method="post" action={ (base) "/rotate" } {
                            (csrf_field(&session.csrf))
                            button type="submit" { "更换密钥 Rotate secrets" }
                        }
                    }
                },
            ]
        })
        .collect();
    let mut dead_sections = Vec::new();
    for c in connectors.iter().filter(|c| c.dead > 0) {
        let dead = store
            .deliveries(&c.department, Some("dead"), DEAD_LISTED)
            .await?;
        dead_sections.push(dead_letters(session, &c.department, &dead));
    }
    let body = html! {
        @if let Some(notice) = notice { (notice) }
        @if admin {
            form method="post" action="/console/connectors" id="connector-form" {
                (csrf_field(&session.csrf))
                "部门 department " input name="department" maxlength="64" required;
                " 地址 URL " input name="url" size="50" maxlength="2000" placeholder="https://…" required;
                " "
                button type="submit" { "添加连接 Add connector" }
            }
            p { "地址须为 https://（仅本机 127.0.0.1 / localhost 可用 http://）。URL must be https:// (http:// only to this machine)." }
        }
        (table(
            "connectors",
            &["部门 Department", "地址 URL", "状态 State", "待发 Pending", "已送达 Delivered", "死信 Dead", ""],
            &rows,
        ))
        h2 { "死信 Dead letters" }
        @if dead_sections.is_empty() { p id="no-dead" { "无 None" } }
        @for section in dead_sections { (section) }
    };
    Ok(page("部门连接 Department connectors", session, body))
}

/// One department's dead letters with their replay buttons.
fn dead_letters(session: &Session, department: &str, dead: &[crate::store::Delivery]) -> Markup {
    let action = format!("/console/connectors/{}/replay", url_component(department));
    let rows: Vec<Vec<Markup>> = dead
        .iter()
        .map(|d| {
            vec![
                html! { code { (d.id) } },
                text(&d.application_no),
                text(d.attempts.to_string()),
                text(d.last_error.as_deref().unwrap_or("")),
                text(&d.created_at),
                html! {
                    form class="inline" method="post" action=(action) {
                        (csrf_field(&session.csrf))
                        input type="hidden" name="delivery" value=(d.id);
                        button type="submit" class="replay" { "重发 Replay" }
                    }
                },
            ]
        })
        .collect();
    html! {
        h3 { (department) }
        form method="post" action=(action) {
            (csrf_field(&session.csrf))
            button type="submit" class="replay-all" { "全部重发 Replay all" }
        }
        (table(
            &format!("dead-{department}"),
            &["投递 Delivery", "办件 Application", "次数 Attempts", "最后错误 Last error", "创建 Queued", ""],
            &rows,
        ))
    }
}

/// The notice that shows a connector's secrets once.
fn secrets_notice(department: &str, secrets: &ConnectorSecrets) -> Markup {
    html! {
        div class="notice" id="connector-secrets" {
            "部门 " (department) " 的密钥只显示这一次。These secrets of " (department) " are shown once." br;
            "签名密钥 Signing secret (HMAC-SHA256): " code id="signing-secret" { (secrets.signing_secret.as_str()) } br;
            "接入密钥 Inbound API key: " code id="inbound-key" { (secrets.inbound_key.as_str()) }
        }
    }
}

/// A store refusal as the console shows it.
fn refused(session: &Session, e: StoreError) -> PageFailure {
    match e {
        StoreError::ConnectorUrl(_)
        | StoreError::ConnectorExists
        | StoreError::InvalidDepartment
        | StoreError::UnknownConnector => {
            PageFailure::refused(StatusCode::BAD_REQUEST, session, e.to_string())
        }
        other => PageFailure::from(other),
    }
}

/// `POST /console/connectors`: makes a department's connector (admins).
pub(super) async fn add(
    State(state): State<AppState>,
    OperatorForm { operator, fields }: OperatorForm<role::Admin>,
) -> PageAnswer {
    let department = field(&fields, "department").trim();
    let url = field(&fields, "url").trim();
    let catalog = state.current_catalog().await.map_err(|_| {
        PageFailure::refused(
            StatusCode::SERVICE_UNAVAILABLE,
            &operator,
            "no catalog is published",
        )
    })?;
    if !catalog.matters.iter().any(|m| m.department == department) {
        return Err(PageFailure::refused(
            StatusCode::BAD_REQUEST,
            &operator,
            format!("department: no matter of the current catalog belongs to `{department}`"),
        ));
    }
    let secrets = state
        .store()
        .add_connector(&operator.operator, department, url)
        .await
        .map_err(|e| refused(&operator, e))?;
    render(
        &state,
        &operator,
        Some(secrets_notice(department, &secrets)),
    )
    .await
}

/// `POST /console/connectors/{department}/{verb}`: enable, disable, url, rotate (admins),
/// replay (operators: one dead letter, `delivery`, or all of the department's).
pub(super) async fn change(
    State(state): State<AppState>,
    Path((department, verb)): Path<(String, String)>,
    OperatorForm { operator, fields }: OperatorForm<role::Operator>,
) -> PageAnswer {
    let store = state.store();
    let admin_only = || {
        PageFailure::refused(
            StatusCode::FORBIDDEN,
            &operator,
            "this needs the admin role",
        )
    };
    let notice = match verb.as_str() {
        "enable" | "disable" => {
            if operator.role < Role::Admin {
                return Err(admin_only());
            }
            store
                .set_connector_enabled(&operator.operator, &department, verb == "enable")
                .await
                .map_err(|e| refused(&operator, e))?;
            None
        }
        "url" => {
            if operator.role < Role::Admin {
                return Err(admin_only());
            }
            store
                .set_connector_url(
                    &operator.operator,
                    &department,
                    field(&fields, "url").trim(),
                )
                .await
                .map_err(|e| refused(&operator, e))?;
            None
        }
        "rotate" => {
            if operator.role < Role::Admin {
                return Err(admin_only());
            }
            let secrets = store
                .rotate_connector(&operator.operator, &department)
                .await
                .map_err(|e| refused(&operator, e))?;
            Some(secrets_notice(&department, &secrets))
        }
        "replay" => {
            let delivery = field(&fields, "delivery").trim();
            let delivery = (!delivery.is_empty()).then_some(delivery);
            let replayed = store
                .replay_dead(&operator.operator, &department, delivery)
                .await?;
            Some(html! {
                div class="notice" id="replayed" { "已重新排队 Queued again: " (replayed) }
            })
        }
        _ => {
            return Err(PageFailure::refused(
                StatusCode::NOT_FOUND,
                &operator,
                "no such action",
            ));
        }
    };
    render(&state, &operator, notice).await
}
