//! Enrollment tokens: the list (never the tokens themselves), and making one (operators), shown
//! once with the payload a new terminal's QR code carries.

use axum::extract::State;
use axum::http::StatusCode;
use kiosk_protocol::EnrollmentPayload;
use maud::{Markup, html};

use super::{PageAnswer, page};
use crate::html::{csrf_field, table, text};
use crate::http::extract::{field, role};
use crate::http::{AppState, Operator, OperatorForm, PageFailure};
use crate::store::{Role, Session, random_hex, rfc3339_at, token_hash, token_id, unix_now};

/// `GET /console/tokens`.
pub(super) async fn show(State(state): State<AppState>, operator: Operator) -> PageAnswer {
    render(&state, &operator, None).await
}

async fn render(state: &AppState, session: &Session, created: Option<Markup>) -> PageAnswer {
    let tokens = state.store().tokens().await?;
    let rows: Vec<Vec<Markup>> = tokens
        .iter()
        .map(|t| {
            vec![
                text(t.site.as_deref().unwrap_or("—")),
                text(&t.created_at),
                text(rfc3339_at(t.expires_at)),
                text(t.used_at.as_deref().unwrap_or("未使用 unused")),
                text(t.terminal_id.as_deref().unwrap_or("")),
                text(t.for_terminal.as_deref().unwrap_or("新终端 new device")),
                html! { code { (t.id) } },
            ]
        })
        .collect();
    let body = html! {
        @if let Some(created) = created { (created) }
        @if session.role >= Role::Operator {
            form method="post" action="/console/tokens" id="token-form" {
                (csrf_field(&session.csrf))
                "站点 site " input name="site" maxlength="64";
                " 有效期（小时）valid hours " input name="hours" value="24" size="4";
                " "
                button type="submit" { "生成令牌 Create token" }
            }
        }
        p { "令牌只显示一次，平台只保存其哈希。A token is shown once; the platform keeps only its hash." }
        (table(
            "tokens",
            &[
                "站点 Site",
                "创建 Created",
                "到期 Expires",
                "使用 Used",
                "终端 Terminal",
                "用于 Enrolls",
                "编号 Id",
            ],
            &rows,
        ))
    };
    Ok(page("注册令牌 Enrollment tokens", session, body))
}

/// `POST /console/tokens`: makes a token for `site`, valid `hours` (operators).
pub(super) async fn create(
    State(state): State<AppState>,
    OperatorForm { operator, fields }: OperatorForm<role::Operator>,
) -> PageAnswer {
    let site = field(&fields, "site").trim();
    let site = (!site.is_empty()).then_some(site);
    if site.is_some_and(|s| s.chars().count() > 64 || s.chars().any(char::is_control)) {
        return Err(PageFailure::refused(
            StatusCode::BAD_REQUEST,
            &operator,
            "site: at most 64 characters",
        ));
    }
    let hours: i64 = match field(&fields, "hours").trim().parse() {
        Ok(h) if (1..=24 * 90).contains(&h) => h,
        _ => {
            return Err(PageFailure::refused(
                StatusCode::BAD_REQUEST,
                &operator,
                "hours: 1 to 2160",
            ));
        }
    };
    let token = random_hex(24)?;
    let expires_at = unix_now() + hours * 3600;
    let store = state.store();
    store
        .create_enrollment_token(&token, site, expires_at)
        .await?;
    let _ = store
        .audit(
            &operator.operator,
            "token_create",
            &format!(
                "token {} for site {} for {hours} h",
                token_id(&token_hash(&token)),
                site.unwrap_or("—")
            ),
        )
        .await;
    let created = new_token(&state, &token, site, expires_at);
    render(&state, &operator, Some(created)).await
}

/// The notice that shows a new token once, with the payload its QR code carries.
pub(super) fn new_token(
    state: &AppState,
    token: &str,
    site: Option<&str>,
    expires_at: i64,
) -> Markup {
    let payload = EnrollmentPayload {
        platform: state.public_base().to_owned(),
        token: token.to_owned(),
        site: site.map(str::to_owned),
        expires_at: rfc3339_at(expires_at),
        tls_pin: state.tls_pin().map(str::to_owned),
    };
    let payload = serde_json::to_string(&payload).unwrap_or_default();
    html! {
        div class="notice" id="new-token" {
            "新令牌 New token: " code { (token) }
            " (编号 id " code { (token_id(&token_hash(token))) } ")" br;
            "注册内容 Enrollment payload (QR): " code { (payload) }
        }
    }
}
