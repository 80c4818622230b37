//! The terminal API over real HTTP, on each storage backend (SQLite and PostgreSQL): exactly-once
//! applications (also across two platform instances on one database), catalog caching, ratings,
//! and bad input that gets a clear 4xx and stores nothing.

mod common;

use common::{Platform, TestDb, TestTerminal, serve};
use kiosk_platform::{DbUrl, Store, seed};
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_backends!(
    the_same_key_twice_gives_the_same_number_and_one_row,
    a_key_reused_for_another_application_is_refused,
    bad_applications_get_a_clear_4xx_and_store_nothing,
    the_catalog_is_served_with_an_etag_and_not_resent_when_current,
    one_rating_per_application_and_bad_ratings_need_a_reason,
    health_openapi_and_unknown_paths,
    two_instances_on_one_database_store_a_racing_application_once,
    concurrent_applications_and_ratings_commit_independently,
    sealed_applications_are_opened_by_the_platform_alone,
    a_finished_application_is_rated_once_by_its_applicant_at_any_terminal,
);

/// A platform with one enrolled terminal.
struct Env {
    p: Platform,
    t: TestTerminal,
}

impl std::ops::Deref for Env {
    type Target = Platform;
    fn deref(&self) -> &Platform {
        &self.p
    }
}

async fn platform(db: &TestDb) -> Env {
    let p = serve(db.store().await).await;
    let t = TestTerminal::enroll(&p, "SN-HZ-0001", Some("haizhou")).await;
    Env { p, t }
}

fn application(matter: &str) -> Value {
    json!({
        "terminal_id": "LYG-HZ-0001",
        "matter_id": matter,
        "applicant": {"name": "张三", "id_number": "320706199001010133", "document_kind": "resident"},
        "language": "zh"
    })
}

/// Submits `body` as the environment's terminal (its `terminal_id` set to that terminal).
async fn submit(e: &Env, key: Option<&str>, body: &Value) -> (StatusCode, Value) {
    submit_as(&e.t, key, body).await
}

async fn submit_as(t: &TestTerminal, key: Option<&str>, body: &Value) -> (StatusCode, Value) {
    let mut body = body.clone();
    if body.get("terminal_id").is_some() {
        body["terminal_id"] = json!(t.id);
    }
    let mut request = t.request(reqwest::Method::POST, "/v1/applications", Some(&body));
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    common::answer(request.send().await.expect("answer")).await
}

async fn the_same_key_twice_gives_the_same_number_and_one_row(db: TestDb) {
    let p = platform(&db).await;
    let body = application("lyg-health-0701");
    let (first_status, first) = submit(&p, Some("key-0000-0001"), &body).await;
    assert_eq!(first_status, StatusCode::CREATED);
    let number = first["application_no"].as_str().expect("number").to_owned();
    assert!(number.starts_with("LY") && number.len() == 16, "{number}");
    let code = first["progress_code"]
        .as_str()
        .expect("a progress code")
        .to_owned();
    assert_eq!(code.len(), 8, "{code}");
    assert!(
        p.store
            .progress_code_matches(&number, &code.to_lowercase())
            .expect("keys")
    );
    assert_eq!(
        first["progress_url"],
        format!("https://lyg.example/progress/{number}?c={code}")
    );
    let (again_status, again) = submit(&p, Some("key-0000-0001"), &body).await;
    assert_eq!(again_status, StatusCode::OK);
    assert_eq!(again["application_no"], number.as_str());
    assert_eq!(again["replayed"], true);
    assert_eq!(p.store.application_count().await.expect("count"), 1);

    let (_, other) = submit(&p, Some("key-0000-0002"), &body).await;
    assert_ne!(other["application_no"], number.as_str());
    assert_eq!(p.store.application_count().await.expect("count"), 2);
}

