//! `GET/POST /console/calendar`: the working-day calendar every due day counts on. Monday to
//! Friday are working days unless a day is recorded otherwise: a public holiday off, a 调休
//! weekend on. Everyone logged in reads the recorded days from today on; admins record or clear
//! one (audited by `Store::set_calendar_day`). A change applies to due days computed after it;
//! days already given to applications stay as they were promised.

use axum::extract::State;
use axum::http::StatusCode;
use maud::{Markup, html};

use crate::console::{PageAnswer, page, with_status};
use crate::html::{Notice, csrf_field, notice, table, text};
use crate::http::extract::{field, role};
use crate::http::{AppState, Operator, OperatorForm};
use crate::lifecycle::parse_day;
use crate::store::{Role, Session, today};

/// The longest note on a day.
const MAX_NOTE: usize = 100;

/// The recorded days from today on.
pub(super) async fn show(State(state): State<AppState>, operator: Operator) -> PageAnswer {
    render(&state, &operator.session, None).await
}

/// Records a day as off or working, or clears it (admins).
pub(super) async fn change(
    State(state): State<AppState>,
    form: OperatorForm<role::Admin>,
) -> PageAnswer {
    let session = &form.operator.session;
    let day_text = field(&form.fields, "day").trim();
    let note = field(&form.fields, "note").trim();
    let Some(day) = parse_day(day_text) else {
        let why = format!("invalid_day: `{day_text}` is not a day (YYYY-MM-DD)");
        return refused(&state, session, &why).await;
    };
    if note.chars().count() > MAX_NOTE {
        let why = format!("too_long: a note is at most {MAX_NOTE} characters");
        return refused(&state, session, &why).await;
    }
    let working = match field(&form.fields, "kind") {
        "off" => Some(false),
        "working" => Some(true),
        "clear" => None,
        other => {
            let why = format!("invalid_kind: `{other}` is not off, working or clear");
            return refused(&state, session, &why).await;
        }
    };
    state
        .store()
        .set_calendar_day(&session.operator, day, working, note)
        .await?;
    let done = format!("{day_text}: {}", kind_label(working));
    render(&state, session, Some((Notice::Done, &done))).await
}

async fn refused(state: &AppState, session: &Session, why: &str) -> PageAnswer {
    Ok(with_status(
        StatusCode::BAD_REQUEST,
        render(state, session, Some((Notice::Error, why))).await?,
    ))
}

fn kind_label(working: Option<bool>) -> &'static str {
    match working {
        Some(true) => "调休上班 Working day",
        Some(false) => "休息 Day off",
        None => "按周一至周五 Weekday rule",
    }
}

async fn render(
    state: &AppState,
    session: &Session,
    outcome: Option<(Notice, &str)>,
) -> PageAnswer {
    let from = parse_day(&today()).unwrap_or(time::Date::MIN);
    let days = state.store().calendar_days(from).await?;
    let rows: Vec<Vec<Markup>> = days
        .iter()
        .map(|(day, working, note)| vec![text(day), text(kind_label(Some(*working))), text(note)])
        .collect();
    let body = html! {
        @if let Some((kind, text)) = outcome { (notice(kind, text)) }
        p { "周一至周五为工作日，下列日期除外。办结时限与补正期限按工作日计算。Monday to Friday are working days, except the days below. Due days count working days." }
        (table("calendar", &["日期 Day", "类型 Kind", "说明 Note"], &rows))
        @if session.role >= Role::Admin {
            (form(&session.csrf))
        }
    };
    Ok(page("工作日历 Calendar", session, body))
}

fn form(csrf: &str) -> Markup {
    html! {
        form method="post" action="/console/calendar" id="calendar-form" {
            (csrf_field(csrf))
            fieldset {
                legend { "设置日期 Record a day" }
                label { "日期 Day " input type="date" name="day" id="calendar-day" required; }
                " "
                label { "类型 Kind "
                    select name="kind" id="calendar-kind" {
                        option value="off" { "休息（节假日）Day off (holiday)" }
                        option value="working" { "上班（调休）Working day" }
                        option value="clear" { "清除 Clear" }
                    }
                }
                " "
                label { "说明 Note " input name="note" id="calendar-note" maxlength=(MAX_NOTE); }
                " "
                button type="submit" id="calendar-save" { "保存 Save" }
            }
        }
    }
}
