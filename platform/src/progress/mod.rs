//! The public progress page (办件进度): what the receipt's QR code opens, on the citizen's own
//! phone, with no login. `GET /progress` is a form (application number + 查询码);
//! `GET /progress/{no}?c=CODE` shows one application; `POST /progress/{no}/rating` rates a
//! finished one (好差评), once.
//!
//! The code printed on the receipt is the credential. The page shows only the matter, the
//! department, the dates, the state and its steps, an open 补正's materials and day (never a
//! clerk's words: they may name the applicant) and the rating with the department's reply:
//! nothing about the person. A wrong or missing code gets exactly the answer an unknown number
//! gets (404, the same page, after the same work: the code is checked before the database is
//! asked), and wrong codes are counted per client address and per number ([`guard`]), so
//! enumerating numbers learns nothing and guessing one number's code is hopeless.
//!
//! Every answer carries [`PAGE_HEADERS`]: no script, one style sheet of its own, not framed,
//! not cached, no referrer (the address carries the code).

mod guard;
mod page;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::rejection::{FormRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use kiosk_protocol::{RatingIndicators, RatingReason};
use maud::Markup;
use serde::Deserialize;

pub use guard::{ADDRESS_LIMIT, CodeGuard, NUMBER_LIMIT, WINDOW_SECS};
use page::{Lang, Notice};

use crate::http::AppState;
use crate::store::{CompletionRating, PublicProgress, RatingChannel, StoreError, unix_now};

/// Headers on every answer of the page: the policy allows the page's own style sheet and
/// forms posted to itself, nothing else (no script, no image, no other site).
pub const PAGE_HEADERS: &[(HeaderName, &str)] = &[
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; \
         base-uri 'none'",
    ),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::CACHE_CONTROL, "no-store"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "no-referrer"),
];

/// Largest rating form (a code, a language and six short fields).
const MAX_FORM_BYTES: usize = 2 * 1024;

/// The progress page's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/progress", get(lookup))
        .route(page::STYLESHEET_PATH, get(stylesheet))
        .route("/progress/{no}", get(show))
        .route("/progress/{no}/rating", post(rate))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(Extension(Arc::new(CodeGuard::default())))
        .layer(axum::middleware::map_response(with_security_headers))
}

/// The query of the look-up form and of the receipt's address.
#[derive(Debug, Default, Deserialize)]
struct Lookup {
    no: Option<String>,
    c: Option<String>,
    lang: Option<String>,
}

/// The client a try is counted against.
type Client = Option<Extension<ConnectInfo<SocketAddr>>>;

fn client_address(client: &Client) -> Option<IpAddr> {
    client
        .as_ref()
        .map(|Extension(ConnectInfo(peer))| peer.ip())
}

/// `GET /progress`: the form, or (once filled in) the application it names.
async fn lookup(
    State(state): State<AppState>,
    Extension(guard): Extension<Arc<CodeGuard>>,
    client: Client,
    query: Result<Query<Lookup>, QueryRejection>,
) -> Response {
    let Query(query) = query.unwrap_or_default();
    let lang = Lang::parse(query.lang.as_deref());
    match query.no.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        None => shown(
            StatusCode::OK,
            lang,
            &page::address(lang.other(), None),
            page::lookup_form(lang, None),
        ),
        Some(no) => {
            let code = query.c.as_deref().unwrap_or("");
            let no = typed_number(no);
            answer(&state, &guard, client_address(&client), lang, (&no, code)).await
        }
    }
}

/// `GET /progress/{no}?c=CODE`: what the receipt's QR code opens.
async fn show(
    State(state): State<AppState>,
    Extension(guard): Extension<Arc<CodeGuard>>,
    client: Client,
    no: Result<Path<String>, PathRejection>,
    query: Result<Query<Lookup>, QueryRejection>,
) -> Response {
    let Query(query) = query.unwrap_or_default();
    let lang = Lang::parse(query.lang.as_deref());
    let no = no.map(|Path(no)| typed_number(&no)).unwrap_or_default();
    let code = query.c.as_deref().unwrap_or("");
    answer(&state, &guard, client_address(&client), lang, (&no, code)).await
}

