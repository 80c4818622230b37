//! The windowed demo: a person drives the kiosk, and the simulated citizen only places the ID
//! card when the kiosk asks for one.

use std::sync::mpsc;
use std::time::Duration;

use anyhow::anyhow;
use kiosk_app::screen::display::Display;
use kiosk_app::session::{Screen, Settings, View};
use kiosk_ui::KioskWindow;
use slint::ComponentHandle;

use crate::DemoOptions;
use crate::stage::{DEMO_TECHNICIAN_PIN, enroll, runtime_config, set_the_stage};

pub fn windowed(options: &DemoOptions, tokio: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    let work = std::env::temp_dir().join(format!("kiosk-demo-{}", std::process::id()));
    let stage = set_the_stage(&work, options)?;
    let (platform, terminal_id) = tokio.block_on(enroll(&stage))?;
    let window = KioskWindow::new().map_err(|e| {
        anyhow!("cannot open a window ({e}); on a machine without a display use --headless DIR")
    })?;
    let (width, height) = options.size;
    window
        .window()
        .set_size(slint::PhysicalSize::new(width, height));
    let settings = Settings {
        terminal_id,
        ..Settings::default()
    };
    let display = Display::new(window.clone_strong(), &settings.terminal_id, width > height);
    kiosk_app::screen::pinyin::install(&display, &work.join("rime"));
    display.install_handwriting();
    println!(
        "kiosk-demo: platform at {}, simulated devices in {}",
        stage.platform_url,
        work.display()
    );
    println!(
        "the simulated citizen places test card {} when the kiosk asks for an ID card",
        options.card
    );
    println!(
        "technicians: tap the terminal id at the foot of the home screen five times; the PIN is {DEMO_TECHNICIAN_PIN}"
    );

    let (citizen_tx, citizen_rx) = mpsc::channel::<View>();
    let session = {
        let _guard = tokio.enter();
        kiosk_app::window::show_in_window(
            display,
            runtime_config(&stage, options, platform, settings)?,
            Some(citizen_tx),
        )
    };
    let card = options.card;
    let mut idcard = stage.idcard;
    std::thread::spawn(move || {
        let mut placed = false;
        for view in citizen_rx {
            let wants_card = matches!(
                view.screen,
                Screen::Identify { .. } | Screen::IdentifyFor { .. } | Screen::CheckIn { .. }
            );
            if wants_card && !placed {
                std::thread::sleep(Duration::from_secs(2));
                placed = idcard.control(&format!("place {card}")).is_ok();
            } else if !wants_card && placed {
                placed = idcard.control("lift").is_err();
            }
        }
    });
    drop(session);
    window
        .run()
        .map_err(|e| anyhow!("the window closed with an error: {e}"))?;
    Ok(())
}
