//! The console's rollout pages: every rollout, one rollout's groups with their progress, and
//! pause/resume for operators (CSRF-checked and audited like every other form).

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use super::html::{csrf_field, esc, page, table};
use super::{Fields, error_page, internal, redirect, require, require_form};
use crate::http::AppState;
use crate::rollout::{GroupCounts, RolloutState, format_groups};
use crate::store::{Role, RolloutError, RolloutRow, Session};

fn state_label(state: RolloutState) -> &'static str {
    match state {
        RolloutState::Running => "进行中 running",
        RolloutState::Paused => "已暂停 paused",
        RolloutState::Stopped => "已自动停止 stopped",
        RolloutState::Finished => "已完成 finished",
        RolloutState::Cancelled => "已取消 cancelled",
    }
}

fn state_badge(state: RolloutState) -> String {
    let class = match state {
        RolloutState::Running | RolloutState::Finished => "ok",
        RolloutState::Paused => "degraded",
        RolloutState::Stopped => "faulted",
        RolloutState::Cancelled => "absent",
    };
    format!(
        "<span class=\"{class} rollout-state\" data-state=\"{}\">{}</span>",
        state.as_str(),
        state_label(state)
    )
}

/// A bar of one group: committed, failed, in progress and not yet reported, to scale.
fn progress_bar(g: &GroupCounts) -> String {
    let size = g.size.max(1) as f64;
    let width = |n: u64| 100.0 * n as f64 / size;
    let in_progress = g.downloading + g.installing;
    format!(
        "<div class=\"bar\" role=\"img\" aria-label=\"{} committed, {} failed, {in_progress} updating of {}\">\
         <span class=\"c\" style=\"width:{:.1}%\"></span><span class=\"f\" style=\"width:{:.1}%\"></span>\
         <span class=\"p\" style=\"width:{:.1}%\"></span></div>",
        g.committed,
        g.failures(),
        g.size,
        width(g.committed),
        width(g.failures()),
        width(in_progress),
    )
}

fn summary(r: &RolloutRow) -> String {
    format!(
        "{} · 分组 groups {} · 成功阈值 success {}% · 错误阈值 error {}% · 维护窗口 window {}",
        esc(&r.filter.describe()),
        esc(&format_groups(&r.groups)),
        r.success_threshold,
        r.error_threshold,
        r.window
            .map_or("任意时间 any time".to_owned(), |w| w.to_string())
    )
}

/// `GET /console/rollouts`: every rollout, newest first.
pub(super) async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let session = match require(&state, &headers, Role::Viewer).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let rollouts = match state.store().rollouts().await {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    let rows: Vec<Vec<String>> = rollouts
        .iter()
        .map(|r| {
            vec![
                format!("<a href=\"/console/rollouts/{0}\">#{0}</a>", r.id),
                esc(r.kind.as_str()),
                format!("<code>{}</code>", esc(&r.version)),
                state_badge(r.state),
                format!("{} / {}", r.active_group + 1, r.groups.len()),
                summary(r),
                esc(r.stop_reason.as_deref().unwrap_or("")),
                esc(&r.created_at),
            ]
        })
        .collect();
    let body = format!(
        "<p>发布按组推进：上一组成功率达到阈值后才开始下一组，失败超过错误阈值即自动停止。\
         A release reaches the fleet group by group; failures past the error threshold stop it.</p>\
         <p>开始新的发布 Start one with <code>kiosk-platform rollout start --release VERSION</code>.</p>{}",
        table(
            "rollouts",
            &[
                "#",
                "类型 Kind",
                "版本 Version",
                "状态 State",
                "当前组 Group",
                "范围 Scope",
                "停止原因 Stop reason",
                "开始 Started",
            ],
            &rows
        )
    );
    Html(page("升级发布 Rollouts", Some(&session), &body)).into_response()
}

/// `GET /console/rollouts/{id}`: one rollout's groups.
pub(super) async fn detail(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let session = match require(&state, &headers, Role::Viewer).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    render(&state, &session, &id, None).await
}

