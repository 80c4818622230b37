//! 办件查询's list as the UI shows it: each application's state, due day and history, the
//! 补正 asked with the materials and answers named as the catalog names them, and whether its
//! completion may be rated.

use kiosk_protocol::{ApplicationState, ApplicationStatus, Catalog, Language, Matter};
use kiosk_ui::{AnswerRow, HistoryRow, ProgressItem};
use slint::{ModelRc, SharedString, VecModel};

use crate::session::correction_answerable_here;

pub(super) fn model<T: Clone + 'static>(items: impl Iterator<Item = T>) -> ModelRc<T> {
    ModelRc::new(VecModel::from(items.collect::<Vec<_>>()))
}

/// A platform time (RFC 3339) as the screen shows it: `YYYY-MM-DD HH:MM`.
pub(super) fn display_time(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(date), Some(time)) => format!("{date} {time}"),
        _ => rfc3339.to_owned(),
    }
}

/// One application of the list, in `lang`.
pub(super) fn progress_item(
    catalog: Option<&Catalog>,
    status: &ApplicationStatus,
    lang: Language,
) -> ProgressItem {
    let matter: Option<&Matter> = catalog.and_then(|c| c.matter(&status.matter_id));
    let correction = status.correction.as_ref();
    // A material or an answer the catalog no longer names is shown by its number or id
    // rather than hidden: the citizen still learns something is asked.
    let material_name = |index: &u16| -> SharedString {
        matter
            .and_then(|m| m.materials.get(usize::from(*index)))
            .map_or_else(
                || format!("#{}", index + 1),
                |m| m.name.get(lang).to_owned(),
            )
            .into()
    };
    let field_label = |id: &String| -> SharedString {
        matter
            .and_then(|m| m.form.as_ref())
            .and_then(|f| f.field(id))
            .map_or(id.as_str(), |f| f.label.get(lang))
            .into()
    };
    ProgressItem {
        application_no: status.application_no.as_str().into(),
        matter: matter
            .map_or(status.matter_id.as_str(), |m| m.name.get(lang))
            .into(),
        accepted_at: display_time(&status.accepted_at).into(),
        state: status.state.label().get(lang).into(),
        done: status.state == ApplicationState::Approved,
        answers: model(status.answers.iter().map(|line| AnswerRow {
            label: line.label.get(lang).into(),
            value: line.value.get(lang).into(),
        })),
        due: status.due_on.clone().unwrap_or_default().into(),
        history: model(status.history.iter().map(|step| HistoryRow {
            at: display_time(&step.at).into(),
            what: step.what.get(lang).into(),
        })),
        correction: correction.is_some(),
        correction_materials: model(
            correction
                .into_iter()
                .flat_map(|c| c.materials.iter().map(material_name)),
        ),
        correction_fields: model(
            correction
                .into_iter()
                .flat_map(|c| c.fields.iter().map(field_label)),
        ),
        correction_reason: correction
            .map(|c| c.reason.as_str())
            .unwrap_or_default()
            .into(),
        correction_by: correction
            .and_then(|c| c.answer_by.as_deref())
            .unwrap_or_default()
            .into(),
        correction_here: correction_answerable_here(status),
        rateable: status.rateable && status.state.is_finished(),
    }
}
