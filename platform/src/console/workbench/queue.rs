//! `GET /console/applications`: the queue of a clerk's departments, newest first, a page at a
//! time (keyset: `before=` the last row's id, never an offset, so a page costs the same deep in
//! a million applications), filtered by state, matter, site, day of acceptance or overdue.
//!
//! The list holds no personal data — numbers, matters, sites, days and states only — so it is
//! not audited; opening an application is.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use kiosk_protocol::{ApplicationState, Catalog};
use maud::{Markup, html};
use time::Duration;

use super::{Clerk, due_cell, matter_name, state_label};
use crate::console::{PageAnswer, page, with_status};
use crate::html::{Notice, notice, pager, table, text, url_component};
use crate::http::{AppState, Operator};
use crate::lifecycle::{iso_day, parse_day};
use crate::store::{QueueFilter, QueueLine, today};

/// Applications per page.
pub const QUEUE_PAGE_LINES: i64 = 100;

/// Every state, in the order an application passes through them.
const STATES: [ApplicationState; 5] = [
    ApplicationState::Accepted,
    ApplicationState::InReview,
    ApplicationState::NeedsMaterials,
    ApplicationState::Approved,
    ApplicationState::Rejected,
];

/// The filters as asked (echoed into the form and the page links), and as the store takes them.
#[derive(Debug, Default)]
struct Asked {
    state: String,
    matter: String,
    site: String,
    from: String,
    until: String,
    overdue: bool,
    filter: QueueFilter,
}

impl Asked {
    /// Reads the query; the first value that is not one a filter takes, in words.
    fn read(query: &HashMap<String, String>) -> Result<Asked, String> {
        let value = |name: &str| {
            query
                .get(name)
                .map(|v| v.trim().to_owned())
                .unwrap_or_default()
        };
        let mut asked = Asked {
            state: value("state"),
            matter: value("matter"),
            site: value("site"),
            from: value("from"),
            until: value("until"),
            overdue: value("overdue") == "1",
            filter: QueueFilter::default(),
        };
        let filter = &mut asked.filter;
        if !asked.state.is_empty() {
            filter.state = Some(
                ApplicationState::parse(&asked.state)
                    .ok_or_else(|| format!("`{}` is not a state", asked.state))?,
            );
        }
        for (given, slot) in [
            (&asked.matter, &mut filter.matter),
            (&asked.site, &mut filter.site),
        ] {
            if given.len() > 64 {
                return Err("a matter or site is at most 64 characters".into());
            }
            *slot = (!given.is_empty()).then(|| given.clone());
        }
        if !asked.from.is_empty() {
            let day = parse_day(&asked.from)
                .ok_or_else(|| format!("`{}` is not a day (YYYY-MM-DD)", asked.from))?;
            filter.accepted_from = Some(iso_day(day));
        }
        if !asked.until.is_empty() {
            let day = parse_day(&asked.until)
                .ok_or_else(|| format!("`{}` is not a day (YYYY-MM-DD)", asked.until))?;
            filter.accepted_before = day.checked_add(Duration::days(1)).map(iso_day);
        }
        filter.overdue_on = asked.overdue.then(today);
        if let Some(before) = query.get("before").filter(|b| !b.trim().is_empty()) {
            filter.before = Some(
                before
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| format!("`{before}` is not a page of the queue"))?,
            );
        }
        Ok(asked)
    }

    /// `&state=…&matter=…`, encoded, for the page links.
    fn link(&self) -> String {
        let mut out = String::new();
        for (name, value) in [
            ("state", &self.state),
            ("matter", &self.matter),
            ("site", &self.site),
            ("from", &self.from),
            ("until", &self.until),
        ] {
            if !value.is_empty() {
                out.push_str(&format!("&{name}={}", url_component(value)));
            }
        }
        if self.overdue {
            out.push_str("&overdue=1");
        }
        out
    }
}

