//! `GET /console/applications/{no}`: one application for its clerk — matter, site, state, due
//! day, history with who did what and the clerk's words, the applicant, the form's answers in
//! words, the materials (each a link to the file), the 容缺 commitments — and the forms that
//! move it on. `GET …/materials/{upload_id}` streams one material, decrypted.
//!
//! Both show personal data, so each showing is audited (`application_viewed`,
//! `material_viewed`: the number and the clerk, never the data). ID and bank card numbers are
//! starred but for their last four: the clerk checks them against the card, the screen does not
//! show them whole to whoever passes.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kiosk_protocol::form::{Mask, Numbers};
use kiosk_protocol::{ApplicationState, Catalog, MaterialContentType, Matter};
use maud::{Markup, html};

use super::{Clerk, both, due_cell, material_name, matter_name, state_label};
use crate::console::{PageAnswer, page, with_status};
use crate::html::{Notice, csrf_field, notice, table, text, url_component};
use crate::http::{AppState, Operator, PageFailure};
use crate::lifecycle::{CORRECTION_WORKING_DAYS, Change, iso_day, parse_day};
use crate::store::{Casefile, LifeEvent, today};

/// How the clerk's page shows personal numbers.
const CLERK_NUMBERS: Numbers = Numbers {
    bank_card: Mask::Starred,
    id_number: Mask::Starred,
    phone: Mask::Whole,
};

/// The application page.
pub(super) async fn show(
    State(state): State<AppState>,
    operator: Operator,
    Path(no): Path<String>,
) -> PageAnswer {
    let clerk = Clerk::of(&state, operator.session).await?;
    render(&state, &clerk, &no, None).await
}

/// The page of application `no` for `clerk`, with `refusal` (a change not made) above it;
/// audited as a view.
pub(super) async fn render(
    state: &AppState,
    clerk: &Clerk,
    no: &str,
    refusal: Option<&str>,
) -> PageAnswer {
    let store = state.store();
    let file = store
        .casefile(clerk.name(), no)
        .await?
        .ok_or_else(|| clerk.no_such_application())?;
    let events = store.life_of(no).await?;
    let catalog = catalog_of(state, file.request.catalog_version.as_deref()).await?;
    let matter = catalog.matter(&file.request.matter_id);
    let answer_by = default_answer_by(state).await?;
    clerk
        .audit(
            state,
            "application_viewed",
            &format!("{no} by {}", clerk.name()),
        )
        .await?;
    let today = today();
    let body = html! {
        @if let Some(why) = refusal { (notice(Notice::Error, why)) }
        (summary(&file, &catalog, &today))
        h2 { "申请人 Applicant" }
        (applicant(&file))
        h2 { "表单 Answers" }
        (answers(&file, &catalog, matter))
        h2 { "材料 Materials" }
        (materials(&file, &catalog))
        h2 { "容缺承诺 Promised materials" }
        (commitments(&file, &catalog, &clerk.session.csrf, &today))
        @if !file.results.is_empty() {
            h2 { "结果文书 Result documents" }
            (results(&file))
        }
        h2 { "办理过程 History" }
        (history(&events, &file, &catalog, matter))
        @if !file.state.is_finished() {
            h2 { "办理 Act" }
            (actions(&file, matter, &clerk.session.csrf, &answer_by))
        }
    };
    Ok(page(
        &format!("办件 Application {}", file.application_no),
        &clerk.session,
        body,
    ))
}

/// The catalog the application was filed with (the current one when that version is gone).
pub(super) async fn catalog_of(
    state: &AppState,
    version: Option<&str>,
) -> Result<Arc<Catalog>, PageFailure> {
    if let Some(version) = version
        && let Ok(Some(catalog)) = state.retired_catalog(version).await
    {
        return Ok(catalog);
    }
    state
        .current_catalog()
        .await
        .map_err(|_| PageFailure::internal("no catalog is published"))
}

/// The day a 补正 asked today must be answered by, unless the clerk sets another.
pub(super) async fn default_answer_by(state: &AppState) -> Result<String, PageFailure> {
    let calendar = state.store().calendar().await?;
    let today = parse_day(&today()).ok_or_else(|| PageFailure::internal("today is not a day"))?;
    Ok(iso_day(
        calendar.add_working_days(today, CORRECTION_WORKING_DAYS),
    ))
}

