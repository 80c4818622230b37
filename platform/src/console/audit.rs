//! `GET /console/audit`: who changed what, newest first (admins).

use axum::extract::State;
use maud::Markup;

use super::{PageAnswer, page};
use crate::html::{table, text};
use crate::http::extract::role;
use crate::http::{AppState, Operator};

/// The audit log.
pub(super) async fn show(
    State(state): State<AppState>,
    operator: Operator<role::Admin>,
) -> PageAnswer {
    let lines = state.store().audit_log().await?;
    let rows: Vec<Vec<Markup>> = lines
        .iter()
        .map(|(at, who, action, detail)| vec![text(at), text(who), text(action), text(detail)])
        .collect();
    let body = table(
        "audit",
        &["时间 At", "操作员 Operator", "操作 Action", "内容 Detail"],
        &rows,
    );
    Ok(page("审计日志 Audit log", &operator, body))
}
