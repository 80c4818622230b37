//! `GET /console/records`: every query of citizens' records terminals made (progress,
//! certificates, check-in), newest first, a page at a time, optionally of one terminal
//! (admins). Kept apart from the audit log so that a busy hall's queries do not push
//! operators' changes off its pages; the audit log gets one line when a terminal's queries are
//! suspended.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use maud::{Markup, html};

use super::{PageAnswer, page, with_status};
use crate::html::{Notice, notice, pager, table, text, url_component};
use crate::http::extract::role;
use crate::http::{AppState, Operator};
use crate::store::RecordQuery;

/// Queries per page.
pub const RECORD_PAGE_LINES: i64 = 50;

/// The trail of record queries.
pub(super) async fn show(
    State(state): State<AppState>,
    operator: Operator<role::Admin>,
    Query(query): Query<HashMap<String, String>>,
) -> PageAnswer {
    let terminal = query
        .get("terminal")
        .map(|t| t.trim())
        .filter(|t| !t.is_empty() && t.len() <= 64);
    let before = match query
        .get("before")
        .map(|b| b.trim())
        .filter(|b| !b.is_empty())
    {
        None => Ok(None),
        Some(b) => b
            .parse::<i64>()
            .map(Some)
            .map_err(|_| format!("`{b}` is not a page of the record queries")),
    };
    let (before, refusal) = match before {
        Ok(before) => (before, None),
        Err(why) => (None, Some(why)),
    };
    let lines = state
        .store()
        .record_queries(terminal, before, RECORD_PAGE_LINES)
        .await?;
    let body = html! {
        p { "每次查询记录终端、时间、类型、事项和结果，从不记录证件号码或姓名。Each query of a citizen's records: terminal, time, kind, matter and outcome; never the ID number or the name." }
        @if let Some(why) = &refusal { (notice(Notice::Error, why)) }
        form method="get" action="/console/records" id="records-filter" class="filters" {
            label { "终端 Terminal "
                input name="terminal" id="records-terminal" placeholder="T-0001" maxlength="64"
                    value=(terminal.unwrap_or_default());
            }
            " "
            button type="submit" id="records-apply" { "筛选 Filter" }
        }
        (table(
            "record-queries",
            &["时间 At", "终端 Terminal", "类型 Kind", "事项 Matter", "结果 Outcome", "记录数 Records"],
            &lines.iter().map(row).collect::<Vec<_>>(),
        ))
        (pages(terminal, before.is_some(), &lines))
    };
    let status = match refusal {
        Some(_) => StatusCode::BAD_REQUEST,
        None => StatusCode::OK,
    };
    Ok(with_status(
        status,
        page("记录查询 Record queries", &operator, body),
    ))
}

fn row(q: &RecordQuery) -> Vec<Markup> {
    vec![
        text(&q.at),
        html! { a href={ "/console/terminals/" (url_component(&q.terminal_id)) } { (q.terminal_id) } },
        text(&q.kind),
        text(q.matter.as_deref().unwrap_or("")),
        text(&q.outcome),
        text(q.records.to_string()),
    ]
}

/// Links to the newest page and to the next, older one (same terminal).
fn pages(terminal: Option<&str>, paged: bool, lines: &[RecordQuery]) -> Markup {
    let filter = terminal
        .map(|t| format!("&terminal={}", url_component(t)))
        .unwrap_or_default();
    pager(
        ("/console/records", "records"),
        &filter,
        paged,
        (lines, RECORD_PAGE_LINES),
        |line| line.id,
    )
}
