//! 容缺 commitments: materials an applicant promised to hand in later. A clerk marks one
//! received (`POST /console/applications/{no}/commitments/{index}`: the commitment closed, a
//! `commitment_received` event in the application's history, an audit line), and lists the
//! open ones of their departments, those due first — so the overdue ones — at the top
//! (`GET /console/commitments`). Neither shows personal data.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use maud::{Markup, html};

use super::casefile::refused;
use super::{Clerk, due_cell, material_name, matter_name};
use crate::console::{PageAnswer, page};
use crate::html::{table, text, url_component};
use crate::http::error::see_other;
use crate::http::{AppState, Operator, OperatorForm};
use crate::store::{Commitment, StoreError, today};

/// Open commitments listed at most.
pub const COMMITMENT_LINES: i64 = 500;

/// Marks a commitment received.
pub(super) async fn receive(
    State(state): State<AppState>,
    Path((no, index)): Path<(String, String)>,
    form: OperatorForm,
) -> PageAnswer {
    let clerk = Clerk::of(&state, form.operator.session).await?;
    let Ok(index) = index.parse::<u16>() else {
        return Err(clerk.no_such_application());
    };
    let store = state.store();
    match store
        .receive_commitment(&no, index, &clerk.departments, clerk.name())
        .await
    {
        Ok(true) => {
            clerk
                .audit(
                    &state,
                    "commitment_received",
                    &format!("{no} material #{index}"),
                )
                .await?;
            Ok(see_other(&format!(
                "/console/applications/{}",
                url_component(&no)
            )))
        }
        Ok(false) => {
            let why = "commitment_closed: this material was not promised or is received already";
            refused(&state, &clerk, &no, StatusCode::CONFLICT, why).await
        }
        Err(StoreError::UnknownApplication | StoreError::OtherDepartment) => {
            Err(clerk.no_such_application())
        }
        Err(other) => Err(other.into()),
    }
}

/// The open commitments of the clerk's departments.
pub(super) async fn list(State(state): State<AppState>, operator: Operator) -> PageAnswer {
    let clerk = Clerk::of(&state, operator.session).await?;
    let open = state
        .store()
        .open_commitments(clerk.name(), COMMITMENT_LINES)
        .await?;
    let catalog = state.current_catalog().await.ok();
    let today = today();
    let rows: Vec<Vec<Markup>> = open
        .iter()
        .map(|c| row(c, catalog.as_deref(), &today))
        .collect();
    let body = html! {
        p { "尚未收到的容缺承诺材料，最早到期的在前。Materials promised under 容缺受理 and not received yet, those due first at the top." }
        (table(
            "open-commitments",
            &["受理编号 Number", "事项 Matter", "材料 Material", "应交日期 Due"],
            &rows,
        ))
        @if i64::try_from(open.len()).is_ok_and(|n| n == COMMITMENT_LINES) {
            p { "仅列出最早到期的 " (COMMITMENT_LINES) " 项。Only the first " (COMMITMENT_LINES) " are listed." }
        }
    };
    Ok(page("容缺承诺 Promised materials", &clerk.session, body))
}

fn row(c: &Commitment, catalog: Option<&kiosk_protocol::Catalog>, today: &str) -> Vec<Markup> {
    vec![
        html! {
            a href={ "/console/applications/" (url_component(&c.application_no)) } { (c.application_no) }
        },
        text(match catalog {
            Some(catalog) => matter_name(catalog, &c.matter_id),
            None => c.matter_id.clone(),
        }),
        text(match catalog {
            Some(catalog) => material_name(catalog, &c.matter_id, c.material_index),
            None => format!("#{}", c.material_index),
        }),
        due_cell(
            Some(&c.due_on),
            kiosk_protocol::ApplicationState::Accepted,
            today,
        ),
    ]
}
