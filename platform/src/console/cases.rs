//! `GET /console/cases`: the 差评 cases bad ratings open, and their answers (回访, 整改, the reply
//! the rater reads on the progress page).
//!
//! Clerks see and answer their departments' cases; admins (the 好差评 office) see every
//! department's, with the application's number for the 回访, and set how many working days a
//! department has. Nobody is shown who rated, and clerks not even which application: the
//! rating's matter, level, indicators, reason and where it was given are what they act on.
//! Every answer is audited.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use kiosk_protocol::{Catalog, level_name};
use maud::{Markup, html};

use super::{PageAnswer, page, with_status};
use crate::html::{Notice, csrf_field, notice, table, text};
use crate::http::error::see_other;
use crate::http::extract::{field, role};
use crate::http::{AppState, Operator, OperatorForm, PageFailure};
use crate::store::{
    CASES_SHOWN, CaseAnswer, CaseOutcome, CaseScope, RatingCase, Role, Session, today,
};

/// Longest answer field, in characters.
pub const MAX_ANSWER_CHARS: usize = 2_000;

/// Whose cases `session` may read and answer: a clerk their departments', an admin all.
fn scope_of(session: &Session) -> Result<CaseScope<'_>, PageFailure> {
    match session.role {
        Role::Clerk => Ok(CaseScope::ClerkOf(&session.operator)),
        role if role >= Role::Admin => Ok(CaseScope::All),
        _ => Err(PageFailure::refused(
            StatusCode::FORBIDDEN,
            session,
            "差评案件由部门办事员和管理员处理 Cases are for the departments' clerks and admins",
        )),
    }
}

/// The cases page.
pub(super) async fn show(State(state): State<AppState>, operator: Operator) -> PageAnswer {
    cases_page(&state, &operator, None).await
}

/// The page, with `refusal` above it.
async fn cases_page(state: &AppState, session: &Session, refusal: Option<&str>) -> PageAnswer {
    let scope = scope_of(session)?;
    let store = state.store();
    let cases = store.rating_cases(scope, false).await?;
    let days = store.rating_case_days().await?;
    let catalog = state.current_catalog().await.ok();
    let admin = matches!(scope, CaseScope::All);
    let today = today();
    let open = cases.iter().filter(|c| c.answer.is_none()).count();
    let overdue = cases.iter().filter(|c| c.overdue(&today)).count();
    let mut headers = vec![
        "事项 Matter",
        "部门 Department",
        "评价 Rating",
        "原因 Reason",
        "渠道 Where",
        "开启 Opened",
        "期限 Due",
        "答复 Answer",
    ];
    if admin {
        headers.insert(0, "受理编号 Application");
    }
    let rows: Vec<Vec<Markup>> = cases
        .iter()
        .map(|case| case_row(case, catalog.as_deref(), session, admin, &today))
        .collect();
    let body = html! {
        @if let Some(why) = refusal { (notice(Notice::Error, why)) }
        p {
            "★1–2 的办结评价开启差评案件，须在 " strong { (days) } " 个工作日内回访、整改并答复；答复显示在评价人的办件进度页上。"
            br;
            "A ★1–2 rating of a completed matter opens a case to be followed up, rectified and replied to within "
            (days) " working days; the reply shows on the rater's progress page. Raters are never identified."
        }
        div class="cards" {
            div class="card" id="cases-open" { b { (open) } "未答复 open" }
            div class="card" id="cases-overdue" { b { (overdue) } "超期 overdue" }
        }
        (table("cases", &headers, &rows))
        @if i64::try_from(cases.len()).is_ok_and(|n| n >= CASES_SHOWN) {
            p class="note" { "只列出前 " (CASES_SHOWN) " 件（未答复的在前）。Only the first " (CASES_SHOWN) " cases are listed, open ones first." }
        }
        @if admin {
            h2 { "答复期限 Working days to answer" }
            form method="post" action="/console/cases/days" id="case-days" {
                (csrf_field(&session.csrf))
                input type="number" name="days" min="1" max="60" value=(days);
                " "
                button type="submit" { "保存 Save" }
            }
        }
    };
    Ok(page("差评整改 Rating cases", session, body))
}