fn summary(file: &Casefile, catalog: &Catalog, today: &str) -> Markup {
    let rows = [
        ("受理编号 Number", text(&file.application_no)),
        (
            "事项 Matter",
            text(matter_name(catalog, &file.request.matter_id)),
        ),
        (
            "部门 Department",
            text(
                catalog
                    .departments
                    .iter()
                    .find(|d| d.id == file.department)
                    .map(|d| both(&d.name))
                    .unwrap_or_else(|| file.department.clone()),
            ),
        ),
        ("网点 Site", text(file.site.as_deref().unwrap_or("—"))),
        ("终端 Terminal", text(&file.terminal_id)),
        ("受理时间 Accepted", text(&file.accepted_at)),
        (
            "状态 State",
            html! { span id="application-state" class={ "state " (file.state.as_str()) } { (state_label(file.state)) } },
        ),
        (
            "办结时限 Due",
            due_cell(file.due_on.as_deref(), file.state, today),
        ),
    ];
    html! {
        table id="application" {
            @for (name, value) in rows { tr { th { (name) } td { (value) } } }
        }
    }
}

fn applicant(file: &Casefile) -> Markup {
    let who = &file.request.applicant;
    html! {
        table id="applicant" {
            tr { th { "姓名 Name" } td { (who.name) } }
            tr { th { "证件号码 ID number" } td { (Mask::Starred.apply(&who.id_number)) } }
            tr { th { "证件类型 Document" } td { (who.document_kind) } }
            tr { th { "电话 Phone" } td { (who.phone.as_deref().unwrap_or("—")) } }
        }
    }
}

fn answers(file: &Casefile, catalog: &Catalog, matter: Option<&Matter>) -> Markup {
    let lines = matter
        .and_then(|m| m.form.as_ref())
        .map(|form| form.answer_lines(&file.request.answers, &catalog.regions, CLERK_NUMBERS))
        .unwrap_or_default();
    let rows: Vec<Vec<Markup>> = lines
        .iter()
        .map(|line| vec![text(both(&line.label)), text(&line.value.zh)])
        .collect();
    table("answers", &["问题 Question", "回答 Answer"], &rows)
}

fn materials(file: &Casefile, catalog: &Catalog) -> Markup {
    let rows: Vec<Vec<Markup>> = file
        .materials
        .iter()
        .map(|m| {
            vec![
                text(material_name(
                    catalog,
                    &file.request.matter_id,
                    m.material_index,
                )),
                html! {
                    a id={ "material-" (m.upload_id) }
                      href={ "/console/applications/" (url_component(&file.application_no))
                             "/materials/" (url_component(&m.upload_id)) } {
                        (m.content_type.as_str())
                    }
                },
                text(format!("{} KiB", m.size.div_ceil(1024))),
            ]
        })
        .collect();
    table(
        "materials",
        &["材料 Material", "文件 File", "大小 Size"],
        &rows,
    )
}

fn results(file: &Casefile) -> Markup {
    let rows: Vec<Vec<Markup>> = file
        .results
        .iter()
        .map(|r| {
            vec![
                html! {
                    a id={ "result-" (r.id) }
                      href={ "/console/applications/" (url_component(&file.application_no))
                             "/results/" (r.id) } { "PDF" }
                },
                text(format!("{} KiB", r.size.div_ceil(1024))),
                text(&r.stored_by),
                text(&r.stored_at),
            ]
        })
        .collect();
    table(
        "results",
        &["文件 File", "大小 Size", "经办 By", "时间 At"],
        &rows,
    )
}

