//! One terminal: its devices, versions, tags, trust (see [`super::trust`]), remote commands
//! (and sending one) and events.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use kiosk_protocol::{CommandKind, Heartbeat};
use maud::{Markup, html};

use super::fleet::{catalog_cell, health_badge, heartbeat_of, reported_catalog, state_badge};
use super::tokens::new_token;
use super::{PageAnswer, ago, page, trust};
use crate::html::{csrf_field, table, text, url_component};
use crate::http::error::see_other;
use crate::http::extract::{field, role};
use crate::http::{AppState, Operator, OperatorForm, PageFailure};
use crate::store::{
    CommandRow, EventRow, FleetRow, Role, Session, StoreError, random_hex, rfc3339_at, token_hash,
    token_id, unix_now,
};

/// `GET /console/terminals/{id}`.
pub(super) async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    operator: Operator,
) -> PageAnswer {
    render(&state, &operator, &id, None).await
}

/// Terminal `id`'s page, with `notice` (a new token) on top.
pub(super) async fn render(
    state: &AppState,
    operator: &Session,
    id: &str,
    notice: Option<Markup>,
) -> PageAnswer {
    let store = state.store();
    let terminal = store
        .terminal(id)
        .await?
        .ok_or_else(|| PageFailure::refused(StatusCode::NOT_FOUND, operator, "no such terminal"))?;
    let events = store.events(id).await?;
    let commands = store.commands_of(id).await?;
    let tags = store.terminal_tags(id).await?;
    let alarms = store.open_alarms(Some(id)).await?;
    let catalog_target = store.catalog_target(id).await?;
    let now = unix_now();
    let online = terminal
        .last_seen
        .is_some_and(|t| now - t <= state.offline_after());
    let heartbeat = heartbeat_of(terminal.heartbeat.as_deref());
    let body = html! {
        @if let Some(notice) = notice { (notice) }
        (summary(&terminal, heartbeat.as_ref(), online, now))
        p id="tags" {
            "标签 Tags: "
            @if tags.is_empty() { "—" }
            @for (i, tag) in tags.iter().enumerate() {
                @if i > 0 { " " }
                code class="tag" { (tag) }
            }
        }
        (trust::section(&terminal, &alarms, operator))
        h2 { "设备 Devices" }
        (devices(heartbeat.as_ref()))
        h2 { "版本 Versions" }
        (versions(heartbeat.as_ref()))
        p id="catalog" {
            "目录 Catalog: "
            (catalog_cell(reported_catalog(heartbeat.as_ref()), catalog_target.as_ref(), now))
            @if let Some(target) = &catalog_target {
                " · 应运行 should run " code { (target.version) }
            }
        }
        h2 { "远程指令 Remote commands" }
        @if operator.role >= Role::Operator { (command_form(&terminal.id, operator)) }
        (command_table(&commands))
        h2 { "事件 Events" }
        (event_table(&events))
    };
    Ok(page(&format!("终端 {}", terminal.id), operator, body))
}

/// The line under the title: online, site, serial, enrollment, last heartbeat, health.
fn summary(t: &FleetRow, heartbeat: Option<&Heartbeat>, online: bool, now: i64) -> Markup {
    html! {
        p {
            (state_badge(online))
            " · 站点 site " (t.site.as_deref().unwrap_or("—"))
            " · 序列号 serial " code { (t.serial) }
            " · 注册 enrolled " (t.enrolled_at)
            " · 最后心跳 last heartbeat " (ago(now, t.last_seen))
            " · 健康 " (health_badge(t.health.as_deref()))
            @if let Some(h) = heartbeat {
                " · 运行 uptime " (h.uptime_secs) " s · 待发 outbox " (h.outbox_depth)
            }
        }
    }
}

