//! A running terminal takes a newly published catalog live, against the real platform process:
//! within a heartbeat when nobody is being served, at the end of the session when someone is,
//! without a restart; its heartbeat then reports the version it shows. The catalog requests
//! themselves: 304 while nothing changed, and a catalog that does not validate is refused.
//! A matter's form changed by a department's editor in the ops console takes the same way.

mod common;

use std::path::Path;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use kiosk_app::devices::DeviceConfig;
use kiosk_app::session::{Action, Screen, Settings, View};
use kiosk_app::uplink::platform_link::CatalogAnswer;
use kiosk_protocol::form::FormDefinition;
use kiosk_protocol::{Catalog, Matter};
use kiosk_testkit::PlatformPeer;
use kiosk_testkit::console::Browser;

/// A heartbeat's period plus the time to fetch a catalog and a margin for a loaded machine.
const HINT_LATENCY: Duration = Duration::from_secs(45);

/// The views a running session shows, the last one kept.
struct Screens {
    views: Receiver<View>,
    last: Option<View>,
}

impl Screens {
    fn expect(&mut self, what: &str, within: Duration, wanted: impl Fn(&View) -> bool) -> View {
        if let Some(view) = self.last.clone().filter(|v| wanted(v)) {
            return view;
        }
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let view = self.views.recv_timeout(left).unwrap_or_else(|_| {
                panic!(
                    "never saw {what}; last: {:?} with catalog {:?}",
                    self.last.as_ref().map(|v| &v.screen),
                    self.last.as_ref().and_then(shown)
                )
            });
            self.last = Some(view.clone());
            if wanted(&view) {
                return view;
            }
        }
    }

    /// The latest view, after whatever is queued.
    fn latest(&mut self) -> View {
        while let Ok(view) = self.views.try_recv() {
            self.last = Some(view);
        }
        self.last.clone().expect("a view")
    }
}

fn shown(view: &View) -> Option<String> {
    view.catalog.as_ref().map(|c| c.version.clone())
}

/// `base` as another publication: version `version`, its first matter renamed.
fn publish(platform: &PlatformPeer, dir: &Path, base: &Catalog, version: &str) {
    let mut next = base.clone();
    next.version = version.into();
    next.matters[0].name.zh = format!("{}（{version}）", base.matters[0].name.zh);
    let file = dir.join(format!("catalog-{version}.json"));
    std::fs::write(&file, serde_json::to_vec(&next).expect("json")).expect("catalog file");
    platform.publish_catalog(&file).expect("published");
}

/// The catalog version the terminal's last heartbeat reported to the platform.
fn reported(db: &Path, terminal_id: &str) -> Option<String> {
    let conn = rusqlite::Connection::open(db).expect("platform db");
    let beat: Option<String> = conn
        .query_row(
            "SELECT heartbeat FROM terminals WHERE id = ?1",
            [terminal_id],
            |row| row.get(0),
        )
        .expect("terminal");
    let beat: serde_json::Value = serde_json::from_str(&beat?).ok()?;
    beat["versions"]["catalog"].as_str().map(str::to_owned)
}

/// The version of the catalog the terminal keeps on disk for offline starts.
fn kept(dir: &Path) -> Option<String> {
    let bytes = std::fs::read(common::terminal_dir(dir).join("catalog.json")).ok()?;
    serde_json::from_slice::<Catalog>(&bytes)
        .ok()
        .map(|c| c.version)
}

