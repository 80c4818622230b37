//! The ops console over real HTTP on each backend: login with argon2-hashed passwords,
//! HttpOnly/SameSite=Strict session cookies, CSRF tokens on every form, roles, escaping, the
//! audit log, and the pages operators use.

mod common;

use std::net::{IpAddr, Ipv4Addr};

use common::{Platform, TestDb, TestTerminal, serve, serve_with};
use kiosk_platform::console::hash_password;
use kiosk_platform::store::Role;
use kiosk_testkit::console::{Browser, attempt, client, set_cookie};
use reqwest::{Method, StatusCode};
use serde_json::json;

on_both_backends!(
    login_sessions_and_logout,
    forms_need_the_sessions_csrf_token_and_the_right_role,
    pages_show_the_fleet_escaped_and_publish_catalogs,
    rollouts_are_shown_to_everyone_and_paused_by_operators_only,
    failed_logins_are_throttled_per_account_and_per_address,
    a_password_change_or_a_disabled_account_ends_its_sessions,
    every_console_answer_forbids_scripts_framing_and_caching,
    the_audit_log_pages_and_filters_and_a_flood_of_failures_stays_one_line,
    admins_revoke_and_operators_rekey_and_clear_alarms,
    enrollment_codes_carry_the_tls_pin_of_a_platform_serving_tls,
    the_record_query_trail_pages_without_numbers_or_names,
    heartbeats_hint_the_catalog_to_run_and_the_fleet_shows_who_lags,
    an_editor_changes_publishes_and_activates_only_their_departments,
);

async fn platform(db: &TestDb) -> Platform {
    let p = serve(db.store().await).await;
    for (name, role) in [
        ("vera", Role::Viewer),
        ("otto", Role::Operator),
        ("ada", Role::Admin),
    ] {
        let hash = hash_password(&format!("{name}-password-1")).expect("hash");
        p.store
            .put_operator(name, &hash, role)
            .await
            .expect("operator");
    }
    p
}

/// The console's forms these tests post beyond the editor's.
trait ConsoleForms {
    /// Publishes the seed catalog under `version` through the console's form.
    async fn publish_seed_as(&self, version: &str) -> (StatusCode, String);
    /// A two-hour enrollment token for `site`, from the tokens page.
    async fn create_token(&self, site: &str) -> (StatusCode, String);
}

impl ConsoleForms for Browser {
    async fn publish_seed_as(&self, version: &str) -> (StatusCode, String) {
        let mut catalog = kiosk_platform::seed::seed_catalog().expect("seed");
        catalog.version = version.into();
        let text = serde_json::to_string(&catalog).expect("json");
        self.post(
            "/console/catalog/publish",
            &[("csrf", &self.csrf), ("catalog", &text)],
        )
        .await
    }

    async fn create_token(&self, site: &str) -> (StatusCode, String) {
        let fields = [("csrf", self.csrf.as_str()), ("site", site), ("hours", "2")];
        self.post("/console/tokens", &fields).await
    }
}

async fn login_sessions_and_logout(db: TestDb) {
    let p = platform(&db).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let anonymous = http
        .get(format!("{}/console", p.url))
        .send()
        .await
        .expect("answer");
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert_eq!(anonymous.headers()["location"], "/console/login");
    let forged = http
        .get(format!("{}/console", p.url))
        .header("cookie", format!("lyb_console={}", "a".repeat(64)))
        .send()
        .await
        .expect("answer");
    assert_eq!(forged.status(), StatusCode::SEE_OTHER);

    assert_eq!(
        Browser::login(&p.url, "ada", "wrong-password").await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        Browser::login(&p.url, "nobody", "ada-password-1")
            .await
            .err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    let ada = Browser::login(&p.url, "ada", "ada-password-1")
        .await
        .expect("logged in");
    let (status, html) = ada.get("/console").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("ada (admin)"));
    // Logging out needs the CSRF token too; afterwards the cookie is worthless.
    assert_eq!(
        ada.post("/console/logout", &[]).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        ada.post("/console/logout", &[("csrf", &ada.csrf)]).await.0,
        StatusCode::SEE_OTHER
    );
    assert_eq!(ada.get("/console").await.0, StatusCode::SEE_OTHER);
    let audit = Browser::login(&p.url, "ada", "ada-password-1")
        .await
        .expect("again");
    let (_, log) = audit.get("/console/audit").await;
    for action in ["login_failed", "login", "logout"] {
        assert!(
            log.contains(&format!("<td>{action}</td>")),
            "{action} not audited"
        );
    }
}

/// Vera (a viewer) and Otto (an operator), logged in.
async fn viewer_and_operator(p: &Platform) -> (Browser, Browser) {
    let vera = Browser::login(&p.url, "vera", "vera-password-1")
        .await
        .expect("viewer");
    let otto = Browser::login(&p.url, "otto", "otto-password-1")
        .await
        .expect("operator");
    (vera, otto)
}

