//! The console's rollout pages: every rollout, one rollout's groups with their progress, and
//! pause/resume for operators (CSRF-checked and audited like every other form).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use maud::{Markup, html};

use super::{PageAnswer, page, with_status};
use crate::html::{Notice, csrf_field, notice, table, text};
use crate::http::error::see_other;
use crate::http::extract::role;
use crate::http::{AppState, Operator, OperatorForm, PageFailure};
use crate::rollout::{GroupCounts, RolloutState, format_groups};
use crate::store::{Role, RolloutError, RolloutRow, RolloutStatus, Session};

fn state_label(state: RolloutState) -> &'static str {
    match state {
        RolloutState::Running => "进行中 running",
        RolloutState::Paused => "已暂停 paused",
        RolloutState::Stopped => "已自动停止 stopped",
        RolloutState::Finished => "已完成 finished",
        RolloutState::Cancelled => "已取消 cancelled",
    }
}

fn state_badge(state: RolloutState) -> Markup {
    let class = match state {
        RolloutState::Running | RolloutState::Finished => "ok",
        RolloutState::Paused => "degraded",
        RolloutState::Stopped => "faulted",
        RolloutState::Cancelled => "absent",
    };
    html! {
        span class={ (class) " rollout-state" } data-state=(state.as_str()) { (state_label(state)) }
    }
}

/// A bar of one group: committed, failed, in progress and not yet reported, to scale (SVG,
/// so the widths are attributes, not the inline styles the content security policy refuses).
fn progress_bar(g: &GroupCounts) -> Markup {
    const WIDTH: f64 = 220.0;
    let size = g.size.max(1) as f64;
    let in_progress = g.downloading + g.installing;
    let label = format!(
        "{} committed, {} failed, {in_progress} updating of {}",
        g.committed,
        g.failures(),
        g.size
    );
    let mut x = 0.0;
    let mut segment = |n: u64| {
        let width = WIDTH * n as f64 / size;
        let at = x;
        x += width;
        (format!("{at:.1}"), format!("{width:.1}"))
    };
    let parts = [
        ("c", segment(g.committed)),
        ("f", segment(g.failures())),
        ("p", segment(in_progress)),
    ];
    html! {
        svg class="bar" role="img" aria-label=(label) width=(WIDTH) height="14"
            xmlns="http://www.w3.org/2000/svg" {
            @for (class, (at, width)) in parts {
                rect class=(class) x=(at) y="0" width=(width) height="14" {}
            }
        }
    }
}

fn summary(r: &RolloutRow) -> String {
    format!(
        "{} · 分组 groups {} · 成功阈值 success {}% · 错误阈值 error {}% · 维护窗口 window {}",
        r.filter.describe(),
        format_groups(&r.groups),
        r.success_threshold,
        r.error_threshold,
        r.window
            .map_or("任意时间 any time".to_owned(), |w| w.to_string())
    )
}

/// `GET /console/rollouts`: every rollout, newest first.
pub(super) async fn list(State(state): State<AppState>, operator: Operator) -> PageAnswer {
    let rollouts = state.store().rollouts().await?;
    let rows: Vec<Vec<Markup>> = rollouts
        .iter()
        .map(|r| {
            vec![
                html! { a href={ "/console/rollouts/" (r.id) } { "#" (r.id) } },
                text(r.kind.as_str()),
                html! { code { (r.version) } },
                state_badge(r.state),
                text(format!("{} / {}", r.active_group + 1, r.groups.len())),
                text(summary(r)),
                text(r.stop_reason.as_deref().unwrap_or("")),
                text(&r.created_at),
            ]
        })
        .collect();
    let body = html! {
        p { "发布按组推进：上一组成功率达到阈值后才开始下一组，失败超过错误阈值即自动停止。A release reaches the fleet group by group; failures past the error threshold stop it." }
        p { "开始新的发布 Start one with " code { "kiosk-platform rollout start --release VERSION" } "." }
        (table(
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
            &rows,
        ))
    };
    Ok(page("升级发布 Rollouts", &operator, body))
}

