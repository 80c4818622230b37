//! The matter editor (事项编辑): department editors change their matters' guides as form
//! fields, see them drawn by the terminal's own screen code, save drafts, and publish a new
//! catalog version after reading its changes field by field; a version is then given to the
//! terminals of one site ([`sites`]), or an earlier one again (a rollback).
//!
//! Who may do what is [`scope::Scope`]: an editor only the matters of their departments
//! (the department as the published catalog has it), an admin all. A new version is the
//! current catalog with the publisher's drafts in it, so it changes nothing outside their
//! departments. Every save, discard, publication and activation is audited.

mod diff;
mod fields;
mod form_fields;
mod preview;
mod scope;
mod sites;

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Router};
use kiosk_protocol::{Catalog, CatalogError, Language, Matter};
use maud::{Markup, html};
use sha2::{Digest, Sha256};

use super::{PageAnswer, page, with_status};
use crate::html::{Notice, csrf_field, notice, table, text, url_component};
use crate::http::extract::field;
use crate::http::{AppState, Operator, OperatorForm, PageFailure};
use crate::store::{MatterDraft, Session, now_rfc3339, today};
use fields::Problems;
pub(crate) use preview::Previews;
use scope::Scope;

/// The editor's routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/editor", get(list))
        .route("/console/editor/matters/{id}", get(show).post(save))
        .route(
            "/console/editor/matters/{id}/preview/{picture}",
            get(picture),
        )
        .route("/console/editor/publish", get(review).post(publish))
        .route("/console/editor/versions", get(sites::show))
        .route("/console/editor/sites", post(sites::change))
}

/// The current catalog; 503 while none is published.
async fn published(state: &AppState) -> Result<Arc<Catalog>, PageFailure> {
    state
        .current_catalog()
        .await
        .map_err(|_| PageFailure::Refused {
            status: StatusCode::SERVICE_UNAVAILABLE,
            session: None,
            message: "没有已发布的目录 No catalog is published".into(),
        })
}

/// The published catalog, and the drafts (parsed) of `scope`'s departments.
async fn catalog_and_drafts(
    state: &AppState,
    scope: &Scope,
) -> Result<(Arc<Catalog>, Vec<(MatterDraft, Matter)>), PageFailure> {
    let catalog = published(state).await?;
    let drafts = state
        .store()
        .drafts()
        .await?
        .into_iter()
        .filter(|d| scope.covers(&d.department))
        .filter_map(|d| {
            let matter = serde_json::from_str(&d.body).ok()?;
            Some((d, matter))
        })
        .collect();
    Ok((catalog, drafts))
}

/// `catalog` with `matters` in place of the matters of the same id.
fn with_matters<'a>(catalog: &Catalog, matters: impl IntoIterator<Item = &'a Matter>) -> Catalog {
    let mut changed = catalog.clone();
    for matter in matters {
        if let Some(slot) = changed.matters.iter_mut().find(|m| m.id == matter.id) {
            *slot = matter.clone();
        }
    }
    changed
}

/// `GET /console/editor`: the matters the user may edit, with their drafts.
async fn list(State(state): State<AppState>, operator: Operator) -> PageAnswer {
    let scope = Scope::of(&state, &operator).await?;
    let (catalog, drafts) = catalog_and_drafts(&state, &scope).await?;
    let rows: Vec<Vec<Markup>> = catalog
        .matters
        .iter()
        .filter(|m| scope.covers(&m.department))
        .map(|m| {
            let draft = drafts.iter().find(|(d, _)| d.matter_id == m.id);
            vec![
                html! { a class="matter" href={ "/console/editor/matters/" (url_component(&m.id)) } { (m.id) } },
                text(format!("{} {}", m.name.zh, m.name.en)),
                text(&m.department),
                match draft {
                    Some((d, _)) => html! { span class="draft" { "草稿 draft: " (d.saved_by) ", " (d.saved_at) } },
                    None => html! {},
                },
            ]
        })
        .collect();
    let body = html! {
        p { "当前版本 Current version: " strong { (catalog.version) } }
        (table("editor-matters", &["事项 Matter", "名称 Name", "部门 Department", "草稿 Draft"], &rows))
        p {
            a id="review" href="/console/editor/publish" { "审阅并发布草稿 Review and publish drafts" }
            " · "
            a id="versions" href="/console/editor/versions" { "版本与站点 Versions and sites" }
        }
    };
    Ok(page("事项编辑 Matter editor", &operator, body))
}

