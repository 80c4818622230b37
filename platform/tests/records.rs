//! Citizens' records only with the citizen present, on each backend: progress, certificates
//! and check-in by card answer only for the ID number *and* the name read from the same card;
//! a terminal asking about more citizens than can stand at it is suspended behind an alarm an
//! operator clears; no answer carries a full ID number; every query is on the trail.

mod common;

use common::{Platform, TestDb, TestTerminal, serve};
use kiosk_platform::store::{
    AuditFilter, RECORD_QUERIES_PER_HOUR, RECORD_SUBJECTS_PER_HOUR, today,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    the_right_number_with_another_name_gets_nothing,
    a_request_without_the_cards_name_gets_name_required,
    record_answers_never_carry_the_full_id_number,
    asking_about_too_many_citizens_suspends_the_terminal_until_an_operator_clears_it,
    asking_too_often_suspends_the_terminal_too,
);

const ID_NUMBER: &str = "320706198802020228";
const NAME: &str = "测试";

async fn submit(t: &TestTerminal, key: &str) -> String {
    common::file_application(t, key, NAME, ID_NUMBER).await
}

/// A signed record query: `path` asked about `id_number` and `name`.
async fn query(t: &TestTerminal, path: &str, id_number: &str, name: &str) -> (StatusCode, Value) {
    let card = json!({"id_number": id_number, "name": name});
    t.send(Method::POST, path, Some(&card)).await
}

/// Whether the terminal has an open alarm.
async fn alarmed(p: &Platform, t: &TestTerminal) -> bool {
    !p.store
        .open_alarms(Some(&t.id))
        .await
        .expect("alarms")
        .is_empty()
}

async fn book(p: &Platform, code: &str) {
    p.store
        .create_appointment(
            code,
            ID_NUMBER,
            NAME,
            "lyg-health-0701",
            "haizhou",
            &today(),
            "09:30-10:00",
        )
        .await
        .expect("booked");
}

/// Status and raw body of a signed request.
async fn raw(t: &TestTerminal, path: &str, body: &Value) -> (StatusCode, Vec<u8>) {
    let response = t
        .request(Method::POST, path, Some(body))
        .send()
        .await
        .expect("answer");
    let status = response.status();
    (status, response.bytes().await.expect("body").to_vec())
}

/// Whether a certificate PDF lists application `number` (the platform's writer draws text
/// as UTF-16BE hex).
fn lists(pdf: &[u8], number: &str) -> bool {
    let hex: String = number
        .chars()
        .map(|c| format!("{:04X}", c as u32))
        .collect();
    String::from_utf8_lossy(pdf)
        .to_ascii_uppercase()
        .contains(&hex)
}

async fn the_right_number_with_another_name_gets_nothing(db: TestDb) {
    let p = serve(db.store().await).await;
    let t = TestTerminal::enroll(&p, "SN-REC-1", Some("haizhou")).await;
    let number = submit(&t, "records-key-0001").await;
    book(&p, "YYREC001").await;

    // The card holder: their application, their appointment, their certificate.
    let (status, mine) = query(&t, "/v1/progress", ID_NUMBER, NAME).await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["applications"][0]["application_no"], number.as_str());
    // The name as another spelling of the same card text still matches.
    let (_, spaced) = query(&t, "/v1/progress", ID_NUMBER, " 测 试 ").await;
    assert_eq!(spaced["applications"], mine["applications"]);
    let (status, pdf) = raw(
        &t,
        "/v1/certificates/application-record",
        &json!({"name": NAME, "id_number": ID_NUMBER}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(lists(&pdf, &number));

    // Someone with the number but not the card: exactly what an unknown number gets.
    let unknown = json!({"id_number": "110101199003070011", "name": NAME});
    let stranger = json!({"id_number": ID_NUMBER, "name": "王五"});
    let (_, none) = t.send(Method::POST, "/v1/progress", Some(&unknown)).await;
    let (status, other) = t.send(Method::POST, "/v1/progress", Some(&stranger)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(other, none);
    assert_eq!(other, json!({"applications": []}));
    let (status, pdf) = raw(&t, "/v1/certificates/application-record", &stranger).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !lists(&pdf, &number),
        "another name's certificate lists nothing"
    );
    let (_, away) = t
        .send(Method::POST, "/v1/appointments/check-in", Some(&stranger))
        .await;
    let (_, nobody) = t
        .send(Method::POST, "/v1/appointments/check-in", Some(&unknown))
        .await;
    assert_eq!(away, json!({"found": false}));
    assert_eq!(away, nobody);
    let (_, found) = query(&t, "/v1/appointments/check-in", ID_NUMBER, NAME).await;
    assert_eq!(found["found"], true, "{found}");
}

async fn a_request_without_the_cards_name_gets_name_required(db: TestDb) {
    let p = serve(db.store().await).await;
    let t = TestTerminal::enroll(&p, "SN-REC-OLD", Some("haizhou")).await;
    submit(&t, "records-key-0002").await;
    book(&p, "YYREC002").await;
    // What a terminal built before names were required sends.
    for path in ["/v1/progress", "/v1/appointments/check-in"] {
        let (status, body) = t
            .send(Method::POST, path, Some(&json!({"id_number": ID_NUMBER})))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
        assert_eq!(body["code"], "name_required", "{path}");
    }
    // A certificate always carried the name; without it the body is refused, not a 5xx.
    let (status, _) = t
        .send(
            Method::POST,
            "/v1/certificates/application-record",
            Some(&json!({"id_number": ID_NUMBER})),
        )
        .await;
    assert!(status.is_client_error(), "{status}");
    // The appointment code needs no name: it names a booking, not a person.
    let by_code = json!({"code": "YYREC002"});
    let (status, by_code) = t
        .send(Method::POST, "/v1/appointments/check-in", Some(&by_code))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_code["found"], true);
}

