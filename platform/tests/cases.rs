//! 差评 cases in the console over real HTTP on each backend: a ★2 rating of completion opens a
//! case its department's clerk sees (without the application's number or the rater) and
//! answers, which closes it; another department's clerk neither sees nor answers it; an
//! unanswered one shows overdue; statistics show the 差评整改率.

mod common;

use common::{Platform, TestDb, TestTerminal, serve};
use kiosk_platform::console::hash_password;
use kiosk_platform::lifecycle::{Actor, Change};
use kiosk_platform::store::{CaseScope, CompletionRating, RatingChannel, Role, Scope};
use kiosk_protocol::{RatingIndicators, RatingReason};
use kiosk_testkit::console::Browser;
use reqwest::StatusCode;

on_both_backends!(a_bad_rating_opens_a_case_its_department_answers_and_statistics_count);

/// Files an application for `matter` and completes it; its number.
async fn completed(
    p: &Platform,
    t: &TestTerminal,
    matter: &str,
    department: &str,
    key: &str,
) -> String {
    let holder = ("周建国", "320706196001010014");
    let no = common::file_application_for(t, key, matter, holder.0, holder.1).await;
    let scope = [department.to_owned()];
    let clerk = || Actor::Clerk("desk".into());
    p.store
        .advance(
            &no,
            Scope::Departments(&scope),
            clerk(),
            Change::StartReview,
        )
        .await
        .expect("review");
    let done = Change::Complete {
        note: String::new(),
    };
    p.store
        .advance(&no, Scope::Departments(&scope), clerk(), done)
        .await
        .expect("complete");
    no
}

async fn rated(p: &Platform, no: &str, level: u8) -> Option<i64> {
    let rating = CompletionRating {
        application_no: no.to_owned(),
        channel: RatingChannel::Web,
        level,
        reason: (level <= 2).then_some(RatingReason::TookTooLong),
        indicators: RatingIndicators {
            overall: level,
            efficiency: 1,
            competence: 2,
            attitude: 4,
        },
    };
    p.store
        .rate_completion(rating, None)
        .await
        .expect("rated")
        .case
}

/// Makes case `id` due on `day`, as if it had been opened long ago.
async fn due_on(db: &TestDb, id: i64, day: &str) {
    match &db.url {
        kiosk_platform::DbUrl::Sqlite(path) => {
            let conn = rusqlite::Connection::open(path).expect("sqlite");
            conn.execute(
                "UPDATE rating_cases SET due_on = ?1 WHERE id = ?2",
                rusqlite::params![day, id],
            )
            .expect("update");
        }
        kiosk_platform::DbUrl::Postgres(url) => {
            let (client, connection) = tokio_postgres::connect(url.expose(), tokio_postgres::NoTls)
                .await
                .expect("postgres");
            tokio::spawn(connection);
            client
                .execute(
                    "UPDATE rating_cases SET due_on = $1 WHERE id = $2",
                    &[&day, &id],
                )
                .await
                .expect("update");
        }
    }
}

async fn people(p: &Platform) {
    for (name, role, departments) in [
        ("zhao", Role::Clerk, vec!["lyg-health".to_owned()]),
        ("qian", Role::Clerk, vec!["lyg-hrss".to_owned()]),
        ("ada", Role::Admin, vec![]),
        ("vera", Role::Viewer, vec![]),
    ] {
        let hash = hash_password(&format!("{name}-password-1")).expect("hash");
        p.store
            .put_operator(name, &hash, role)
            .await
            .expect("operator");
        p.store
            .set_editor_departments(name, &departments)
            .await
            .expect("departments");
    }
}

async fn login(p: &Platform, name: &str) -> Browser {
    Browser::login(&p.url, name, &format!("{name}-password-1"))
        .await
        .expect("login")
}

