//! Form answers arriving with applications, on each backend: checked against the form of the
//! catalog version the terminal used (a retired one within the grace period, not after), every
//! kind of field refused with its path and accepted when right, and catalogs with a broken form
//! refused at import with the path named.

mod common;

use common::{Platform, TestDb, TestTerminal, answer, platform_cli, serve_with};
use kiosk_platform::{AppState, seed};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime, UtcOffset};

on_both_backends!(
    good_answers_of_every_kind_are_accepted_and_stored_with_the_application,
    a_broken_answer_of_every_kind_is_refused_with_its_path_and_nothing_is_stored,
    answers_are_checked_against_the_version_the_terminal_filled_them_in_with,
    a_version_retired_longer_ago_than_the_grace_period_is_refused_but_a_retry_keeps_its_receipt,
    a_start_date_of_today_still_counts_for_an_application_that_waited_in_the_outbox,
    the_card_holder_reads_the_answers_back_and_the_terminal_does_not,
);

const PENSION: &str = "lyg-hrss-0101";
const RENT: &str = "lyg-hpf-0303";
const FLEXIBLE: &str = "lyg-hrss-0103";
const REFERRAL: &str = "lyg-healthsecurity-0202";
const CARD_ADDRESS: &str = "江苏省连云港市海州区朝阳东路1号";

async fn platform(
    db: &TestDb,
    configure: impl FnOnce(AppState) -> AppState,
) -> (Platform, TestTerminal) {
    let p = serve_with(db.store().await, configure).await;
    let t = TestTerminal::enroll(&p, "SN-FORM-0001", Some("haizhou")).await;
    (p, t)
}

fn township() -> Value {
    json!({"region": "320706010", "street": "朝阳东路88号3幢201室"})
}

/// What a citizen who filled each matter's form in correctly sends.
fn good(matter: &str) -> Value {
    let card = json!({"bank": "icbc", "bank_card": "6222021001116245702", "declaration": true});
    let mut answers = match matter {
        PENSION => json!({
            "name": "张三", "sex": "male", "birth_date": "1990-01-01", "nation": "汉",
            "registered_address": CARD_ADDRESS, "household_type": "ordinary",
            "phone": "13912345678", "current_address": township(), "contribution_level": "y500",
        }),
        RENT => json!({
            "name": "张三", "phone": "0518-85821234", "method": "actual_rent", "monthly_rent": "1500.50",
            "lease_start": "2026-01-01", "lease_end": "2027-01-01", "rented_address": township(),
            "marital_status": "married", "spouse_name": "李四", "spouse_id_number": "11010519491231002X",
        }),
        FLEXIBLE => json!({
            "name": "张三", "registered_address": CARD_ADDRESS, "employment_type": "platform",
            "phone": "13912345678", "current_address": township(), "insurances": ["pension", "medical"],
            "contribution_base": "p60", "payment_period": "quarterly",
        }),
        _ => unreachable!("no answers written for {matter}"),
    };
    for (key, value) in card.as_object().into_iter().flatten() {
        answers[key] = value.clone();
    }
    answers
}

fn application(matter: &str, answers: Value, version: Option<&str>) -> Value {
    json!({
        "terminal_id": "set by submit",
        "matter_id": matter,
        "applicant": {"name": "张三", "id_number": "320706199001010133", "document_kind": "resident"},
        "language": "zh",
        "catalog_version": version,
        "answers": answers,
    })
}

async fn submit(t: &TestTerminal, key: &str, body: &Value) -> (StatusCode, Value) {
    let mut body = body.clone();
    body["terminal_id"] = json!(t.id);
    let request = t
        .request(reqwest::Method::POST, "/v1/applications", Some(&body))
        .header("Idempotency-Key", format!("answers-{key}"));
    answer(request.send().await.expect("answer")).await
}

/// The seed catalog under another version, with `change` applied to it.
fn next_version(version: &str, change: impl FnOnce(&mut Value)) -> kiosk_protocol::Catalog {
    let mut value = serde_json::to_value(seed::seed_catalog().expect("seed")).expect("json");
    value["version"] = json!(version);
    change(&mut value);
    let catalog: kiosk_protocol::Catalog = serde_json::from_value(value).expect("catalog");
    catalog.validate().expect("valid");
    catalog
}

fn seed_version() -> String {
    seed::seed_catalog().expect("seed").version
}

