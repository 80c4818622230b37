//! `GET /console/stats`: applications per day; 好差评 ratings by level, matter and site; ratings
//! of completion per department with the national indicators' means; and the 差评 cases per
//! department with the 差评整改率 (answered cases over cases, and answered on time).

use axum::extract::State;
use maud::{Markup, html};

use super::{PageAnswer, page};
use crate::html::{bar_chart, table, text};
use crate::http::{AppState, Operator};
use crate::store::{Count, DepartmentCases, DepartmentRatings};

/// The header of the rating tables.
const RATING_COLUMNS: [&str; 8] = [
    "",
    "★5",
    "★4",
    "★3",
    "★2",
    "★1",
    "合计 total",
    "均分 / 满意率 mean / satisfied",
];

/// The statistics page.
pub(super) async fn show(State(state): State<AppState>, operator: Operator) -> PageAnswer {
    let store = state.store();
    let per_day = store.applications_per_day().await?;
    let by_level = store.ratings_by_level().await?;
    let by_matter = store.ratings_by_matter().await?;
    let by_site = store.ratings_by_site().await?;
    let completion = store.completion_ratings_by_department().await?;
    let cases = store.cases_by_department().await?;
    let catalog = state.current_catalog().await.ok();
    let matter_name = |id: &str| {
        catalog
            .as_ref()
            .and_then(|c| c.matter(id).map(|m| m.name.zh.clone()))
            .unwrap_or_else(|| id.to_owned())
    };
    let department_name = |id: &str| {
        catalog
            .as_ref()
            .and_then(|c| c.department(id).map(|d| d.name.zh.clone()))
            .unwrap_or_else(|| id.to_owned())
    };
    let days: Vec<(String, i64)> = per_day.iter().map(|c| (c.label.clone(), c.n)).collect();
    let levels: Vec<(String, i64)> = by_level
        .iter()
        .map(|c| (level_label(&c.label), c.n))
        .collect();
    let body = html! {
        h2 { "每日受理量 Applications per day" }
        (bar_chart("chart-applications", "Applications per day", &days))
        h2 { "好差评分布 Ratings by level" }
        (bar_chart("chart-ratings", "Ratings by level", &levels))
        h2 { "按事项 By matter" }
        (table("ratings-by-matter", &RATING_COLUMNS, &pivot(&by_matter, &matter_name)))
        h2 { "按站点 By site" }
        (table("ratings-by-site", &RATING_COLUMNS, &pivot(&by_site, &|s: &str| s.to_owned())))
        h2 { "办结评价 Ratings of completion by department" }
        (table("completion-by-department", &completion_columns(), &completion_rows(&completion, &department_name)))
        h2 { "差评整改 Bad-rating cases by department" }
        (table("cases-by-department", &CASE_COLUMNS, &case_rows(&cases, &department_name)))
    };
    Ok(page("统计 Statistics", &operator, body))
}

/// The header of the completion ratings' table: the department, the levels and total of
/// [`RATING_COLUMNS`], and the four national indicators' means.
fn completion_columns() -> Vec<&'static str> {
    [
        &["部门 Department"][..],
        &RATING_COLUMNS[1..7],
        &[
            "整体满意度 overall",
            "服务效率 efficiency",
            "服务水平 competence",
            "服务态度 attitude",
        ],
    ]
    .concat()
}

/// The header of the cases' table.
const CASE_COLUMNS: [&str; 8] = [
    "部门 Department",
    "差评 cases",
    "未答复 open",
    "超期 overdue",
    "已答复 answered",
    "按期 on time",
    "整改率 answered share",
    "按期整改率 on-time share",
];

/// One row per department: its ratings of completion by level, and each indicator's mean.
fn completion_rows(
    departments: &[DepartmentRatings],
    name: &dyn Fn(&str) -> String,
) -> Vec<Vec<Markup>> {
    departments
        .iter()
        .map(|d| {
            let mut row = vec![text(name(&d.department))];
            row.extend(d.levels.iter().rev().map(|n| text(n.to_string())));
            row.push(text(d.levels.iter().sum::<i64>().to_string()));
            row.extend(d.indicator_sums.iter().map(|sum| {
                text(if d.indicated > 0 {
                    format!("{:.2}", *sum as f64 / d.indicated as f64)
                } else {
                    "—".into()
                })
            }));
            row
        })
        .collect()
}

/// `part` of `whole` as a percentage, or a dash for none.
fn share(part: i64, whole: i64) -> String {
    if whole > 0 {
        format!("{:.0}%", 100.0 * part as f64 / whole as f64)
    } else {
        "—".into()
    }
}

/// One row per department and a total: its cases, open, overdue and answered (on time), and
/// the 差评整改率.
fn case_rows(departments: &[DepartmentCases], name: &dyn Fn(&str) -> String) -> Vec<Vec<Markup>> {
    let total = departments
        .iter()
        .fold(DepartmentCases::default(), |sum, d| DepartmentCases {
            department: "合计 total".into(),
            total: sum.total + d.total,
            open: sum.open + d.open,
            overdue: sum.overdue + d.overdue,
            answered: sum.answered + d.answered,
            answered_on_time: sum.answered_on_time + d.answered_on_time,
        });
    let named = departments.iter().map(|d| (name(&d.department), d));
    let all = (departments.len() > 1).then(|| (total.department.clone(), &total));
    named
        .chain(all)
        .map(|(label, d)| {
            vec![
                text(label),
                text(d.total.to_string()),
                text(d.open.to_string()),
                if d.overdue > 0 {
                    html! { span class="overdue" { (d.overdue) } }
                } else {
                    text("0")
                },
                text(d.answered.to_string()),
                text(d.answered_on_time.to_string()),
                text(share(d.answered, d.total)),
                text(share(d.answered_on_time, d.total)),
            ]
        })
        .collect()
}

/// "★5 非常满意" for a level, the label itself for anything else.
fn level_label(level: &str) -> String {
    level
        .parse::<u8>()
        .ok()
        .and_then(kiosk_protocol::level_name)
        .map(|n| format!("★{level} {}", n.zh))
        .unwrap_or_else(|| level.to_owned())
}

/// One row per label (named by `name`): its count at each level from 5 to 1, the total, and
/// the mean with the share of 4s and 5s.
fn pivot(counts: &[Count], name: &dyn Fn(&str) -> String) -> Vec<Vec<Markup>> {
    let mut labels: Vec<&str> = counts.iter().map(|c| c.label.as_str()).collect();
    labels.dedup();
    labels
        .iter()
        .map(|label| {
            let of_label = || counts.iter().filter(|c| c.label == *label);
            let mut row = vec![text(name(label))];
            let mut total = 0;
            let mut weighted = 0;
            for level in (1..=5).rev() {
                let n = of_label()
                    .find(|c| c.sub.as_deref() == Some(&level.to_string()))
                    .map(|c| c.n)
                    .unwrap_or(0);
                total += n;
                weighted += n * level;
                row.push(text(n.to_string()));
            }
            let satisfied = of_label()
                .filter(|c| matches!(c.sub.as_deref(), Some("4" | "5")))
                .map(|c| c.n)
                .sum::<i64>();
            row.push(text(total.to_string()));
            row.push(text(if total > 0 {
                format!(
                    "{:.2} / {:.0}%",
                    weighted as f64 / total as f64,
                    100.0 * satisfied as f64 / total as f64
                )
            } else {
                "—".into()
            }));
            row
        })
        .collect()
}
