//! `GET /verify/{code}`: the public page anyone holding a printed certificate (a bank clerk, a
//! landlord, the citizen) opens from its URL or QR code to learn whether the platform issued
//! it, when, and what it certifies.
//!
//! No login: the code is the credential. It shows only what is printed on the certificate (ID
//! number and name masked, the applications' numbers, matters, dates and states), and answers
//! every code that was not issued, or does not match its record under the platform's key, with
//! the same 404 page, so it tells a guesser nothing but "not genuine" (and a guess succeeds
//! with odds of 2^-80).

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::documents::verification::{CertifiedRecord, VerificationCode};
use crate::http::AppState;

/// The verification page's route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/verify/{code}", get(verify))
}

const STYLE: &str = "
body{font-family:'Noto Sans CJK SC','Noto Sans',sans-serif;margin:0;color:#1b1f23;background:#f4f6f8;line-height:1.5}
header{background:#0b4f8a;color:#fff;padding:12px 16px;font-weight:bold}
main{padding:12px 16px;max-width:760px;margin:0 auto}
.verdict{padding:12px 16px;margin:12px 0;border-radius:4px;font-size:18px}
.genuine{background:#dafbe1;border:1px solid #4ac26b}.forged{background:#ffebe9;border:1px solid #ff8182}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 12px;background:#fff;border:1px solid #d0d7de;padding:10px 12px}
dt{color:#57606a}dd{margin:0;word-break:break-all}
table{border-collapse:collapse;background:#fff;width:100%;font-size:14px;margin:12px 0}
th,td{border:1px solid #d0d7de;padding:6px 8px;text-align:left;vertical-align:top}th{background:#eaeef2}
p.note{color:#57606a;font-size:14px}
";

/// Checks a certificate's code and shows what it certifies, or that it is not genuine.
pub async fn verify(
    State(state): State<AppState>,
    code: Result<Path<String>, PathRejection>,
) -> Response {
    // A path that is not even UTF-8 is as forged as any other.
    let Some(code) = code
        .ok()
        .and_then(|Path(code)| VerificationCode::parse(&code))
    else {
        return not_genuine();
    };
    // Failing to read the key has been logged where it failed.
    let Ok(key) = state.certificate_key().await else {
        return unavailable();
    };
    let issued = match state.store().issued_certificate(code.as_str()).await {
        Ok(Some(issued)) => issued,
        Ok(None) => return not_genuine(),
        Err(e) => {
            tracing::error!(error = %e, "certificate verification failed");
            return unavailable();
        }
    };
    // A row whose code is not the MAC of its record was not written by this platform.
    if !key.verify(&code, &issued.record) {
        tracing::warn!("a certificate record does not match its code");
        return not_genuine();
    }
    match serde_json::from_str::<CertifiedRecord>(&issued.record) {
        Ok(record) => page(StatusCode::OK, genuine(&code, &record)),
        Err(_) => not_genuine(),
    }
}

/// The database or the key cannot be read: 503, nothing claimed either way.
fn unavailable() -> Response {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        html! {
            div class="verdict forged" {
                "暂时无法验证，请稍后再试。" br;
                "The certificate cannot be checked right now; please try again later."
            }
        },
    )
}

fn genuine(code: &VerificationCode, record: &CertifiedRecord) -> Markup {
    html! {
        div class="verdict genuine" {
            "✔ 本平台出具过此证明。" br;
            "This certificate was issued by this platform."
        }
        p.note {
            "请核对纸质证明与下列内容一致（姓名、证件号码已部分隐去）。"
            br;
            "Check that the paper shows the same as below (name and ID number partly hidden)."
        }
        dl {
            dt { "证明 Certificate" } dd { "办件记录证明 Record of applications" }
            dt { "验证码 Code" } dd { (code.grouped()) }
            dt { "出具时间 Issued" } dd { (record.issued_at) }
            dt { "申请人 Applicant" } dd { (record.applicant) }
            dt { "证件号码 ID number" } dd { (record.id_number) }
        }
        @if record.applications.is_empty() {
            p { "本平台无该申请人的办件记录。No applications on record." }
        } @else {
            table {
                tr {
                    th { "受理编号" br; "Number" }
                    th { "事项名称" br; "Matter" }
                    th { "受理日期" br; "Accepted" }
                    th { "状态" br; "State" }
                }
                @for application in &record.applications {
                    @let label = application.state.label();
                    tr {
                        td { (application.application_no) }
                        td { (application.matter) }
                        td { (application.accepted_on) }
                        td { (label.zh) br; (label.en) }
                    }
                }
            }
        }
        p.note {
            "证明所列为出具时的状态。The states are as of the time of issue."
        }
    }
}

/// The one answer for every code that is malformed, unknown or does not match its record.
fn not_genuine() -> Response {
    page(
        StatusCode::NOT_FOUND,
        html! {
            div class="verdict forged" {
                "✘ 验证失败：本平台未出具过带此验证码的证明，该证明不是真实的。" br;
                "Not a genuine certificate: this platform issued no certificate with this code."
            }
            p.note {
                "请核对网址中的验证码与证明上印的是否一致。"
                br;
                "Check that the code in the address is the one printed on the certificate."
            }
        },
    )
}

/// The page frame: no script, no external resource, not cached, not framed, not indexed,
/// and no referrer (the address carries the code).
fn page(status: StatusCode, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { "证明验证 Certificate check · 连易办" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header { "连云港市政务服务 · 证明验证 Certificate check" }
                main { (body) }
            }
        }
    };
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
            ),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        markup.into_string(),
    )
        .into_response()
}
