//! `GET /console/audit`: who changed what, newest first, a page at a time, filtered by kind,
//! operator, terminal and time (admins).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use maud::{Markup, html};
use time::macros::{format_description, offset};
use time::{Date, Duration, PrimitiveDateTime, Time};

use super::{PageAnswer, page, with_status};
use crate::html::{Notice, notice, pager, table, text, url_component};
use crate::http::extract::role;
use crate::http::{AppState, Operator};
use crate::store::{AuditFilter, AuditRow};

/// Lines per page.
pub const AUDIT_PAGE_LINES: i64 = 50;

/// The query's filters as typed (shown again in the form, carried to the next page).
const FILTERS: &[(&str, &str, &str)] = &[
    ("kind", "类型 Kind", "login_failed"),
    ("operator", "操作员 Operator", "admin"),
    ("terminal", "终端 Terminal", "T-0001"),
    ("from", "自 From", "2026-12-01 or 2026-12-01T08:00"),
    ("until", "至 Until", "2026-12-07 or 2026-12-07T18:00"),
];

/// The audit log.
pub(super) async fn show(
    State(state): State<AppState>,
    operator: Operator<role::Admin>,
    Query(query): Query<HashMap<String, String>>,
) -> PageAnswer {
    let (filter, refusal) = match filter_of(&query) {
        Ok(filter) => (filter, None),
        Err(why) => (
            AuditFilter {
                limit: AUDIT_PAGE_LINES,
                ..AuditFilter::default()
            },
            Some(why),
        ),
    };
    let lines = state.store().audit_log(&filter).await?;
    let body = html! {
        @if let Some(why) = &refusal { (notice(Notice::Error, why)) }
        (filter_form(&query))
        (table(
            "audit",
            &["时间 At", "操作员 Operator", "操作 Action", "内容 Detail"],
            &lines.iter().map(row).collect::<Vec<_>>(),
        ))
        (pages(&query, &lines))
    };
    let refused = refusal.is_some();
    let shown = page("审计日志 Audit log", &operator, body);
    Ok(if refused {
        with_status(StatusCode::BAD_REQUEST, shown)
    } else {
        shown
    })
}

fn row(line: &AuditRow) -> Vec<Markup> {
    vec![
        text(&line.at),
        text(&line.operator),
        text(&line.action),
        text(&line.detail),
    ]
}

/// The filters in `query`, or why one cannot be read.
fn filter_of(query: &HashMap<String, String>) -> Result<AuditFilter, String> {
    let given = |name: &str| {
        query
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let before = match given("before") {
        None => None,
        Some(id) => Some(
            id.parse::<i64>()
                .map_err(|_| format!("`{id}` is not a page of the audit log"))?,
        ),
    };
    let from = given("from").map(|t| bound(&t, false)).transpose()?;
    let until = given("until").map(|t| bound(&t, true)).transpose()?;
    Ok(AuditFilter {
        kind: given("kind"),
        operator: given("operator"),
        terminal: given("terminal"),
        from,
        until,
        before,
        limit: AUDIT_PAGE_LINES,
    })
}

/// A time typed as `2026-12-07` or `2026-12-07T10:00` (Beijing time) as the audit log writes
/// times; with `end`, the first moment after it (a day or minute given is included whole).
fn bound(typed: &str, end: bool) -> Result<String, String> {
    let refused = || {
        format!(
            "时间格式不对 `{typed}` is not a time like 2026-12-07 or 2026-12-07T10:00 (Beijing time)"
        )
    };
    let day = format_description!("[year]-[month]-[day]");
    let minute = format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let (at, step) = if let Ok(date) = Date::parse(typed, day) {
        (PrimitiveDateTime::new(date, Time::MIDNIGHT), Duration::DAY)
    } else {
        let at = PrimitiveDateTime::parse(typed, minute).map_err(|_| refused())?;
        (at, Duration::MINUTE)
    };
    let at = if end {
        at.checked_add(step).ok_or_else(refused)?
    } else {
        at
    };
    Ok(crate::store::rfc3339_at(
        at.assume_offset(offset!(+8)).unix_timestamp(),
    ))
}

fn filter_form(query: &HashMap<String, String>) -> Markup {
    html! {
        form method="get" action="/console/audit" id="audit-filter" class="filters" {
            @for (name, label, example) in FILTERS {
                label { (label) " "
                    input name=(name) id={ "audit-" (name) } placeholder=(example) maxlength="64"
                        value=(query.get(*name).map(String::as_str).unwrap_or_default());
                }
                " "
            }
            button type="submit" id="audit-apply" { "筛选 Filter" }
        }
    }
}

/// Links to the newest page and to the next, older one (same filters).
fn pages(query: &HashMap<String, String>, lines: &[AuditRow]) -> Markup {
    let filters: String = FILTERS
        .iter()
        .filter_map(|(name, _, _)| {
            query
                .get(*name)
                .filter(|v| !v.trim().is_empty())
                .map(|v| format!("&{name}={}", url_component(v)))
        })
        .collect();
    pager(
        ("/console/audit", "audit"),
        &filters,
        query.contains_key("before"),
        (lines, AUDIT_PAGE_LINES),
        |line| line.id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_times_become_bounds_in_the_logs_own_form() {
        assert_eq!(
            bound("2026-12-07", false).as_deref(),
            Ok("2026-12-07T00:00:00+08:00")
        );
        assert_eq!(
            bound("2026-12-07", true).as_deref(),
            Ok("2026-12-08T00:00:00+08:00")
        );
        assert_eq!(
            bound("2026-12-07T10:00", true).as_deref(),
            Ok("2026-12-07T10:01:00+08:00")
        );
        assert!(bound("yesterday", false).is_err());
        assert!(bound("2026-13-01", false).is_err());
    }
}