/// The queue page.
pub(super) async fn show(
    State(state): State<AppState>,
    operator: Operator,
    Query(query): Query<HashMap<String, String>>,
) -> PageAnswer {
    let clerk = Clerk::of(&state, operator.session).await?;
    let (asked, refusal) = match Asked::read(&query) {
        Ok(asked) => (asked, None),
        Err(why) => (Asked::default(), Some(why)),
    };
    let lines = state
        .store()
        .queue(clerk.name(), &asked.filter, QUEUE_PAGE_LINES)
        .await?;
    let catalog = state.current_catalog().await.ok();
    let today = today();
    let rows: Vec<Vec<Markup>> = lines
        .iter()
        .map(|line| row(line, catalog.as_deref(), &today))
        .collect();
    let body = html! {
        p { "您所在部门的办件，最新的在前；列表不含申请人信息。Your departments' applications, newest first; the list shows no applicant's data." }
        @if let Some(why) = &refusal { (notice(Notice::Error, why)) }
        (filters(&asked, &clerk, catalog.as_deref()))
        (table(
            "queue",
            &["受理编号 Number", "事项 Matter", "网点 Site", "受理时间 Accepted",
              "状态 State", "办结时限 Due", "待收承诺材料 Promised"],
            &rows,
        ))
        (pager(
            ("/console/applications", "queue"),
            &asked.link(),
            asked.filter.before.is_some(),
            (&lines, QUEUE_PAGE_LINES),
            |line| line.id,
        ))
    };
    let status = match refusal {
        Some(_) => StatusCode::BAD_REQUEST,
        None => StatusCode::OK,
    };
    Ok(with_status(
        status,
        page("办件 Applications", &clerk.session, body),
    ))
}

fn row(line: &QueueLine, catalog: Option<&Catalog>, today: &str) -> Vec<Markup> {
    vec![
        html! {
            a href={ "/console/applications/" (url_component(&line.application_no)) } {
                (line.application_no)
            }
        },
        text(match catalog {
            Some(catalog) => matter_name(catalog, &line.matter_id),
            None => line.matter_id.clone(),
        }),
        text(line.site.as_deref().unwrap_or("—")),
        text(&line.accepted_at),
        html! { span class={ "state " (line.state.as_str()) } { (state_label(line.state)) } },
        due_cell(line.due_on.as_deref(), line.state, today),
        text(line.open_commitments.to_string()),
    ]
}

/// The filter form: the clerk's departments' matters to choose from.
fn filters(asked: &Asked, clerk: &Clerk, catalog: Option<&Catalog>) -> Markup {
    let matters: Vec<(String, String)> = catalog
        .map(|c| {
            c.matters
                .iter()
                .filter(|m| clerk.departments.contains(&m.department))
                .map(|m| (m.id.clone(), matter_name(c, &m.id)))
                .collect()
        })
        .unwrap_or_default();
    html! {
        form method="get" action="/console/applications" id="queue-filter" class="filters" {
            label { "状态 State "
                select name="state" id="queue-state" {
                    option value="" { "全部 All" }
                    @for s in STATES {
                        option value=(s.as_str()) selected[asked.state == s.as_str()] { (state_label(s)) }
                    }
                }
            }
            " "
            label { "事项 Matter "
                select name="matter" id="queue-matter" {
                    option value="" { "全部 All" }
                    @for (id, name) in &matters {
                        option value=(id) selected[&asked.matter == id] { (name) }
                    }
                }
            }
            " "
            label { "网点 Site " input name="site" id="queue-site" maxlength="64" value=(asked.site); }
            " "
            label { "受理自 From " input type="date" name="from" id="queue-from" value=(asked.from); }
            " "
            label { "至 Until " input type="date" name="until" id="queue-until" value=(asked.until); }
            " "
            label { input type="checkbox" name="overdue" value="1" id="queue-overdue" checked[asked.overdue]; " 仅逾期 Overdue only" }
            " "
            button type="submit" id="queue-apply" { "筛选 Filter" }
        }
    }
}