async fn a_key_reused_for_another_application_is_refused(db: TestDb) {
    let p = platform(&db).await;
    submit(&p, Some("key-0000-0001"), &application("lyg-health-0701")).await;
    let mut other = application("lyg-health-0701");
    other["applicant"]["name"] = json!("李四");
    let (status, body) = submit(&p, Some("key-0000-0001"), &other).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "idempotency_key_reused");
    assert_eq!(p.store.application_count().await.expect("count"), 1);
}

async fn bad_applications_get_a_clear_4xx_and_store_nothing(db: TestDb) {
    let p = platform(&db).await;
    let good = application("lyg-health-0701");
    let mut cases: Vec<(Option<&str>, Value, StatusCode, &str)> = vec![
        (
            None,
            good.clone(),
            StatusCode::BAD_REQUEST,
            "missing_idempotency_key",
        ),
        (
            Some("short"),
            good.clone(),
            StatusCode::BAD_REQUEST,
            "invalid_idempotency_key",
        ),
        (
            Some("key-0000-0009"),
            json!({"hello": 1}),
            StatusCode::BAD_REQUEST,
            "malformed_body",
        ),
        (
            Some("key-0000-0009"),
            application("no-such-matter"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_matter",
        ),
    ];
    let mut bad_id = good.clone();
    bad_id["applicant"]["id_number"] = json!("12'; DROP TABLE applications;--");
    cases.push((
        Some("key-0000-0009"),
        bad_id,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    ));
    let mut bad_kind = good.clone();
    bad_kind["applicant"]["document_kind"] = json!("passport");
    cases.push((
        Some("key-0000-0009"),
        bad_kind,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    ));
    let mut bad_waiver = good.clone();
    bad_waiver["committed_missing_materials"] = json!([250]);
    cases.push((
        Some("key-0000-0009"),
        bad_waiver,
        StatusCode::UNPROCESSABLE_ENTITY,
        "material_not_waivable",
    ));
    for (key, body, status, code) in cases {
        let (got, answer) = submit(&p, key, &body).await;
        assert_eq!(
            (got, answer["code"].as_str()),
            (status, Some(code)),
            "{body}"
        );
    }
    // A matter that needs the service window cannot be applied for at a terminal.
    let catalog = seed::seed_catalog().expect("seed");
    let window_only = catalog
        .matters
        .iter()
        .find(|m| !m.kiosk_application)
        .expect("a window-only matter");
    let (status, answer) = submit(&p, Some("key-0000-0010"), &application(&window_only.id)).await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("not_applicable_at_terminal")
        )
    );
    // An oversized body is cut off before it is parsed.
    let huge = json!({"matter_id": "x".repeat(100_000)});
    let (status, _) = submit(&p, Some("key-0000-0011"), &huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(p.store.application_count().await.expect("count"), 0);
}

async fn the_catalog_is_served_with_an_etag_and_not_resent_when_current(db: TestDb) {
    let p = platform(&db).await;
    let client = reqwest::Client::new();
    let response = client
        .get(format!("{}/v1/catalog", p.url))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::OK);
    let etag = response.headers()["etag"]
        .to_str()
        .expect("etag")
        .to_owned();
    let catalog: kiosk_protocol::Catalog = response.json().await.expect("catalog");
    catalog.validate().expect("valid");
    assert_eq!(etag, format!("\"{}\"", catalog.version));
    let cached = client
        .get(format!("{}/v1/catalog", p.url))
        .header("If-None-Match", &etag)
        .send()
        .await
        .expect("answer");
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
    let stale = client
        .get(format!("{}/v1/catalog", p.url))
        .header("If-None-Match", "\"1999.1\"")
        .send()
        .await
        .expect("answer");
    assert_eq!(stale.status(), StatusCode::OK);
}

