//! `POST /console/applications/{no}/{verb}`: a clerk moves an application on — `review`
//! (开始审核), `correction` (补正: materials and answers asked for, why, by when), `complete`
//! (办结, with an optional note) or `refuse` (不予办理, with a reason).
//!
//! Every change goes through `Store::advance` within the clerk's departments, so the state
//! machine and the department check are the ones a department's own system meets. A change the
//! state does not allow shows the page again with the refusal's code and words (409) and
//! changes nothing. Made and refused changes are both audited.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use kiosk_protocol::Matter;

use super::Clerk;
use super::casefile::{catalog_of, default_answer_by, refused};
use super::upload::{CompletionForm, MAX_RESULT_BYTES};
use crate::console::PageAnswer;
use crate::http::error::see_other;
use crate::http::extract::{Fields, field};
use crate::http::{AppState, OperatorForm};
use crate::lifecycle::{Actor, Change, iso_day, parse_day};
use crate::store::{Scope, StoreError, today};

/// The longest reason or note a clerk may write.
pub const MAX_WORDS: usize = 2000;

/// Applies the change `verb` names.
pub(super) async fn apply(
    State(state): State<AppState>,
    Path((no, verb)): Path<(String, String)>,
    form: OperatorForm,
) -> PageAnswer {
    let clerk = Clerk::of(&state, form.operator.session).await?;
    decide(&state, &clerk, &no, &verb, &form.fields, None).await
}

/// Completes an application, with the result document the form may carry.
pub(super) async fn complete(
    State(state): State<AppState>,
    Path(no): Path<String>,
    form: CompletionForm,
) -> PageAnswer {
    let clerk = Clerk::of(&state, form.operator.session).await?;
    decide(&state, &clerk, &no, "complete", &form.fields, form.document).await
}

/// Reads the change and applies it; a result document is stored first and forgotten again
/// when the change is refused.
async fn decide(
    state: &AppState,
    clerk: &Clerk,
    no: &str,
    verb: &str,
    fields: &Fields,
    document: Option<Vec<u8>>,
) -> PageAnswer {
    let store = state.store();
    let file = store
        .casefile(clerk.name(), no)
        .await?
        .ok_or_else(|| clerk.no_such_application())?;
    let catalog = catalog_of(state, file.request.catalog_version.as_deref()).await?;
    let matter = catalog.matter(&file.request.matter_id);
    let change = match read_change(state, verb, fields, matter).await? {
        Ok(change) => change,
        Err(why) => {
            return refused(state, clerk, no, StatusCode::BAD_REQUEST, &why).await;
        }
    };
    let stored = match &document {
        Some(pdf) if pdf.len() > MAX_RESULT_BYTES || !pdf.starts_with(b"%PDF-") => {
            let why = "invalid_document: a result document is a PDF of at most 10 MiB";
            return refused(state, clerk, no, StatusCode::BAD_REQUEST, why).await;
        }
        Some(pdf) => Some((
            store.store_result_document(no, clerk.name(), pdf).await?,
            pdf.len(),
        )),
        None => None,
    };
    let action = change.action();
    let made = store
        .advance(
            no,
            Scope::Departments(&clerk.departments),
            Actor::Clerk(clerk.name().to_owned()),
            change,
        )
        .await;
    match made {
        Ok(advanced) => {
            if let Some((id, size)) = stored {
                clerk
                    .audit(
                        state,
                        "result_document_stored",
                        &format!("{no}: document {id}, {size} bytes"),
                    )
                    .await?;
            }
            clerk
                .audit(
                    state,
                    &format!("application_{action}"),
                    &format!(
                        "{no}: {} → {}",
                        advanced.from.as_str(),
                        advanced.to.as_str()
                    ),
                )
                .await?;
            Ok(see_other(&format!(
                "/console/applications/{}",
                crate::html::url_component(no)
            )))
        }
        Err(refusal) => {
            if let Some((id, _)) = stored {
                store.forget_result_document(id).await?;
            }
            refusal_page(state, clerk, no, action, refusal).await
        }
    }
}

/// The answer to a change the store refused.
async fn refusal_page(
    state: &AppState,
    clerk: &Clerk,
    no: &str,
    action: &str,
    refusal: StoreError,
) -> PageAnswer {
    match refusal {
        StoreError::Illegal(illegal) => {
            clerk
                .audit(
                    state,
                    "application_change_refused",
                    &format!("{no}: {action}: {}", illegal.code()),
                )
                .await?;
            let why = format!("{}: {illegal}", illegal.code());
            refused(state, clerk, no, StatusCode::CONFLICT, &why).await
        }
        StoreError::UnknownApplication | StoreError::OtherDepartment => {
            Err(clerk.no_such_application())
        }
        other => Err(other.into()),
    }
}

/// The change `verb` and the form's fields ask for, or why the form is not one (in words).
/// Whether it may follow the application's state is for the store to say.
async fn read_change(
    state: &AppState,
    verb: &str,
    fields: &Fields,
    matter: Option<&Matter>,
) -> Result<Result<Change, String>, crate::http::PageFailure> {
    let words = |name: &str| -> Result<String, String> {
        let text = field(fields, name).trim();
        if text.chars().count() > MAX_WORDS {
            return Err(format!("too_long: at most {MAX_WORDS} characters"));
        }
        Ok(text.to_owned())
    };
    let change = match verb {
        "review" => Ok(Change::StartReview),
        "complete" => words("note").map(|note| Change::Complete { note }),
        "refuse" => words("reason").map(|reason| Change::Refuse { reason }),
        "correction" => {
            let answer_by = match field(fields, "answer_by").trim() {
                "" => default_answer_by(state).await?,
                day => day.to_owned(),
            };
            correction(fields, matter, words("reason"), &answer_by)
        }
        _ => Err(format!("unknown_change: `{verb}` is not a change")),
    };
    Ok(change)
}

/// A 补正 from the ticked `material.N` and `field.ID` boxes (each one `matter` has), a reason
/// and a day no earlier than today.
fn correction(
    fields: &Fields,
    matter: Option<&Matter>,
    reason: Result<String, String>,
    answer_by: &str,
) -> Result<Change, String> {
    let reason = reason?;
    let day = parse_day(answer_by)
        .map(iso_day)
        .ok_or_else(|| format!("invalid_day: `{answer_by}` is not a day (YYYY-MM-DD)"))?;
    if day < today() {
        return Err(format!("invalid_day: {day} has passed"));
    }
    let mut materials: Vec<u16> = fields
        .keys()
        .filter_map(|k| k.strip_prefix("material.")?.parse().ok())
        .collect();
    materials.sort_unstable();
    let mut asked: Vec<String> = fields
        .keys()
        .filter_map(|k| k.strip_prefix("field."))
        .map(str::to_owned)
        .collect();
    asked.sort();
    let known_material = |i: &u16| matter.is_some_and(|m| usize::from(*i) < m.materials.len());
    let known_field = |id: &String| {
        matter
            .and_then(|m| m.form.as_ref())
            .is_some_and(|f| f.field(id).is_some())
    };
    if let Some(i) = materials.iter().find(|i| !known_material(i)) {
        return Err(format!("unknown_material: the matter has no material #{i}"));
    }
    if let Some(id) = asked.iter().find(|id| !known_field(id)) {
        return Err(format!(
            "unknown_field: the matter's form has no field `{}`",
            id.chars().take(64).collect::<String>()
        ));
    }
    Ok(Change::AskCorrection {
        materials,
        fields: asked,
        reason,
        answer_by: day,
    })
}
