//! The ops console (终端一体化管理平台): server-rendered pages for operations staff.
//!
//! Operators log in with a name and password (argon2 hashes, accounts made with
//! `kiosk-platform user add`); a session is a random token in an `HttpOnly`, `SameSite=Strict`
//! cookie, stored hashed. Every form carries the session's CSRF token, checked before anything
//! changes, and every change is written to the audit log. Roles: viewers read, operators also
//! send commands and create enrollment tokens, admins also publish catalogs and edit
//! configuration.

pub mod html;
mod rollouts;

use std::collections::HashMap;

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{DefaultBodyLimit, Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use kiosk_protocol::{Catalog, CommandKind, EnrollmentPayload, Heartbeat};

use crate::http::AppState;
use crate::store::{ConfigScope, Role, Session, rfc3339_at, token_hash, unix_now};
use html::{bar_chart, csrf_field, esc, page, table, url_component};

/// Cookie holding the session token.
pub const SESSION_COOKIE: &str = "lyb_console";
/// Cookie pairing the login form with its browser (login CSRF).
pub const LOGIN_COOKIE: &str = "lyb_login";
/// How long a session lasts.
pub const SESSION_SECS: i64 = 8 * 3600;
/// Largest form (a catalog pasted for publishing).
pub const MAX_FORM_BYTES: usize = 2 * 1024 * 1024;

/// The console's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(fleet))
        .route("/console/login", get(login_page).post(login))
        .route("/console/logout", post(logout))
        .route("/console/terminals/{id}", get(terminal_page))
        .route("/console/terminals/{id}/commands", post(send_command))
        .route("/console/tokens", get(tokens_page).post(create_token))
        .route("/console/catalog", get(catalog_page))
        .route("/console/catalog/publish", post(publish_catalog))
        .route("/console/catalog/activate", post(activate_catalog))
        .route("/console/config", get(config_page).post(save_config))
        .route("/console/stats", get(stats_page))
        .route("/console/audit", get(audit_page))
        .route("/console/rollouts", get(rollouts::list))
        .route("/console/rollouts/{id}", get(rollouts::detail))
        .route("/console/rollouts/{id}/pause", post(rollouts::pause))
        .route("/console/rollouts/{id}/resume", post(rollouts::resume))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
}

type Fields = HashMap<String, String>;

fn field<'a>(form: &'a Fields, name: &str) -> &'a str {
    form.get(name).map(String::as_str).unwrap_or("")
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn redirect(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response()
}

fn error_page(status: StatusCode, session: Option<&Session>, message: &str) -> Response {
    (
        status,
        Html(page(
            "出错了 Error",
            session,
            &format!("<p class=\"error\">{}</p>", esc(message)),
        )),
    )
        .into_response()
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "console failure");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        None,
        "the platform could not complete the request",
    )
}

fn cookie_header(state: &AppState, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The logged-in operator, or the answer to give instead (login page, or 403).
async fn require(state: &AppState, headers: &HeaderMap, min: Role) -> Result<Session, Response> {
    let Some(token) = cookie(headers, SESSION_COOKIE).filter(|t| t.len() == 64) else {
        return Err(redirect("/console/login"));
    };
    let session = state
        .store()
        .session(&token_hash(&token), unix_now())
        .await
        .map_err(internal)?
        .ok_or_else(|| redirect("/console/login"))?;
    if session.role < min {
        return Err(error_page(
            StatusCode::FORBIDDEN,
            Some(&session),
            &format!("this needs the {} role", min.as_str()),
        ));
    }
    Ok(session)
}

/// Like [`require`], for a form that changes something: also checks its CSRF token.
async fn require_form(
    state: &AppState,
    headers: &HeaderMap,
    form: &Result<Form<Fields>, FormRejection>,
    min: Role,
) -> Result<(Session, Fields), Response> {
    let session = require(state, headers, min).await?;
    let Ok(Form(fields)) = form else {
        return Err(error_page(
            StatusCode::BAD_REQUEST,
            Some(&session),
            "the form could not be read",
        ));
    };
    if !same(field(fields, "csrf"), &session.csrf) {
        return Err(error_page(
            StatusCode::FORBIDDEN,
            Some(&session),
            "the form is stale or forged (CSRF token mismatch): reload the page",
        ));
    }
    Ok((session, fields.clone()))
}

async fn login_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if require(&state, &headers, Role::Viewer).await.is_ok() {
        return redirect("/console");
    }
    login_form(&state, None)
}