fn commitments(file: &Casefile, catalog: &Catalog, csrf: &str, today: &str) -> Markup {
    let rows: Vec<Vec<Markup>> = file
        .commitments
        .iter()
        .map(|c| {
            let received = match &c.received {
                Some((at, by)) => html! { "已收到 Received " (at) " (" (by) ")" },
                None => html! {
                    form class="inline" method="post"
                        action={ "/console/applications/" (url_component(&file.application_no))
                                 "/commitments/" (c.material_index) } {
                        (csrf_field(csrf))
                        button type="submit" id={ "receive-" (c.material_index) } { "已收到 Received" }
                    }
                },
            };
            let due = if c.received.is_some() {
                text(&c.due_on)
            } else {
                due_cell(Some(&c.due_on), ApplicationState::Accepted, today)
            };
            vec![
                text(material_name(catalog, &c.matter_id, c.material_index)),
                due,
                received,
            ]
        })
        .collect();
    table(
        "commitments",
        &["材料 Material", "应交日期 Due", "收取 Received"],
        &rows,
    )
}

fn history(
    events: &[LifeEvent],
    file: &Casefile,
    catalog: &Catalog,
    matter: Option<&Matter>,
) -> Markup {
    let rows: Vec<Vec<Markup>> = events
        .iter()
        .map(|e| {
            let asked: Vec<String> = e
                .materials
                .iter()
                .map(|i| material_name(catalog, &file.request.matter_id, *i))
                .chain(e.fields.iter().map(|f| field_label(matter, f)))
                .collect();
            vec![
                text(&e.at),
                text(both(&Change::label_of(&e.action))),
                text(state_label(e.state)),
                text(&e.actor),
                html! {
                    (e.words)
                    @if !asked.is_empty() { br; "（" (asked.join("；")) "）" }
                    @if !e.answer_by.is_empty() { br; "答复期限 Answer by " (e.answer_by) }
                    @if e.action == "completed" && !file.results.is_empty() {
                        br; "附结果文书 Result document attached"
                    }
                },
            ]
        })
        .collect();
    table(
        "history",
        &[
            "时间 At",
            "事件 What",
            "状态 State",
            "经办 By",
            "说明 Words",
        ],
        &rows,
    )
}

/// A form field's question, or its id.
fn field_label(matter: Option<&Matter>, id: &str) -> String {
    matter
        .and_then(|m| m.form.as_ref())
        .and_then(|f| f.field(id))
        .map(|f| both(&f.label))
        .unwrap_or_else(|| id.to_owned())
}

/// The forms of the changes the state allows.
fn actions(file: &Casefile, matter: Option<&Matter>, csrf: &str, answer_by: &str) -> Markup {
    let to = |verb: &str| {
        format!(
            "/console/applications/{}/{verb}",
            url_component(&file.application_no)
        )
    };
    let open = matches!(
        file.state,
        ApplicationState::Accepted | ApplicationState::InReview
    );
    html! {
        @if file.state == ApplicationState::Accepted {
            form method="post" action=(to("review")) id="review-form" {
                (csrf_field(csrf))
                button type="submit" id="start-review" { "开始审核 Start review" }
            }
        }
        @if open {
            form method="post" action=(to("correction")) id="correction-form" {
                (csrf_field(csrf))
                fieldset {
                    legend { "要求补正 Ask for 补正" }
                    @if let Some(matter) = matter {
                        @for (i, m) in matter.materials.iter().enumerate() {
                            label class="choice" {
                                input type="checkbox" name={ "material." (i) } value="1" id={ "ask-material-" (i) };
                                " " (both(&m.name))
                            }
                            br;
                        }
                        @if let Some(form) = &matter.form {
                            @for f in form.fields() {
                                label class="choice" {
                                    input type="checkbox" name={ "field." (f.id) } value="1" id={ "ask-field-" (f.id) };
                                    " " (both(&f.label))
                                }
                                br;
                            }
                        }
                    }
                    div class="field" { label for="correction-reason" { "原因 Reason" }
                        textarea name="reason" id="correction-reason" rows="3" maxlength="2000" required {} }
                    div class="field" { label for="correction-answer-by" { "答复期限 Answer by" }
                        input type="date" name="answer_by" id="correction-answer-by" value=(answer_by); }
                    button type="submit" id="ask-correction" { "要求补正 Ask" }
                }
            }
            (words_form(&to("complete"), csrf, ("complete", "办结 Complete"),
                ("note", "说明（可选）Note (optional)", false), true))
        }
        (words_form(&to("refuse"), csrf, ("refuse", "不予办理 Refuse"),
            ("reason", "原因 Reason", true), false))
    }
}

