//! The clerk's workbench over real HTTP on each backend: only clerks of the application's
//! department see it (another department's is 404, other roles 403), the queue filters and
//! holds no personal data, the page and materials are audited as they are shown, every change
//! goes through the state machine (an illegal one is 409 and changes nothing), commitments are
//! received once, and the calendar is read by all and changed by admins.

mod common;

use common::{Platform, TestDb, TestTerminal, answer, serve};
use kiosk_platform::console::hash_password;
use kiosk_platform::store::{AuditFilter, Role, Store};
use kiosk_protocol::{ApplicationState, MaterialContentType, UploadRequest};
use kiosk_testkit::console::Browser;
use reqwest::{Method, StatusCode};
use serde_json::json;
use sha2::{Digest, Sha256};

on_both_backends!(
    a_clerk_sees_the_applications_of_their_departments_only,
    the_queue_filters_and_pages_without_personal_data,
    clerks_move_applications_through_the_one_gate,
    promised_materials_are_received_once_and_listed_due_first,
    everyone_reads_the_calendar_and_admins_change_it,
    the_clerk_reads_the_forms_answers_in_words_with_numbers_starred,
    a_completion_carries_a_result_document_shown_to_clerks_only,
);

/// The applicant every application here is filed for.
const NAME: &str = "王小明";
const ID_NUMBER: &str = "320102199001011234";

/// A platform with a clerk of the health commission (cora), one of civil affairs (carl), one
/// of the housing fund (hana), a clerk of no department (nina), a viewer and an admin; and a terminal at site `haizhou`.
async fn platform(db: &TestDb) -> (Platform, TestTerminal) {
    let p = serve(db.store().await).await;
    for (name, role, departments) in [
        ("cora", Role::Clerk, &["lyg-health"][..]),
        ("carl", Role::Clerk, &["lyg-civil"][..]),
        ("hana", Role::Clerk, &["lyg-hpf"][..]),
        ("nina", Role::Clerk, &[][..]),
        ("vera", Role::Viewer, &[][..]),
        ("ada", Role::Admin, &[][..]),
    ] {
        let hash = hash_password(&format!("{name}-password-1")).expect("hash");
        p.store
            .put_operator(name, &hash, role)
            .await
            .expect("operator");
        let departments: Vec<String> = departments.iter().map(|d| (*d).to_owned()).collect();
        p.store
            .set_editor_departments(name, &departments)
            .await
            .expect("departments");
    }
    let terminal = TestTerminal::enroll(&p, "SN-WORKBENCH-1", Some("haizhou")).await;
    (p, terminal)
}

async fn login(p: &Platform, name: &str) -> Browser {
    Browser::login(&p.url, name, &format!("{name}-password-1"))
        .await
        .expect("logged in")
}

/// Files an application for the health commission's matter `lyg-health-0701`, with the
/// household register (material 2) promised under 容缺受理 when `promise` is set.
async fn file(t: &TestTerminal, key: &str, promise: bool) -> String {
    let committed: &[u16] = if promise { &[2] } else { &[] };
    let body = json!({
        "terminal_id": t.id,
        "matter_id": "lyg-health-0701",
        "applicant": {"name": NAME, "id_number": ID_NUMBER, "document_kind": "resident",
                      "phone": "13812345678"},
        "language": "zh",
        "committed_missing_materials": committed,
    });
    submit(t, key, &body).await
}

/// Sends application `body` under idempotency key `key`; its number.
async fn submit(t: &TestTerminal, key: &str, body: &serde_json::Value) -> String {
    let response = t
        .request(Method::POST, "/v1/applications", Some(body))
        .header("Idempotency-Key", key)
        .send()
        .await
        .expect("answer");
    let (status, receipt) = answer(response).await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    receipt["application_no"]
        .as_str()
        .expect("number")
        .to_owned()
}