fn login_form(state: &AppState, message: Option<&str>) -> Response {
    let nonce = match crate::store::random_hex(16) {
        Ok(n) => n,
        Err(e) => return internal(e),
    };
    let notice = message
        .map(|m| format!("<p class=\"error\">{}</p>", esc(m)))
        .unwrap_or_default();
    let body = format!(
        "{notice}<form method=\"post\" action=\"/console/login\" id=\"login\">\
         <input type=\"hidden\" name=\"login_csrf\" value=\"{nonce}\">\
         <p><label>用户名 Name<br><input name=\"name\" id=\"name\" autocomplete=\"username\" required maxlength=\"64\"></label></p>\
         <p><label>密码 Password<br><input name=\"password\" id=\"password\" type=\"password\" autocomplete=\"current-password\" required maxlength=\"256\"></label></p>\
         <p><button type=\"submit\" id=\"login-button\">登录 Log in</button></p></form>"
    );
    let status = if message.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    (
        status,
        [(
            header::SET_COOKIE,
            cookie_header(state, LOGIN_COOKIE, &nonce, 600),
        )],
        Html(page("登录 Log in", None, &body)),
    )
        .into_response()
}

async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let Ok(Form(fields)) = form else {
        return login_form(&state, Some("the form could not be read"));
    };
    let pairing = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if pairing.is_empty() || !same(&pairing, field(&fields, "login_csrf")) {
        return login_form(&state, Some("the login form expired: try again"));
    }
    let name = field(&fields, "name").trim().to_owned();
    let password = field(&fields, "password").to_owned();
    if name.is_empty() || name.len() > 64 || password.len() > 256 {
        return login_form(&state, Some("wrong name or password"));
    }
    let account = match state.store().operator(&name).await {
        Ok(a) => a,
        Err(e) => return internal(e),
    };
    let verified = match account {
        Some((hash, _)) => tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .unwrap_or(false),
        None => {
            // Spend the same time as a real check, so names cannot be probed by timing.
            let _ = tokio::task::spawn_blocking(move || hash_password(&password)).await;
            false
        }
    };
    if !verified {
        let _ = state.store().audit(&name, "login_failed", "").await;
        return login_form(&state, Some("wrong name or password"));
    }
    let (token, csrf) = match (crate::store::random_hex(32), crate::store::random_hex(16)) {
        (Ok(t), Ok(c)) => (t, c),
        (Err(e), _) | (_, Err(e)) => return internal(e),
    };
    let store = state.store();
    if let Err(e) = store
        .create_session(&token_hash(&token), &name, &csrf, unix_now() + SESSION_SECS)
        .await
    {
        return internal(e);
    }
    let _ = store.audit(&name, "login", "").await;
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, HeaderValue::from_static("/console")),
            (
                header::SET_COOKIE,
                cookie_header(&state, SESSION_COOKIE, &token, SESSION_SECS),
            ),
        ],
    )
        .into_response()
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let (session, _) = match require_form(&state, &headers, &form, Role::Viewer).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        let _ = state.store().end_session(&token_hash(&token)).await;
    }
    let _ = state.store().audit(&session.operator, "logout", "").await;
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, HeaderValue::from_static("/console/login")),
            (
                header::SET_COOKIE,
                cookie_header(&state, SESSION_COOKIE, "", 0),
            ),
        ],
    )
        .into_response()
}

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| e.to_string())?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Checks a password against a stored PHC string.
pub fn verify_password(password: &str, stored: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(stored).is_ok_and(|hash| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

fn ago(now: i64, then: Option<i64>) -> String {
    match then {
        None => "从未 never".into(),
        Some(t) => format!("{} ({} s ago)", esc(&rfc3339_at(t)), (now - t).max(0)),
    }
}

fn state_badge(online: bool) -> &'static str {
    if online {
        "<span class=\"online\">● 在线 online</span>"
    } else {
        "<span class=\"offline\">○ 离线 offline</span>"
    }
}

fn health_badge(health: Option<&str>) -> String {
    let h = health.unwrap_or("unknown");
    let label = match h {
        "ok" => "正常 ok",
        "degraded" => "警告 degraded",
        "faulted" => "故障 faulted",
        _ => "未知 unknown",
    };
    format!("<span class=\"{}\">{label}</span>", esc(h))
}

async fn fleet(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<Fields>,
) -> Response {
    let session = match require(&state, &headers, Role::Viewer).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let terminals = match state.store().fleet().await {
        Ok(t) => t,
        Err(e) => return internal(e),
    };
    let now = unix_now();
    let offline_after = state.offline_after();
    let online = |last: Option<i64>| last.is_some_and(|t| now - t <= offline_after);
    let site_filter = field(&query, "site");
    let state_filter = field(&query, "state");
    let mut sites: Vec<String> = terminals.iter().filter_map(|t| t.site.clone()).collect();
    sites.sort();
    sites.dedup();
    let total = terminals.len();
    let online_count = terminals.iter().filter(|t| online(t.last_seen)).count();
    let faulted = terminals
        .iter()
        .filter(|t| t.health.as_deref() == Some("faulted"))
        .count();
    let degraded = terminals
        .iter()
        .filter(|t| t.health.as_deref() == Some("degraded"))
        .count();
    let mut rows = Vec::new();
    for t in &terminals {
        if !site_filter.is_empty() && t.site.as_deref() != Some(site_filter) {
            continue;
        }
        let is_online = online(t.last_seen);
        let keep = match state_filter {
            "online" => is_online,
            "offline" => !is_online,
            "ok" | "degraded" | "faulted" => t.health.as_deref() == Some(state_filter),
            _ => true,
        };
        if !keep {
            continue;
        }
        let heartbeat: Option<Heartbeat> = t
            .heartbeat
            .as_deref()
            .and_then(|h| serde_json::from_str(h).ok());
        let devices = heartbeat
            .as_ref()
            .map(|h| {
                h.devices
                    .iter()
                    .map(|d| {
                        format!(
                            "{}: <span class=\"{}\">{}</span>{}",
                            esc(&d.device),
                            d.state.as_str(),
                            d.state.as_str(),
                            if d.reasons.is_empty() {
                                String::new()
                            } else {
                                format!(" ({})", esc(&d.reasons.join(", ")))
                            }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("<br>")
            })
            .unwrap_or_default();
        let version = heartbeat
            .as_ref()
            .and_then(|h| h.versions.get("app").cloned())
            .unwrap_or_default();
        let outbox = heartbeat
            .as_ref()
            .map(|h| h.outbox_depth.to_string())
            .unwrap_or_default();
        rows.push(vec![
            format!(
                "<a href=\"/console/terminals/{}\">{}</a>",
                url_component(&t.id),
                esc(&t.id)
            ),
            esc(t.site.as_deref().unwrap_or("—")),
            format!(
                "<span data-terminal=\"{}\">{}</span>",
                esc(&t.id),
                state_badge(is_online)
            ),
            health_badge(t.health.as_deref()),
            devices,
            esc(&version),
            ago(now, t.last_seen),
            outbox,
        ]);
    }
    let site_options: String = sites
        .iter()
        .map(|s| {
            format!(
                "<option value=\"{0}\"{1}>{0}</option>",
                esc(s),
                if s == site_filter { " selected" } else { "" }
            )
        })
        .collect();
    let state_options: String = [
        ("", "全部 all"),
        ("online", "在线 online"),
        ("offline", "离线 offline"),
        ("ok", "正常 ok"),
        ("degraded", "警告 degraded"),
        ("faulted", "故障 faulted"),
    ]
    .iter()
    .map(|(v, l)| {
        format!(
            "<option value=\"{v}\"{}>{l}</option>",
            if *v == state_filter { " selected" } else { "" }
        )
    })
    .collect();
    let body = format!(
        "<div class=\"cards\"><div class=\"card\">终端 terminals<b id=\"count-total\">{total}</b></div>\
         <div class=\"card\">在线 online<b id=\"count-online\">{online_count}</b></div>\
         <div class=\"card\">离线 offline<b id=\"count-offline\">{}</b></div>\
         <div class=\"card\">警告 degraded<b>{degraded}</b></div><div class=\"card\">故障 faulted<b>{faulted}</b></div></div>\
         <form method=\"get\" action=\"/console\">站点 site <select name=\"site\"><option value=\"\">全部 all</option>{site_options}</select> \
         状态 state <select name=\"state\">{state_options}</select> <button type=\"submit\">筛选 Filter</button></form>\
         <p>离线判定：超过 {offline_after} 秒无心跳 (offline after {offline_after} s without a heartbeat)</p>{}",
        total - online_count,
        table(
            "fleet",
            &[
                "终端 Terminal",
                "站点 Site",
                "在线 Online",
                "健康 Health",
                "设备 Devices",
                "版本 Version",
                "最后心跳 Last heartbeat",
                "待发 Outbox"
            ],
            &rows
        )
    );
    Html(page("终端 Fleet", Some(&session), &body)).into_response()
}

async fn terminal_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let session = match require(&state, &headers, Role::Viewer).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let store = state.store();
    let terminal = match store.terminal(&id).await {
        Ok(Some(t)) => t,
        Ok(None) => return error_page(StatusCode::NOT_FOUND, Some(&session), "no such terminal"),
        Err(e) => return internal(e),
    };
    let (events, commands, tags) = match (
        store.events(&id).await,
        store.commands_of(&id).await,
        store.terminal_tags(&id).await,
    ) {
        (Ok(e), Ok(c), Ok(t)) => (e, c, t),
        (Err(e), ..) | (_, Err(e), _) | (.., Err(e)) => return internal(e),
    };
    let now = unix_now();
    let online = terminal
        .last_seen
        .is_some_and(|t| now - t <= state.offline_after());
    let heartbeat: Option<Heartbeat> = terminal
        .heartbeat
        .as_deref()
        .and_then(|h| serde_json::from_str(h).ok());
    let devices: Vec<Vec<String>> = heartbeat
        .as_ref()
        .map(|h| {
            h.devices
                .iter()
                .map(|d| {
                    vec![
                        esc(&d.device),
                        format!("<span class=\"{0}\">{0}</span>", d.state.as_str()),
                        esc(&d.reasons.join(", ")),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    let versions: Vec<Vec<String>> = heartbeat
        .as_ref()
        .map(|h| {
            h.versions
                .iter()
                .map(|(k, v)| vec![esc(k), esc(v)])
                .collect()
        })
        .unwrap_or_default();
    let command_rows: Vec<Vec<String>> = commands
        .iter()
        .map(|c| {
            vec![
                c.id.to_string(),
                esc(&c.kind),
                format!("<span class=\"cmd-state\">{}</span>", esc(&c.state)),
                esc(&c.created_by),
                esc(&c.created_at),
                format!(
                    "<span class=\"cmd-result\">{}</span>",
                    esc(c.result.as_deref().unwrap_or(""))
                ),
            ]
        })
        .collect();
    let event_rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| vec![esc(&rfc3339_at(e.at)), esc(&e.kind), esc(&e.detail)])
        .collect();
    let command_form = if session.role >= Role::Operator {
        let options: String = CommandKind::ALL
            .iter()
            .map(|k| format!("<option value=\"{0}\">{0}</option>", k.as_str()))
            .collect();
        format!(
            "<form method=\"post\" action=\"/console/terminals/{}/commands\" id=\"command-form\">{}\
             <select name=\"kind\" id=\"command-kind\">{options}</select> <button type=\"submit\" id=\"send-command\">发送指令 Send command</button></form>",
            url_component(&terminal.id),
            csrf_field(&session.csrf)
        )
    } else {
        String::new()
    };
    let body = format!(
        "<p>{} · 站点 site {} · 序列号 serial <code>{}</code> · 注册 enrolled {} · 最后心跳 last heartbeat {} · 健康 {}{}</p>\
         <p id=\"tags\">标签 Tags: {}</p>\
         <h2>设备 Devices</h2>{}<h2>版本 Versions</h2>{}<h2>远程指令 Remote commands</h2>{command_form}{}<h2>事件 Events</h2>{}",
        state_badge(online),
        esc(terminal.site.as_deref().unwrap_or("—")),
        esc(&terminal.serial),
        esc(&terminal.enrolled_at),
        ago(now, terminal.last_seen),
        health_badge(terminal.health.as_deref()),
        heartbeat
            .as_ref()
            .map(|h| format!(
                " · 运行 uptime {} s · 待发 outbox {}",
                h.uptime_secs, h.outbox_depth
            ))
            .unwrap_or_default(),
        if tags.is_empty() {
            "—".to_owned()
        } else {
            tags.iter()
                .map(|t| format!("<code class=\"tag\">{}</code>", esc(t)))
                .collect::<Vec<_>>()
                .join(" ")
        },
        table(
            "devices",
            &["设备 Device", "状态 State", "原因 Reasons"],
            &devices
        ),
        table("versions", &["部件 Part", "版本 Version"], &versions),
        table(
            "commands",
            &[
                "#",
                "指令 Kind",
                "状态 State",
                "发起 By",
                "时间 At",
                "结果 Result"
            ],
            &command_rows
        ),
        table(
            "events",
            &["时间 At", "类型 Kind", "内容 Detail"],
            &event_rows
        ),
    );
    Html(page(
        &format!("终端 {}", terminal.id),
        Some(&session),
        &body,
    ))
    .into_response()
}

async fn send_command(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let (session, fields) = match require_form(&state, &headers, &form, Role::Operator).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(kind) = CommandKind::parse(field(&fields, "kind")) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            Some(&session),
            "unknown command kind",
        );
    };
    let store = state.store();
    match store.queue_command(&id, kind, &session.operator).await {
        Ok(command) => {
            let _ = store
                .audit(
                    &session.operator,
                    "command",
                    &format!("{} #{command} to {id}", kind.as_str()),
                )
                .await;
            redirect(&format!("/console/terminals/{}", url_component(&id)))
        }
        Err(crate::store::StoreError::UnknownTerminal) => {
            error_page(StatusCode::NOT_FOUND, Some(&session), "no such terminal")
        }
        Err(e) => internal(e),
    }
}

async fn tokens_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let session = match require(&state, &headers, Role::Viewer).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    render_tokens(&state, &session, None).await
}

async fn render_tokens(state: &AppState, session: &Session, created: Option<String>) -> Response {
    let tokens = match state.store().tokens().await {
        Ok(t) => t,
        Err(e) => return internal(e),
    };
    let rows: Vec<Vec<String>> = tokens
        .iter()
        .map(|t| {
            vec![
                esc(t.site.as_deref().unwrap_or("—")),
                esc(&t.created_at),
                esc(&rfc3339_at(t.expires_at)),
                esc(t.used_at.as_deref().unwrap_or("未使用 unused")),
                esc(t.terminal_id.as_deref().unwrap_or("")),
            ]
        })
        .collect();
    let form = if session.role >= Role::Operator {
        format!(
            "<form method=\"post\" action=\"/console/tokens\" id=\"token-form\">{}\
             站点 site <input name=\"site\" maxlength=\"64\"> 有效期（小时）valid hours <input name=\"hours\" value=\"24\" size=\"4\"> \
             <button type=\"submit\">生成令牌 Create token</button></form>",
            csrf_field(&session.csrf)
        )
    } else {
        String::new()
    };
    let body = format!(
        "{}{form}<p>令牌只显示一次，平台只保存其哈希。A token is shown once; the platform keeps only its hash.</p>{}",
        created.unwrap_or_default(),
        table(
            "tokens",
            &[
                "站点 Site",
                "创建 Created",
                "到期 Expires",
                "使用 Used",
                "终端 Terminal"
            ],
            &rows
        )
    );
    Html(page("注册令牌 Enrollment tokens", Some(session), &body)).into_response()
}

async fn create_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let (session, fields) = match require_form(&state, &headers, &form, Role::Operator).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let site = field(&fields, "site").trim();
    let site = (!site.is_empty()).then_some(site);
    if site.is_some_and(|s| s.chars().count() > 64 || s.chars().any(char::is_control)) {
        return error_page(
            StatusCode::BAD_REQUEST,
            Some(&session),
            "site: at most 64 characters",
        );
    }
    let hours: i64 = match field(&fields, "hours").trim().parse() {
        Ok(h) if (1..=24 * 90).contains(&h) => h,
        _ => return error_page(StatusCode::BAD_REQUEST, Some(&session), "hours: 1 to 2160"),
    };
    let token = match crate::store::random_hex(24) {
        Ok(t) => t,
        Err(e) => return internal(e),
    };
    let expires_at = unix_now() + hours * 3600;
    let store = state.store();
    if let Err(e) = store
        .create_enrollment_token(&token, site, expires_at)
        .await
    {
        return internal(e);
    }
    let _ = store
        .audit(
            &session.operator,
            "token_create",
            &format!("site {} for {hours} h", site.unwrap_or("—")),
        )
        .await;
    let payload = EnrollmentPayload {
        platform: state.public_base().to_owned(),
        token: token.clone(),
        site: site.map(str::to_owned),
        expires_at: rfc3339_at(expires_at),
    };
    let payload = serde_json::to_string(&payload).unwrap_or_default();
    let created = format!(
        "<div class=\"notice\" id=\"new-token\">新令牌 New token: <code>{}</code><br>注册内容 Enrollment payload (QR): <code>{}</code></div>",
        esc(&token),
        esc(&payload)
    );
    render_tokens(&state, &session, Some(created)).await
}

async fn catalog_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let session = match require(&state, &headers, Role::Viewer).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    render_catalog(&state, &session, None).await
}

async fn render_catalog(state: &AppState, session: &Session, notice: Option<String>) -> Response {
    let versions = match state.store().catalog_versions().await {
        Ok(v) => v,
        Err(e) => return internal(e),
    };
    let admin = session.role >= Role::Admin;
    let rows: Vec<Vec<String>> = versions
        .iter()
        .map(|v| {
            let action = if v.current {
                "<strong>当前 current</strong>".to_owned()
            } else if admin {
                format!(
                    "<form class=\"inline\" method=\"post\" action=\"/console/catalog/activate\">{}\
                     <input type=\"hidden\" name=\"version\" value=\"{}\"><button type=\"submit\">恢复此版本 Make current</button></form>",
                    csrf_field(&session.csrf),
                    esc(&v.version)
                )
            } else {
                String::new()
            };
            vec![
                format!("<span class=\"catalog-version\">{}</span>", esc(&v.version)),
                esc(&v.published_at),
                action,
            ]
        })
        .collect();
    let form = if admin {
        format!(
            "<h2>发布新版本 Publish a new version</h2><form method=\"post\" action=\"/console/catalog/publish\" id=\"publish-form\">{}\
             <textarea name=\"catalog\" id=\"catalog-json\" rows=\"12\" placeholder=\"catalog JSON\"></textarea>\
             <p><button type=\"submit\" id=\"publish\">校验并发布 Validate and publish</button></p></form>",
            csrf_field(&session.csrf)
        )
    } else {
        String::new()
    };
    let body = format!(
        "{}{}{form}",
        notice.unwrap_or_default(),
        table(
            "catalog-versions",
            &["版本 Version", "发布时间 Published", ""],
            &rows
        )
    );
    Html(page("事项目录 Catalog", Some(session), &body)).into_response()
}

async fn publish_catalog(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let (session, fields) = match require_form(&state, &headers, &form, Role::Admin).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let catalog: Catalog = match serde_json::from_str(field(&fields, "catalog")) {
        Ok(c) => c,
        Err(e) => {
            let notice = format!(
                "<p class=\"error\">不是有效的目录 Not a catalog: {}</p>",
                esc(&e.to_string())
            );
            return with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                render_catalog(&state, &session, Some(notice)).await,
            );
        }
    };
    if let Err(e) = catalog.validate() {
        let notice = format!(
            "<p class=\"error\">目录无法发布 Cannot publish: {}</p>",
            esc(&e.to_string())
        );
        return with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            render_catalog(&state, &session, Some(notice)).await,
        );
    }
    let store = state.store();
    if let Err(e) = store.publish_catalog(&catalog).await {
        return internal(e);
    }
    let _ = store
        .audit(
            &session.operator,
            "catalog_publish",
            &format!("{} ({} matters)", catalog.version, catalog.matters.len()),
        )
        .await;
    let notice = format!(
        "<p class=\"notice\">已发布 Published {}</p>",
        esc(&catalog.version)
    );
    render_catalog(&state, &session, Some(notice)).await
}

