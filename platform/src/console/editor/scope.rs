//! Whose matters a console user may edit: admins every department's, an editor those of the
//! departments their account names (`kiosk-platform user add --role editor --department …`),
//! nobody else any. Every editor page and form asks here first, with the department of the
//! matter as the *published* catalog has it, never as a form says.

use axum::http::StatusCode;

use crate::http::{AppState, PageFailure};
use crate::store::{Role, Session};

/// The departments a user may edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Scope {
    /// An admin: every department, and whole catalogs.
    All,
    /// An editor: these departments' matters only.
    Departments(Vec<String>),
}

impl Scope {
    /// The scope of `session`; 403 for a role that edits nothing.
    pub(super) async fn of(state: &AppState, session: &Session) -> Result<Scope, PageFailure> {
        match session.role {
            Role::Admin => Ok(Scope::All),
            Role::Editor => {
                let departments = state.store().editor_departments(&session.operator).await?;
                if departments.is_empty() {
                    return Err(refused(session));
                }
                Ok(Scope::Departments(departments))
            }
            Role::Viewer | Role::Clerk | Role::Operator => Err(refused(session)),
        }
    }

    /// True when the matters of `department` may be changed.
    pub(super) fn covers(&self, department: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Departments(mine) => mine.iter().any(|d| d == department),
        }
    }

    /// True for an admin, who may also change what belongs to no department (themes, the
    /// department list, regions).
    pub(super) fn is_all(&self) -> bool {
        *self == Scope::All
    }
}

/// 403: the matter (or the change) belongs to a department this user does not edit.
pub(super) fn refused(session: &Session) -> PageFailure {
    PageFailure::refused(
        StatusCode::FORBIDDEN,
        session,
        "这不属于您可编辑的部门 This is not a matter of a department you edit",
    )
}