async fn forms_need_the_sessions_csrf_token_and_the_right_role(db: TestDb) {
    let p = platform(&db).await;
    let t = TestTerminal::enroll(&p, "SN-CONSOLE", Some("haizhou")).await;
    let path = format!("/console/terminals/{}/commands", t.id);
    let (vera, otto) = viewer_and_operator(&p).await;
    // No token, a wrong token, another session's token: refused, nothing queued.
    for csrf in ["", "0000", vera.csrf.as_str()] {
        let (status, _) = otto
            .post(&path, &[("csrf", csrf), ("kind", "reboot")])
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "csrf {csrf:?}");
    }
    // A viewer with a good token: the role is missing.
    let (status, html) = vera
        .post(&path, &[("csrf", &vera.csrf), ("kind", "reboot")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("operator role"));
    let (_, pending) = t.send(Method::GET, "/v1/commands", None).await;
    assert_eq!(pending, json!([]));
    // The operator, properly.
    assert_eq!(
        otto.post(&path, &[("csrf", &otto.csrf), ("kind", "print_test_page")])
            .await
            .0,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        otto.post(&path, &[("csrf", &otto.csrf), ("kind", "format_disk")])
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    let (_, pending) = t.send(Method::GET, "/v1/commands", None).await;
    assert_eq!(pending[0]["kind"], "print_test_page");
    // Operators cannot publish catalogs or edit configuration; only admins see the audit log.
    let (status, _) = otto
        .post(
            "/console/config",
            &[
                ("csrf", &otto.csrf),
                ("scope", "global"),
                ("key", ""),
                ("body", "{}"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(otto.get("/console/audit").await.0, StatusCode::FORBIDDEN);
    // Tokens: operators may create them; the token is shown once.
    let (status, html) = otto.create_token("ganyu").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"new-token\""));
    let (_, again) = otto.get("/console/tokens").await;
    assert!(!again.contains("id=\"new-token\""));
    assert!(again.contains("ganyu"));
}

async fn pages_show_the_fleet_escaped_and_publish_catalogs(db: TestDb) {
    let p = platform(&db).await;
    let evil = TestTerminal::enroll(&p, "SN-EVIL", Some("<script>alert(1)</script>")).await;
    let (status, _) = evil
        .send(
            Method::POST,
            "/v1/heartbeat",
            Some(&json!({"versions": {"app": "0.1.0"}, "uptime_secs": 5,
                "devices": [{"device": "printer", "state": "faulted", "reasons": ["cover_open"]}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let ada = Browser::login(&p.url, "ada", "ada-password-1")
        .await
        .expect("admin");
    let (_, fleet) = ada.get("/console").await;
    assert!(!fleet.contains("<script>alert(1)"), "unescaped site");
    assert!(fleet.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(fleet.contains("cover_open") && fleet.contains("在线 online"));
    let (_, faulted) = ada.get("/console?state=faulted").await;
    assert!(faulted.contains(&evil.id));
    let (_, ok_only) = ada.get("/console?state=ok").await;
    assert!(!ok_only.contains(&format!(">{}<", evil.id)));
    let (status, detail) = ada.get(&format!("/console/terminals/{}", evil.id)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(detail.contains("health") && detail.contains("cover_open"));
    assert_eq!(
        ada.get("/console/terminals/T404").await.0,
        StatusCode::NOT_FOUND
    );

    // Publish a new catalog version, refuse a broken one, then roll back.
    // Pasted without any pinyin: the platform spells it, and 社会保障卡申领 is found by `sbk`.
    let mut catalog = kiosk_platform::seed::seed_catalog().expect("seed");
    let old = catalog.version.clone();
    catalog.version = "2099.1.1".into();
    for m in &mut catalog.matters {
        m.pinyin_initials.clear();
        m.search_keys.clear();
    }
    let text = serde_json::to_string(&catalog).expect("json");
    let (status, html) = ada
        .post(
            "/console/catalog/publish",
            &[("csrf", &ada.csrf), ("catalog", &text)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let published = p.store.current_catalog().await.expect("current");
    assert_eq!(published.version, "2099.1.1");
    let published: kiosk_protocol::Catalog =
        serde_json::from_str(&published.body).expect("catalog");
    assert_eq!(
        kiosk_protocol::SearchIndex::new(&published).search(&published, "sbk")[0]
            .name
            .zh,
        "社会保障卡申领"
    );
    let (status, _) = ada
        .post(
            "/console/catalog/publish",
            &[("csrf", &ada.csrf), ("catalog", "{\"version\": \"\"}")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // A form whose visibility rule names no field of it is refused at its path.
    let catalog = kiosk_platform::seed::seed_catalog().expect("seed");
    let mut broken = serde_json::to_value(&catalog).expect("json");
    broken["version"] = json!("2099.1.2");
    let pension = broken["matters"]
        .as_array_mut()
        .and_then(|m| m.iter_mut().find(|m| m["id"] == "lyg-hrss-0101"))
        .expect("pension");
    pension["form"]["sections"][0]["fields"][0]["visible_when"] = json!({"field": "nowhere"});
    let (status, html) = ada
        .post(
            "/console/catalog/publish",
            &[("csrf", &ada.csrf), ("catalog", &broken.to_string())],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("matters[lyg-hrss-0101].form.sections[person].fields[name].visible_when"),
        "{html}"
    );
    assert_eq!(
        p.store.current_catalog().await.expect("current").version,
        "2099.1.1"
    );
    let (status, _) = ada
        .post(
            "/console/catalog/activate",
            &[("csrf", &ada.csrf), ("version", &old)],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        p.store.current_catalog().await.expect("current").version,
        old
    );

    // Configuration editing reaches the terminal.
    let (status, _) = ada
        .post(
            "/console/config",
            &[
                ("csrf", &ada.csrf),
                ("scope", "global"),
                ("key", ""),
                ("body", "{\"idle_secs\": 75}"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, config) = evil.send(Method::GET, "/v1/config", None).await;
    assert_eq!(config["config"]["idle_secs"], 75);
    let (status, _) = ada
        .post(
            "/console/config",
            &[
                ("csrf", &ada.csrf),
                ("scope", "global"),
                ("key", ""),
                ("body", "[1]"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Statistics draw charts.
    let (status, stats) = ada.get("/console/stats").await;
    assert_eq!(status, StatusCode::OK);
    assert!(stats.contains("<svg id=\"chart-applications\""));
    let (_, audit) = ada.get("/console/audit").await;
    for action in ["catalog_publish", "catalog_activate", "config_set"] {
        assert!(audit.contains(action), "{action} not audited");
    }
}

async fn rollouts_are_shown_to_everyone_and_paused_by_operators_only(db: TestDb) {
    let p = platform(&db).await;
    let t = TestTerminal::enroll(&p, "SN-ROLLOUT", Some("haizhou")).await;
    p.store
        .tag_terminal(&t.id, &["pilot".into()], &[])
        .await
        .expect("tagged");
    p.store
        .record_release(&kiosk_platform::store::ReleaseRecord {
            version: "0.2.0".into(),
            kind: kiosk_protocol::ReleaseKind::App,
            arch: "x86_64".into(),
            target: "kiosk-app-0.2.0-x86_64.tar".into(),
            sha256: "a".repeat(64),
            length: 4096,
            published_at: "2026-11-22T10:00:00+08:00".into(),
        })
        .await
        .expect("release");
    let id = p
        .store
        .start_rollout(
            &kiosk_platform::rollout::RolloutSpec::new("0.2.0", kiosk_protocol::ReleaseKind::App),
            "cli",
        )
        .await
        .expect("rollout");
    let path = format!("/console/rollouts/{id}");
    let (vera, otto) = viewer_and_operator(&p).await;
    // Everyone sees the list and the groups; viewers get no buttons.
    let (status, list) = vera.get("/console/rollouts").await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains(&format!("href=\"{path}\"")) && list.contains("0.2.0"));
    let (status, page) = vera.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"rollout-groups\"") && page.contains("class=\"bar\""));
    assert!(!page.contains("rollout-pause"));
    let (_, terminal) = vera.get(&format!("/console/terminals/{}", t.id)).await;
    assert!(terminal.contains("<code class=\"tag\">pilot</code>"));
    assert_eq!(
        vera.get("/console/rollouts/999").await.0,
        StatusCode::NOT_FOUND
    );
    // Pausing needs the operator role and the session's CSRF token.
    let pause = format!("{path}/pause");
    let (status, html) = vera.post(&pause, &[("csrf", &vera.csrf)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(html.contains("operator role"));
    for csrf in ["", vera.csrf.as_str()] {
        assert_eq!(
            otto.post(&pause, &[("csrf", csrf)]).await.0,
            StatusCode::FORBIDDEN
        );
    }
    let running = kiosk_platform::rollout::RolloutState::Running;
    assert_eq!(
        p.store
            .rollout(id)
            .await
            .expect("row")
            .expect("rollout")
            .state,
        running
    );
    let (_, page) = otto.get(&path).await;
    assert!(page.contains("id=\"rollout-pause\""));
    assert_eq!(
        otto.post(&pause, &[("csrf", &otto.csrf)]).await.0,
        StatusCode::SEE_OTHER
    );
    let (_, page) = otto.get(&path).await;
    assert!(page.contains("data-state=\"paused\"") && page.contains("id=\"rollout-resume\""));
    // Pausing twice says why it cannot; resuming brings it back.
    let (status, html) = otto.post(&pause, &[("csrf", &otto.csrf)]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("only a running rollout can be paused"));
    assert_eq!(
        otto.post(&format!("{path}/resume"), &[("csrf", &otto.csrf)])
            .await
            .0,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        p.store
            .rollout(id)
            .await
            .expect("row")
            .expect("rollout")
            .state,
        running
    );
    let ada = Browser::login(&p.url, "ada", "ada-password-1")
        .await
        .expect("admin");
    let (_, audit) = ada.get("/console/audit").await;
    for action in ["rollout_pause", "rollout_resume"] {
        assert!(audit.contains(action), "{action} not audited");
    }
}

/// A loopback client address of its own.
fn loopback(last: u8) -> Option<IpAddr> {
    Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
}

async fn failed_logins_are_throttled_per_account_and_per_address(db: TestDb) {
    let p = platform(&db).await;
    let http = client(loopback(11));
    // An account's allowance: four failures are answered as such…
    for _ in 0..4 {
        let answer = attempt(&p.url, &http, "ada", "guess").await;
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    }
    // …the fifth and every attempt after it must wait, even with the right password, and the
    // refusal says until when.
    assert_eq!(
        attempt(&p.url, &http, "ada", "guess").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    let started = std::time::Instant::now();
    let refused = attempt(&p.url, &client(loopback(12)), "ada", "ada-password-1").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: i64 = refused.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=2).contains(&wait), "{wait}");
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    let html = refused.text().await.expect("html");
    assert!(
        html.contains("请在") && html.contains("try again in"),
        "{html}"
    );
    // Another account is not held up by this one.
    assert!(
        Browser::login(&p.url, "otto", "otto-password-1")
            .await
            .is_ok()
    );
    // Once the wait is over, the right password works again.
    tokio::time::sleep(std::time::Duration::from_secs(wait as u64 + 1)).await;
    assert!(
        Browser::login_from(&p.url, loopback(12), "ada", "ada-password-1")
            .await
            .is_ok()
    );

    // An address trying many accounts waits too, whatever account it tries next.
    let guesser = client(loopback(13));
    let mut statuses = Vec::new();
    for i in 0..20 {
        statuses.push(
            attempt(&p.url, &guesser, &format!("name{i}"), "guess")
                .await
                .status(),
        );
    }
    assert_eq!(statuses[..19], [StatusCode::UNAUTHORIZED; 19]);
    assert_eq!(statuses[19], StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        Browser::login_from(&p.url, loopback(13), "vera", "vera-password-1")
            .await
            .err(),
        Some(StatusCode::TOO_MANY_REQUESTS)
    );
    assert!(
        Browser::login_from(&p.url, loopback(14), "vera", "vera-password-1")
            .await
            .is_ok()
    );
}

async fn a_password_change_or_a_disabled_account_ends_its_sessions(db: TestDb) {
    let p = platform(&db).await;
    let (vera, otto) = viewer_and_operator(&p).await;
    assert_eq!(vera.get("/console").await.0, StatusCode::OK);
    // A new password (`user add` again): whoever held the old one is out.
    let hash = hash_password("vera-password-2").expect("hash");
    p.store
        .put_operator("vera", &hash, Role::Viewer)
        .await
        .expect("password");
    assert_eq!(vera.get("/console").await.0, StatusCode::SEE_OTHER);
    assert_eq!(otto.get("/console").await.0, StatusCode::OK);
    assert!(
        Browser::login(&p.url, "vera", "vera-password-2")
            .await
            .is_ok()
    );
    // Disabled: the session ends at once and the right password no longer logs in.
    assert!(
        p.store
            .set_operator_disabled("otto", true)
            .await
            .expect("disable")
    );
    assert_eq!(otto.get("/console").await.0, StatusCode::SEE_OTHER);
    let refused = attempt(&p.url, &client(None), "otto", "otto-password-1").await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(refused.text().await.expect("html").contains("disabled"));
    assert!(
        p.store
            .set_operator_disabled("otto", false)
            .await
            .expect("enable")
    );
    assert!(
        Browser::login(&p.url, "otto", "otto-password-1")
            .await
            .is_ok()
    );
    // Removed: gone, sessions and all.
    let again = Browser::login(&p.url, "otto", "otto-password-1")
        .await
        .expect("otto");
    assert!(p.store.remove_operator("otto").await.expect("remove"));
    assert_eq!(again.get("/console").await.0, StatusCode::SEE_OTHER);
    assert!(!p.store.remove_operator("otto").await.expect("remove again"));
    assert_eq!(
        Browser::login(&p.url, "otto", "otto-password-1")
            .await
            .err(),
        Some(StatusCode::UNAUTHORIZED)
    );
}

/// Asserts the console's security headers on one answer.
fn assert_guarded(what: &str, headers: &reqwest::header::HeaderMap) {
    let csp = headers
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("{what}: no content security policy"));
    assert!(csp.contains("default-src 'none'"), "{what}: {csp}");
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    for (name, value) in [
        ("x-frame-options", "DENY"),
        ("cache-control", "no-store"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
    ] {
        assert_eq!(
            headers.get(name).and_then(|v| v.to_str().ok()),
            Some(value),
            "{what}: {name}"
        );
    }
}

async fn every_console_answer_forbids_scripts_framing_and_caching(db: TestDb) {
    let p = platform(&db).await;
    let t = TestTerminal::enroll(&p, "SN-HEADERS", Some("haizhou")).await;
    let http = client(None);
    let anonymous = [
        "/console/login",
        "/console",
        "/console/audit",
        "/console/style.css",
        "/console/no-such-page",
    ];
    for path in anonymous {
        let answer = http
            .get(format!("{}{path}", p.url))
            .send()
            .await
            .expect("answer");
        assert_guarded(path, answer.headers());
    }
    let failed = attempt(&p.url, &http, "ada", "wrong").await;
    assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
    assert_guarded("a failed login", failed.headers());
    let ada = Browser::login(&p.url, "ada", "ada-password-1")
        .await
        .expect("admin");
    let pages = [
        "/console".to_owned(),
        format!("/console/terminals/{}", t.id),
        "/console/terminals/T-NOWHERE".to_owned(),
        "/console/tokens".to_owned(),
        "/console/catalog".to_owned(),
        "/console/config".to_owned(),
        "/console/stats".to_owned(),
        "/console/audit".to_owned(),
        "/console/audit?from=yesterday".to_owned(),
        "/console/rollouts".to_owned(),
        "/console/rollouts/999".to_owned(),
    ];
    for path in &pages {
        let answer = ada.answer(Method::GET, path, None).await;
        assert_guarded(path, answer.headers());
        let html = answer.text().await.expect("html");
        // Nothing the policy would have to allow: no script, no inline style or handler.
        for inline in ["<script", "<style", " style=", " onclick=", " onload="] {
            assert!(!html.contains(inline), "{path} has {inline}");
        }
    }
    let refused = ada
        .answer(Method::POST, "/console/config", Some("csrf=forged".into()))
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_guarded("a refused form", refused.headers());
    let session = set_cookie(
        &attempt(&p.url, &http, "vera", "vera-password-1").await,
        "lyb_console",
    )
    .expect("session");
    // The test platform's public address is https://: its cookies are Secure.
    assert!(session.contains("; Secure"), "{session}");
}

async fn the_audit_log_pages_and_filters_and_a_flood_of_failures_stays_one_line(db: TestDb) {
    let p = platform(&db).await;
    for i in 0..60 {
        let (who, action, detail) = match i % 3 {
            0 => ("otto", "command", format!("reboot #{i} to T-{i:04}")),
            1 => ("ada", "config_set", format!("terminal T-{i:04}: {{}}")),
            _ => ("cli", "user_add", format!("user{i} as viewer")),
        };
        p.store.audit(who, action, &detail).await.expect("audit");
    }
    // A flood of guesses at one account from one address: a few are counted, the rest refused
    // before their password is looked at; the log gets one line, with the count.
    let guesser = client(loopback(21));
    for _ in 0..200 {
        let status = attempt(&p.url, &guesser, "vera", "guess").await.status();
        assert!(
            [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS].contains(&status),
            "{status}"
        );
    }
    let ada = Browser::login_from(&p.url, loopback(22), "ada", "ada-password-1")
        .await
        .expect("admin");
    let (status, first) = ada.get("/console/audit").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first.matches("<td>login_failed</td>").count(), 1, "{first}");
    assert!(first.contains("5 failed since"), "{first}");
    assert!(first.contains("from 127.0.0.21"), "{first}");
    // 50 lines a page, newest first; the next page continues where this one stops.
    assert_eq!(first.matches("<tr><td>").count(), 50);
    let older = link(&first, "audit-older");
    let (_, second) = ada.get(&older).await;
    let rows = |html: &str| -> Vec<String> {
        html.split("<tr><td>")
            .skip(1)
            .map(|r| r.split("</tr>").next().unwrap_or_default().to_owned())
            .collect()
    };
    let (first_rows, second_rows) = (rows(&first), rows(&second));
    assert!(!second_rows.is_empty());
    assert!(second_rows.iter().all(|r| !first_rows.contains(r)));
    assert!(second.contains("id=\"audit-newest\""));
    // Filters: kind, operator, terminal, time; each combined with the others.
    let (_, commands) = ada.get("/console/audit?kind=command").await;
    assert_eq!(rows(&commands).len(), 20);
    assert!(
        rows(&commands)
            .iter()
            .all(|r| r.contains("<td>command</td>"))
    );
    let (_, by_ada) = ada.get("/console/audit?operator=ada&kind=config_set").await;
    assert_eq!(rows(&by_ada).len(), 20);
    let (_, one_terminal) = ada.get("/console/audit?terminal=T-0003").await;
    assert_eq!(rows(&one_terminal).len(), 1, "{one_terminal}");
    assert!(one_terminal.contains("reboot #3 to T-0003"));
    let (_, wildcard) = ada.get("/console/audit?terminal=%25").await;
    assert_eq!(rows(&wildcard).len(), 0, "a % is matched literally");
    let today = kiosk_platform::store::rfc3339_at(kiosk_platform::store::unix_now());
    let today = &today[..10];
    let (_, from_today) = ada
        .get(&format!("/console/audit?from={today}&kind=user_add"))
        .await;
    assert_eq!(rows(&from_today).len(), 20);
    let (_, until_2020) = ada.get("/console/audit?until=2020-01-01").await;
    assert_eq!(rows(&until_2020).len(), 0);
    let (status, bad) = ada.get("/console/audit?from=yesterday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(bad.contains("is not a time like"), "{bad}");
    let (status, _) = ada.get("/console/audit?before=page2").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

async fn admins_revoke_and_operators_rekey_and_clear_alarms(db: TestDb) {
    let p = platform(&db).await;
    let t = TestTerminal::enroll(&p, "SN-TRUST", Some("haizhou")).await;
    let beat = json!({"versions": {}, "uptime_secs": 1, "devices": [], "outbox_depth": 0});
    let heartbeat = || t.send(Method::POST, "/v1/heartbeat", Some(&beat));
    let page = format!("/console/terminals/{}", t.id);
    let revoke = format!("{page}/revoke");
    let browsers = [
        ("vera", "vera-password-1"),
        ("otto", "otto-password-1"),
        ("ada", "ada-password-1"),
    ];
    let mut logged_in = Vec::new();
    for (name, password) in browsers {
        logged_in.push(Browser::login(&p.url, name, password).await.expect("login"));
    }
    let [vera, otto, ada] = <[Browser; 3]>::try_from(logged_in).ok().expect("three");

    // Revoking needs an admin, the session's CSRF token and a reason.
    let reason = ("reason", "reported stolen");
    for (who, csrf) in [
        (&vera, vera.csrf.as_str()),
        (&otto, otto.csrf.as_str()),
        (&ada, ""),
        (&ada, otto.csrf.as_str()),
    ] {
        let (status, _) = who.post(&revoke, &[("csrf", csrf), reason]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let (status, _) = ada
        .post(&revoke, &[("csrf", &ada.csrf), ("reason", " ")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(heartbeat().await.0, StatusCode::OK);
    let (_, html) = otto.get(&page).await;
    assert!(
        !html.contains("revoke-form"),
        "operators see no revoke button"
    );
    let (status, _) = ada.post(&revoke, &[("csrf", &ada.csrf), reason]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(heartbeat().await.1["code"], "terminal_revoked");
    let (_, html) = vera.get(&page).await;
    assert!(html.contains("id=\"revoked\"") && html.contains("reported stolen"));
    assert!(vera.get("/console").await.1.contains("revoked"));
    let (status, _) = otto
        .post(&format!("{page}/restore"), &[("csrf", &otto.csrf)])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = ada
        .post(&format!("{page}/restore"), &[("csrf", &ada.csrf)])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(heartbeat().await.0, StatusCode::OK);
    let (status, _) = ada
        .post(
            "/console/terminals/TNOBODY/revoke",
            &[("csrf", &ada.csrf), reason],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A takeover attempt shows as an alarm to everyone; viewers cannot clear it, operators can.
    let foreign = common::token(&p.store, Some("elsewhere")).await;
    let (status, _) = TestTerminal::try_enroll(&p, "SN-TRUST", &foreign)
        .await
        .err()
        .expect("refused");
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, fleet) = vera.get("/console").await;
    assert!(
        fleet.contains("takeover_refused") && !fleet.contains("clear-alarm"),
        "{fleet}"
    );
    assert!(otto.get(&page).await.1.contains("takeover_refused"));
    let alarm = p.store.open_alarms(Some(&t.id)).await.expect("alarms")[0].id;
    let clear = format!("/console/alarms/{alarm}/clear");
    assert_eq!(
        vera.post(&clear, &[("csrf", &vera.csrf)]).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        otto.post(&clear, &[("csrf", "")]).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        otto.post(&clear, &[("csrf", &otto.csrf)]).await.0,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        otto.post(&clear, &[("csrf", &otto.csrf)]).await.0,
        StatusCode::NOT_FOUND
    );
    assert!(!vera.get("/console").await.1.contains("takeover_refused"));

    // Operators make a token that re-keys this terminal, shown once; viewers cannot.
    let rekey = format!("{page}/rekey-token");
    assert_eq!(
        vera.post(&rekey, &[("csrf", &vera.csrf)]).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, html) = otto.post(&rekey, &[("csrf", &otto.csrf)]).await;
    assert_eq!(status, StatusCode::OK);
    let at = html.find("New token: <code>").expect("token shown") + 17;
    let token = &html[at..at + 48];
    let rekeyed = TestTerminal::try_enroll(&p, "SN-TRUST", token)
        .await
        .expect("re-keyed");
    assert_eq!(rekeyed.id, t.id);

    // Every change is in the audit log.
    let (_, audit) = ada.get("/console/audit").await;
    for action in [
        "terminal_revoke",
        "terminal_restore",
        "enroll_refused",
        "alarm_clear",
        "token_rekey",
    ] {
        assert!(audit.contains(action), "{action} audited");
    }
}

/// A platform serving TLS (`serve --tls-cert` puts its key's pin in the state) hands the pin
/// out in every enrollment code its console makes, so terminals trust no other certificate.
async fn enrollment_codes_carry_the_tls_pin_of_a_platform_serving_tls(db: TestDb) {
    let pin = "5e".repeat(32);
    let p = serve_with(db.store().await, |state| {
        state.with_tls_pin(Some(pin.clone()))
    })
    .await;
    let hash = hash_password("otto-password-1").expect("hash");
    p.store
        .put_operator("otto", &hash, Role::Operator)
        .await
        .expect("operator");
    let otto = Browser::login(&p.url, "otto", "otto-password-1")
        .await
        .expect("login");
    let (status, html) = otto.create_token("ganyu").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(&format!("tls_pin&quot;:&quot;{pin}&quot;")),
        "{html}"
    );
}

async fn the_record_query_trail_pages_without_numbers_or_names(db: TestDb) {
    let p = platform(&db).await;
    let thief = TestTerminal::enroll(&p, "SN-TRAIL-1", Some("haizhou")).await;
    let ask = |n: i64| {
        let t = thief.clone();
        async move {
            t.send(
                Method::POST,
                "/v1/progress",
                Some(&json!({"id_number": format!("3207061990{n:08}"), "name": "某人甲"})),
            )
            .await
            .0
        }
    };
    for n in 0..kiosk_platform::store::RECORD_SUBJECTS_PER_HOUR {
        assert_eq!(ask(n).await, StatusCode::OK);
    }
    assert_eq!(ask(999).await, StatusCode::TOO_MANY_REQUESTS);
    let Ok(ada) = Browser::login(&p.url, "ada", "ada-password-1").await else {
        panic!("the admin logs in");
    };
    let (status, first) = ada.get("/console/records").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first.matches("<tr><td>").count(), 50, "{first}");
    assert!(first.contains("<td>suspended</td>"), "{first}");
    assert!(first.contains("<td>progress</td>"));
    for secret in ["3207061990", "某人甲"] {
        assert!(!first.contains(secret), "{secret} on the trail");
    }
    let older = link(&first, "records-older");
    let (_, second) = ada.get(&older).await;
    assert_eq!(second.matches("<tr><td>").count(), 11, "61 queries in all");
    let (_, other) = ada.get("/console/records?terminal=T-none").await;
    assert_eq!(other.matches("<tr><td>").count(), 0);
    let (status, _) = ada.get("/console/records?before=x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // The audit log holds one line for the suspension, not one per query.
    let (_, audit) = ada.get("/console/audit").await;
    assert_eq!(
        audit.matches("<td>record_queries_suspended</td>").count(),
        1
    );
    // Viewers do not read the trail; an operator clears the alarm on the terminal's page.
    let (vera, otto) = viewer_and_operator(&p).await;
    assert_eq!(vera.get("/console/records").await.0, StatusCode::FORBIDDEN);
    let (_, page) = otto.get(&format!("/console/terminals/{}", thief.id)).await;
    assert!(page.contains("record_queries_suspended"), "{page}");
    let alarm = p.store.open_alarms(Some(&thief.id)).await.expect("alarms")[0].id;
    assert_eq!(
        otto.post(
            &format!("/console/alarms/{alarm}/clear"),
            &[("csrf", &otto.csrf)]
        )
        .await
        .0,
        StatusCode::SEE_OTHER
    );
    assert_eq!(ask(1000).await, StatusCode::OK, "queries work again");
}

/// Where the link with id `id` on `html` leads.
fn link(html: &str, id: &str) -> String {
    html.split(&format!("id=\"{id}\" href=\""))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no link {id}"))
        .replace("&amp;", "&")
}

/// The heartbeat answer names the catalog version to run; once an operator publishes another,
/// a terminal still reporting the old one is listed as behind (with how long) until its
/// heartbeat reports the new one.
async fn heartbeats_hint_the_catalog_to_run_and_the_fleet_shows_who_lags(db: TestDb) {
    let p = platform(&db).await;
    let t = TestTerminal::enroll(&p, "SN-CATALOG-LAG", Some("ganyu")).await;
    let first = p.store.current_catalog().await.expect("seeded").version;
    let beat =
        |catalog: &str| json!({"versions": {"app": "0.1.0", "catalog": catalog}, "uptime_secs": 5});
    let (status, answer) = t
        .send(Method::POST, "/v1/heartbeat", Some(&beat(&first)))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["catalog_version"], first.as_str());

    let ada = Browser::login(&p.url, "ada", "ada-password-1")
        .await
        .expect("admin");
    let (_, fleet) = ada.get("/console?state=catalog_behind").await;
    assert!(!fleet.contains(&format!(">{}<", t.id)), "{fleet}");
    assert!(fleet.contains("id=\"count-catalog-behind\">0<"), "{fleet}");

    let (status, _) = ada.publish_seed_as("2099.2.1").await;
    assert_eq!(status, StatusCode::OK);

    // The next heartbeat hints the new version; the terminal still shows the old one.
    let (_, answer) = t
        .send(Method::POST, "/v1/heartbeat", Some(&beat(&first)))
        .await;
    assert_eq!(answer["catalog_version"], "2099.2.1");
    let (_, fleet) = ada.get("/console?state=catalog_behind").await;
    assert!(fleet.contains(&format!(">{}<", t.id)), "{fleet}");
    assert!(fleet.contains("id=\"count-catalog-behind\">1<"), "{fleet}");
    assert!(
        fleet.contains("落后 behind") && fleet.contains("2099.2.1"),
        "{fleet}"
    );
    let (_, detail) = ada.get(&format!("/console/terminals/{}", t.id)).await;
    assert!(
        detail.contains("落后 behind") && detail.contains("应运行 should run"),
        "{detail}"
    );

    // Once it reports the new version it no longer lags.
    t.send(Method::POST, "/v1/heartbeat", Some(&beat("2099.2.1")))
        .await;
    let (_, fleet) = ada.get("/console?state=catalog_behind").await;
    assert!(!fleet.contains(&format!(">{}<", t.id)), "{fleet}");
    let (_, all) = ada.get("/console").await;
    assert!(
        all.contains("2099.2.1") && !all.contains("落后 behind"),
        "{all}"
    );
}

/// A one-page form: a contribution level to choose, and a note shown for one of them.
fn contribution_form(note_shown_when: &str) -> kiosk_protocol::form::FormDefinition {
    serde_json::from_value(json!({"sections": [{
    "id": "contribution",
    "title": {"zh": "缴费档次", "en": "Contribution level"},
    "fields": [
        {"id": "level", "kind": "choice", "required": true,
         "label": {"zh": "缴费档次", "en": "Level"},
         "options": [
            {"value": "level_1", "label": {"zh": "200元", "en": "CNY 200"}},
            {"value": "level_2", "label": {"zh": "300元", "en": "CNY 300"}}]},
        {"id": "note", "kind": "text", "max_len": 50,
         "label": {"zh": "备注", "en": "Note"},
         "visible_when": {"field": note_shown_when, "equals": "level_2"}}
    ]}]}))
    .expect("form")
}

/// The catalog version `terminal` gets from a signed `GET /v1/catalog`.
async fn version_for(terminal: &TestTerminal) -> (String, serde_json::Value) {
    let (status, catalog) = terminal.send(Method::GET, "/v1/catalog", None).await;
    assert_eq!(status, StatusCode::OK);
    (
        catalog["version"].as_str().unwrap_or_default().to_owned(),
        catalog,
    )
}

async fn an_editor_changes_publishes_and_activates_only_their_departments(db: TestDb) {
    let p = platform(&db).await;
    let hash = hash_password("edna-password-1").expect("hash");
    p.store
        .put_operator("edna", &hash, Role::Editor)
        .await
        .expect("editor");
    p.store
        .set_editor_departments("edna", &["lyg-hrss".to_owned()])
        .await
        .expect("departments");
    let haizhou = TestTerminal::enroll(&p, "SN-ED-1", Some("haizhou")).await;
    let ganyu = TestTerminal::enroll(&p, "SN-ED-2", Some("ganyu")).await;
    let catalog = kiosk_platform::seed::seed_catalog().expect("seed");
    let first = p.store.current_catalog().await.expect("current").version;
    let mine = catalog
        .matter("lyg-hrss-0101")
        .expect("hrss matter")
        .clone();
    let theirs = catalog
        .matters
        .iter()
        // (one without a form: this test posts the guide's fields only)
        .find(|m| m.department != "lyg-hrss" && m.form.is_none())
        .expect("another department's matter")
        .clone();

    // Only editors (of their departments) and admins edit.
    let edna = Browser::login(&p.url, "edna", "edna-password-1")
        .await
        .expect("edna");
    let (status, list) = edna.get("/console/editor").await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains(&mine.id) && !list.contains(&theirs.id));
    // The preview: the guide and each of the form's two pages (or, where kiosk-preview is not
    // built, a sentence saying so); a page the form does not have costs no drawing.
    let base = format!("/console/editor/matters/{}", mine.id);
    let (status, page) = edna.get(&base).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("id=\"preview-missing\"")
            || (page.contains("/preview/zh-portrait.png")
                && page.contains("/preview/form-0-zh-portrait.png")
                && page.contains("/preview/form-1-en-landscape.png")
                && !page.contains("/preview/form-2-")),
        "{page}"
    );
    for name in [
        "form-2-zh-portrait.png",
        "form-01-zh-portrait.png",
        "form--zh-portrait.png",
        "form-0-fr-portrait.png",
    ] {
        let (status, _) = edna.get(&format!("{base}/preview/{name}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{name}");
    }
    let (vera, otto) = viewer_and_operator(&p).await;
    assert_eq!(vera.get("/console/editor").await.0, StatusCode::FORBIDDEN);
    assert_eq!(otto.save_matter(&mine).await.0, StatusCode::FORBIDDEN);
    // Another department's matter, by its id: refused, nothing saved.
    assert_eq!(
        edna.get(&format!("/console/editor/matters/{}", theirs.id))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let mut hijack = theirs.clone();
    hijack.fees.zh = "收费999元".into();
    assert_eq!(edna.save_matter(&hijack).await.0, StatusCode::FORBIDDEN);
    assert!(p.store.drafts().await.expect("drafts").is_empty());

    // A bad guide is refused with the field named, and not saved.
    let mut bad = mine.clone();
    bad.applicant.en.clear();
    let (status, page) = edna.save_matter(&bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"problem-applicant\""), "{page}");
    assert!(p.store.drafts().await.expect("drafts").is_empty());

    // A form whose visibility rule names a missing field: refused, the problem beside the field.
    let mut bad = mine.clone();
    bad.form = Some(contribution_form("levle"));
    let (status, page) = edna.save_matter(&bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("id=\"problem-form.sections[contribution].fields[note]"),
        "{page}"
    );
    assert!(p.store.drafts().await.expect("drafts").is_empty());

    // A good one is a draft; publishing shows the change and makes a version, current nowhere.
    let mut edited = mine.clone();
    edited.fees = kiosk_protocol::LocalizedText::new("收费10元", "CNY 10");
    edited.form = Some(contribution_form("level"));
    let (status, page) = edna.save_matter(&edited).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let saved: kiosk_protocol::Matter =
        serde_json::from_str(&p.store.drafts().await.expect("drafts")[0].body).expect("draft");
    assert_eq!(
        saved, edited,
        "the draft is the matter as edited, form included"
    );
    let (_, review) = edna.get("/console/editor/publish").await;
    assert!(
        review.contains("fees.zh") && review.contains("收费10元"),
        "{review}"
    );
    let second = edna.publish_drafts().await;
    assert!(
        second.starts_with(&kiosk_platform::store::today()),
        "{second}"
    );
    assert!(p.store.drafts().await.expect("drafts").is_empty());
    assert_eq!(version_for(&haizhou).await.0, first);

    // Given to one site: its terminals get it, the others keep theirs, so does anyone unsigned.
    assert_eq!(edna.activate("haizhou", &second).await.0, StatusCode::OK);
    let (version, got) = version_for(&haizhou).await;
    assert_eq!(version, second);
    let fees = got["matters"]
        .as_array()
        .and_then(|ms| ms.iter().find(|m| m["id"] == mine.id))
        .map(|m| m["fees"]["zh"].clone());
    assert_eq!(fees, Some(json!("收费10元")));
    assert_eq!(version_for(&ganyu).await.0, first);
    let (_, open) = common::answer(
        reqwest::get(format!("{}/v1/catalog", p.url))
            .await
            .expect("open"),
    )
    .await;
    assert_eq!(open["version"], first.as_str());

    // A version that also changes another department's matter: not hers to give to a site.
    let ada = Browser::login(&p.url, "ada", "ada-password-1")
        .await
        .expect("admin");
    let (status, page) = ada.save_matter(&hijack).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let third = ada.publish_drafts().await;
    assert_eq!(
        edna.activate("ganyu", &third).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(version_for(&ganyu).await.0, first);

    // Rollback: the site gets the first version again.
    assert_eq!(edna.activate("haizhou", &first).await.0, StatusCode::OK);
    assert_eq!(version_for(&haizhou).await.0, first);

    let audit = p
        .store
        .audit_log(&kiosk_platform::store::AuditFilter {
            operator: Some("edna".into()),
            limit: 50,
            ..Default::default()
        })
        .await
        .expect("audit");
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    for action in [
        "editor_draft_save",
        "catalog_publish",
        "catalog_site_activate",
    ] {
        assert!(actions.contains(&action), "{actions:?}");
    }
    assert!(
        audit
            .iter()
            .any(|a| a.detail.contains(&format!("haizhou: {second} → {first}")))
    );
}