async fn one_rating_per_application_and_bad_ratings_need_a_reason(db: TestDb) {
    let p = platform(&db).await;
    let (_, receipt) = submit(&p, Some("key-0000-0001"), &application("lyg-health-0701")).await;
    let number = receipt["application_no"].as_str().expect("number");
    let rate = |body: Value| {
        p.t.request(reqwest::Method::POST, "/v1/ratings", Some(&body))
            .send()
    };
    let rating = |level: u8, reason: Option<&str>| json!({"application_no": number, "matter_id": "lyg-health-0701", "terminal_id": p.t.id, "level": level, "reason": reason});
    assert_eq!(
        rate(rating(2, None)).await.expect("answer").status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        rate(rating(6, None)).await.expect("answer").status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let mut unknown = rating(5, None);
    unknown["application_no"] = json!("LY19990101000001");
    assert_eq!(
        rate(unknown).await.expect("answer").status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        rate(rating(2, Some("took_too_long")))
            .await
            .expect("answer")
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        rate(rating(5, None)).await.expect("answer").status(),
        StatusCode::CONFLICT
    );
    assert_eq!(p.store.rating_count().await.expect("count"), 1);
}

async fn health_openapi_and_unknown_paths(db: TestDb) {
    let p = platform(&db).await;
    let health: Value = reqwest::get(format!("{}/healthz", p.url))
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    assert_eq!(health["status"], "ok");
    let doc: Value = reqwest::get(format!("{}/openapi.json", p.url))
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    for path in [
        "/healthz",
        "/v1/catalog",
        "/v1/enroll",
        "/v1/applications",
        "/v1/applications/{application_no}",
        "/v1/ratings",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
    for schema in [
        "Catalog",
        "Matter",
        "ApplicationRequest",
        "ApplicationReceipt",
        "RatingRequest",
        "ApiError",
        "EnrollRequest",
        "EnrollResponse",
        "ApplicationStatus",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "{schema} missing"
        );
    }
    // Sealed materials and the certificate's paper are in the document.
    let content_types = doc["components"]["schemas"]["MaterialContentType"].to_string();
    for mime in [
        "image/jpeg",
        "application/pdf",
        "application/vnd.lyb.sealed+jpeg",
        "application/vnd.lyb.sealed+pdf",
    ] {
        assert!(
            content_types.contains(mime),
            "{mime} missing: {content_types}"
        );
    }
    let certificate = doc["paths"]["/v1/certificates/{kind}"]["post"]["parameters"].to_string();
    assert!(certificate.contains("\"paper\""), "{certificate}");
    for scheme in ["terminal_id", "timestamp", "nonce", "signature"] {
        assert!(
            doc["components"]["securitySchemes"][scheme].is_object(),
            "{scheme} missing"
        );
    }
    assert!(doc["paths"]["/v1/applications"]["post"]["security"].is_array());
    let missing = reqwest::get(format!("{}/v2/whatever", p.url))
        .await
        .expect("answer");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let body: Value = missing.json().await.expect("json");
    assert_eq!(body["code"], "not_found");
}

#[test]
fn a_corrupt_database_is_named_not_overwritten() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("platform.db");
    std::fs::write(&path, b"this is not a database, it is a letter to grandma").expect("write");
    let err = block_on(Store::open(&DbUrl::Sqlite(path.clone())))
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("is not a usable platform database"), "{err}");
    assert_eq!(
        std::fs::read(&path).expect("read"),
        b"this is not a database, it is a letter to grandma"
    );
    let missing_dir = dir.path().join("no/such/folder/platform.db");
    let err = block_on(Store::open(&DbUrl::Sqlite(missing_dir)))
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("does not exist"), "{err}");
}

fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

