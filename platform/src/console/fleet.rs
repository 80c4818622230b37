//! `GET /console`: every terminal with its state, filterable by site and state; terminals whose
//! catalog lags the version they should run are marked with how long (filter `catalog_behind`).

use axum::extract::{Query, State};
use kiosk_protocol::Heartbeat;
use maud::{Markup, html};

use super::{PageAnswer, ago, page};
use crate::html::{table, text, url_component};
use crate::http::extract::{Fields, field};
use crate::http::{AppState, Operator};
use crate::store::{CatalogTarget, FleetRow, unix_now};

/// The state filter's choices: (value, label).
const STATE_FILTERS: [(&str, &str); 7] = [
    ("", "全部 all"),
    ("online", "在线 online"),
    ("offline", "离线 offline"),
    ("ok", "正常 ok"),
    ("degraded", "警告 degraded"),
    ("faulted", "故障 faulted"),
    ("catalog_behind", "目录落后 catalog behind"),
];

/// "● online" or "○ offline".
pub(super) fn state_badge(online: bool) -> Markup {
    html! {
        @if online {
            span class="online" { "● 在线 online" }
        } @else {
            span class="offline" { "○ 离线 offline" }
        }
    }
}

/// A terminal's overall health, coloured.
pub(super) fn health_badge(health: Option<&str>) -> Markup {
    let h = health.unwrap_or("unknown");
    let label = match h {
        "ok" => "正常 ok",
        "degraded" => "警告 degraded",
        "faulted" => "故障 faulted",
        _ => "未知 unknown",
    };
    html! { span class=(h) { (label) } }
}

/// The heartbeat a row carries, if it parses.
pub(super) fn heartbeat_of(json: Option<&str>) -> Option<Heartbeat> {
    json.and_then(|h| serde_json::from_str(h).ok())
}

/// The catalog version a heartbeat reports the terminal shows.
pub(super) fn reported_catalog(heartbeat: Option<&Heartbeat>) -> Option<&str> {
    heartbeat.and_then(|h| h.versions.get("catalog").map(String::as_str))
}

/// "v (落后 behind 12 min, should run w)" for a lagging terminal, the version alone otherwise.
pub(super) fn catalog_cell(
    reported: Option<&str>,
    target: Option<&CatalogTarget>,
    now: i64,
) -> Markup {
    let lag = target.and_then(|t| t.lag(reported, now).map(|secs| (t, secs)));
    html! {
        (reported.unwrap_or("未报告 not reported"))
        @if let Some((target, secs)) = lag {
            " " span class="degraded catalog-behind" {
                "落后 behind " (duration_text(secs)) " → " (target.version)
            }
        }
    }
}

/// "45 s", "12 min", "3 h 5 min", "2 d 4 h".
fn duration_text(secs: i64) -> String {
    match secs {
        ..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        3600..86_400 => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
        _ => format!("{} d {} h", secs / 86_400, secs % 86_400 / 3600),
    }
}