fn devices(heartbeat: Option<&Heartbeat>) -> Markup {
    let rows: Vec<Vec<Markup>> = heartbeat
        .map(|h| {
            h.devices
                .iter()
                .map(|d| {
                    vec![
                        text(&d.device),
                        html! { span class=(d.state.as_str()) { (d.state.as_str()) } },
                        text(d.reasons.join(", ")),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    table(
        "devices",
        &["设备 Device", "状态 State", "原因 Reasons"],
        &rows,
    )
}

fn versions(heartbeat: Option<&Heartbeat>) -> Markup {
    let rows: Vec<Vec<Markup>> = heartbeat
        .map(|h| {
            h.versions
                .iter()
                .map(|(part, version)| vec![text(part), text(version)])
                .collect()
        })
        .unwrap_or_default();
    table("versions", &["部件 Part", "版本 Version"], &rows)
}

fn command_form(terminal: &str, session: &Session) -> Markup {
    html! {
        form method="post" action={ "/console/terminals/" (url_component(terminal)) "/commands" } id="command-form" {
            (csrf_field(&session.csrf))
            select name="kind" id="command-kind" {
                @for kind in CommandKind::ALL {
                    option value=(kind.as_str()) { (kind.as_str()) }
                }
            }
            " "
            button type="submit" id="send-command" { "发送指令 Send command" }
        }
    }
}

fn command_table(commands: &[CommandRow]) -> Markup {
    let rows: Vec<Vec<Markup>> = commands
        .iter()
        .map(|c| {
            vec![
                text(c.id.to_string()),
                text(&c.kind),
                html! { span class="cmd-state" { (c.state) } },
                text(&c.created_by),
                text(&c.created_at),
                html! { span class="cmd-result" { (c.result.as_deref().unwrap_or("")) } },
            ]
        })
        .collect();
    table(
        "commands",
        &[
            "#",
            "指令 Kind",
            "状态 State",
            "发起 By",
            "时间 At",
            "结果 Result",
        ],
        &rows,
    )
}

fn event_table(events: &[EventRow]) -> Markup {
    let rows: Vec<Vec<Markup>> = events
        .iter()
        .map(|e| vec![text(rfc3339_at(e.at)), text(&e.kind), text(&e.detail)])
        .collect();
    table("events", &["时间 At", "类型 Kind", "内容 Detail"], &rows)
}

/// How long a re-key token stays usable: a technician at the device the same day.
const REKEY_TOKEN_SECS: i64 = 24 * 3600;

/// `POST /console/terminals/{id}/rekey-token`: a one-time token that re-keys this terminal
/// and nothing else, shown once (operators).
pub(super) async fn rekey_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
    OperatorForm { operator, .. }: OperatorForm<role::Operator>,
) -> PageAnswer {
    let token = random_hex(24)?;
    let expires_at = unix_now() + REKEY_TOKEN_SECS;
    let store = state.store();
    let site = match store.create_rekey_token(&token, &id, expires_at).await {
        Ok(site) => site,
        Err(StoreError::UnknownTerminal) => return Err(trust::no_such_terminal(&operator)),
        Err(e) => return Err(e.into()),
    };
    let detail = format!("token {} re-keys {id}", token_id(&token_hash(&token)));
    let _ = store
        .audit(&operator.operator, "token_rekey", &detail)
        .await;
    let created = new_token(&state, &token, site.as_deref(), expires_at);
    render(&state, &operator, &id, Some(created)).await
}

/// `POST /console/terminals/{id}/commands`: queues a remote command (operators).
pub(super) async fn send_command(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: OperatorForm<role::Operator>,
) -> PageAnswer {
    let operator = &form.operator;
    let Some(kind) = CommandKind::parse(field(&form.fields, "kind")) else {
        return Err(PageFailure::refused(
            StatusCode::BAD_REQUEST,
            operator,
            "unknown command kind",
        ));
    };
    let store = state.store();
    match store.queue_command(&id, kind, &operator.operator).await {
        Ok(command) => {
            let _ = store
                .audit(
                    &operator.operator,
                    "command",
                    &format!("{} #{command} to {id}", kind.as_str()),
                )
                .await;
            Ok(see_other(&format!(
                "/console/terminals/{}",
                url_component(&id)
            )))
        }
        Err(StoreError::UnknownTerminal) => Err(PageFailure::refused(
            StatusCode::NOT_FOUND,
            operator,
            "no such terminal",
        )),
        Err(e) => Err(e.into()),
    }
}
