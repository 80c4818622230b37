//! The public progress page over real HTTP on each backend: the receipt's code opens an
//! application's page (its state, steps and open 补正, no personal data, no clerk's words);
//! unknown numbers, wrong codes and missing codes are answered alike and counted; a finished
//! application is rated there once, and a bad rating's reply shows there.

mod common;

use std::net::{IpAddr, Ipv4Addr};

use common::{Platform, TestDb, TestTerminal, file_application, serve};
use kiosk_platform::lifecycle::{Actor, Change};
use kiosk_platform::progress::{ADDRESS_LIMIT, NUMBER_LIMIT};
use kiosk_platform::store::Scope;
use reqwest::StatusCode;

on_both_backends!(
    the_receipts_code_opens_the_application_without_personal_data,
    enumerating_numbers_without_their_codes_learns_nothing,
    a_finished_application_is_rated_once_and_the_reply_shows,
);

const NAME: &str = "王秀英";
const ID_NUMBER: &str = "320706195203040026";

async fn filed(db: &TestDb) -> (Platform, String, String) {
    let p = serve(db.store().await).await;
    let t = TestTerminal::enroll(&p, "KIOSK-PROGRESS", Some("haizhou")).await;
    let no = file_application(&t, "progress-1", NAME, ID_NUMBER).await;
    let code = p.store.progress_code(&no).expect("code");
    (p, no, code)
}

async fn get(
    http: &reqwest::Client,
    url: &str,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let response = http.get(url).send().await.expect("answer");
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.expect("body"))
}

fn from(last: u8) -> reqwest::Client {
    kiosk_testkit::console::client(Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))))
}

async fn the_receipts_code_opens_the_application_without_personal_data(db: TestDb) {
    let (p, no, code) = filed(&db).await;
    let http = from(1);
    let (status, headers, page) = get(&http, &format!("{}/progress/{no}?c={code}", p.url)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("老年人优待证") && page.contains("连云港市卫生健康委员会"));
    assert!(page.contains("已受理") && page.contains("name=\"viewport\""));
    assert!(!page.contains(NAME) && !page.contains(ID_NUMBER) && !page.contains("<script"));
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .expect("csp")
            .contains("default-src 'none'")
    );
    // Lower case, spaces and the English page.
    let loose = format!("{} {}", &code[..4], &code[4..]).to_lowercase();
    let typed = format!("{}%20{}", &no[..6], &no[6..]).to_lowercase();
    let (status, _, english) = get(
        &http,
        &format!("{}/progress?no={typed}&c={loose}&lang=en", p.url),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(english.contains("Senior Citizen") && english.contains("Accepted"));
    let (status, _, css) = get(&http, &format!("{}/progress.css", p.url)).await;
    assert!(status == StatusCode::OK && css.contains("max-width"));

    // A 补正 shows its materials by name and its day, never the clerk's words.
    let clerk = Actor::Clerk("zhao".into());
    let mine = ["lyg-health".to_owned()];
    p.store
        .advance(
            &no,
            Scope::Departments(&mine),
            clerk.clone(),
            Change::StartReview,
        )
        .await
        .expect("review");
    let asked = Change::AskCorrection {
        materials: vec![2],
        fields: vec![],
        reason: "户口簿照片模糊 王秀英".into(),
        answer_by: "2026-12-31".into(),
    };
    p.store
        .advance(&no, Scope::Departments(&mine), clerk, asked)
        .await
        .expect("ask");
    let (_, _, page) = get(&http, &format!("{}/progress/{no}?c={code}", p.url)).await;
    assert!(
        page.contains("居民户口簿") && page.contains("2026-12-31"),
        "{page}"
    );
    assert!(page.contains("任一连易办终端") && page.contains("开始审核"));
    assert!(!page.contains("模糊") && !page.contains(NAME));
}