/// The fleet, as the filters in `query` narrow it.
pub(super) async fn list(
    State(state): State<AppState>,
    Query(query): Query<Fields>,
    operator: Operator,
) -> PageAnswer {
    let terminals = state.store().fleet().await?;
    let targets = state.store().catalog_targets().await?;
    let alarms = state.store().open_alarms(None).await?;
    let now = unix_now();
    let offline_after = state.offline_after();
    let online = |last: Option<i64>| last.is_some_and(|t| now - t <= offline_after);
    let site_filter = field(&query, "site");
    let state_filter = field(&query, "state");
    let count = |health: &str| {
        terminals
            .iter()
            .filter(|t| t.health.as_deref() == Some(health))
            .count()
    };
    let total = terminals.len();
    let online_count = terminals.iter().filter(|t| online(t.last_seen)).count();
    let behind = |t: &FleetRow| {
        let heartbeat = heartbeat_of(t.heartbeat.as_deref());
        targets
            .for_site(t.site.as_deref())
            .and_then(|target| target.lag(reported_catalog(heartbeat.as_ref()), now))
            .is_some()
    };
    let behind_count = terminals.iter().filter(|t| behind(t)).count();
    let rows: Vec<Vec<Markup>> = terminals
        .iter()
        .filter(|t| site_filter.is_empty() || t.site.as_deref() == Some(site_filter))
        .filter(|t| match state_filter {
            "online" => online(t.last_seen),
            "offline" => !online(t.last_seen),
            "ok" | "degraded" | "faulted" => t.health.as_deref() == Some(state_filter),
            "catalog_behind" => behind(t),
            _ => true,
        })
        .map(|t| {
            row(
                t,
                online(t.last_seen),
                targets.for_site(t.site.as_deref()),
                now,
            )
        })
        .collect();
    let mut sites: Vec<&str> = terminals.iter().filter_map(|t| t.site.as_deref()).collect();
    sites.sort_unstable();
    sites.dedup();
    let body = html! {
        div class="cards" {
            div class="card" { "终端 terminals" b id="count-total" { (total) } }
            div class="card" { "在线 online" b id="count-online" { (online_count) } }
            div class="card" { "离线 offline" b id="count-offline" { (total - online_count) } }
            div class="card" { "警告 degraded" b { (count("degraded")) } }
            div class="card" { "故障 faulted" b { (count("faulted")) } }
            div class="card" { "目录落后 catalog behind" b id="count-catalog-behind" { (behind_count) } }
        }
        @if !alarms.is_empty() {
            h2 { "告警 Alarms (" (alarms.len()) ")" }
            (super::trust::alarm_table(&alarms, &operator))
        }
        (filters(&sites, site_filter, state_filter))
        p { "离线判定：超过 " (offline_after) " 秒无心跳 (offline after " (offline_after) " s without a heartbeat)" }
        (table(
            "fleet",
            &[
                "终端 Terminal",
                "站点 Site",
                "在线 Online",
                "健康 Health",
                "设备 Devices",
                "版本 Version",
                "目录 Catalog",
                "最后心跳 Last heartbeat",
                "待发 Outbox",
            ],
            &rows,
        ))
    };
    Ok(page("终端 Fleet", &operator, body))
}

/// The site and state filters, showing the ones in force.
fn filters(sites: &[&str], site_filter: &str, state_filter: &str) -> Markup {
    html! {
        form method="get" action="/console" {
            "站点 site "
            select name="site" {
                option value="" { "全部 all" }
                @for site in sites {
                    option value=(site) selected[*site == site_filter] { (site) }
                }
            }
            " 状态 state "
            select name="state" {
                @for (value, label) in STATE_FILTERS {
                    option value=(value) selected[value == state_filter] { (label) }
                }
            }
            " "
            button type="submit" { "筛选 Filter" }
        }
    }
}

/// One terminal's row.
fn row(t: &FleetRow, online: bool, target: Option<&CatalogTarget>, now: i64) -> Vec<Markup> {
    let heartbeat = heartbeat_of(t.heartbeat.as_deref());
    let devices = html! {
        @if let Some(h) = &heartbeat {
            @for (i, d) in h.devices.iter().enumerate() {
                @if i > 0 { br; }
                (d.device) ": " span class=(d.state.as_str()) { (d.state.as_str()) }
                @if !d.reasons.is_empty() { " (" (d.reasons.join(", ")) ")" }
            }
        }
    };
    let version = heartbeat
        .as_ref()
        .and_then(|h| h.versions.get("app").cloned())
        .unwrap_or_default();
    let outbox = heartbeat
        .as_ref()
        .map(|h| h.outbox_depth.to_string())
        .unwrap_or_default();
    vec![
        html! { a href={ "/console/terminals/" (url_component(&t.id)) } { (t.id) } },
        text(t.site.as_deref().unwrap_or("—")),
        html! {
            span data-terminal=(t.id) { (state_badge(online)) }
            @if t.revoked.is_some() { " " span class="offline revoked" { "已吊销 revoked" } }
        },
        health_badge(t.health.as_deref()),
        devices,
        text(version),
        catalog_cell(reported_catalog(heartbeat.as_ref()), target, now),
        text(ago(now, t.last_seen)),
        text(outbox),
    ]
}