/// One rollout's page, with `refusal` (why a change was refused) above it.
async fn render(state: &AppState, session: &Session, id: &str, refusal: Option<&str>) -> Response {
    let not_found = || error_page(StatusCode::NOT_FOUND, Some(session), "no such rollout");
    let Ok(id) = id.parse::<i64>() else {
        return not_found();
    };
    let status = match state.store().rollout_status(id).await {
        Ok(Some(s)) => s,
        Ok(None) => return not_found(),
        Err(e) => return internal(e),
    };
    let r = &status.rollout;
    let rows: Vec<Vec<String>> = status
        .groups
        .iter()
        .zip(&r.groups)
        .enumerate()
        .map(|(i, (g, percent))| {
            vec![
                format!("{}", i + 1),
                format!("{percent}%"),
                if i <= r.active_group {
                    "是 yes".into()
                } else {
                    "否 no".into()
                },
                g.size.to_string(),
                g.offered.to_string(),
                g.downloading.to_string(),
                g.installing.to_string(),
                format!("<span class=\"committed\">{}</span>", g.committed),
                format!(
                    "<span class=\"failed\">{}</span> ({})",
                    g.failures(),
                    g.rolled_back
                ),
                progress_bar(g),
            ]
        })
        .collect();
    let action = |verb: &str, label: &str| {
        format!(
            "<form class=\"inline\" method=\"post\" action=\"/console/rollouts/{}/{verb}\">{}\
             <button type=\"submit\" id=\"rollout-{verb}\">{label}</button></form>",
            r.id,
            csrf_field(&session.csrf)
        )
    };
    let actions = if session.role < Role::Operator {
        String::new()
    } else {
        match r.state {
            RolloutState::Running => action("pause", "暂停 Pause"),
            RolloutState::Paused => action("resume", "继续 Resume"),
            _ => String::new(),
        }
    };
    let reason = r
        .stop_reason
        .as_deref()
        .map(|why| {
            format!(
                "<p class=\"error\" id=\"stop-reason\">停止原因 Stopped because: {}</p>",
                esc(why)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "{}{reason}<p>{} {} <code>{}</code> · {} · 发起 by {} · {}</p><p>{actions}</p>{}",
        refusal
            .map(|n| format!("<p class=\"error\">{}</p>", esc(n)))
            .unwrap_or_default(),
        state_badge(r.state),
        esc(r.kind.as_str()),
        esc(&r.version),
        summary(r),
        esc(&r.created_by),
        esc(&r.created_at),
        table(
            "rollout-groups",
            &[
                "组 Group",
                "比例 Percent",
                "已开始 Started",
                "终端 Size",
                "已下发 Offered",
                "下载中 Downloading",
                "安装中 Installing",
                "已提交 Committed",
                "失败 Failed (rolled back)",
                "进度 Progress",
            ],
            &rows
        )
    );
    Html(page(
        &format!("发布 Rollout #{}", r.id),
        Some(session),
        &body,
    ))
    .into_response()
}

/// `POST /console/rollouts/{id}/pause`.
pub(super) async fn pause(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    change(state, headers, id, form, "pause").await
}

/// `POST /console/rollouts/{id}/resume`.
pub(super) async fn resume(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    change(state, headers, id, form, "resume").await
}

async fn change(
    state: AppState,
    headers: HeaderMap,
    id: String,
    form: Result<Form<Fields>, FormRejection>,
    verb: &str,
) -> Response {
    let (session, _) = match require_form(&state, &headers, &form, Role::Operator).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Ok(number) = id.parse::<i64>() else {
        return error_page(StatusCode::NOT_FOUND, Some(&session), "no such rollout");
    };
    let store = state.store();
    let result = if verb == "pause" {
        store.pause_rollout(number).await
    } else {
        store.resume_rollout(number).await
    };
    match result {
        Ok(_) => {
            let _ = store
                .audit(
                    &session.operator,
                    &format!("rollout_{verb}"),
                    &format!("#{number}"),
                )
                .await;
            redirect(&format!("/console/rollouts/{number}"))
        }
        Err(RolloutError::UnknownRollout(_)) => {
            error_page(StatusCode::NOT_FOUND, Some(&session), "no such rollout")
        }
        Err(e @ RolloutError::WrongState { .. }) => {
            let mut response = render(&state, &session, &id, Some(&e.to_string())).await;
            *response.status_mut() = StatusCode::CONFLICT;
            response
        }
        Err(e) => internal(e),
    }
}
