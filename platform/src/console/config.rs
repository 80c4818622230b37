//! Terminal configuration layers (global ← site ← terminal, merged key by key): shown to
//! everyone, edited by admins.

use axum::extract::State;
use axum::http::StatusCode;
use maud::{Markup, html};

use super::{PageAnswer, page, with_status};
use crate::html::{Notice, csrf_field, notice};
use crate::http::extract::{field, role};
use crate::http::{AppState, Operator, OperatorForm, PageFailure};
use crate::store::{ConfigScope, Role, Session};

/// `GET /console/config`.
pub(super) async fn show(State(state): State<AppState>, operator: Operator) -> PageAnswer {
    render(&state, &operator, None).await
}

async fn render(state: &AppState, session: &Session, notice: Option<Markup>) -> PageAnswer {
    let layers = state.store().config_rows().await?;
    let admin = session.role >= Role::Admin;
    let body = html! {
        @if let Some(notice) = notice { (notice) }
        p { "终端配置 = 全局 ← 站点 ← 终端，逐键合并。A terminal's configuration is global, overlaid by its site's, then its own, key by key." }
        @for layer in &layers {
            h2 { (layer.scope) " " (layer.key) " " small { "(" (layer.updated_at) ")" } }
            form method="post" action="/console/config" {
                (csrf_field(&session.csrf))
                input type="hidden" name="scope" value=(layer.scope);
                input type="hidden" name="key" value=(layer.key);
                textarea name="body" rows="5" disabled[!admin] { (layer.body) }
                @if admin { button type="submit" { "保存 Save" } }
            }
        }
        @if admin {
            h2 { "新配置层 New layer" }
            form method="post" action="/console/config" {
                (csrf_field(&session.csrf))
                select name="scope" { option { "global" } option { "site" } option { "terminal" } }
                " 站点或终端 site or terminal "
                input name="key" maxlength="64";
                textarea name="body" rows="5" { "{}" }
                button type="submit" { "保存 Save" }
            }
        }
    };
    Ok(page("配置 Configuration", session, body))
}

/// `POST /console/config`: sets one layer to a JSON object (admins).
pub(super) async fn save(
    State(state): State<AppState>,
    OperatorForm { operator, fields }: OperatorForm<role::Admin>,
) -> PageAnswer {
    let key = field(&fields, "key").trim().to_owned();
    let scope = match field(&fields, "scope") {
        "global" => ConfigScope::Global,
        "site" if (1..=64).contains(&key.chars().count()) => ConfigScope::Site(key.clone()),
        "terminal" if (1..=64).contains(&key.len()) => ConfigScope::Terminal(key.clone()),
        _ => {
            return Err(PageFailure::refused(
                StatusCode::BAD_REQUEST,
                &operator,
                "scope is global, or site/terminal with a name of 1 to 64 characters",
            ));
        }
    };
    let value: serde_json::Value = match serde_json::from_str(field(&fields, "body")) {
        Ok(v @ serde_json::Value::Object(_)) => v,
        _ => {
            let why = notice(
                Notice::Error,
                "配置必须是 JSON 对象 The layer must be a JSON object",
            );
            let shown = render(&state, &operator, Some(why)).await?;
            return Ok(with_status(StatusCode::UNPROCESSABLE_ENTITY, shown));
        }
    };
    let store = state.store();
    store.set_config(&scope, &value).await?;
    let _ = store
        .audit(
            &operator.operator,
            "config_set",
            &format!("{} {key}: {value}", field(&fields, "scope")),
        )
        .await;
    let saved = notice(Notice::Done, "已保存 Saved");
    render(&state, &operator, Some(saved)).await
}
