//! An application's form answers, checked on arrival against the form of the catalog version
//! the terminal filled it in with.
//!
//! A terminal may hold an application in its outbox for days (offline, or its catalog not yet
//! refreshed), so the version it used may no longer be current: answers made against a version
//! retired within the grace period ([`AppState::catalog_grace`]) are checked against that
//! version's form; later ones are refused, since the department may no longer process what
//! that form asked. "Today" in a date rule is likewise a range: any day from the start of the
//! grace period to now, in China time.

use std::sync::Arc;

use axum::http::StatusCode;
use kiosk_protocol::form::{AnswerContext, AnswerError, FormAnswers, Numbers};
use kiosk_protocol::{ApplicationStatus, Catalog, Matter};
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::http::{AppState, Failure};
use crate::store::{CatalogStanding, FiledAnswers};

/// China Standard Time, in which the citizen's "today" is counted.
const CHINA: UtcOffset = time::macros::offset!(+8);

/// The catalog an application was made against: the version it names, or the current one
/// when it names none. Refuses a version never published (422 `unknown_catalog_version`) and
/// one retired longer than the grace period ago (409 `catalog_version_expired`).
pub(super) async fn catalog_used(
    state: &AppState,
    current: Arc<Catalog>,
    version: Option<&str>,
) -> Result<Arc<Catalog>, Failure> {
    let Some(version) = version.filter(|v| *v != current.version) else {
        return Ok(current);
    };
    let unknown = || {
        Failure::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_catalog_version",
            "the application names a catalog version this platform never published",
        )
    };
    let standing = state
        .store()
        .catalog_standing(version)
        .await?
        .ok_or_else(unknown)?;
    if let CatalogStanding::Retired { at } = standing
        && OffsetDateTime::now_utc() - at > Duration::seconds(state.catalog_grace())
    {
        return Err(Failure::new(
            StatusCode::CONFLICT,
            "catalog_version_expired",
            format!(
                "catalog {version} stopped being current more than {} hours ago: the form must be filled in again",
                state.catalog_grace() / 3600
            ),
        ));
    }
    state.retired_catalog(version).await?.ok_or_else(unknown)
}

/// Checks `answers` against `matter`'s form in `catalog` (a matter without a form takes none).
/// Refuses with 422 `invalid_answer`, naming each refused field's path (`answers.<id>`) and
/// problem, never the value.
pub(super) fn check(
    state: &AppState,
    catalog: &Catalog,
    matter: &Matter,
    answers: &FormAnswers,
) -> Result<(), Failure> {
    let Some(form) = &matter.form else {
        return match answers.0.keys().next() {
            Some(field) => Err(invalid(&[format!("answers.{field}: unexpected")])),
            None => Ok(()),
        };
    };
    let now = OffsetDateTime::now_utc();
    let context = AnswerContext {
        regions: &catalog.regions,
        earliest_today: (now - Duration::seconds(state.catalog_grace()))
            .to_offset(CHINA)
            .date(),
        latest_today: now.to_offset(CHINA).date(),
    };
    form.check_answers(answers, &context).map_err(|errors| {
        let named: Vec<String> = errors.iter().map(describe).collect();
        invalid(&named)
    })
}

/// Adds to each of the card holder's applications its form answers in words, labelled by the
/// form of the catalog version they were filled in with (the current one when that version is
/// gone), card and ID numbers masked: what 办件查询 shows the citizen whose card is on the reader.
pub(super) async fn read_back(
    state: &AppState,
    applications: &mut [ApplicationStatus],
    filed: Vec<FiledAnswers>,
) -> Result<(), Failure> {
    let current = state.current_catalog().await?;
    for filed in filed {
        let Some(status) = applications
            .iter_mut()
            .find(|a| a.application_no == filed.application_no)
        else {
            continue;
        };
        let catalog = match filed.catalog_version.as_deref() {
            Some(version) if version != current.version => state
                .retired_catalog(version)
                .await?
                .unwrap_or_else(|| current.clone()),
            _ => current.clone(),
        };
        if let Some(form) = catalog
            .matter(&filed.matter_id)
            .and_then(|m| m.form.as_ref())
        {
            status.answers = form.answer_lines(&filed.answers, &catalog.regions, Numbers::QUERIED);
        }
    }
    Ok(())
}

/// `answers.level: unknown_option`, with the rule's bound where it has one.
fn describe(error: &AnswerError) -> String {
    let problem = serde_json::to_value(&error.problem).unwrap_or_default();
    let mut text = format!(
        "{}: {}",
        error.path,
        problem["problem"].as_str().unwrap_or("invalid")
    );
    if let Some(bounds) = problem.as_object().filter(|o| o.len() > 1) {
        let details: Vec<String> = bounds
            .iter()
            .filter(|(key, _)| *key != "problem")
            .map(|(key, value)| format!("{key} {value}"))
            .collect();
        text.push_str(&format!(" ({})", details.join(", ")));
    }
    text
}

fn invalid(problems: &[String]) -> Failure {
    Failure::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_answer",
        problems.join("; "),
    )
}