/// The matter `id` of the published catalog, if the user may edit it: 404 for no such
/// matter, 403 for another department's.
fn editable<'a>(
    catalog: &'a Catalog,
    id: &str,
    scope: &Scope,
    session: &Session,
) -> Result<&'a Matter, PageFailure> {
    let matter = catalog.matter(id).ok_or_else(|| {
        PageFailure::refused(
            StatusCode::NOT_FOUND,
            session,
            "没有这个事项 There is no such matter",
        )
    })?;
    if !scope.covers(&matter.department) {
        return Err(scope::refused(session));
    }
    Ok(matter)
}

/// The matter as its draft has it, else as published.
fn drafted(matter: &Matter, drafts: &[(MatterDraft, Matter)]) -> Matter {
    drafts
        .iter()
        .find(|(d, _)| d.matter_id == matter.id)
        .map_or_else(|| matter.clone(), |(_, m)| m.clone())
}

/// `GET /console/editor/matters/{id}`.
async fn show(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
) -> PageAnswer {
    let scope = Scope::of(&state, &operator).await?;
    let (catalog, drafts) = catalog_and_drafts(&state, &scope).await?;
    let matter = drafted(editable(&catalog, &id, &scope, &operator)?, &drafts);
    let saved = drafts.iter().any(|(d, _)| d.matter_id == id);
    Ok(page(
        "编辑事项 Edit matter",
        &operator,
        matter_page(&operator, &matter, saved, &Problems::new(), None),
    ))
}

/// The edit form, its problems beside the fields, and the four preview pictures.
fn matter_page(
    session: &Session,
    matter: &Matter,
    drafted: bool,
    problems: &Problems,
    done: Option<Markup>,
) -> Markup {
    let base = format!("/console/editor/matters/{}", url_component(&matter.id));
    html! {
        @if let Some(done) = done { (done) }
        @if let Some(why) = problems.get("catalog") { (notice(Notice::Error, why)) }
        p { code id="matter-id" { (matter.id) } " · " (matter.department)
            @if drafted { " · " span class="draft" { "有未发布的草稿 Unpublished draft" } } }
        form method="post" action=(base) id="matter-form" {
            (csrf_field(&session.csrf))
            (fields::guide_fields(matter, problems))
            (form_fields::form_fields(matter.form.as_ref(), problems))
            @if let Some(why) = problems.get("form") {
                p class="error field-error" id="problem-form" { (why) }
            }
            p {
                button type="submit" name="action" value="save" id="save" { "校验并保存草稿 Validate and save draft" }
                @if drafted {
                    " " button type="submit" name="action" value="discard" id="discard" { "放弃草稿 Discard draft" }
                }
            }
        }
        h2 { "终端预览 Terminal preview" }
        (previews(&base, matter, problems))
    }
}

/// The preview pictures: the guide's, then each form section's, every one in both languages
/// and orientations; or a sentence why there are none.
fn previews(base: &str, matter: &Matter, problems: &Problems) -> Markup {
    if !preview::installed() {
        return html! { p class="error" id="preview-missing" { (preview::PreviewFailure::Missing) } };
    }
    let sections = matter.form.as_ref().map_or(&[][..], |f| &f.sections[..]);
    html! {
        @if !problems.is_empty() { p { "预览显示上次保存的内容 The preview shows what was last saved." } }
        h3 { "办事指南 Guide" }
        (picture_row(base, ""))
        @if sections.is_empty() {
            p id="no-form-preview" { "此事项没有申请表，没有表单页可预览 This matter has no application form, so there are no form pages to preview." }
        }
        @for (n, section) in sections.iter().enumerate() {
            h3 class="form-preview" { "申请表第 " (n + 1) " 页 Form page " (n + 1) ": " (section.title.zh) " " (section.title.en) }
            (picture_row(base, &format!("form-{n}-")))
        }
    }
}