async fn enumerating_numbers_without_their_codes_learns_nothing(db: TestDb) {
    let (p, no, code) = filed(&db).await;
    let unknown = format!("{}9", &no[..no.len() - 1]);
    let guesser = from(2);
    // Unknown number, known number without or with a wrong code: the same status and page.
    let mut answers = Vec::new();
    for url in [
        format!("{}/progress/{unknown}?c={code}", p.url),
        format!("{}/progress/{no}", p.url),
        format!("{}/progress/{no}?c=AAAAAAAA", p.url),
        format!("{}/progress?no={unknown}&c=", p.url),
        format!("{}/progress/%FF%FE?c=x", p.url),
    ] {
        let (status, _, page) = get(&guesser, &url).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{url}");
        answers.push(page);
    }
    assert!(
        answers.windows(2).all(|w| w[0] == w[1]),
        "every miss reads the same"
    );
    assert!(!answers[0].contains(&no) && !answers[0].contains(&code));

    // A number's wrong codes, from any address, close it for the hour: even the right code.
    for i in 0..NUMBER_LIMIT {
        let other = from(10 + u8::try_from(i).expect("small"));
        let (status, _, _) = get(&other, &format!("{}/progress/{no}?c=WRONG{i:03}", p.url)).await;
        assert_ne!(status, StatusCode::OK);
    }
    let owner = from(3);
    let (status, _, page) = get(&owner, &format!("{}/progress/{no}?c={code}", p.url)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(page.contains("一小时后再试"));
    // An unknown number is closed the same way, so being closed tells nothing either.
    for i in 0..NUMBER_LIMIT {
        get(
            &from(40),
            &format!("{}/progress/{unknown}?c=WRONG{i:03}", p.url),
        )
        .await;
    }
    let (status, _, _) = get(&owner, &format!("{}/progress/{unknown}?c={code}", p.url)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);

    // An address's wrong codes over many numbers close it for every number.
    let sweeper = from(4);
    for n in 0..ADDRESS_LIMIT {
        let (status, _, _) = get(
            &sweeper,
            &format!("{}/progress/2026120800{n:04}?c=ABCDEFGH", p.url),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (status, _, _) = get(
        &sweeper,
        &format!("{}/progress/20261208009999?c=ABCDEFGH", p.url),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, _, _) = get(
        &from(5),
        &format!("{}/progress/20261208009999?c=ABCDEFGH", p.url),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another address is not held up"
    );
}

async fn rate(p: &Platform, no: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
    let response = from(6)
        .post(format!("{}/progress/{no}/rating", p.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(kiosk_testkit::console::encode(fields))
        .send()
        .await
        .expect("answer");
    let status = response.status();
    (status, response.text().await.expect("body"))
}

async fn a_finished_application_is_rated_once_and_the_reply_shows(db: TestDb) {
    let (p, no, code) = filed(&db).await;
    let all = [
        ("c", code.as_str()),
        ("level", "2"),
        ("overall", "2"),
        ("efficiency", "1"),
        ("competence", "3"),
        ("attitude", "4"),
        ("reason", "took_too_long"),
    ];
    // Not finished: no form, and a posted rating is refused in words.
    let (_, _, page) = get(&from(6), &format!("{}/progress/{no}?c={code}", p.url)).await;
    assert!(!page.contains("id=\"rating\""));
    let (status, page) = rate(&p, &no, &all).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("办结后才能评价"));

    let mine = ["lyg-health".to_owned()];
    let clerk = || Actor::Clerk("zhao".into());
    p.store
        .advance(&no, Scope::Departments(&mine), clerk(), Change::StartReview)
        .await
        .expect("review");
    let done = Change::Complete {
        note: String::new(),
    };
    p.store
        .advance(&no, Scope::Departments(&mine), clerk(), done)
        .await
        .expect("complete");
    let (_, _, page) = get(&from(6), &format!("{}/progress/{no}?c={code}", p.url)).await;
    assert!(
        page.contains("id=\"rating\"") && page.contains("服务效率"),
        "{page}"
    );

    // Bad input: the page again, with a plain message; nothing recorded.
    let (status, page) = rate(&p, &no, &all[..2]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("四项指标") && page.contains("id=\"rating\""));
    let (status, page) = rate(&p, &no, &all[..6]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("不满意的原因"));
    let mut odd = all;
    odd[6] = ("reason", "<script>");
    let (status, page) = rate(&p, &no, &odd).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!page.contains("<script>"));
    // A wrong code is the unknown number's answer.
    let mut forged = all;
    forged[0] = ("c", "AAAAAAAA");
    assert_eq!(rate(&p, &no, &forged).await.0, StatusCode::NOT_FOUND);

    let (status, page) = rate(&p, &no, &all).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("感谢您的评价")
            && page.contains("id=\"rated\"")
            && !page.contains("id=\"rating\"")
    );
    let (status, page) = rate(&p, &no, &all).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("已评价过"));

    // The ★2 opened a case; once answered, its reply is on the page.
    let cases = p
        .store
        .rating_cases(kiosk_platform::store::CaseScope::All, false)
        .await
        .expect("cases");
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].channel, "web");
    let answer = kiosk_platform::store::CaseAnswer {
        visit: "电话回访".into(),
        rectification: "增加窗口".into(),
        reply: "已缩短办理时限，感谢监督。".into(),
    };
    p.store
        .answer_case(
            "ada",
            cases[0].id,
            kiosk_platform::store::CaseScope::All,
            &answer,
        )
        .await
        .expect("answered");
    let (_, _, page) = get(&from(6), &format!("{}/progress/{no}?c={code}", p.url)).await;
    assert!(
        page.contains("已缩短办理时限") && !page.contains("增加窗口"),
        "{page}"
    );
}