fn with_status(status: StatusCode, mut response: Response) -> Response {
    *response.status_mut() = status;
    response
}

async fn activate_catalog(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let (session, fields) = match require_form(&state, &headers, &form, Role::Admin).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let version = field(&fields, "version");
    let store = state.store();
    let body = match store.catalog_body(version).await {
        Ok(Some(b)) => b,
        Ok(None) => {
            return error_page(
                StatusCode::NOT_FOUND,
                Some(&session),
                "no such catalog version",
            );
        }
        Err(e) => return internal(e),
    };
    let catalog: Catalog = match serde_json::from_str(&body) {
        Ok(c) => c,
        Err(e) => return internal(e),
    };
    if let Err(e) = store.publish_catalog(&catalog).await {
        return internal(e);
    }
    let _ = store
        .audit(&session.operator, "catalog_activate", version)
        .await;
    let notice = format!(
        "<p class=\"notice\">当前版本 Current version: {}</p>",
        esc(version)
    );
    render_catalog(&state, &session, Some(notice)).await
}

async fn config_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let session = match require(&state, &headers, Role::Viewer).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    render_config(&state, &session, None).await
}

async fn render_config(state: &AppState, session: &Session, notice: Option<String>) -> Response {
    let layers = match state.store().config_rows().await {
        Ok(l) => l,
        Err(e) => return internal(e),
    };
    let admin = session.role >= Role::Admin;
    let mut body = notice.unwrap_or_default();
    body.push_str("<p>终端配置 = 全局 ← 站点 ← 终端，逐键合并。A terminal's configuration is global, overlaid by its site's, then its own, key by key.</p>");
    let layer_form = |scope: &str, key: &str, text: &str| {
        let disabled = if admin { "" } else { " disabled" };
        let button = if admin {
            "<button type=\"submit\">保存 Save</button>"
        } else {
            ""
        };
        format!(
            "<form method=\"post\" action=\"/console/config\">{}\
             <input type=\"hidden\" name=\"scope\" value=\"{}\"><input type=\"hidden\" name=\"key\" value=\"{}\">\
             <textarea name=\"body\" rows=\"5\"{disabled}>{}</textarea>{button}</form>",
            csrf_field(&session.csrf),
            esc(scope),
            esc(key),
            esc(text)
        )
    };
    for layer in &layers {
        body.push_str(&format!(
            "<h2>{} {} <small>({})</small></h2>{}",
            esc(&layer.scope),
            esc(&layer.key),
            esc(&layer.updated_at),
            layer_form(&layer.scope, &layer.key, &layer.body)
        ));
    }
    if admin {
        body.push_str(&format!(
            "<h2>新配置层 New layer</h2><form method=\"post\" action=\"/console/config\">{}\
             <select name=\"scope\"><option>global</option><option>site</option><option>terminal</option></select> \
             站点或终端 site or terminal <input name=\"key\" maxlength=\"64\">\
             <textarea name=\"body\" rows=\"5\">{{}}</textarea><button type=\"submit\">保存 Save</button></form>",
            csrf_field(&session.csrf)
        ));
    }
    Html(page("配置 Configuration", Some(session), &body)).into_response()
}

