//! The catalog's versions: publishing a new one from pasted JSON, or making an older one
//! current again (admins).

use axum::extract::State;
use axum::http::StatusCode;
use kiosk_protocol::Catalog;
use maud::{Markup, html};

use super::{PageAnswer, page, with_status};
use crate::catalog_text::read_catalog;
use crate::html::{Notice, csrf_field, notice, table, text};
use crate::http::extract::{field, role};
use crate::http::{AppState, Operator, OperatorForm, PageFailure};
use crate::search_keys;
use crate::store::{CatalogVersion, Role, Session};

/// `GET /console/catalog`.
pub(super) async fn show(State(state): State<AppState>, operator: Operator) -> PageAnswer {
    render(&state, &operator, None).await
}

async fn render(state: &AppState, session: &Session, notice: Option<Markup>) -> PageAnswer {
    let versions = state.store().catalog_versions().await?;
    let admin = session.role >= Role::Admin;
    let rows: Vec<Vec<Markup>> = versions
        .iter()
        .map(|v| {
            vec![
                html! { span class="catalog-version" { (v.version) } },
                text(&v.published_at),
                version_action(v, admin, session),
            ]
        })
        .collect();
    let body = html! {
        @if let Some(notice) = notice { (notice) }
        (table(
            "catalog-versions",
            &["版本 Version", "发布时间 Published", ""],
            &rows,
        ))
        @if admin {
            h2 { "发布新版本 Publish a new version" }
            form method="post" action="/console/catalog/publish" id="publish-form" {
                (csrf_field(&session.csrf))
                textarea name="catalog" id="catalog-json" rows="12" placeholder="catalog JSON" {}
                p { button type="submit" id="publish" { "校验并发布 Validate and publish" } }
            }
        }
    };
    Ok(page("事项目录 Catalog", session, body))
}

/// "current", or for admins the button making this version current again.
fn version_action(v: &CatalogVersion, admin: bool, session: &Session) -> Markup {
    html! {
        @if v.current {
            strong { "当前 current" }
        } @else if admin {
            form class="inline" method="post" action="/console/catalog/activate" {
                (csrf_field(&session.csrf))
                input type="hidden" name="version" value=(v.version);
                button type="submit" { "恢复此版本 Make current" }
            }
        }
    }
}

/// `POST /console/catalog/publish`: validates and publishes the pasted catalog (admins).
pub(super) async fn publish(
    State(state): State<AppState>,
    form: OperatorForm<role::Admin>,
) -> PageAnswer {
    let OperatorForm { operator, fields } = form;
    let catalog = match read_catalog(field(&fields, "catalog")) {
        Ok(c) => c,
        Err(e) => {
            let why = format!("目录无法发布 Cannot publish: {e}");
            return unpublishable(&state, &operator, &why).await;
        }
    };
    let store = state.store();
    store.publish_catalog(&catalog).await?;
    let _ = store
        .audit(
            &operator.operator,
            "catalog_publish",
            &format!("{} ({} matters)", catalog.version, catalog.matters.len()),
        )
        .await;
    let done = notice(
        Notice::Done,
        &format!("已发布 Published {}", catalog.version),
    );
    render(&state, &operator, Some(done)).await
}

/// The catalog page again, 422, saying why the pasted catalog was not published.
async fn unpublishable(state: &AppState, session: &Session, why: &str) -> PageAnswer {
    let shown = render(state, session, Some(notice(Notice::Error, why))).await?;
    Ok(with_status(StatusCode::UNPROCESSABLE_ENTITY, shown))
}

/// `POST /console/catalog/activate`: makes an earlier version current again (admins).
pub(super) async fn activate(
    State(state): State<AppState>,
    form: OperatorForm<role::Admin>,
) -> PageAnswer {
    let OperatorForm { operator, fields } = form;
    let version = field(&fields, "version");
    let store = state.store();
    let body = store.catalog_body(version).await?.ok_or_else(|| {
        PageFailure::refused(StatusCode::NOT_FOUND, &operator, "no such catalog version")
    })?;
    let mut catalog: Catalog = serde_json::from_str(&body).map_err(PageFailure::internal)?;
    // A version published before keys were spelt gets them now.
    search_keys::fill(&mut catalog);
    store.publish_catalog(&catalog).await?;
    let _ = store
        .audit(&operator.operator, "catalog_activate", version)
        .await;
    let done = notice(
        Notice::Done,
        &format!("当前版本 Current version: {version}"),
    );
    render(&state, &operator, Some(done)).await
}