async fn record_answers_never_carry_the_full_id_number(db: TestDb) {
    let p = serve(db.store().await).await;
    let t = TestTerminal::enroll(&p, "SN-REC-MASK", Some("haizhou")).await;
    submit(&t, "records-key-0003").await;
    book(&p, "YYREC003").await;
    let card = json!({"id_number": ID_NUMBER, "name": NAME});
    let mut answers = Vec::new();
    for (path, body) in [
        ("/v1/progress", card.clone()),
        ("/v1/appointments/check-in", card.clone()),
        ("/v1/appointments/check-in", json!({"code": "YYREC003"})),
        ("/v1/certificates/application-record", card.clone()),
        (
            "/v1/certificates/application-record?paper=roll80",
            card.clone(),
        ),
        ("/v1/progress", json!({"id_number": ID_NUMBER})),
        ("/v1/progress", json!({"id_number": ID_NUMBER, "name": ""})),
    ] {
        answers.push((path, raw(&t, path, &body).await));
    }
    for (path, (status, body)) in &answers {
        assert!(status.as_u16() < 500, "{path}: {status}");
        for id in [ID_NUMBER, &ID_NUMBER.to_ascii_lowercase()] {
            assert!(
                !body.windows(id.len()).any(|w| w == id.as_bytes()),
                "{path} answered the full ID number"
            );
        }
    }
    // The trail names kinds, matters and outcomes, never the number or the name.
    let trail = p
        .store
        .record_queries(Some(&t.id), None, 50)
        .await
        .expect("trail");
    let kinds: Vec<(&str, &str)> = trail
        .iter()
        .map(|q| (q.kind.as_str(), q.outcome.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("certificate", "found"),
            ("certificate", "found"),
            ("check_in_code", "found"),
            ("check_in_card", "found"),
            ("progress", "found"),
        ]
    );
    assert_eq!(trail[0].matter.as_deref(), Some("application-record"));
    assert_eq!(trail[3].matter.as_deref(), Some("lyg-health-0701"));
    let shown = format!("{trail:?}");
    assert!(
        !shown.contains(ID_NUMBER) && !shown.contains(NAME),
        "{shown}"
    );
}

/// A progress query for citizen `n` (a distinct, well-formed number each).
async fn ask_about(t: &TestTerminal, n: i64) -> (StatusCode, Value) {
    query(t, "/v1/progress", &format!("3207061990{n:08}"), "某人").await
}