/// Two platform instances over one database (the scale-out shape): the same idempotent
/// application sent through both at once, many times over, is stored once per key and both
/// answer with the same number.
async fn two_instances_on_one_database_store_a_racing_application_once(db: TestDb) {
    // Both instances start at once on the fresh database: each opens its own pool (or
    // connection) and runs the migrations, which must apply exactly once.
    let (first, second) = tokio::join!(db.instance(), db.instance());
    first
        .publish_catalog(&seed::seed_catalog().expect("seed"))
        .await
        .expect("publish");
    let (a, b) = (serve(first).await, serve(second).await);
    // One terminal, enrolled through the first instance, talks to both.
    let t = TestTerminal::enroll(&a, "SN-RACE-1", None).await;
    let (ta, tb) = (t.via(&a), t.via(&b));
    let body = application("lyg-health-0701");
    for round in 0..20 {
        let key = format!("race-key-{round:04}");
        let (first, second) = tokio::join!(
            submit_as(&ta, Some(&key), &body),
            submit_as(&tb, Some(&key), &body)
        );
        assert!(
            [first.0, second.0].contains(&StatusCode::CREATED),
            "round {round}: {first:?} {second:?}"
        );
        assert_eq!(
            first.1["application_no"], second.1["application_no"],
            "round {round}"
        );
        assert_ne!(
            first.1["replayed"], second.1["replayed"],
            "round {round}: one of the two is the replay"
        );
    }
    assert_eq!(a.store.application_count().await.expect("count"), 20);
    assert_eq!(b.store.application_count().await.expect("count"), 20);
}

/// Many submissions and ratings at once (they share group commits on SQLite): each is stored
/// or refused on its own — a refused rating never takes another's work with it.
async fn concurrent_applications_and_ratings_commit_independently(db: TestDb) {
    let p = platform(&db).await;
    let body = application("lyg-health-0701");
    let mut submissions = tokio::task::JoinSet::new();
    for round in 0..2 {
        for i in 0..30 {
            let (t, body) = (p.t.clone(), body.clone());
            submissions.spawn(async move {
                let key = format!("group-key-{i:04}");
                (round, i, submit_as(&t, Some(&key), &body).await)
            });
        }
    }
    let mut numbers = std::collections::BTreeMap::new();
    while let Some(done) = submissions.join_next().await {
        let (_, i, (status, receipt)) = done.expect("task");
        assert!(status.is_success(), "{receipt}");
        let number = receipt["application_no"]
            .as_str()
            .expect("number")
            .to_owned();
        let previous = numbers.insert(i, number.clone());
        assert!(
            previous.is_none_or(|n| n == number),
            "key {i} got two numbers"
        );
    }
    assert_eq!(p.store.application_count().await.expect("count"), 30);
    let mut ratings = tokio::task::JoinSet::new();
    for (i, number) in numbers.iter().take(10) {
        for _ in 0..2 {
            let rating = json!({"application_no": number, "matter_id": "lyg-health-0701",
                "terminal_id": p.t.id, "level": 1 + (i % 5), "reason": "other"});
            let t = p.t.clone();
            ratings.spawn(async move {
                t.send(reqwest::Method::POST, "/v1/ratings", Some(&rating))
                    .await
                    .0
            });
        }
    }
    let mut statuses = Vec::new();
    while let Some(done) = ratings.join_next().await {
        statuses.push(done.expect("task"));
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::NO_CONTENT)
            .count(),
        10
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        10
    );
    assert_eq!(p.store.rating_count().await.expect("count"), 10);
}

/// Sends `bytes` (already sealed) as an application under `key`, signed like any body.
async fn submit_sealed(t: &TestTerminal, key: &str, bytes: &[u8]) -> (StatusCode, Value) {
    let signed = kiosk_protocol::sign_request(
        &t.key,
        &t.id,
        "POST",
        "/v1/applications",
        common::now(),
        &common::nonce(),
        bytes,
    );
    let mut request = t
        .http
        .post(format!("{}/v1/applications", t.base))
        .header("Idempotency-Key", key)
        .header(
            "content-type",
            kiosk_protocol::sealing::SEALED_APPLICATION_CONTENT_TYPE,
        )
        .body(bytes.to_vec());
    for (name, value) in signed.pairs() {
        request = request.header(name, value);
    }
    common::answer(request.send().await.expect("answer")).await
}