fn wait_until(what: &str, within: Duration, done: impl Fn() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "never {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A terminal enrolled on a platform at its site `test`, its session running and at home
/// with the catalog it was first given (`base`).
struct RunningTerminal {
    // Declared before the runtime it runs on, so it stops first.
    session: kiosk_app::runtime::SessionHandle,
    screens: Screens,
    base: Catalog,
    terminal_id: String,
    tokio: tokio::runtime::Runtime,
}

impl RunningTerminal {
    /// Enrolls a terminal with hardware serial `serial` on `platform` (its data in `dir`)
    /// and starts its session.
    fn start(platform: &PlatformPeer, dir: &Path, serial: &str) -> RunningTerminal {
        let tokio = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio");
        let enrolled = common::enroll(&tokio, platform, dir, serial);
        let terminal_id = enrolled.identity.terminal_id.clone();
        let base = tokio
            .block_on(enrolled.link.catalog())
            .expect("the seed catalog");
        let (session, views) = common::start_session(
            &tokio,
            enrolled,
            dir,
            Settings::default(),
            DeviceConfig::default(),
        );
        let mut screens = Screens { views, last: None };
        screens.expect("home with the catalog", HINT_LATENCY, |v| {
            v.screen == Screen::Home && shown(v) == Some(base.version.clone())
        });
        RunningTerminal {
            session,
            screens,
            base,
            terminal_id,
            tokio,
        }
    }
}

#[test]
fn a_published_catalog_reaches_a_running_terminal_between_citizens() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("platform.db");
    let platform = PlatformPeer::start(&db).expect("platform");
    let RunningTerminal {
        session,
        mut screens,
        base,
        terminal_id,
        tokio: _tokio,
    } = RunningTerminal::start(&platform, dir.path(), "SN-CATALOG-LIVE");

    // A citizen starts browsing; meanwhile a new version is published. The terminal fetches
    // it (the copy on disk says so) but the citizen's screens do not change.
    session.touch(Action::Begin);
    screens.expect("the catalog screen", HINT_LATENCY, |v| {
        matches!(v.screen, Screen::Catalog { .. })
    });
    publish(&platform, dir.path(), &base, "2099.1.1");
    wait_until("fetched 2099.1.1", HINT_LATENCY, || {
        kept(dir.path()).as_deref() == Some("2099.1.1")
    });
    std::thread::sleep(Duration::from_millis(500));
    let during = screens.latest();
    assert!(
        matches!(during.screen, Screen::Catalog { .. }),
        "{:?}",
        during.screen
    );
    assert_eq!(shown(&during).as_deref(), Some(base.version.as_str()));

    // The session ends: home shows the new version, and the next heartbeat reports it.
    session.touch(Action::Home);
    let home = screens.expect("home with 2099.1.1", Duration::from_secs(5), |v| {
        v.screen == Screen::Home && shown(v).as_deref() == Some("2099.1.1")
    });
    let renamed = &home.catalog.expect("catalog").matters[0].name.zh;
    assert!(renamed.ends_with("（2099.1.1）"), "{renamed}");
    wait_until("reported 2099.1.1", HINT_LATENCY, || {
        reported(&db, &terminal_id).as_deref() == Some("2099.1.1")
    });

    // Nobody at the terminal: the next version shows within a heartbeat, with no touch.
    publish(&platform, dir.path(), &base, "2099.1.2");
    screens.expect("home with 2099.1.2", HINT_LATENCY, |v| {
        v.screen == Screen::Home && shown(v).as_deref() == Some("2099.1.2")
    });
    drop(session);
}

/// The pension matter the console's editor changes (城乡居民养老保险参保登记).
const PENSION: &str = "lyg-hrss-0101";

/// The form of matter `id` in the catalog `view` shows.
fn form_shown(view: &View, id: &str) -> Option<FormDefinition> {
    view.catalog.as_ref()?.matter(id)?.form.clone()
}

/// The editor `edna` saves `matter` in the console, publishes her drafts and gives the new
/// version to the terminals at `site`, all as her browser does; the version's name.
fn edit_publish_activate(
    tokio: &tokio::runtime::Runtime,
    edna: &Browser,
    matter: &Matter,
    site: &str,
) -> String {
    tokio.block_on(async {
        let (status, page) = edna.save_matter(matter).await;
        assert_eq!(status, reqwest::StatusCode::OK, "{page}");
        let version = edna.publish_drafts().await;
        let (status, page) = edna.activate(site, &version).await;
        assert_eq!(status, reqwest::StatusCode::OK, "{page}");
        version
    })
}

#[test]
fn a_form_edited_in_the_console_reaches_a_running_terminal_between_citizens() {
    let dir = tempfile::tempdir().expect("dir");
    let platform = PlatformPeer::start(&dir.path().join("platform.db")).expect("platform");
    platform
        .add_user("edna", "editor", &["lyg-hrss"], "edna-password-1")
        .expect("an editor of the human resources bureau");
    let RunningTerminal {
        session,
        mut screens,
        base,
        tokio,
        ..
    } = RunningTerminal::start(&platform, dir.path(), "SN-CATALOG-EDITOR");
    let edna = tokio
        .block_on(Browser::login(&platform.url, "edna", "edna-password-1"))
        .expect("edna logs in");

    // The editor renames the contribution level's question and adds an optional note, while
    // a citizen reads the pension matter's guide.
    let pension = base.matter(PENSION).expect("the pension matter").clone();
    let before = pension.form.clone().expect("the pension form");
    let mut edited = pension.clone();
    let form = edited.form.as_mut().expect("form");
    let contribution = form
        .sections
        .iter_mut()
        .find(|s| s.id == "contribution")
        .expect("the contribution page");
    contribution.fields[0].label.zh = "选择年缴费档次".into();
    contribution.fields.insert(
        1,
        serde_json::from_value(serde_json::json!({
            "id": "note", "kind": "text", "max_len": 50,
            "label": {"zh": "备注", "en": "Note"}
        }))
        .expect("a text field"),
    );
    session.touch(Action::Begin);
    session.touch(Action::OpenMatter(pension.id.clone()));
    screens.expect(
        "the pension guide",
        HINT_LATENCY,
        |v| matches!(&v.screen, Screen::Guide { matter } if *matter == pension.id),
    );
    let second = edit_publish_activate(&tokio, &edna, &edited, "test");
    wait_until("fetched the edited catalog", HINT_LATENCY, || {
        kept(dir.path()).as_deref() == Some(second.as_str())
    });
    std::thread::sleep(Duration::from_millis(500));
    let during = screens.latest();
    assert!(
        matches!(&during.screen, Screen::Guide { matter } if *matter == pension.id),
        "{:?}",
        during.screen
    );
    assert_eq!(shown(&during).as_deref(), Some(base.version.as_str()));
    assert_eq!(form_shown(&during, PENSION).as_ref(), Some(&before));

    // The citizen leaves: home shows the form exactly as the editor saved it.
    session.touch(Action::Home);
    let home = screens.expect("home with the edited form", Duration::from_secs(5), |v| {
        v.screen == Screen::Home && shown(v).as_deref() == Some(second.as_str())
    });
    assert_eq!(form_shown(&home, PENSION), edited.form);

    // Nobody at the terminal: the next edit shows within a heartbeat of its activation, with
    // no touch and no restart.
    let mut again = edited.clone();
    if let Some(note) = again.form.as_mut().and_then(|f| {
        f.sections
            .iter_mut()
            .flat_map(|s| &mut s.fields)
            .find(|f| f.id == "note")
    }) {
        note.label = kiosk_protocol::LocalizedText::new("其他说明", "Other remarks");
    }
    let third = edit_publish_activate(&tokio, &edna, &again, "test");
    let activated = Instant::now();
    let home = screens.expect("home with the next edit", HINT_LATENCY, |v| {
        v.screen == Screen::Home && shown(v).as_deref() == Some(third.as_str())
    });
    assert!(activated.elapsed() < Duration::from_secs(60));
    assert_eq!(form_shown(&home, PENSION), again.form);
    drop(session);
}