/// Stores `pdf` as material 0 of application `no`, as a completed upload; its id.
async fn attach(store: &Store, t: &TestTerminal, no: &str, pdf: &[u8]) -> String {
    let id = format!("up-{}", common::nonce());
    let request = UploadRequest {
        material_index: 0,
        content_type: MaterialContentType::Pdf,
        size: pdf.len() as u64,
        sha256: kiosk_protocol::auth::hex_encode(&Sha256::digest(pdf)),
    };
    store
        .create_upload(&id, &t.id, no, &request, 4, None)
        .await
        .expect("upload");
    for (n, chunk) in pdf.chunks(4).enumerate() {
        store
            .put_chunk(&id, n as u64, chunk.to_vec())
            .await
            .expect("chunk");
    }
    store.complete_upload(&id).await.expect("complete");
    id
}

/// The audit lines of `action`.
async fn audited(store: &Store, action: &str) -> Vec<String> {
    store
        .audit_log(&AuditFilter {
            kind: Some(action.into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("audit")
        .into_iter()
        .map(|row| format!("{} {}", row.operator, row.detail))
        .collect()
}

/// The state of `no`, as its terminal is told.
async fn state_of(t: &TestTerminal, no: &str) -> ApplicationState {
    let (status, body) = t
        .send(Method::GET, &format!("/v1/applications/{no}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_value(body["state"].clone()).unwrap_or_else(|_| panic!("no state: {body}"))
}

/// Makes application `no` due on 1 January 2001, in the database itself (time cannot be
/// moved for a real due day to pass).
async fn due_long_ago(db: &TestDb, no: &str) {
    const SQL: &str = "UPDATE applications SET due_on = '2001-01-01' WHERE application_no = ";
    match &db.url {
        kiosk_platform::DbUrl::Sqlite(path) => {
            rusqlite::Connection::open(path)
                .and_then(|c| c.execute(&format!("{SQL}?1"), [no]))
                .expect("due day moved");
        }
        kiosk_platform::DbUrl::Postgres(url) => {
            let (client, connection) = tokio_postgres::connect(url.expose(), tokio_postgres::NoTls)
                .await
                .expect("connects");
            tokio::spawn(connection);
            client
                .execute(&format!("{SQL}$1"), &[&no])
                .await
                .expect("due day moved");
        }
    }
}

async fn a_clerk_sees_the_applications_of_their_departments_only(db: TestDb) {
    let (p, t) = platform(&db).await;
    let no = file(&t, "wb-own-1", false).await;
    let pdf = b"%PDF-1.4\n% a scanned household register\n%%EOF\n";
    let upload = attach(&p.store, &t, &no, pdf).await;
    let page = format!("/console/applications/{no}");
    let material = format!("{page}/materials/{upload}");

    // Cora, of the matter's department: the queue lists it, the page shows the applicant.
    let cora = login(&p, "cora").await;
    let (status, queue) = cora.get("/console/applications").await;
    assert_eq!(status, StatusCode::OK, "{queue}");
    assert!(queue.contains(&no) && queue.contains("haizhou"), "{queue}");
    assert!(!queue.contains(NAME), "the queue shows no names");
    let (status, html) = cora.get(&page).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(NAME) && html.contains("13812345678"));
    assert!(html.contains("**************1234") && !html.contains(ID_NUMBER));
    assert!(
        html.contains(&format!("id=\"material-{upload}\"")),
        "{html}"
    );
    assert!(html.contains("已受理 Accepted"));
    let answer = cora.answer(Method::GET, &material, None).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()["content-type"], "application/pdf");
    assert!(
        answer.headers()["content-disposition"]
            .to_str()
            .expect("ascii")
            .starts_with("inline")
    );
    assert!(
        answer.headers()["content-security-policy"]
            .to_str()
            .expect("ascii")
            .contains("default-src 'none'")
    );
    assert_eq!(&answer.bytes().await.expect("pdf")[..], pdf);

    // Carl, of another department: the application is not there at all.
    let carl = login(&p, "carl").await;
    let (status, queue) = carl.get("/console/applications").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!queue.contains(&no));
    for path in [&page, &material] {
        let (status, html) = carl.get(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!html.contains(NAME));
    }
    let (status, _) = carl
        .post(&format!("{page}/review"), &[("csrf", carl.csrf.as_str())])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(state_of(&t, &no).await, ApplicationState::Accepted);

    // Other roles, and a clerk of no department: 403.
    for name in ["vera", "ada", "nina"] {
        let who = login(&p, name).await;
        for path in [
            "/console/applications",
            page.as_str(),
            material.as_str(),
            "/console/commitments",
        ] {
            let (status, html) = who.get(path).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{name} {path}");
            assert!(!html.contains(NAME));
        }
        // A clerk of no department has the link: the page says what is missing.
        let linked = who.get("/console").await.1.contains("nav-applications");
        assert_eq!(linked, name == "nina", "{name}");
    }
    assert!(cora.get("/console").await.1.contains("nav-applications"));

    // Each showing is audited: the number and the clerk, never the data.
    let views = audited(&p.store, "application_viewed").await;
    assert_eq!(views, [format!("cora {no} by cora")]);
    let files = audited(&p.store, "material_viewed").await;
    assert_eq!(files, [format!("cora {no} upload {upload} by cora")]);
    assert!(views.iter().chain(&files).all(|l| !l.contains(NAME)));
}

async fn the_queue_filters_and_pages_without_personal_data(db: TestDb) {
    let (p, t) = platform(&db).await;
    let first = file(&t, "wb-queue-1", false).await;
    let second = file(&t, "wb-queue-2", false).await;
    let cora = login(&p, "cora").await;
    let (status, _) = cora
        .post(
            &format!("/console/applications/{second}/review"),
            &[("csrf", cora.csrf.as_str())],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    let shows = |html: &str, no: &str| html.contains(&format!(">{no}</a>"));
    let (_, all) = cora.get("/console/applications").await;
    assert!(shows(&all, &first) && shows(&all, &second));
    assert!(all.find(&second) < all.find(&first), "newest first");
    let (_, reviewing) = cora.get("/console/applications?state=in_review").await;
    assert!(shows(&reviewing, &second) && !shows(&reviewing, &first));
    let (_, matter) = cora
        .get("/console/applications?matter=lyg-health-0701&site=haizhou")
        .await;
    assert!(shows(&matter, &first) && shows(&matter, &second));
    let (_, elsewhere) = cora.get("/console/applications?site=ganyu").await;
    assert!(!shows(&elsewhere, &first));
    let today = kiosk_platform::store::today();
    let (_, from_today) = cora
        .get(&format!("/console/applications?from={today}&until={today}"))
        .await;
    assert!(shows(&from_today, &first));
    let (_, long_ago) = cora
        .get("/console/applications?from=2001-01-01&until=2001-12-31")
        .await;
    assert!(!shows(&long_ago, &first));
    // Nothing is overdue yet; one due yesterday is, and is marked.
    let (_, overdue) = cora.get("/console/applications?overdue=1").await;
    assert!(!shows(&overdue, &first));
    due_long_ago(&db, &first).await;
    let (_, overdue) = cora.get("/console/applications?overdue=1").await;
    assert!(shows(&overdue, &first) && !shows(&overdue, &second));
    assert!(overdue.contains("2001-01-01 逾期 overdue"), "{overdue}");

    // Keyset pages: the page after the second lists the first only.
    let id_of_second = p
        .store
        .queue("cora", &Default::default(), 1)
        .await
        .expect("queue")[0]
        .id;
    let (_, older) = cora
        .get(&format!("/console/applications?before={id_of_second}"))
        .await;
    assert!(shows(&older, &first) && !shows(&older, &second));

    for bad in ["state=lost", "from=yesterday", "before=x"] {
        let (status, html) = cora.get(&format!("/console/applications?{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(html.contains("class=\"error\""));
    }
    assert!(audited(&p.store, "application_viewed").await.is_empty());
}

async fn clerks_move_applications_through_the_one_gate(db: TestDb) {
    let (p, t) = platform(&db).await;
    let no = file(&t, "wb-gate-1", false).await;
    let cora = login(&p, "cora").await;
    let page = format!("/console/applications/{no}");
    let post = |verb: &'static str, fields: Vec<(&'static str, String)>| {
        let cora = &cora;
        let path = format!("{page}/{verb}");
        async move {
            let mut all: Vec<(&str, &str)> = vec![("csrf", cora.csrf.as_str())];
            all.extend(fields.iter().map(|(k, v)| (*k, v.as_str())));
            cora.post(&path, &all).await
        }
    };

    // Without the CSRF token nothing happens.
    assert_eq!(
        cora.post(&format!("{page}/review"), &[]).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(post("review", vec![]).await.0, StatusCode::SEE_OTHER);
    assert_eq!(state_of(&t, &no).await, ApplicationState::InReview);

    // A 补正 must name what it asks for, something the matter has.
    let (status, html) = post("correction", vec![("reason", "照片不清晰".into())]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("empty_correction"), "{html}");
    let (status, html) = post(
        "correction",
        vec![("material.9", "1".into()), ("reason", "x".into())],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("unknown_material"));
    let (status, _) = post(
        "correction",
        vec![
            ("material.1", "1".into()),
            ("reason", "照片不清晰，请重新拍摄".into()),
            ("answer_by", "2099-01-05".into()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(state_of(&t, &no).await, ApplicationState::NeedsMaterials);
    let (_, html) = cora.get(&page).await;
    assert!(html.contains("照片不清晰，请重新拍摄") && html.contains("clerk:cora"));
    assert!(html.contains("Answer by 2099-01-05"));

    // A refusal needs a reason; with one the application is finished, and stays so.
    let (status, html) = post("refuse", vec![("reason", " ".into())]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("reason_required"));
    let (status, _) = post("refuse", vec![("reason", "逾期未补正".into())]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, html) = post("complete", vec![("note", "请到窗口领取".into())]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("application_finished"), "{html}");
    assert!(html.contains("不予办理 Refused"));
    assert_eq!(state_of(&t, &no).await, ApplicationState::Rejected);
    let events = p.store.life_of(&no).await.expect("life");
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["accepted", "review_started", "correction_asked", "refused"]
    );
    assert!(
        !html.contains("id=\"complete\""),
        "no forms on a finished one"
    );

    // Another one completed straight away, with a note the applicant will read.
    let other = file(&t, "wb-gate-2", false).await;
    let (status, _) = cora
        .post(
            &format!("/console/applications/{other}/complete"),
            &[("csrf", &cora.csrf), ("note", "请到三号窗口领取")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(state_of(&t, &other).await, ApplicationState::Approved);
    let (status, _) = cora
        .post(
            &format!("/console/applications/{other}/archive"),
            &[("csrf", &cora.csrf)],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Every change is audited, refused ones too.
    for (action, count) in [
        ("application_review_started", 1),
        ("application_correction_asked", 1),
        ("application_refused", 1),
        ("application_completed", 1),
        ("application_change_refused", 3),
    ] {
        assert_eq!(audited(&p.store, action).await.len(), count, "{action}");
    }
    let lines = audited(&p.store, "application_refused").await;
    assert_eq!(lines, [format!("cora {no}: needs_materials → rejected")]);
}

async fn promised_materials_are_received_once_and_listed_due_first(db: TestDb) {
    let (p, t) = platform(&db).await;
    let promised = file(&t, "wb-promise-1", true).await;
    let plain = file(&t, "wb-promise-2", false).await;
    let cora = login(&p, "cora").await;
    let (status, list) = cora.get("/console/commitments").await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains(&promised) && !list.contains(&plain), "{list}");
    assert!(list.contains("Household register"));
    let (_, queue) = cora.get("/console/applications").await;
    assert!(queue.contains("<td>1</td>"), "one promised material open");

    let carl = login(&p, "carl").await;
    assert!(!carl.get("/console/commitments").await.1.contains(&promised));
    let receive = format!("/console/applications/{promised}/commitments/2");
    assert_eq!(
        carl.post(&receive, &[("csrf", &carl.csrf)]).await.0,
        StatusCode::NOT_FOUND
    );

    assert_eq!(
        cora.post(&receive, &[("csrf", &cora.csrf)]).await.0,
        StatusCode::SEE_OTHER
    );
    let (status, html) = cora.post(&receive, &[("csrf", &cora.csrf)]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("commitment_closed"));
    assert!(html.contains("承诺材料已收到 Promised material received"));
    assert!(!cora.get("/console/commitments").await.1.contains(&promised));
    let events = p.store.life_of(&promised).await.expect("life");
    let last = events.last().expect("event");
    assert_eq!(last.action, "commitment_received");
    assert_eq!(last.actor, "clerk:cora");
    assert_eq!(last.materials, [2]);
    assert_eq!(
        audited(&p.store, "commitment_received").await,
        [format!("cora {promised} material #2")]
    );
}

async fn everyone_reads_the_calendar_and_admins_change_it(db: TestDb) {
    let (p, _) = platform(&db).await;
    let vera = login(&p, "vera").await;
    let (status, html) = vera.get("/console/calendar").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("calendar-form"));
    assert_eq!(
        record_day(&vera, "2099-01-01", "off").await.0,
        StatusCode::FORBIDDEN
    );

    let ada = login(&p, "ada").await;
    let (status, html) = record_day(&ada, "2099-01-01", "off").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("<td>2099-01-01</td>") && html.contains("元旦"));
    let calendar = p.store.calendar().await.expect("calendar");
    let day = kiosk_platform::lifecycle::parse_day("2099-01-01").expect("day");
    assert!(!calendar.is_working(day));
    assert!(vera.get("/console/calendar").await.1.contains("2099-01-01"));
    for (day, kind) in [("2099-13-01", "off"), ("2099-01-02", "sometimes")] {
        let (status, html) = record_day(&ada, day, kind).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{day} {kind}");
        assert!(html.contains("class=\"error\""));
    }
    let (status, _) = record_day(&ada, "2099-01-01", "clear").await;
    assert_eq!(status, StatusCode::OK);
    assert!(p.store.calendar().await.expect("calendar").is_working(day));
    assert_eq!(audited(&p.store, "calendar_day").await.len(), 2);
}

/// Posts the calendar's form: `day` recorded as `kind` (off, working, clear), noted 元旦.
async fn record_day(b: &Browser, day: &str, kind: &str) -> (StatusCode, String) {
    b.post(
        "/console/calendar",
        &[
            ("csrf", &b.csrf),
            ("day", day),
            ("kind", kind),
            ("note", "元旦"),
        ],
    )
    .await
}

async fn the_clerk_reads_the_forms_answers_in_words_with_numbers_starred(db: TestDb) {
    let (p, t) = platform(&db).await;
    let answers = json!({
        "name": NAME, "phone": "0518-85821234", "method": "actual_rent", "monthly_rent": "1500.50",
        "lease_start": "2026-01-01", "lease_end": "2027-01-01",
        "rented_address": {"region": "320706010", "street": "朝阳东路88号3幢201室"},
        "marital_status": "married", "spouse_name": "李四", "spouse_id_number": "11010519491231002X",
        "bank": "icbc", "bank_card": "6222021001116245702", "declaration": true,
    });
    let body = json!({
        "terminal_id": t.id, "matter_id": "lyg-hpf-0303", "language": "zh",
        "applicant": {"name": NAME, "id_number": ID_NUMBER, "document_kind": "resident"},
        "answers": answers,
    });
    let no = &submit(&t, "wb-rent-1", &body).await;

    let hana = login(&p, "hana").await;
    let (status, html) = hana.get(&format!("/console/applications/{no}")).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let table = &html[html.find("id=\"answers\"").expect("answers")..];
    // Names, the address and the rent in words; ID and card numbers starred to their last 4.
    for shown in [
        "李四",
        "朝阳东路88号3幢201室",
        "1500.50",
        "***************5702",
        "**************002X",
    ] {
        assert!(table.contains(shown), "{shown} not in {table}");
    }
    for hidden in ["6222021001116245702", "11010519491231002X"] {
        assert!(!html.contains(hidden), "{hidden} shown whole");
    }
    // A 补正 may name one of the form's answers; the history says which, in words.
    let (status, _) = hana
        .post(
            &format!("/console/applications/{no}/correction"),
            &[
                ("csrf", &hana.csrf),
                ("field.monthly_rent", "1"),
                ("reason", "租金与合同不符"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, html) = hana.get(&format!("/console/applications/{no}")).await;
    let history = &html[html.find("id=\"history\"").expect("history")..];
    assert!(history.contains("租金与合同不符"), "{history}");
    let asked = p.store.life_of(no).await.expect("life");
    assert_eq!(
        asked.last().map(|e| e.fields.clone()),
        Some(vec!["monthly_rent".to_owned()])
    );
}

/// Application `no` as cora, its clerk, reads it.
async fn casefile(p: &Platform, no: &str) -> kiosk_platform::store::Casefile {
    p.store
        .casefile("cora", no)
        .await
        .expect("read")
        .expect("cora's")
}

/// Posts the completion form as a browser does with a file chosen: multipart, the CSRF token,
/// a note and `document`.
async fn complete_with(b: &Browser, no: &str, document: &[u8]) -> (StatusCode, String) {
    let boundary = "----lyb-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in [("csrf", b.csrf.as_str()), ("note", "请到三号窗口领取证件")] {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"document\"; filename=\"result.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(document);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let answer = b
        .http
        .post(format!("{}/console/applications/{no}/complete", b.base))
        .header("cookie", &b.cookie)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("answer");
    (answer.status(), answer.text().await.expect("html"))
}

async fn a_completion_carries_a_result_document_shown_to_clerks_only(db: TestDb) {
    let (p, t) = platform(&db).await;
    let no = file(&t, "wb-result-1", false).await;
    let cora = login(&p, "cora").await;
    let page = format!("/console/applications/{no}");

    // Not a PDF, or too large: refused, nothing changed, nothing kept.
    let (status, html) = complete_with(&cora, &no, b"GIF89a not a pdf").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("invalid_document"));
    let mut huge = b"%PDF-1.4\n".to_vec();
    huge.resize(10 * 1024 * 1024 + 1, b'0');
    assert_eq!(
        complete_with(&cora, &no, &huge).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(state_of(&t, &no).await, ApplicationState::Accepted);

    let pdf = b"%PDF-1.4\n% the licence granted\n%%EOF\n";
    assert_eq!(
        complete_with(&cora, &no, pdf).await.0,
        StatusCode::SEE_OTHER
    );
    assert_eq!(state_of(&t, &no).await, ApplicationState::Approved);
    let file = casefile(&p, &no).await;
    assert_eq!(file.results.len(), 1);
    let link = format!("{page}/results/{}", file.results[0].id);
    let (_, html) = cora.get(&page).await;
    assert!(html.contains(&format!("href=\"{link}\"")), "{html}");
    assert!(html.contains("附结果文书 Result document attached"));
    let answer = cora.answer(Method::GET, &link, None).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()["content-type"], "application/pdf");
    assert_eq!(&answer.bytes().await.expect("pdf")[..], pdf);
    let carl = login(&p, "carl").await;
    assert_eq!(carl.get(&link).await.0, StatusCode::NOT_FOUND);

    // A second completion is refused, and its document not kept.
    let (status, html) = complete_with(&cora, &no, pdf).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("application_finished"));
    let file = casefile(&p, &no).await;
    assert_eq!(file.results.len(), 1);
    assert_eq!(audited(&p.store, "result_document_stored").await.len(), 1);
    assert_eq!(
        audited(&p.store, "result_viewed").await,
        [format!("cora {no} document {} by cora", file.results[0].id)]
    );
}