/// An application number as typed on a phone: spaces dropped, letters in capitals
/// (numbers are `LY` and digits).
fn typed_number(no: &str) -> String {
    no.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase()
}

/// One application's page, or the refusal every failed look-up gets.
async fn answer(
    state: &AppState,
    guard: &CodeGuard,
    address: Option<IpAddr>,
    lang: Lang,
    (no, code): (&str, &str),
) -> Response {
    match admit(state, guard, address, lang, (no, code)).await {
        Ok(found) => found_page(state, lang, (no, code), &found, None, StatusCode::OK).await,
        Err(refusal) => refusal,
    }
}

/// Checks the code of `no` (after the guard, before the database): the application's public
/// view, or the page to answer instead.
async fn admit(
    state: &AppState,
    guard: &CodeGuard,
    address: Option<IpAddr>,
    lang: Lang,
    (no, code): (&str, &str),
) -> Result<PublicProgress, Response> {
    let now = unix_now();
    let counted: String = no.chars().take(32).collect();
    let form = page::address(lang.other(), None);
    if guard.blocked(address, &counted, now) {
        return Err(shown(
            StatusCode::TOO_MANY_REQUESTS,
            lang,
            &form,
            page::try_later(lang),
        ));
    }
    let well_formed = (1..=32).contains(&no.len()) && no.bytes().all(|b| b.is_ascii_alphanumeric());
    let store = state.store();
    // The code is a keyed digest of the number: checking it needs no database, so an unknown
    // number and a known one with a wrong code take the same path and the same time.
    let matches = match store.progress_code_matches(no, code) {
        Ok(matches) => matches && well_formed,
        Err(e) => return Err(unavailable(lang, &e)),
    };
    if !matches {
        guard.wrong(address, &counted, now);
        return Err(not_found(lang));
    }
    match store.public_progress(no).await {
        Ok(Some(found)) => Ok(found),
        Ok(None) => Err(not_found(lang)),
        Err(e) => Err(unavailable(lang, &e)),
    }
}

/// The page of a found application, with `notice` above it.
async fn found_page(
    state: &AppState,
    lang: Lang,
    (no, code): (&str, &str),
    found: &PublicProgress,
    notice: Option<&Notice>,
    status: StatusCode,
) -> Response {
    let catalog = state.current_catalog().await.ok();
    shown(
        status,
        lang,
        &page::address(lang.other(), Some((no, code))),
        page::progress(lang, (no, code), found, catalog.as_deref(), notice),
    )
}