/// One page's four pictures; `prefix` names the page (empty for the guide).
fn picture_row(base: &str, prefix: &str) -> Markup {
    html! {
        div class="previews" {
            @for (name, label) in PICTURES {
                figure {
                    img class="preview" src={ (base) "/preview/" (prefix) (name) } alt=(label) width="270";
                    figcaption { (label) }
                }
            }
        }
    }
}

/// The preview pictures of a page: file name and caption.
const PICTURES: [(&str, &str); 4] = [
    ("zh-portrait.png", "中文 竖屏 zh portrait"),
    ("en-portrait.png", "英文 竖屏 en portrait"),
    ("zh-landscape.png", "中文 横屏 zh landscape"),
    ("en-landscape.png", "英文 横屏 en landscape"),
];

/// The page, language and orientation a picture's file name asks for: `zh-portrait.png` is
/// the guide, `form-2-en-landscape.png` the form's third section. `None` for any other name.
fn picture_name(name: &str) -> Option<(serde_json::Value, Language, bool)> {
    let (page, rest) = match name.strip_prefix("form-") {
        Some(rest) => {
            let (n, rest) = rest.split_once('-')?;
            // Digits only, so "+1" or "01" do not make a second name (and cache entry) for a page.
            if n.is_empty()
                || n.len() > 3
                || !n.bytes().all(|b| b.is_ascii_digit())
                || (n.len() > 1 && n.starts_with('0'))
            {
                return None;
            }
            let section: usize = n.parse().ok()?;
            (serde_json::json!({ "form": { "section": section } }), rest)
        }
        None => (serde_json::json!("guide"), name),
    };
    let (language, landscape) = match rest {
        "zh-portrait.png" => (Language::Zh, false),
        "en-portrait.png" => (Language::En, false),
        "zh-landscape.png" => (Language::Zh, true),
        "en-landscape.png" => (Language::En, true),
        _ => return None,
    };
    Some((page, language, landscape))
}

/// Where in the form a catalog's refusal belongs.
fn problems_of(error: &CatalogError) -> Problems {
    let place = match error {
        CatalogError::Incomplete { field, .. } | CatalogError::Invalid { field, .. } => {
            (*field).to_owned()
        }
        // The form's own path (after `matters[<id>].`) when it names a section or field, so the
        // problem shows beside it.
        CatalogError::Form { owner, path, .. } => {
            let prefix = format!("matters[{owner}].");
            match path.strip_prefix(&prefix) {
                Some(inner) if inner.starts_with("form.sections[") => inner.to_owned(),
                _ => "form".to_owned(),
            }
        }
        _ => "catalog".to_owned(),
    };
    Problems::from([(place, error.to_string())])
}

/// `POST /console/editor/matters/{id}`: validates and saves the draft, or discards it.
async fn save(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: OperatorForm,
) -> PageAnswer {
    let OperatorForm { operator, fields } = form;
    let scope = Scope::of(&state, &operator).await?;
    let (catalog, drafts) = catalog_and_drafts(&state, &scope).await?;
    let published = editable(&catalog, &id, &scope, &operator)?;
    let store = state.store();
    if field(&fields, "action") == "discard" {
        if store.discard_draft(&id).await? {
            let _ = store
                .audit(&operator.operator, "editor_draft_discard", &id)
                .await;
        }
        let done = notice(Notice::Done, "草稿已放弃 Draft discarded");
        return Ok(page(
            "编辑事项 Edit matter",
            &operator,
            matter_page(&operator, published, false, &Problems::new(), Some(done)),
        ));
    }
    let mut matter = fields::matter_from(&fields, drafted(published, &drafts));
    // Never from the form: which matter, and whose it is.
    matter.id = published.id.clone();
    matter.department = published.department.clone();
    let checked = match form_fields::form_from(&fields) {
        Ok(form) => {
            matter.form = form;
            with_matters(&catalog, [&matter])
                .validate()
                .map_err(|e| problems_of(&e))
        }
        Err(problems) => Err(problems),
    };
    if let Err(problems) = checked {
        let shown = matter_page(&operator, &matter, false, &problems, None);
        return Ok(with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            page("编辑事项 Edit matter", &operator, shown),
        ));
    }
    let draft = MatterDraft {
        matter_id: matter.id.clone(),
        department: matter.department.clone(),
        body: serde_json::to_string(&matter).map_err(PageFailure::internal)?,
        saved_by: operator.operator.clone(),
        saved_at: now_rfc3339(),
    };
    store.save_draft(&draft).await?;
    let changed = diff::changes(&catalog, &with_matters(&catalog, [&matter])).len();
    let _ = store
        .audit(
            &operator.operator,
            "editor_draft_save",
            &format!("{id} ({changed} fields differ from {})", catalog.version),
        )
        .await;
    let done = notice(Notice::Done, "草稿已保存 Draft saved");
    Ok(page(
        "编辑事项 Edit matter",
        &operator,
        matter_page(&operator, &matter, true, &Problems::new(), Some(done)),
    ))
}