async fn sealed_applications_are_opened_by_the_platform_alone(db: TestDb) {
    let p = platform(&db).await;
    let (status, config) = p.t.send(reqwest::Method::GET, "/v1/config", None).await;
    assert_eq!(status, StatusCode::OK);
    let public = kiosk_protocol::sealing::parse_sealing_key(
        config["sealing_key"].as_str().expect("sealing key"),
    )
    .expect("key");
    let mut body = application("lyg-health-0701");
    body["terminal_id"] = json!(p.t.id);
    let plain = serde_json::to_vec(&body).expect("json");
    let sealed = kiosk_protocol::sealing::seal(&public, &plain).expect("sealed");
    let (status, receipt) = submit_sealed(&p.t, "sealed-0000-0001", &sealed).await;
    assert_eq!(status, StatusCode::CREATED, "{receipt}");
    // Sealed again (different bytes, same application): the same number, one row.
    let again = kiosk_protocol::sealing::seal(&public, &plain).expect("sealed");
    let (status, replay) = submit_sealed(&p.t, "sealed-0000-0001", &again).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(replay["application_no"], receipt["application_no"]);
    // Sealed to another key, or altered: a clear 400, nothing stored.
    let stranger = kiosk_protocol::sealing::SealingKey::from_secret([9; 32]);
    let wrong = kiosk_protocol::sealing::seal(
        &kiosk_protocol::sealing::parse_sealing_key(&stranger.public_hex()).expect("key"),
        &plain,
    )
    .expect("sealed");
    let (status, error) = submit_sealed(&p.t, "sealed-0000-0002", &wrong).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["code"], "unsealable_body");
    let mut altered = sealed.clone();
    altered[50] ^= 0x40;
    let (status, _) = submit_sealed(&p.t, "sealed-0000-0003", &altered).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(p.store.application_count().await.expect("count"), 1);
}

/// A catalog exported from another system has no pinyin: `catalog import` spells it, and what
/// terminals fetch finds 社会保障卡申领 by initials, full pinyin and Chinese, and polyphones by
/// any of their readings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_catalog_without_pinyin_is_searchable_by_pinyin_and_chinese() {
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("platform.db").display());
    let mut json: Value = serde_json::from_str(seed::SEED_CATALOG_JSON).expect("seed json");
    json["version"] = json!("2099.1.1");
    for m in json["matters"].as_array_mut().expect("matters") {
        let m = m.as_object_mut().expect("matter");
        m.remove("pinyin_initials");
        m.remove("aliases");
    }
    let file = dir.path().join("catalog.json");
    std::fs::write(&file, json.to_string()).expect("write");
    let path = file.display().to_string();
    let (ok, out, err) = tokio::task::spawn_blocking(move || {
        common::platform_cli(&db, &["catalog", "import", &path])
    })
    .await
    .expect("cli");
    assert!(ok, "{err}");
    assert!(out.contains("published catalog 2099.1.1"), "{out}");

    let url: DbUrl = format!("sqlite://{}", dir.path().join("platform.db").display())
        .parse()
        .expect("url");
    let p = serve(Store::open(&url).await.expect("store")).await;
    let catalog: kiosk_protocol::Catalog = reqwest::get(format!("{}/v1/catalog", p.url))
        .await
        .expect("answer")
        .json()
        .await
        .expect("catalog");
    assert_eq!(catalog.version, "2099.1.1");
    catalog.validate().expect("valid");
    let index = kiosk_protocol::SearchIndex::new(&catalog);
    let finds = |query: &str, zh: &str| {
        let found: Vec<&str> = index
            .search(&catalog, query)
            .iter()
            .map(|m| m.name.zh.as_str())
            .collect();
        assert!(found.contains(&zh), "{query} → {found:?}");
        found
    };
    for query in ["sbk", "shebaoka", "shebk", "社保", "社保卡"] {
        assert_eq!(
            finds(query, "社会保障卡申领")[0],
            "社会保障卡申领",
            "{query}"
        );
    }
    // Polyphones: 重 in 重度 (zhong), 参 in 参保 (can), 长 read either way, 行 as hang.
    finds("zhongducanji", "困难残疾人生活补贴和重度残疾人护理补贴申领");
    finds("canbaodengji", "城乡居民养老保险参保登记");
    finds("gongjijin", "住房公积金缴存证明打印");
    finds("gjj", "住房公积金缴存证明打印");
    finds("dibao", "最低生活保障申请");
    finds("医保", "城乡居民基本医疗保险参保登记");
    finds("social security card", "社会保障卡申领");
    // The terminals of an earlier release still get initials they can search by.
    let card = catalog
        .matters
        .iter()
        .find(|m| m.name.zh == "社会保障卡申领")
        .expect("card");
    assert!(
        card.pinyin_initials.starts_with("sh"),
        "{}",
        card.pinyin_initials
    );
}

