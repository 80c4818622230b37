//! The clerk's workbench (办件): the one place of the console that shows applicants' personal
//! data, and only to clerks of the application's department.
//!
//! A clerk (`kiosk-platform user add --role clerk --department …`) sees the queue of their
//! departments' applications ([`queue`]), opens one ([`casefile`]: the applicant, the answers,
//! the materials, the history), moves it on ([`changes`]: review, 补正, 办结, refusal, each
//! through the one gate `Store::advance`; a completion may carry a result document, a PDF kept
//! encrypted, [`upload`]), and marks 容缺 commitments received
//! ([`commitments`]). Any other role gets 403, and an application of another department is
//! 404, so its existence is not revealed. Every page or file that shows personal data is
//! audited when it is shown, and every change when it is made. The working-day calendar the
//! due days count on ([`calendar`]) is read by everyone and changed by admins.

mod calendar;
mod casefile;
mod changes;
mod commitments;
mod queue;
mod upload;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use kiosk_protocol::{ApplicationState, Catalog, LocalizedText};
use maud::{Markup, html};

use crate::http::{AppState, PageFailure};
use crate::store::{Role, Session};

/// The workbench's routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/applications", get(queue::show))
        .route("/console/applications/{no}", get(casefile::show))
        .route(
            "/console/applications/{no}/materials/{upload_id}",
            get(casefile::material),
        )
        .route(
            "/console/applications/{no}/commitments/{index}",
            post(commitments::receive),
        )
        .route(
            "/console/applications/{no}/results/{id}",
            get(casefile::result),
        )
        .route(
            "/console/applications/{no}/complete",
            post(changes::complete)
                .layer(DefaultBodyLimit::max(upload::MAX_RESULT_BYTES + 64 * 1024)),
        )
        .route("/console/applications/{no}/{verb}", post(changes::apply))
        .route("/console/commitments", get(commitments::list))
        .route(
            "/console/calendar",
            get(calendar::show).post(calendar::change),
        )
}

/// A logged-in clerk and the departments whose applications they work.
pub(super) struct Clerk {
    /// Their session.
    pub session: Session,
    /// Their departments (never empty).
    pub departments: Vec<String>,
}

impl Clerk {
    /// The clerk of `session`: 403 for any other role, and for a clerk given no department
    /// (who would see an empty queue without knowing why).
    pub async fn of(state: &AppState, session: Session) -> Result<Clerk, PageFailure> {
        if session.role != Role::Clerk {
            return Err(PageFailure::refused(
                StatusCode::FORBIDDEN,
                &session,
                "办件工作台仅限经办人员 The workbench is for clerks only",
            ));
        }
        let departments = state.store().editor_departments(&session.operator).await?;
        if departments.is_empty() {
            return Err(PageFailure::refused(
                StatusCode::FORBIDDEN,
                &session,
                "您的账户未指定部门 Your account names no department: ask an administrator",
            ));
        }
        Ok(Clerk {
            session,
            departments,
        })
    }

    /// Their name.
    pub fn name(&self) -> &str {
        &self.session.operator
    }

    /// Writes an audit line in the clerk's name (numbers and kinds, never personal data).
    pub async fn audit(
        &self,
        state: &AppState,
        action: &str,
        detail: &str,
    ) -> Result<(), PageFailure> {
        Ok(state.store().audit(self.name(), action, detail).await?)
    }

    /// 404 for an application that is not there or not theirs (the same answer for both).
    pub fn no_such_application(&self) -> PageFailure {
        PageFailure::refused(
            StatusCode::NOT_FOUND,
            &self.session,
            "没有这个办件 There is no such application",
        )
    }
}

/// "已受理 Accepted".
pub(super) fn both(text: &LocalizedText) -> String {
    format!("{} {}", text.zh, text.en)
}

/// A state's label, "审核中 Under review".
pub(super) fn state_label(state: ApplicationState) -> String {
    both(&state.label())
}

/// The matter's name in the current catalog, or its id when the catalog no longer has it.
pub(super) fn matter_name(catalog: &Catalog, matter_id: &str) -> String {
    catalog
        .matter(matter_id)
        .map(|m| both(&m.name))
        .unwrap_or_else(|| matter_id.to_owned())
}

/// The name of material `index` of `matter_id`, or its number.
pub(super) fn material_name(catalog: &Catalog, matter_id: &str, index: u16) -> String {
    catalog
        .matter(matter_id)
        .and_then(|m| m.materials.get(usize::from(index)))
        .map(|m| both(&m.name))
        .unwrap_or_else(|| format!("材料 Material #{}", u32::from(index) + 1))
}

/// The due day, marked when it has passed on an unfinished application.
pub(super) fn due_cell(due_on: Option<&str>, state: ApplicationState, today: &str) -> Markup {
    let overdue = due_on.is_some_and(|d| d < today) && !state.is_finished();
    html! {
        @if overdue {
            span class="overdue" { (due_on.unwrap_or_default()) " 逾期 overdue" }
        } @else {
            (due_on.unwrap_or("—"))
        }
    }
}
