//! Which catalog version each site's terminals get: a version published from drafts is given
//! to one site first (its terminals get it at their next `GET /v1/catalog`, the others keep
//! theirs), an earlier one given back (a rollback), or the site made to follow the current
//! version again. An editor may do so only when every difference between what the site has
//! and what it would get is a matter of their departments.

use axum::extract::State;
use axum::http::StatusCode;
use kiosk_protocol::Catalog;
use maud::{Markup, html};

use super::diff::{changes, within};
use super::scope::{self, Scope};
use super::{PageAnswer, page};
use crate::html::{Notice, csrf_field, notice, table, text};
use crate::http::extract::field;
use crate::http::{AppState, Operator, OperatorForm, PageFailure};
use crate::store::{CatalogVersion, Session, SiteCatalog};

/// `GET /console/editor/versions`.
pub(super) async fn show(State(state): State<AppState>, operator: Operator) -> PageAnswer {
    let scope = Scope::of(&state, &operator).await?;
    render(&state, &operator, &scope, None).await
}

/// Every site (of an enrolled terminal, or with a version of its own) and what it gets.
async fn sites(state: &AppState) -> Result<(Vec<String>, Vec<SiteCatalog>), PageFailure> {
    let store = state.store();
    let pinned = store.site_catalogs().await?;
    let mut all = store.terminal_sites().await?;
    all.extend(pinned.iter().map(|p| p.site.clone()));
    all.sort();
    all.dedup();
    Ok((all, pinned))
}

/// The versions and sites page, `done` above it.
pub(super) async fn render(
    state: &AppState,
    session: &Session,
    scope: &Scope,
    done: Option<Markup>,
) -> PageAnswer {
    let versions = state.store().catalog_versions().await?;
    let (all, pinned) = sites(state).await?;
    let current = versions
        .iter()
        .find(|v| v.current)
        .map(|v| v.version.clone());
    let rows: Vec<Vec<Markup>> = all
        .iter()
        .map(|site| {
            let own = pinned.iter().find(|p| p.site == *site);
            vec![
                text(site),
                match own {
                    Some(p) => html! { strong class="site-version" { (p.version) } " (" (p.activated_by) ", " (p.activated_at) ")" },
                    None => html! { span class="site-version" { "跟随当前 follows current " (current.as_deref().unwrap_or("-")) } },
                },
                site_form(session, site, &versions, own.is_some()),
            ]
        })
        .collect();
    let body = html! {
        @if let Some(done) = done { (done) }
        @if !scope.is_all() { p { "只能启用仅改动您部门事项的版本 You may give a site only a version that differs from its own in your departments' matters." } }
        h2 { "站点 Sites" }
        (table("site-catalogs", &["站点 Site", "版本 Version", ""], &rows))
        h2 { "版本 Versions" }
        (table("editor-versions", &["版本 Version", "发布时间 Published", ""], &versions.iter().map(|v| vec![
            text(&v.version), text(&v.published_at),
            html! { @if v.current { strong { "当前 current" } } },
        ]).collect::<Vec<_>>()))
    };
    Ok(page("版本与站点 Versions and sites", session, body))
}

/// Give a version to the site (newer or older: a rollback), or let it follow the current one.
fn site_form(session: &Session, site: &str, versions: &[CatalogVersion], pinned: bool) -> Markup {
    html! {
        form class="inline" method="post" action="/console/editor/sites" {
            (csrf_field(&session.csrf))
            input type="hidden" name="site" value=(site);
            select name="version" {
                @for v in versions { option value=(v.version) { (v.version) } }
            }
            button type="submit" name="action" value="activate" { "在此站点启用 Activate for this site" }
            @if pinned {
                " " button type="submit" name="action" value="follow" { "跟随当前版本 Follow current" }
            }
        }
    }
}

/// The catalog stored as `version`.
async fn version_body(
    state: &AppState,
    session: &Session,
    version: &str,
) -> Result<Catalog, PageFailure> {
    let body = state.store().catalog_body(version).await?.ok_or_else(|| {
        PageFailure::refused(
            StatusCode::NOT_FOUND,
            session,
            "没有这个版本 There is no such catalog version",
        )
    })?;
    serde_json::from_str(&body).map_err(PageFailure::internal)
}

/// `POST /console/editor/sites`: `action=activate` gives `version` to `site`,
/// `action=follow` lets it follow the current version.
pub(super) async fn change(State(state): State<AppState>, form: OperatorForm) -> PageAnswer {
    let OperatorForm { operator, fields } = form;
    let scope = Scope::of(&state, &operator).await?;
    let site = field(&fields, "site");
    let (all, pinned) = sites(&state).await?;
    if !all.iter().any(|s| s == site) {
        return Err(PageFailure::refused(
            StatusCode::NOT_FOUND,
            &operator,
            "没有这个站点 No terminal is enrolled at that site",
        ));
    }
    let current = super::published(&state).await?;
    let had = match pinned.iter().find(|p| p.site == site) {
        Some(p) => version_body(&state, &operator, &p.version).await?,
        None => (*current).clone(),
    };
    let (target, action) = match field(&fields, "action") {
        "activate" => (
            version_body(&state, &operator, field(&fields, "version")).await?,
            "catalog_site_activate",
        ),
        "follow" => ((*current).clone(), "catalog_site_follow"),
        _ => {
            return Err(PageFailure::refused(
                StatusCode::BAD_REQUEST,
                &operator,
                "unknown action",
            ));
        }
    };
    let differences = changes(&had, &target);
    if !within(&scope, &differences) {
        return Err(scope::refused(&operator));
    }
    let store = state.store();
    match action {
        "catalog_site_follow" => {
            store.clear_site_catalog(site).await?;
        }
        _ => {
            store
                .set_site_catalog(site, &target.version, &operator.operator)
                .await?
        }
    }
    let detail = format!(
        "{site}: {} → {} ({} fields)",
        had.version,
        target.version,
        differences.len()
    );
    let _ = store.audit(&operator.operator, action, &detail).await;
    let done = notice(
        Notice::Done,
        &format!("站点 {site} 现用 now gets {}", target.version),
    );
    render(&state, &operator, &scope, Some(done)).await
}