/// A form of one change and the clerk's words with it: posted to `action`, its button
/// `id`, its text field `name` (`required` or not), and with `document` a PDF to attach.
fn words_form(
    action: &str,
    csrf: &str,
    (id, legend): (&str, &str),
    (name, label, required): (&str, &str, bool),
    document: bool,
) -> Markup {
    let enctype = if document {
        "multipart/form-data"
    } else {
        "application/x-www-form-urlencoded"
    };
    html! {
        form method="post" action=(action) id={ (id) "-form" } enctype=(enctype) {
            (csrf_field(csrf))
            fieldset {
                legend { (legend) }
                div class="field" { label for={ (id) "-" (name) } { (label) }
                    textarea name=(name) id={ (id) "-" (name) } rows="2" maxlength="2000" required[required] {} }
                @if document {
                    div class="field" { label for="complete-document" { "结果文书（可选，PDF，不超过 10 MiB）Result document (optional, PDF, at most 10 MiB)" }
                        input type="file" name="document" id="complete-document" accept="application/pdf"; }
                }
                button type="submit" id=(id) { (legend) }
            }
        }
    }
}

/// One material, decrypted, shown in the browser (a PDF in its viewer, a photo as an image);
/// audited.
pub(super) async fn material(
    State(state): State<AppState>,
    operator: Operator,
    Path((no, upload_id)): Path<(String, String)>,
) -> Result<Response, PageFailure> {
    let clerk = Clerk::of(&state, operator.session).await?;
    if upload_id.len() > 128 {
        return Err(clerk.no_such_application());
    }
    let store = state.store();
    let (content_type, file) = store
        .material(clerk.name(), &no, &upload_id)
        .await?
        .ok_or_else(|| clerk.no_such_application())?;
    let extension = match content_type {
        MaterialContentType::Pdf => "pdf",
        MaterialContentType::Jpeg => "jpg",
        // Sealed uploads are opened when completed: a complete one is never sealed.
        MaterialContentType::SealedJpeg | MaterialContentType::SealedPdf => {
            return Err(clerk.no_such_application());
        }
    };
    clerk
        .audit(
            &state,
            "material_viewed",
            &format!("{no} upload {upload_id} by {}", clerk.name()),
        )
        .await?;
    Ok(inline_file(
        content_type.as_str(),
        &format!("{no}-{upload_id}.{extension}"),
        &file,
    ))
}

/// A result document, decrypted, shown in the browser's PDF viewer; audited.
pub(super) async fn result(
    State(state): State<AppState>,
    operator: Operator,
    Path((no, id)): Path<(String, String)>,
) -> Result<Response, PageFailure> {
    let clerk = Clerk::of(&state, operator.session).await?;
    let Ok(id) = id.parse::<i64>() else {
        return Err(clerk.no_such_application());
    };
    let store = state.store();
    let pdf = store
        .result_document(clerk.name(), &no, id)
        .await?
        .ok_or_else(|| clerk.no_such_application())?;
    clerk
        .audit(
            &state,
            "result_viewed",
            &format!("{no} document {id} by {}", clerk.name()),
        )
        .await?;
    Ok(inline_file(
        "application/pdf",
        &format!("{no}-result-{id}.pdf"),
        &pdf,
    ))
}

/// A file shown in the browser (`inline`), named `name` when saved.
fn inline_file(content_type: &'static str, name: &str, bytes: &[u8]) -> Response {
    let disposition =
        HeaderValue::from_str(&format!("inline; filename=\"{}\"", url_component(name)))
            .unwrap_or_else(|_| HeaderValue::from_static("inline"));
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes.to_vec(),
    )
        .into_response()
}

/// The page with `refusal` above it and `status` (a change refused).
pub(super) async fn refused(
    state: &AppState,
    clerk: &Clerk,
    no: &str,
    status: StatusCode,
    refusal: &str,
) -> PageAnswer {
    Ok(with_status(
        status,
        render(state, clerk, no, Some(refusal)).await?,
    ))
}