async fn a_bad_rating_opens_a_case_its_department_answers_and_statistics_count(db: TestDb) {
    let p = serve(db.store().await).await;
    people(&p).await;
    let t = TestTerminal::enroll(&p, "KIOSK-CASES", Some("haizhou")).await;
    let health = completed(&p, &t, "lyg-health-0701", "lyg-health", "cases-key-1").await;
    let happy = completed(&p, &t, "lyg-health-0701", "lyg-health", "cases-key-2").await;
    let hrss = completed(&p, &t, "lyg-hrss-0102", "lyg-hrss", "cases-key-3").await;
    let case = rated(&p, &health, 2).await.expect("★2 opens a case");
    assert_eq!(rated(&p, &happy, 5).await, None);
    let late = rated(&p, &hrss, 1).await.expect("★1 opens a case");
    due_on(&db, late, "2026-01-05").await;

    // The department's clerk: its case, no number, no rater.
    let zhao = login(&p, "zhao").await;
    let (status, page) = zhao.get("/console/cases").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("老年人优待证") && page.contains("★2") && page.contains("办理时间长"));
    assert!(page.contains("网上 web") && page.contains("效率 1"));
    assert!(!page.contains(&health) && !page.contains(&hrss) && !page.contains("周建国"));
    assert!(
        !page.contains("社会保险个人权益记录"),
        "another department's case"
    );
    // Another department's clerk neither sees nor answers it.
    let qian = login(&p, "qian").await;
    let (_, page) = qian.get("/console/cases").await;
    assert!(page.contains("社会保险个人权益记录") && !page.contains("老年人优待证"));
    assert!(
        page.contains("2026-01-05 超期 overdue"),
        "an unanswered case past its day"
    );
    let answer = |b: &Browser| {
        [
            ("csrf", b.csrf.clone()),
            ("visit", "电话回访，评价人反映等待过久".to_owned()),
            ("rectification", "增设老年人专窗".to_owned()),
            ("reply", "已增设专窗，感谢您的监督。".to_owned()),
        ]
    };
    let fields =
        |a: &[(&'static str, String)]| a.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    let posted = |b: &Browser, id: i64, a: Vec<(&'static str, String)>| {
        let b = Browser {
            base: b.base.clone(),
            http: b.http.clone(),
            cookie: b.cookie.clone(),
            csrf: b.csrf.clone(),
        };
        async move {
            let borrowed: Vec<(&str, &str)> = a.iter().map(|(k, v)| (*k, v.as_str())).collect();
            b.post(&format!("/console/cases/{id}/answer"), &borrowed)
                .await
        }
    };
    let (status, _) = posted(&qian, case, fields(&answer(&qian))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Viewers have no cases at all.
    let vera = login(&p, "vera").await;
    assert_eq!(vera.get("/console/cases").await.0, StatusCode::FORBIDDEN);

    // An incomplete answer is refused in words; a whole one closes the case, once.
    let mut partial = fields(&answer(&zhao));
    partial[3].1 = "  ".into();
    let (status, page) = posted(&zhao, case, partial).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("都须填写"));
    let (status, _) = posted(&zhao, case, fields(&answer(&zhao))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, page) = zhao.get("/console/cases").await;
    assert!(page.contains("增设老年人专窗") && !page.contains("action=\"/console/cases/"));
    let (status, _) = posted(&zhao, case, fields(&answer(&zhao))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let filter = kiosk_platform::store::AuditFilter {
        kind: Some("rating_case_answered".into()),
        limit: 10,
        ..Default::default()
    };
    let audit = p.store.audit_log(&filter).await.expect("audit");
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].operator, "zhao");
    assert!(!audit[0].detail.contains("专窗"));

    // The office sees every case with its number, and sets the days.
    let ada = login(&p, "ada").await;
    let (_, page) = ada.get("/console/cases").await;
    assert!(page.contains(&health) && page.contains(&hrss));
    let (status, _) = ada
        .post("/console/cases/days", &[("csrf", &ada.csrf), ("days", "0")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = ada
        .post("/console/cases/days", &[("csrf", &ada.csrf), ("days", "7")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(p.store.rating_case_days().await.expect("days"), 7);
    let (status, _) = zhao
        .post(
            "/console/cases/days",
            &[("csrf", &zhao.csrf), ("days", "30")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Statistics: per department, the indicators' means and the 差评整改率.
    let (_, stats) = vera.get("/console/stats").await;
    assert!(stats.contains("completion-by-department") && stats.contains("cases-by-department"));
    let by = p.store.cases_by_department().await.expect("cases");
    let health_cases = by
        .iter()
        .find(|d| d.department == "lyg-health")
        .expect("health");
    assert_eq!(
        (
            health_cases.total,
            health_cases.answered,
            health_cases.answered_on_time
        ),
        (1, 1, 1)
    );
    let hrss_cases = by
        .iter()
        .find(|d| d.department == "lyg-hrss")
        .expect("hrss");
    assert_eq!((hrss_cases.open, hrss_cases.overdue), (1, 1));
    assert!(stats.contains("100%") && stats.contains("3.50"), "{stats}");
    let open = p
        .store
        .rating_cases(CaseScope::All, true)
        .await
        .expect("open");
    assert_eq!(open.len(), 1);
}