async fn good_answers_of_every_kind_are_accepted_and_stored_with_the_application(db: TestDb) {
    let (p, t) = platform(&db, |s| s).await;
    let version = seed_version();
    for (n, matter) in [PENSION, RENT, FLEXIBLE].into_iter().enumerate() {
        let body = application(matter, good(matter), Some(&version));
        let (status, receipt) = submit(&t, &format!("good-{n}"), &body).await;
        assert_eq!(status, StatusCode::CREATED, "{matter}: {receipt}");
    }
    // No version named: the current catalog's form.
    let (status, receipt) = submit(
        &t,
        "good-current",
        &application(PENSION, good(PENSION), None),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    // The answers are part of what was accepted: the same key with other answers is another
    // application.
    let mut other = good(PENSION);
    other["contribution_level"] = json!("y3000");
    let (status, refused) = submit(&t, "good-current", &application(PENSION, other, None)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(p.store.application_count().await.expect("count"), 4);
}

async fn a_broken_answer_of_every_kind_is_refused_with_its_path_and_nothing_is_stored(db: TestDb) {
    let (p, t) = platform(&db, |s| s).await;
    let cases: &[(&str, &str, Value, &str)] = &[
        (
            PENSION,
            "name",
            json!("张".repeat(31)),
            "answers.name: too_long (max 30)",
        ),
        (
            PENSION,
            "registered_address",
            json!("朝阳东路\u{7}1号"),
            "answers.registered_address: control_character",
        ),
        (
            RENT,
            "monthly_rent",
            json!("1,500"),
            "answers.monthly_rent: not_a_number (decimals 2)",
        ),
        (
            RENT,
            "monthly_rent",
            json!("60000"),
            "answers.monthly_rent: out_of_range (m",
        ),
        (
            RENT,
            "lease_start",
            json!("2026-02-30"),
            "answers.lease_start: not_a_date",
        ),
        (
            PENSION,
            "contribution_level",
            json!("y9999"),
            "answers.contribution_level: unknown_option",
        ),
        (
            FLEXIBLE,
            "insurances",
            json!(["pension", "dental"]),
            "answers.insurances: unknown_option",
        ),
        (
            FLEXIBLE,
            "insurances",
            json!("pension"),
            "answers.insurances: wrong_type",
        ),
        (PENSION, "phone", json!("12345"), "answers.phone: bad_phone"),
        (
            PENSION,
            "current_address",
            json!({"region": "320706", "street": "朝阳东路"}),
            "answers.current_address: unknown_region",
        ),
        (
            PENSION,
            "bank_card",
            json!("6222021001116245703"),
            "answers.bank_card: bad_bank_card",
        ),
        (
            RENT,
            "spouse_id_number",
            json!("110105194912310021"),
            "answers.spouse_id_number: bad_id_number",
        ),
        (
            PENSION,
            "declaration",
            json!(false),
            "answers.declaration: consent_required",
        ),
        (PENSION, "phone", Value::Null, "answers.phone: required"),
        (
            PENSION,
            "favourite_colour",
            json!("blue"),
            "answers.favourite_colour: unexpected",
        ),
    ];
    for (n, (matter, field, value, said)) in cases.iter().enumerate() {
        let mut answers = good(matter);
        if value.is_null() {
            answers.as_object_mut().map(|a| a.remove(*field));
        } else {
            answers[*field] = value.clone();
        }
        let (status, error) =
            submit(&t, &format!("bad-{n}"), &application(matter, answers, None)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {error}");
        assert_eq!(error["code"], "invalid_answer", "{error}");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(message.starts_with(said), "{message} is not {said}");
        assert!(!message.contains(';'), "one problem only: {message}");
    }
    // A hidden field answered: the monthly rent of a fixed-amount withdrawal.
    let mut answers = good(RENT);
    answers["method"] = json!("fixed");
    for hidden in ["lease_start", "lease_end"] {
        answers.as_object_mut().map(|a| a.remove(hidden));
    }
    let (status, error) = submit(&t, "hidden", &application(RENT, answers, None)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["message"], "answers.monthly_rent: unexpected");
    // Answers to a matter without a form.
    let (status, error) = submit(
        &t,
        "formless",
        &application("lyg-hrss-0106", json!({"phone": "13912345678"}), None),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["message"], "answers.phone: unexpected");
    // The refusal never repeats what the citizen typed.
    let mut answers = good(PENSION);
    answers["phone"] = json!("13912345");
    let (_, error) = submit(&t, "quiet", &application(PENSION, answers, None)).await;
    assert!(!error.to_string().contains("13912345"), "{error}");
    // Bounds are named with the problem.
    let mut answers = good(RENT);
    answers["monthly_rent"] = json!("60000");
    let (_, error) = submit(&t, "bounds", &application(RENT, answers, None)).await;
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("min 1") && message.contains("max 50000"),
        "{message}"
    );
    assert_eq!(p.store.application_count().await.expect("count"), 0);
}

async fn answers_are_checked_against_the_version_the_terminal_filled_them_in_with(db: TestDb) {
    let (p, t) = platform(&db, |s| s).await;
    let old = seed_version();
    // The department drops the lowest level in the next version.
    let next = next_version("2099.1.1", |c| {
        let matters = c["matters"].as_array_mut().expect("matters");
        let pension = matters
            .iter_mut()
            .find(|m| m["id"] == PENSION)
            .expect("pension");
        let options = pension["form"]["sections"][1]["fields"][0]["options"]
            .as_array_mut()
            .expect("options");
        options.retain(|o| o["value"] != "y300");
    });
    p.store.publish_catalog(&next).await.expect("publish");
    let mut answers = good(PENSION);
    answers["contribution_level"] = json!("y300");

    // Filled in with the retired version, within the grace period: its form decides.
    let (status, receipt) = submit(
        &t,
        "old-form",
        &application(PENSION, answers.clone(), Some(&old)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    // With the current one, or none named, the level no longer exists.
    for (key, version) in [("new-form", Some("2099.1.1")), ("no-version", None)] {
        let (status, error) =
            submit(&t, key, &application(PENSION, answers.clone(), version)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
        assert_eq!(
            error["message"],
            "answers.contribution_level: unknown_option"
        );
    }
    // A version this platform never published.
    let (status, error) = submit(
        &t,
        "made-up",
        &application(PENSION, good(PENSION), Some("1999.1.1")),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["code"], "unknown_catalog_version");
    // Made current again, the old version is current: no grace needed.
    p.store
        .publish_catalog(&seed::seed_catalog().expect("seed"))
        .await
        .expect("republish");
    let (status, receipt) = submit(
        &t,
        "old-again",
        &application(PENSION, good(PENSION), Some(&old)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    assert_eq!(p.store.application_count().await.expect("count"), 2);
}

async fn a_version_retired_longer_ago_than_the_grace_period_is_refused_but_a_retry_keeps_its_receipt(
    db: TestDb,
) {
    let store = db.store().await;
    let lenient = serve_with(store.clone(), |s| s).await;
    let t = TestTerminal::enroll(&lenient, "SN-FORM-0002", None).await;
    let old = seed_version();
    let body = application(PENSION, good(PENSION), Some(&old));
    let (status, first) = submit(&t, "before-expiry", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    store
        .publish_catalog(&next_version("2099.1.1", |_| {}))
        .await
        .expect("publish");

    // An instance with no grace at all: the retired version has expired.
    let strict = serve_with(store.clone(), |s| s.with_catalog_grace(0)).await;
    let t = t.via(&strict);
    let (status, error) = submit(&t, "after-expiry", &body).await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(error["code"], "catalog_version_expired");
    // The same application retried from the outbox was accepted before: its receipt again.
    let (status, again) = submit(&t, "before-expiry", &body).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["application_no"], first["application_no"]);
    // Filled in again with the current version, it is accepted.
    let current = application(PENSION, good(PENSION), Some("2099.1.1"));
    let (status, receipt) = submit(&t, "refilled", &current).await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    assert_eq!(store.application_count().await.expect("count"), 2);
}

async fn a_start_date_of_today_still_counts_for_an_application_that_waited_in_the_outbox(
    db: TestDb,
) {
    let (p, t) = platform(&db, |s| s.with_catalog_grace(3 * 86_400)).await;
    let china = UtcOffset::from_hms(8, 0, 0).expect("offset");
    let day = |days_ago: i64| {
        let date = (OffsetDateTime::now_utc() - Duration::days(days_ago))
            .to_offset(china)
            .date();
        format!(
            "{:04}-{:02}-{:02}",
            date.year(),
            u8::from(date.month()),
            date.day()
        )
    };
    let referral = |start: String| {
        json!({"name": "张三", "phone": "13912345678", "filing_type": "long_term_residence",
               "destination": "上海市", "start_date": start, "period": "one_year", "pledge": true})
    };
    // Filed "today" two days ago, delivered now: within the grace period.
    let (status, receipt) =
        submit(&t, "waited", &application(REFERRAL, referral(day(2)), None)).await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    // A week ago could not have been "today" for an application still accepted.
    let (status, error) = submit(
        &t,
        "too-old",
        &application(REFERRAL, referral(day(7)), None),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("answers.start_date: date_too_early"),
        "{message}"
    );
    assert_eq!(p.store.application_count().await.expect("count"), 1);
}

async fn the_card_holder_reads_the_answers_back_and_the_terminal_does_not(db: TestDb) {
    let (_p, t) = platform(&db, |s| s).await;
    let version = seed_version();
    let (status, receipt) = submit(
        &t,
        "read-back",
        &application(PENSION, good(PENSION), Some(&version)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    let number = receipt["application_no"]
        .as_str()
        .expect("number")
        .to_owned();

    let holder = json!({"id_number": "320706199001010133", "name": "张三"});
    let (status, progress) = t
        .send(reqwest::Method::POST, "/v1/progress", Some(&holder))
        .await;
    assert_eq!(status, StatusCode::OK, "{progress}");
    let mine = &progress["applications"][0];
    assert_eq!(mine["application_no"], number.as_str());
    let line = |field: &str| {
        mine["answers"]
            .as_array()
            .and_then(|lines| lines.iter().find(|l| l["field"] == field))
            .map(|l| {
                (
                    l["label"]["zh"].clone(),
                    l["value"]["zh"].clone(),
                    l["value"]["en"].clone(),
                )
            })
    };
    assert_eq!(
        line("contribution_level"),
        Some((
            json!("年缴费档次"),
            json!("每年500元"),
            json!("500 yuan a year")
        ))
    );
    assert_eq!(line("bank").map(|l| l.1), Some(json!("中国工商银行")));
    assert_eq!(line("bank_card").map(|l| l.1), Some(json!("****5702")));
    assert_eq!(
        line("current_address").map(|l| l.1),
        Some(json!("海州区新浦街道朝阳东路88号3幢201室"))
    );
    assert_eq!(line("declaration").map(|l| l.1), Some(json!("同意")));
    assert!(!progress.to_string().contains("6222021001116245702"));

    // The terminal's own status query carries no personal data.
    let (status, plain) = t
        .send(
            reqwest::Method::GET,
            &format!("/v1/applications/{number}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{plain}");
    assert!(plain.get("answers").is_none(), "{plain}");
    // Another name with the number reads nothing back.
    let stranger = json!({"id_number": "320706199001010133", "name": "王五"});
    let (_, none) = t
        .send(reqwest::Method::POST, "/v1/progress", Some(&stranger))
        .await;
    assert_eq!(none, json!({"applications": []}));
}

/// `catalog import` refuses a catalog whose form is broken, naming where.
#[test]
fn a_broken_form_is_refused_at_import_with_its_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite://{}", dir.path().join("p.db").display());
    let file = dir.path().join("catalog.json");
    let write = |change: &dyn Fn(&mut Value)| {
        let mut value: Value = serde_json::from_str(seed::SEED_CATALOG_JSON).expect("seed");
        value["version"] = json!("2099.1.1");
        let pension = value["matters"]
            .as_array_mut()
            .and_then(|m| m.iter_mut().find(|m| m["id"] == PENSION))
            .expect("pension");
        change(pension);
        std::fs::write(&file, value.to_string()).expect("write");
    };
    let import = || platform_cli(&db, &["catalog", "import", &file.to_string_lossy()]);

    write(&|m| m["form"]["sections"][1]["fields"][0]["kind"] = json!("choise"));
    let (ok, _, stderr) = import();
    assert!(!ok);
    assert!(
        stderr.contains(
            "matters[lyg-hrss-0101].form.sections[contribution].fields[contribution_level]"
        ) && stderr.contains("choise"),
        "{stderr}"
    );

    write(&|m| m["form"]["sections"][1]["fields"][0]["visible_when"] = json!({"field": "no_such"}));
    let (ok, _, stderr) = import();
    assert!(!ok);
    assert!(
        stderr.contains(
            "matters[lyg-hrss-0101].form.sections[contribution].fields[contribution_level].visible_when: names the field `no_such`"
        ),
        "{stderr}"
    );

    write(&|m| m["form"]["sections"][0]["fields"][0]["label"]["en"] = json!(" "));
    let (ok, _, stderr) = import();
    assert!(!ok);
    assert!(
        stderr.contains("matters[lyg-hrss-0101].form.sections[person].fields[name].label: the English text is missing"),
        "{stderr}"
    );

    write(&|_| {});
    let (ok, stdout, stderr) = import();
    assert!(ok, "{stderr}");
    assert!(stdout.contains("published catalog 2099.1.1"), "{stdout}");
}
