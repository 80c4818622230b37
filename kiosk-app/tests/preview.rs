//! The console's preview is the terminal's screen: `kiosk-preview` draws a matter's guide
//! pixel for pixel as a terminal does after a citizen taps their way to it (home, a theme,
//! the matter), in both languages and both orientations.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use kiosk_app::screen::display::Display;
use kiosk_app::screen::preview::{LANDSCAPE, PORTRAIT};
use kiosk_app::session::{Action, Event, KeySource, Screen, Session, Settings};
use kiosk_protocol::{Catalog, Language};
use kiosk_ui::headless::Headless;
use kiosk_ui::{KioskWindow, Theme};
use slint::{ComponentHandle, Rgb8Pixel};

const SEED: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../platform/catalog/lianyungang.json"
));

/// The page `kiosk-preview` draws for `matter`, decoded.
fn preview(catalog: &Catalog, matter: &str, language: Language, landscape: bool) -> Vec<u8> {
    let request = serde_json::json!({
        "catalog": catalog,
        "matter": matter,
        "language": language,
        "landscape": landscape,
        "page": "guide",
    });
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
        .write_all(&serde_json::to_vec(&request).expect("json"))
        .expect("write the request");
    let out = child.wait_with_output().expect("kiosk-preview runs");
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

#[test]
fn the_preview_is_the_terminals_own_guide_screen() {
    let catalog: Catalog = serde_json::from_str(SEED).expect("seed catalog");
    let matter = catalog
        .matters
        .iter()
        .find(|m| m.kiosk_application && m.materials.len() > 2)
        .expect("a matter applied for at the terminal")
        .clone();

    // The terminal: a session core and its display, walked by a citizen's taps.
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

    let mut compare = |session: &Session, language: Language, landscape: bool| {
        if landscape {
            let (w, h) = LANDSCAPE;
            screen.resize(w, h);
            display.window().global::<Theme>().set_landscape(true);
        }
        display.show(&session.view(now));
        let terminal = bytes(&screen.render());
        let previewed = preview(&catalog, &matter.id, language, landscape);
        assert!(
            terminal == previewed,
            "the preview of {} ({language:?}, landscape {landscape}) differs from the terminal's screen",
            matter.id
        );
    };
    compare(&session, Language::Zh, false);
    session.handle(Event::Touch(Action::ToggleLanguage), now);
    compare(&session, Language::En, false);
    compare(&session, Language::En, true);
    session.handle(Event::Touch(Action::ToggleLanguage), now);
    compare(&session, Language::Zh, true);
}
