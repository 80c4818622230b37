//! Renders every screen of the shared table headlessly with the software renderer, in Chinese
//! and English, and checks that each shows something of its own. The PNGs are left in
//! `target/tmp/ui-screens/` for review.

mod common;

use std::collections::HashSet;
use std::path::PathBuf;

use common::{Mode, SCREENS};
use kiosk_ui::headless::Headless;
use kiosk_ui::{Devices, IdentifyPrompt, Kiosk, KioskWindow, Page};
use slint::ComponentHandle;

#[test]
fn every_page_renders_distinctly_in_both_languages() {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-screens");
    std::fs::create_dir_all(&out).expect("screenshot folder");
    let mut display = Headless::install(1080, 1920).expect("headless platform");
    let window = KioskWindow::new().expect("window");
    window.show().expect("show");
    let mut seen = HashSet::new();
    for english in [false, true] {
        let mode = Mode {
            english,
            elder: false,
            landscape: false,
        };
        mode.apply(&mut display, &window);
        for screen in SCREENS {
            common::show(&window, screen);
            let pixels = display.render();
            let distinct: HashSet<(u8, u8, u8)> = pixels.iter().map(|p| (p.r, p.g, p.b)).collect();
            assert!(distinct.len() > 8, "{} looks blank", screen.name);
            let digest: Vec<u8> = pixels.iter().step_by(97).map(|p| p.r ^ p.g ^ p.b).collect();
            assert!(
                seen.insert(digest),
                "{} ({}) renders the same as another page",
                screen.name,
                if english { "en" } else { "zh" }
            );
            let file = out.join(format!(
                "{}-{}.png",
                screen.name,
                if english { "en" } else { "zh" }
            ));
            kiosk_ui::headless::write_png(&file, 1080, 1920, &pixels).expect("png");
        }
    }

    // Device states, in Chinese: the scanner out of order on home, a scanned code answered on
    // the card screen, and the attract veil over home. Each shows something no page above does.
    Mode::ALL[0].apply(&mut display, &window);
    common::fill(&window);
    let kiosk = window.global::<Kiosk>();
    let devices = window.global::<Devices>();
    let states: [(&str, &dyn Fn()); 3] = [
        ("home-scanner-out", &|| {
            devices.set_scanner_available(false);
            kiosk.set_page(Page::Home);
        }),
        ("identify-code-scanned", &|| {
            devices.set_scanner_available(true);
            devices.set_identify_prompt(IdentifyPrompt::CodeNotAccepted);
            kiosk.set_page(Page::Identify);
        }),
        ("home-attract", &|| {
            kiosk.set_attract(true);
            kiosk.set_page(Page::Home);
        }),
    ];
    for (name, set_up) in states {
        set_up();
        let pixels = display.render();
        let digest: Vec<u8> = pixels.iter().step_by(97).map(|p| p.r ^ p.g ^ p.b).collect();
        assert!(seen.insert(digest), "{name} renders like another screen");
        let file = out.join(format!("{name}-zh.png"));
        kiosk_ui::headless::write_png(&file, 1080, 1920, &pixels).expect("png");
    }
}