/// `GET /console/editor/matters/{id}/preview/{picture}`: the matter (its draft, else as
/// published) drawn by the terminal's screen code.
async fn picture(
    State(state): State<AppState>,
    Extension(previews): Extension<Arc<Previews>>,
    operator: Operator,
    Path((id, picture)): Path<(String, String)>,
) -> PageAnswer {
    let scope = Scope::of(&state, &operator).await?;
    let not_found = || PageFailure::refused(StatusCode::NOT_FOUND, &operator, "no such preview");
    let (page, language, landscape) = picture_name(&picture).ok_or_else(not_found)?;
    let (catalog, drafts) = catalog_and_drafts(&state, &scope).await?;
    let matter = drafted(editable(&catalog, &id, &scope, &operator)?, &drafts);
    // Only sections the form has: any other number would cost a child process for nothing.
    if let Some(section) = page.pointer("/form/section").and_then(|n| n.as_u64()) {
        let sections = matter.form.as_ref().map_or(0, |f| f.sections.len());
        if usize::try_from(section).map_or(true, |s| s >= sections) {
            return Err(not_found());
        }
    }
    let request = serde_json::json!({
        "catalog": with_matters(&catalog, [&matter]),
        "matter": matter.id,
        "language": language,
        "landscape": landscape,
        "page": page,
    });
    let input = serde_json::to_vec(&request).map_err(PageFailure::internal)?;
    let png = previews.picture(&input).await.map_err(|e| {
        PageFailure::refused(StatusCode::SERVICE_UNAVAILABLE, &operator, e.to_string())
    })?;
    Ok(([(header::CONTENT_TYPE, "image/png")], png.as_ref().clone()).into_response())
}

/// The version the drafts of `scope` would make: the current catalog with them, its changes,
/// and a digest of it (what was reviewed is what is published).
struct Proposal {
    catalog: Catalog,
    drafts: Vec<String>,
    changes: Vec<diff::Change>,
    digest: String,
    current: String,
}

async fn proposal(state: &AppState, scope: &Scope) -> Result<Proposal, PageFailure> {
    let (catalog, drafts) = catalog_and_drafts(state, scope).await?;
    let proposed = with_matters(&catalog, drafts.iter().map(|(_, m)| m));
    let changes = diff::changes(&catalog, &proposed);
    let body = serde_json::to_vec(&proposed.matters).map_err(PageFailure::internal)?;
    Ok(Proposal {
        digest: format!("{}:{:x}", catalog.version, Sha256::digest(&body)),
        drafts: drafts.into_iter().map(|(d, _)| d.matter_id).collect(),
        current: catalog.version.clone(),
        catalog: proposed,
        changes,
    })
}

/// `GET /console/editor/publish`: the changes the drafts make, then the button.
async fn review(State(state): State<AppState>, operator: Operator) -> PageAnswer {
    let scope = Scope::of(&state, &operator).await?;
    let proposal = proposal(&state, &scope).await?;
    Ok(page(
        "发布草稿 Publish drafts",
        &operator,
        review_page(&operator, &proposal, None),
    ))
}