/// `POST /progress/{no}/rating`: the 好差评 of a finished application, with the code in the
/// form. Once: a second is answered with the page saying it was rated already.
async fn rate(
    State(state): State<AppState>,
    Extension(guard): Extension<Arc<CodeGuard>>,
    client: Client,
    no: Result<Path<String>, PathRejection>,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let fields = form.map(|Form(f)| f).unwrap_or_default();
    let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or("");
    let lang = Lang::parse(Some(field("lang")));
    let no = no.map(|Path(no)| typed_number(&no)).unwrap_or_default();
    let code = field("c");
    let found = match admit(&state, &guard, client_address(&client), lang, (&no, code)).await {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let rating = match rating_of(&no, &field, lang) {
        Ok(rating) => rating,
        Err(message) => {
            let notice = Notice::Error(message.to_owned());
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return found_page(&state, lang, (&no, code), &found, Some(&notice), status).await;
        }
    };
    let (status, notice) = match state.store().rate_completion(rating, None).await {
        Ok(rated) => (
            StatusCode::OK,
            Notice::Done(thanks(lang, rated.case.is_some())),
        ),
        Err(StoreError::AlreadyRated) => (
            StatusCode::CONFLICT,
            Notice::Error(
                lang.pick("该办件已评价过。", "This application was rated already.")
                    .into(),
            ),
        ),
        Err(StoreError::Illegal(_)) => (
            StatusCode::CONFLICT,
            Notice::Error(
                lang.pick("办结后才能评价。", "It can be rated once it is finished.")
                    .into(),
            ),
        ),
        Err(StoreError::UnknownApplication) => return not_found(lang),
        Err(e) => return unavailable(lang, &e),
    };
    match state.store().public_progress(&no).await {
        Ok(Some(now)) => found_page(&state, lang, (&no, code), &now, Some(&notice), status).await,
        Ok(None) => not_found(lang),
        Err(e) => unavailable(lang, &e),
    }
}

fn thanks(lang: Lang, case_opened: bool) -> String {
    if case_opened {
        lang.pick(
            "感谢您的评价。办理部门将回访并整改，答复会显示在本页。",
            "Thank you. The department will follow it up and reply here.",
        )
    } else {
        lang.pick("感谢您的评价。", "Thank you for your rating.")
    }
    .to_owned()
}

/// The rating the form asks for, or what to say about it.
fn rating_of<'a>(
    no: &str,
    field: &dyn Fn(&str) -> &'a str,
    lang: Lang,
) -> Result<CompletionRating, &'static str> {
    let level = |name: &str| {
        field(name)
            .trim()
            .parse::<u8>()
            .ok()
            .filter(|l| (1..=5).contains(l))
    };
    let Some(overall_level) = level("level") else {
        return Err(lang.pick("请选择总体评价。", "Please choose your rating."));
    };
    let (Some(overall), Some(efficiency), Some(competence), Some(attitude)) = (
        level("overall"),
        level("efficiency"),
        level("competence"),
        level("attitude"),
    ) else {
        return Err(lang.pick(
            "请为四项指标各选一个评价。",
            "Please rate each of the four indicators.",
        ));
    };
    let reason = match field("reason").trim() {
        "" => None,
        name => Some(
            RatingReason::ALL
                .into_iter()
                .find(|r| page::reason_name(*r) == name)
                .ok_or_else(|| {
                    lang.pick(
                        "请从列表中选择原因。",
                        "Please choose a reason from the list.",
                    )
                })?,
        ),
    };
    if overall_level <= 2 && reason.is_none() {
        return Err(lang.pick(
            "请选择不满意的原因。",
            "Please say why you are dissatisfied.",
        ));
    }
    Ok(CompletionRating {
        application_no: no.to_owned(),
        channel: RatingChannel::Web,
        level: overall_level,
        reason: reason.filter(|_| overall_level <= 2),
        indicators: RatingIndicators {
            overall,
            efficiency,
            competence,
            attitude,
        },
    })
}

/// The one answer to an unknown number and to a wrong or missing code.
fn not_found(lang: Lang) -> Response {
    shown(
        StatusCode::NOT_FOUND,
        lang,
        &page::address(lang.other(), None),
        page::not_found(lang),
    )
}

/// 503, the store's error logged (never shown).
fn unavailable(lang: Lang, error: &StoreError) -> Response {
    tracing::error!(error = %error, "progress page failed");
    shown(
        StatusCode::SERVICE_UNAVAILABLE,
        lang,
        &page::address(lang.other(), None),
        page::unavailable(lang),
    )
}

fn shown(status: StatusCode, lang: Lang, switch: &str, body: Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page::frame(lang, switch, body).into_string(),
    )
        .into_response()
}

/// `GET /progress.css`.
async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        page::STYLE,
    )
        .into_response()
}

/// Adds [`PAGE_HEADERS`] to every answer of the page.
async fn with_security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in PAGE_HEADERS {
        headers.insert(name.clone(), HeaderValue::from_static(value));
    }
    response
}
