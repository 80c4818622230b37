//! The console's preview is the terminal's screen: `kiosk-preview` draws a matter's guide and
//! its form's pages pixel for pixel as a terminal does after a citizen taps their way to them
//! (home, a theme, the matter; then 申请, the card, the phone), in both languages and both
//! orientations.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Instant;

use kiosk_app::screen::display::Display;
use kiosk_app::screen::preview::{LANDSCAPE, PORTRAIT, SPECIMEN_PHONE, specimen, today};
use kiosk_app::session::{Action, CardEvent, Event, KeySource, Screen, Session, Settings};
use kiosk_protocol::{Catalog, Language};
use kiosk_ui::headless::Headless;
use kiosk_ui::{KioskWindow, Theme};
use slint::{ComponentHandle, Rgb8Pixel};

const SEED: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../platform/catalog/lianyungang.json"
));

/// `kiosk-preview` given `request` on its standard input.
fn run(request: &serde_json::Value) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kiosk-preview"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kiosk-preview");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&serde_json::to_vec(request).expect("json"))
        .expect("write the request");
    child.wait_with_output().expect("kiosk-preview runs")
}

/// The page `kiosk-preview` draws for `matter`, decoded.
fn preview(
    catalog: &Catalog,
    matter: &str,
    page: &serde_json::Value,
    language: Language,
    landscape: bool,
) -> Vec<u8> {
    let request = serde_json::json!({
        "catalog": catalog,
        "matter": matter,
        "language": language,
        "landscape": landscape,
        "page": page,
    });
    let out = run(&request);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decoder = png::Decoder::new(std::io::Cursor::new(out.stdout));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut pixels).expect("a frame");
    let (width, height) = if landscape { LANDSCAPE } else { PORTRAIT };
    assert_eq!((info.width, info.height), (width, height));
    pixels.truncate(info.buffer_size());
    pixels
}

fn bytes(pixels: &[Rgb8Pixel]) -> Vec<u8> {
    pixels.iter().flat_map(|p| [p.r, p.g, p.b]).collect()
}

/// The seed's pension enrolment (城乡居民养老保险参保登记): a guide and a two-page form.
const PENSION: &str = "lyg-hrss-0101";

#[test]
fn the_preview_is_the_terminals_own_guide_and_form_screens() {
    let catalog: Catalog = serde_json::from_str(SEED).expect("seed catalog");
    let matter = catalog
        .matters
        .iter()
        .find(|m| m.id == PENSION)
        .expect("the pension matter in the seed")
        .clone();
    assert!(matter.form.is_some(), "the pension matter asks for a form");

    // The terminal: a session core and its display, walked by a citizen's taps. Nothing
    // differs by construction: the screens show no clock, the session's "now" is the same
    // instant throughout, and the card read carries the same day as the preview's.
    let (width, height) = PORTRAIT;
    let mut screen = Headless::install(width, height).expect("headless display");
    let window = KioskWindow::new().expect("window");
    window.show().expect("show");
    let mut display = Display::new(window, "LYG-DEV-0001", false);
    let now = Instant::now();
    let mut session = Session::new(Settings::default(), KeySource::seeded(7), now);
    session.start();
    session.handle(Event::CatalogLoaded(Arc::new(catalog.clone())), now);
    for tap in [
        Action::Begin,
        Action::ChooseTheme(Some(matter.theme.clone())),
        Action::OpenMatter(matter.id.clone()),
    ] {
        session.handle(Event::Touch(tap), now);
    }
    assert!(matches!(session.screen(), Screen::Guide { .. }));

    let mut landscape = false;
    let mut compare = |session: &Session, page: serde_json::Value, wide: bool| {
        if wide != landscape {
            let (w, h) = if wide { LANDSCAPE } else { PORTRAIT };
            screen.resize(w, h);
            display.window().global::<Theme>().set_landscape(wide);
            landscape = wide;
        }
        let language = session.language();
        display.show(&session.view(now));
        let terminal = bytes(&screen.render());
        let previewed = preview(&catalog, &matter.id, &page, language, wide);
        assert!(
            terminal == previewed,
            "the preview of {} {page} ({language:?}, landscape {wide}) differs from the terminal's screen",
            matter.id
        );
    };
    let guide = serde_json::json!("guide");
    compare(&session, guide.clone(), false);
    session.handle(Event::Touch(Action::ToggleLanguage), now);
    compare(&session, guide.clone(), false);
    compare(&session, guide.clone(), true);
    session.handle(Event::Touch(Action::ToggleLanguage), now);
    compare(&session, guide, true);

    // On to the form, as a citizen holding the specimen card.
    session.handle(Event::Touch(Action::Apply), now);
    session.handle(Event::Card(CardEvent::Read(specimen(today()))), now);
    for digit in SPECIMEN_PHONE {
        session.handle(Event::Touch(Action::PhoneDigit(digit)), now);
    }
    session.handle(Event::Touch(Action::ConfirmApplicant), now);
    assert!(matches!(session.screen(), Screen::Form { .. }));
    let first = serde_json::json!({ "form": { "section": 0 } });
    compare(&session, first.clone(), true);
    session.handle(Event::Touch(Action::ToggleLanguage), now);
    compare(&session, first.clone(), true);
    compare(&session, first.clone(), false);
    session.handle(Event::Touch(Action::ToggleLanguage), now);
    compare(&session, first, false);

    // The card's prefills are on the page the editor sees, and nothing of the second page
    // is: the preview draws each section as a citizen first reaches it.
    let second = preview(
        &catalog,
        &matter.id,
        &serde_json::json!({ "form": { "section": 1 } }),
        Language::Zh,
        false,
    );
    let first_zh = preview(
        &catalog,
        &matter.id,
        &serde_json::json!({ "form": { "section": 0 } }),
        Language::Zh,
        false,
    );
    assert!(
        second != first_zh,
        "the second form page is a picture of its own"
    );
}

#[test]
fn a_section_the_form_does_not_have_is_refused_with_a_sentence() {
    let catalog: Catalog = serde_json::from_str(SEED).expect("seed catalog");
    let request = serde_json::json!({
        "catalog": catalog,
        "matter": PENSION,
        "language": "zh",
        "page": { "form": { "section": 9 } },
    });
    let out = run(&request);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "no picture");
    let why = String::from_utf8_lossy(&out.stderr);
    assert!(why.contains("no form section 9"), "{why}");
}