/// `GET /console/rollouts/{id}`: one rollout's groups.
pub(super) async fn detail(
    State(state): State<AppState>,
    Path(id): Path<String>,
    operator: Operator,
) -> PageAnswer {
    render(&state, &operator, &id, None).await
}

fn no_such_rollout(session: &Session) -> PageFailure {
    PageFailure::refused(StatusCode::NOT_FOUND, session, "no such rollout")
}

/// One rollout's page, with `refusal` (why a change was refused) above it.
async fn render(
    state: &AppState,
    session: &Session,
    id: &str,
    refusal: Option<&str>,
) -> PageAnswer {
    let id = id.parse::<i64>().map_err(|_| no_such_rollout(session))?;
    let status = state
        .store()
        .rollout_status(id)
        .await?
        .ok_or_else(|| no_such_rollout(session))?;
    let r = &status.rollout;
    let body = html! {
        @if let Some(refusal) = refusal { (notice(Notice::Error, refusal)) }
        @if let Some(why) = &r.stop_reason {
            p class="error" id="stop-reason" { "停止原因 Stopped because: " (why) }
        }
        p {
            (state_badge(r.state)) " " (r.kind.as_str()) " " code { (r.version) }
            " · " (summary(r)) " · 发起 by " (r.created_by) " · " (r.created_at)
        }
        p { (actions(r, session)) }
        (group_table(&status))
    };
    Ok(page(&format!("发布 Rollout #{}", r.id), session, body))
}

/// Pause or resume, for operators, as the rollout's state allows.
fn actions(r: &RolloutRow, session: &Session) -> Markup {
    let verb = match r.state {
        _ if session.role < Role::Operator => None,
        RolloutState::Running => Some(("pause", "暂停 Pause")),
        RolloutState::Paused => Some(("resume", "继续 Resume")),
        _ => None,
    };
    html! {
        @if let Some((verb, label)) = verb {
            form class="inline" method="post" action={ "/console/rollouts/" (r.id) "/" (verb) } {
                (csrf_field(&session.csrf))
                button type="submit" id={ "rollout-" (verb) } { (label) }
            }
        }
    }
}

fn group_table(status: &RolloutStatus) -> Markup {
    let r = &status.rollout;
    let rows: Vec<Vec<Markup>> = status
        .groups
        .iter()
        .zip(&r.groups)
        .enumerate()
        .map(|(i, (g, percent))| {
            vec![
                text(format!("{}", i + 1)),
                text(format!("{percent}%")),
                text(if i <= r.active_group {
                    "是 yes"
                } else {
                    "否 no"
                }),
                text(g.size.to_string()),
                text(g.offered.to_string()),
                text(g.downloading.to_string()),
                text(g.installing.to_string()),
                html! { span class="committed" { (g.committed) } },
                html! { span class="failed" { (g.failures()) } " (" (g.rolled_back) ")" },
                progress_bar(g),
            ]
        })
        .collect();
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
        &rows,
    )
}

/// `POST /console/rollouts/{id}/pause` and `…/resume` (operators); any other verb is no such
/// page.
pub(super) async fn change(
    State(state): State<AppState>,
    Path((id, verb)): Path<(String, String)>,
    OperatorForm { operator, .. }: OperatorForm<role::Operator>,
) -> PageAnswer {
    let session = &operator;
    if verb != "pause" && verb != "resume" {
        return Err(no_such_rollout(session));
    }
    let number = id.parse::<i64>().map_err(|_| no_such_rollout(session))?;
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
            Ok(see_other(&format!("/console/rollouts/{number}")))
        }
        Err(RolloutError::UnknownRollout(_)) => Err(no_such_rollout(session)),
        Err(e @ RolloutError::WrongState { .. }) => {
            let shown = render(&state, session, &id, Some(&e.to_string())).await?;
            Ok(with_status(StatusCode::CONFLICT, shown))
        }
        Err(e) => Err(PageFailure::internal(e)),
    }
}