fn review_page(session: &Session, proposal: &Proposal, refusal: Option<&str>) -> Markup {
    html! {
        @if let Some(why) = refusal { (notice(Notice::Error, why)) }
        p { "与当前版本比较 Compared with the current version " strong { (proposal.current) } }
        (diff::changes_table(&proposal.changes))
        @if proposal.drafts.is_empty() {
            p { "没有草稿 No drafts to publish." }
        } @else {
            form method="post" action="/console/editor/publish" {
                (csrf_field(&session.csrf))
                input type="hidden" name="reviewed" value=(proposal.digest);
                button type="submit" id="publish" { "发布新版本 Publish a new version" }
            }
        }
    }
}

/// `POST /console/editor/publish`: stores the reviewed drafts as a new version (not yet
/// given to any terminal: see [`sites`]).
async fn publish(State(state): State<AppState>, form: OperatorForm) -> PageAnswer {
    let OperatorForm { operator, fields } = form;
    let scope = Scope::of(&state, &operator).await?;
    let mut proposal = proposal(&state, &scope).await?;
    let refuse = |status, proposal: &Proposal, why: &str| {
        Ok(with_status(
            status,
            page(
                "发布草稿 Publish drafts",
                &operator,
                review_page(&operator, proposal, Some(why)),
            ),
        ))
    };
    if proposal.drafts.is_empty() {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            &proposal,
            "没有草稿 No drafts to publish",
        );
    }
    if field(&fields, "reviewed") != proposal.digest {
        return refuse(
            StatusCode::CONFLICT,
            &proposal,
            "草稿或当前版本已变化，请重新审阅 The drafts or the current version changed: review them again",
        );
    }
    let day = today();
    let n = state
        .store()
        .catalog_versions_named(&format!("{day}."))
        .await?
        + 1;
    proposal.catalog.version = format!("{day}.{n}");
    // Edited names and aliases are spelled anew for search.
    crate::search_keys::fill(&mut proposal.catalog);
    if let Err(e) = proposal.catalog.validate() {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            &proposal,
            &format!("无法发布 Cannot publish: {e}"),
        );
    }
    if !state
        .store()
        .add_catalog_version(&proposal.catalog, &proposal.drafts)
        .await?
    {
        return refuse(
            StatusCode::CONFLICT,
            &proposal,
            "版本号已被占用，请重试 That version was just taken: try again",
        );
    }
    let detail = format!(
        "{} from {} ({} fields of {})",
        proposal.catalog.version,
        proposal.current,
        proposal.changes.len(),
        proposal.drafts.join(", ")
    );
    let _ = state
        .store()
        .audit(&operator.operator, "catalog_publish", &detail)
        .await;
    let done = notice(
        Notice::Done,
        &format!(
            "已发布 Published {}: 尚未启用 not yet active anywhere",
            proposal.catalog.version
        ),
    );
    sites::render(&state, &operator, &scope, Some(done)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_picture_name_is_the_guide_or_one_form_section_in_one_language_and_orientation() {
        let (page, language, landscape) = picture_name("en-landscape.png").expect("the guide");
        assert_eq!(
            (page, language, landscape),
            (serde_json::json!("guide"), Language::En, true)
        );
        let (page, language, landscape) = picture_name("form-12-zh-portrait.png").expect("a form");
        assert_eq!(
            (page, language, landscape),
            (
                serde_json::json!({ "form": { "section": 12 } }),
                Language::Zh,
                false
            )
        );
        // One name a picture: no leading zero, sign or endless digits, nothing else.
        for bad in [
            "form-01-zh-portrait.png",
            "form-+1-zh-portrait.png",
            "form-1234-zh-portrait.png",
            "form--zh-portrait.png",
            "form-1-zh-portrait.jpg",
            "guide.png",
            "",
        ] {
            assert!(picture_name(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_matter_without_a_form_says_so_instead_of_form_pictures() {
        let catalog = crate::seed::seed_catalog().expect("seed");
        let plain = catalog
            .matters
            .iter()
            .find(|m| m.form.is_none())
            .expect("a matter without a form");
        let page = previews("/m", plain, &Problems::new()).into_string();
        assert!(!page.contains("/preview/form-"), "{page}");
        assert!(
            page.contains("id=\"no-form-preview\"") || page.contains("id=\"preview-missing\""),
            "{page}"
        );
    }
}