async fn save_config(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let (session, fields) = match require_form(&state, &headers, &form, Role::Admin).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let key = field(&fields, "key").trim().to_owned();
    let scope = match field(&fields, "scope") {
        "global" => ConfigScope::Global,
        "site" if (1..=64).contains(&key.chars().count()) => ConfigScope::Site(key.clone()),
        "terminal" if (1..=64).contains(&key.len()) => ConfigScope::Terminal(key.clone()),
        _ => {
            return error_page(
                StatusCode::BAD_REQUEST,
                Some(&session),
                "scope is global, or site/terminal with a name of 1 to 64 characters",
            );
        }
    };
    let value: serde_json::Value = match serde_json::from_str(field(&fields, "body")) {
        Ok(v @ serde_json::Value::Object(_)) => v,
        _ => {
            let notice =
                "<p class=\"error\">配置必须是 JSON 对象 The layer must be a JSON object</p>"
                    .to_owned();
            return with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                render_config(&state, &session, Some(notice)).await,
            );
        }
    };
    let store = state.store();
    if let Err(e) = store.set_config(&scope, &value).await {
        return internal(e);
    }
    let _ = store
        .audit(
            &session.operator,
            "config_set",
            &format!("{} {key}: {value}", field(&fields, "scope")),
        )
        .await;
    render_config(
        &state,
        &session,
        Some("<p class=\"notice\">已保存 Saved</p>".into()),
    )
    .await
}

