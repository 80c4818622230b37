//! `GET /console/stats`: applications per day and 好差评 ratings by level, matter and site.

use axum::extract::State;
use maud::{Markup, html};

use super::{PageAnswer, page};
use crate::html::{bar_chart, table, text};
use crate::http::{AppState, Operator};
use crate::store::Count;

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
    let catalog = state.current_catalog().await.ok();
    let matter_name = |id: &str| {
        catalog
            .as_ref()
            .and_then(|c| c.matter(id).map(|m| m.name.zh.clone()))
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
    };
    Ok(page("统计 Statistics", &operator, body))
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