fn case_row(
    case: &RatingCase,
    catalog: Option<&Catalog>,
    session: &Session,
    admin: bool,
    today: &str,
) -> Vec<Markup> {
    let matter = catalog
        .and_then(|c| c.matter(&case.matter_id))
        .map_or(case.matter_id.clone(), |m| m.name.zh.clone());
    let department = catalog
        .and_then(|c| c.department(&case.department))
        .map_or(case.department.clone(), |d| d.name.zh.clone());
    let level = level_name(case.level).map(|n| n.zh).unwrap_or_default();
    let mut row = vec![
        text(matter),
        text(department),
        html! {
            "★" (case.level) " " (level)
            @if let Some(i) = case.indicators {
                br; small { "整体 " (i.overall) " · 效率 " (i.efficiency) " · 水平 " (i.competence) " · 态度 " (i.attitude) }
            }
        },
        text(case.reason.map(|r| r.label().zh).unwrap_or_default()),
        text(match (&case.site, case.channel.as_str()) {
            (_, "web") => "网上 web".to_owned(),
            (Some(site), _) => format!("终端 {site}"),
            (None, _) => "终端 terminal".to_owned(),
        }),
        text(minute(&case.opened_at)),
        html! {
            @if case.overdue(today) { span class="overdue" { (case.due_on) " 超期 overdue" } }
            @else { (case.due_on) }
        },
        answer_cell(case, session),
    ];
    if admin {
        row.insert(0, text(&case.application_no));
    }
    row
}

fn answer_cell(case: &RatingCase, session: &Session) -> Markup {
    match &case.answer {
        Some(given) => html! {
            p { b { "回访 " } (given.answer.visit) }
            p { b { "整改 " } (given.answer.rectification) }
            p { b { "答复 " } (given.answer.reply) }
            small { (given.answered_by) " · " (minute(&given.answered_at)) }
        },
        None => html! {
            form method="post" action={ "/console/cases/" (case.id) "/answer" } class="case-answer" {
                (csrf_field(&session.csrf))
                label { "回访 Visit" textarea name="visit" rows="2" maxlength=(MAX_ANSWER_CHARS) required {} }
                label { "整改 Rectification" textarea name="rectification" rows="2" maxlength=(MAX_ANSWER_CHARS) required {} }
                label { "答复评价人 Reply to the rater" textarea name="reply" rows="2" maxlength=(MAX_ANSWER_CHARS) required {} }
                button type="submit" { "答复并结案 Answer and close" }
            }
        },
    }
}

/// "2026-12-08 09:33" of an RFC 3339 time.
fn minute(at: &str) -> String {
    at.get(..16).unwrap_or(at).replace('T', " ")
}

/// `POST /console/cases/{id}/answer`: answers and closes a case.
pub(super) async fn answer(
    State(state): State<AppState>,
    id: Result<Path<i64>, PathRejection>,
    form: OperatorForm,
) -> PageAnswer {
    let session = &form.operator.session;
    let scope = scope_of(session)?;
    let Ok(Path(id)) = id else {
        return refused(
            &state,
            session,
            StatusCode::NOT_FOUND,
            "没有该案件 No such case",
        )
        .await;
    };
    let answer = CaseAnswer {
        visit: field(&form.fields, "visit").trim().to_owned(),
        rectification: field(&form.fields, "rectification").trim().to_owned(),
        reply: field(&form.fields, "reply").trim().to_owned(),
    };
    let parts = [&answer.visit, &answer.rectification, &answer.reply];
    if parts.iter().any(|p| p.is_empty()) {
        let why = "回访、整改和答复都须填写 Visit, rectification and reply are all needed";
        return refused(&state, session, StatusCode::UNPROCESSABLE_ENTITY, why).await;
    }
    if parts.iter().any(|p| p.chars().count() > MAX_ANSWER_CHARS) {
        let why = "每项最多 2000 字 Each part is at most 2,000 characters";
        return refused(&state, session, StatusCode::UNPROCESSABLE_ENTITY, why).await;
    }
    match state
        .store()
        .answer_case(&session.operator, id, scope, &answer)
        .await?
    {
        CaseOutcome::Answered => Ok(see_other("/console/cases")),
        CaseOutcome::AlreadyAnswered => {
            let why = "该案件已答复 This case was answered already";
            refused(&state, session, StatusCode::CONFLICT, why).await
        }
        CaseOutcome::Unknown => {
            refused(
                &state,
                session,
                StatusCode::NOT_FOUND,
                "没有该案件 No such case",
            )
            .await
        }
    }
}

/// `POST /console/cases/days`: the working days a department has to answer (admins).
pub(super) async fn set_days(
    State(state): State<AppState>,
    form: OperatorForm<role::Admin>,
) -> PageAnswer {
    let session = &form.operator.session;
    let days = field(&form.fields, "days").trim().parse::<u16>().ok();
    let Some(days) = days.filter(|d| (1..=60).contains(d)) else {
        let why = "期限须为 1 到 60 个工作日 The time to answer is 1 to 60 working days";
        return refused(&state, session, StatusCode::UNPROCESSABLE_ENTITY, why).await;
    };
    state
        .store()
        .set_rating_case_days(&session.operator, days)
        .await?;
    Ok(see_other("/console/cases"))
}

/// The cases page again with `why` above it, answered with `status`.
async fn refused(state: &AppState, session: &Session, status: StatusCode, why: &str) -> PageAnswer {
    Ok(with_status(
        status,
        cases_page(state, session, Some(why)).await?,
    ))
}