async fn stats_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let session = match require(&state, &headers, Role::Viewer).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let store = state.store();
    let (per_day, by_level, by_matter, by_site) = match (
        store.applications_per_day().await,
        store.ratings_by_level().await,
        store.ratings_by_matter().await,
        store.ratings_by_site().await,
    ) {
        (Ok(a), Ok(b), Ok(c), Ok(d)) => (a, b, c, d),
        (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), _) | (.., Err(e)) => return internal(e),
    };
    let catalog = state.current_catalog().await.ok();
    let matter_name = |id: &str| {
        catalog
            .as_ref()
            .and_then(|c| c.matter(id).map(|m| m.name.zh.clone()))
            .unwrap_or_else(|| id.to_owned())
    };
    let level_label = |level: &str| {
        level
            .parse::<u8>()
            .ok()
            .and_then(kiosk_protocol::level_name)
            .map(|n| format!("★{level} {}", n.zh))
            .unwrap_or_else(|| level.to_owned())
    };
    let days: Vec<(String, i64)> = per_day.iter().map(|c| (c.label.clone(), c.n)).collect();
    let levels: Vec<(String, i64)> = by_level
        .iter()
        .map(|c| (level_label(&c.label), c.n))
        .collect();
    let pivot = |counts: &[crate::store::Count], name: &dyn Fn(&str) -> String| {
        let mut labels: Vec<String> = counts.iter().map(|c| c.label.clone()).collect();
        labels.dedup();
        labels
            .iter()
            .map(|label| {
                let mut row = vec![esc(&name(label))];
                let mut total = 0;
                let mut weighted = 0;
                for level in (1..=5).rev() {
                    let n = counts
                        .iter()
                        .find(|c| &c.label == label && c.sub.as_deref() == Some(&level.to_string()))
                        .map(|c| c.n)
                        .unwrap_or(0);
                    total += n;
                    weighted += n * level;
                    row.push(n.to_string());
                }
                let satisfied = counts
                    .iter()
                    .filter(|c| &c.label == label && matches!(c.sub.as_deref(), Some("4" | "5")))
                    .map(|c| c.n)
                    .sum::<i64>();
                row.push(total.to_string());
                row.push(if total > 0 {
                    format!(
                        "{:.2} / {:.0}%",
                        weighted as f64 / total as f64,
                        100.0 * satisfied as f64 / total as f64
                    )
                } else {
                    "—".into()
                });
                row
            })
            .collect::<Vec<_>>()
    };
    let headers_row = [
        "",
        "★5",
        "★4",
        "★3",
        "★2",
        "★1",
        "合计 total",
        "均分 / 满意率 mean / satisfied",
    ];
    let body = format!(
        "<h2>每日受理量 Applications per day</h2>{}<h2>好差评分布 Ratings by level</h2>{}\
         <h2>按事项 By matter</h2>{}<h2>按站点 By site</h2>{}",
        bar_chart("chart-applications", "Applications per day", &days),
        bar_chart("chart-ratings", "Ratings by level", &levels),
        table(
            "ratings-by-matter",
            &headers_row,
            &pivot(&by_matter, &matter_name)
        ),
        table(
            "ratings-by-site",
            &headers_row,
            &pivot(&by_site, &|s: &str| s.to_owned())
        ),
    );
    Html(page("统计 Statistics", Some(&session), &body)).into_response()
}

async fn audit_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let session = match require(&state, &headers, Role::Admin).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let lines = match state.store().audit_log().await {
        Ok(l) => l,
        Err(e) => return internal(e),
    };
    let rows: Vec<Vec<String>> = lines
        .iter()
        .map(|(at, who, action, detail)| vec![esc(at), esc(who), esc(action), esc(detail)])
        .collect();
    Html(page(
        "审计日志 Audit log",
        Some(&session),
        &table(
            "audit",
            &["时间 At", "操作员 Operator", "操作 Action", "内容 Detail"],
            &rows,
        ),
    ))
    .into_response()
}