async fn asking_about_too_many_citizens_suspends_the_terminal_until_an_operator_clears_it(
    db: TestDb,
) {
    let p = serve(db.store().await).await;
    let thief = TestTerminal::enroll(&p, "SN-REC-STOLEN", Some("haizhou")).await;
    let honest = TestTerminal::enroll(&p, "SN-REC-HONEST", Some("haizhou")).await;
    let number = submit(&honest, "records-key-0004").await;
    assert_eq!(RECORD_SUBJECTS_PER_HOUR, 60, "the documented limit");
    // As many citizens as one terminal's queue can present in an hour, each asked twice.
    for n in 0..RECORD_SUBJECTS_PER_HOUR {
        for _ in 0..2 {
            let (status, body) = ask_about(&thief, n).await;
            assert_eq!(status, StatusCode::OK, "citizen {n}: {body}");
        }
    }
    assert!(!alarmed(&p, &thief).await);
    // One more is more than can have stood there.
    let (status, body) = ask_about(&thief, RECORD_SUBJECTS_PER_HOUR).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["code"], "record_queries_suspended");
    // Suspended for every record query, even about a citizen asked before, and for a
    // certificate and check-in; other terminals are unaffected.
    assert_eq!(ask_about(&thief, 0).await.0, StatusCode::TOO_MANY_REQUESTS);
    let card = json!({"id_number": ID_NUMBER, "name": NAME});
    for path in [
        "/v1/certificates/application-record",
        "/v1/appointments/check-in",
    ] {
        let (status, body) = thief.send(Method::POST, path, Some(&card)).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{path}");
        assert_eq!(body["code"], "record_queries_suspended");
    }
    let (status, mine) = honest.send(Method::POST, "/v1/progress", Some(&card)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine["applications"].as_array().map(Vec::len), Some(1));
    // One alarm, counting the refusals; one audit line.
    let alarms = p.store.open_alarms(Some(&thief.id)).await.expect("alarms");
    assert_eq!(alarms.len(), 1, "{alarms:?}");
    assert_eq!(alarms[0].kind, "record_queries_suspended");
    assert_eq!(alarms[0].occurrences, 4);
    assert!(!alarmed(&p, &honest).await);
    let audit = p
        .store
        .audit_log(&AuditFilter {
            kind: Some("record_queries_suspended".into()),
            limit: 50,
            ..AuditFilter::default()
        })
        .await
        .expect("audit");
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert!(
        audit[0].detail.starts_with(&thief.id),
        "{}",
        audit[0].detail
    );
    let trail = p
        .store
        .record_queries(Some(&thief.id), None, 500)
        .await
        .expect("trail");
    assert_eq!(trail.len() as i64, 2 * RECORD_SUBJECTS_PER_HOUR + 1);
    assert_eq!(trail[0].outcome, "suspended");
    // An operator looks, clears the alarm: the terminal asks again, counted afresh.
    let cleared = p
        .store
        .clear_alarm(alarms[0].id, "otto")
        .await
        .expect("clear");
    assert!(cleared.is_some());
    for n in 100..110 {
        assert_eq!(
            ask_about(&thief, n).await.0,
            StatusCode::OK,
            "after clearing"
        );
    }
    let (status, pdf) = raw(&thief, "/v1/certificates/application-record", &card).await;
    assert_eq!(status, StatusCode::OK);
    assert!(lists(&pdf, &number));
}

async fn asking_too_often_suspends_the_terminal_too(db: TestDb) {
    let p = serve(db.store().await).await;
    let t = TestTerminal::enroll(&p, "SN-REC-LOOP", Some("haizhou")).await;
    // Far more queries than a queue of citizens runs, about one citizen only.
    for n in 0..RECORD_QUERIES_PER_HOUR {
        assert_eq!(ask_about(&t, 7).await.0, StatusCode::OK, "query {n}");
    }
    let (status, body) = ask_about(&t, 7).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["code"], "record_queries_suspended");
    assert_eq!(
        p.store.open_alarms(Some(&t.id)).await.expect("alarms")[0].kind,
        "record_queries_suspended"
    );
}

/// A database from before holder keys: its applications are given theirs when the platform
/// starts, and their card holders find them again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applications_filed_before_holder_keys_are_found_after_a_restart() {
    let db = TestDb::new(common::Backend::Sqlite)
        .await
        .expect("a SQLite database");
    let p = serve(db.store().await).await;
    let t = TestTerminal::enroll(&p, "SN-REC-OLDDB", None).await;
    let number = submit(&t, "records-key-0005").await;
    let kiosk_platform::DbUrl::Sqlite(path) = &db.url else {
        panic!("not SQLite");
    };
    rusqlite::Connection::open(path)
        .and_then(|c| c.execute("UPDATE applications SET holder_key = NULL", []))
        .expect("the application as stored before");
    let (_, before) = query(&t, "/v1/progress", ID_NUMBER, NAME).await;
    assert_eq!(before, json!({"applications": []}));
    let restarted = serve(db.store().await).await;
    let (status, after) = query(&t.via(&restarted), "/v1/progress", ID_NUMBER, NAME).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(after["applications"][0]["application_no"], number.as_str());
    let (_, stranger) = query(&t.via(&restarted), "/v1/progress", ID_NUMBER, "王五").await;
    assert_eq!(stranger, json!({"applications": []}));
}