async fn a_finished_application_is_rated_once_by_its_applicant_at_any_terminal(db: TestDb) {
    use kiosk_platform::lifecycle::{Actor, Change};
    use kiosk_platform::store::Scope;
    let p = platform(&db).await;
    let other = TestTerminal::enroll(&p, "SN-GY-0009", Some("ganyu")).await;
    let number =
        common::file_application(&p.t, "key-life-0001", "张三", "320706199001010133").await;
    let rate = |body: Value| {
        other
            .request(reqwest::Method::POST, "/v1/ratings", Some(&body))
            .send()
    };
    let indicators = json!({"overall": 2, "efficiency": 1, "competence": 3, "attitude": 2});
    let rating = |name: &str| {
        json!({
            "application_no": number, "matter_id": "lyg-health-0701", "terminal_id": other.id,
            "level": 2, "reason": "took_too_long", "stage": "completion", "indicators": indicators,
            "holder": {"name": name, "id_number": "320706199001010133"}
        })
    };
    // Not finished yet: refused, nothing recorded.
    let (status, body) = common::answer(rate(rating("张三")).await.expect("answer")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "illegal_transition");

    let department = ["lyg-health".to_owned()];
    let scope = Scope::Departments(&department);
    let clerk = || Actor::Clerk("li.clerk".into());
    p.store
        .advance(&number, scope, clerk(), Change::StartReview)
        .await
        .expect("review");
    p.store
        .advance(
            &number,
            scope,
            clerk(),
            Change::Complete {
                note: "请到窗口领取".into(),
            },
        )
        .await
        .expect("complete");
    // Another department's clerk moves nothing.
    let elsewhere = ["lyg-hrss".to_owned()];
    assert!(matches!(
        p.store
            .advance(
                &number,
                Scope::Departments(&elsewhere),
                clerk(),
                Change::StartReview
            )
            .await,
        Err(kiosk_platform::StoreError::OtherDepartment)
    ));

    // 办件查询 at the other terminal shows each step and offers the rating.
    let (status, progress) = common::answer(
        other
            .request(
                reqwest::Method::POST,
                "/v1/progress",
                Some(&json!({"id_number": "320706199001010133", "name": "张三"})),
            )
            .send()
            .await
            .expect("answer"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{progress}");
    let mine = &progress["applications"][0];
    assert_eq!(mine["state"], "approved");
    assert_eq!(mine["rateable"], true);
    let steps: Vec<&str> = mine["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|e| e["what"]["zh"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(steps, ["已受理", "开始审核", "已办结：请到窗口领取"]);

    // Someone else's card is answered as if there were no such application.
    let (status, _) = common::answer(rate(rating("李四")).await.expect("answer")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut bare = rating("张三");
    bare.as_object_mut().expect("object").remove("holder");
    let (status, body) = common::answer(rate(bare).await.expect("answer")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("holder_required"))
    );
    // The applicant's card: recorded once, and the bad rating opens a case.
    assert_eq!(
        rate(rating("张三")).await.expect("answer").status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        rate(rating("张三")).await.expect("answer").status(),
        StatusCode::CONFLICT
    );
    let (_, progress) = common::answer(
        other
            .request(
                reqwest::Method::POST,
                "/v1/progress",
                Some(&json!({"id_number": "320706199001010133", "name": "张三"})),
            )
            .send()
            .await
            .expect("answer"),
    )
    .await;
    assert_eq!(progress["applications"][0]["rateable"], false);
    assert_eq!(p.store.rating_count().await.expect("count"), 1);
}