#[test]
fn catalog_checks_cost_a_304_while_nothing_changed_and_a_broken_catalog_is_refused() {
    let t = common::EnrolledTerminal::new("SN-CATALOG-304");
    let current = t.tokio.block_on(t.link.catalog()).expect("catalog");
    let answer = t
        .tokio
        .block_on(t.link.catalog_unless(Some(&current.version)))
        .expect("answer");
    assert!(matches!(answer, CatalogAnswer::Unchanged), "{answer:?}");
    let answer = t
        .tokio
        .block_on(t.link.catalog_unless(Some("1999.1.1")))
        .expect("answer");
    assert!(
        matches!(&answer, CatalogAnswer::Changed(c) if c.version == current.version),
        "{answer:?}"
    );

    // A catalog that does not validate (a matter listed twice) reaches the terminal only if
    // the platform's database is damaged; the terminal refuses it and keeps its own.
    let mut broken = current.clone();
    broken.version = "2099.9.9".into();
    broken.matters.push(broken.matters[0].clone());
    let conn = rusqlite::Connection::open(t.db()).expect("db");
    conn.execute(
        "INSERT INTO catalog_versions (version, body, published_at, current)
         VALUES ('2099.9.9', ?1, '2026-12-07T10:00:00+08:00', FALSE)",
        [serde_json::to_string(&broken).expect("json")],
    )
    .expect("stored");
    conn.execute_batch(
        "UPDATE catalog_versions SET current = FALSE WHERE current;
         UPDATE catalog_versions SET current = TRUE WHERE version = '2099.9.9';",
    )
    .expect("made current");
    let refused = t
        .tokio
        .block_on(t.link.catalog_unless(Some(&current.version)))
        .expect_err("refused");
    assert!(refused.to_string().contains("2099.9.9"), "{refused}");
}

#[test]
fn a_terminal_restarted_while_the_platform_is_down_serves_the_catalog_it_kept() {
    let dir = tempfile::tempdir().expect("dir");
    let platform = PlatformPeer::start(&dir.path().join("platform.db")).expect("platform");
    let runtime = || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio")
    };
    let first = runtime();
    let enrolled = common::enroll(&first, &platform, dir.path(), "SN-CATALOG-KEPT");
    let base = first
        .block_on(enrolled.link.catalog())
        .expect("the seed catalog");
    publish(&platform, dir.path(), &base, "2099.3.1");
    let again = kiosk_app::enrollment::Provisioned {
        identity: enrolled.identity.clone(),
        link: enrolled.link.clone(),
        catalog_version: enrolled.catalog_version.clone(),
    };
    let (_session, views) = common::start_session(
        &first,
        enrolled,
        dir.path(),
        Settings::default(),
        DeviceConfig::default(),
    );
    Screens { views, last: None }.expect("home with 2099.3.1", HINT_LATENCY, |v| {
        v.screen == Screen::Home && shown(v).as_deref() == Some("2099.3.1")
    });
    wait_until("kept 2099.3.1", Duration::from_secs(5), || {
        kept(dir.path()).as_deref() == Some("2099.3.1")
    });

    // The kiosk stops, the platform goes away, the kiosk starts again: it serves at once.
    first.shutdown_background();
    drop(platform);
    let second = runtime();
    let (_session, views) = common::start_session(
        &second,
        again,
        dir.path(),
        Settings::default(),
        DeviceConfig::default(),
    );
    let home = Screens { views, last: None }.expect("a catalog or none", HINT_LATENCY, |v| {
        shown(v).is_some() || v.screen == Screen::OutOfService
    });
    assert_eq!(home.screen, Screen::Home);
    assert_eq!(shown(&home).as_deref(), Some("2099.3.1"));
}
