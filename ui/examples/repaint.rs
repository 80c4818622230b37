//! Repaint times of the software renderer at 1080×1920, for `bench/ui-vs-chromium`.
//!
//! Full repaint: every screen of the UI tests' table, in Chinese and in 长辈版, drawn whole into
//! a fresh buffer (as after a page change); the busiest screen is the one with the slowest
//! median. Partial repaint: into a kept buffer (as the device's framebuffer), only what changed:
//! the seconds of the timeout warning counting down over the home screen, and one more dot on
//! the technician PIN pad. Prints one `key=value` line per measurement.
//!
//! ```text
//! cargo run --release -p kiosk-ui --no-default-features --example repaint [-- ROUNDS]
//! ```

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{Mode, SCREENS};
use kiosk_ui::headless::Headless;
use kiosk_ui::{Kiosk, KioskWindow, Technician};
use slint::{ComponentHandle, Rgb8Pixel};

struct Stats {
    median_ms: f64,
    p95_ms: f64,
    min_ms: f64,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |q: f64| ms(samples[((samples.len() - 1) as f64 * q).round() as usize]);
    Stats {
        median_ms: at(0.5),
        p95_ms: at(0.95),
        min_ms: ms(samples[0]),
    }
}

/// Portrait in Chinese, standard and 长辈版 (the table's first and third modes).
const MODES: [Mode; 2] = [Mode::ALL[0], Mode::ALL[2]];

fn full_repaints(rounds: usize) -> Result<(), Box<dyn std::error::Error>> {
    let mut display = Headless::install(1080, 1920)?;
    display.freeze_time(Some(Duration::from_millis(400)));
    let window = KioskWindow::new()?;
    window.show()?;
    let mut pixels = vec![Rgb8Pixel { r: 0, g: 0, b: 0 }; 1080 * 1920];
    let mut busiest: Option<(String, Stats)> = None;
    for mode in MODES {
        mode.apply(&mut display, &window);
        for screen in SCREENS {
            common::show(&window, screen);
            // Layout, glyph caches and images are built once, before the timed frames.
            for _ in 0..3 {
                display.render_into(&mut pixels, true);
            }
            let samples: Vec<Duration> = (0..rounds)
                .map(|_| {
                    let t = Instant::now();
                    display.render_into(&mut pixels, true);
                    t.elapsed()
                })
                .collect();
            let s = stats(samples);
            let name = format!("{}-{}", screen.name, mode.label());
            println!(
                "full screen={name} median_ms={:.2} p95_ms={:.2} min_ms={:.2}",
                s.median_ms, s.p95_ms, s.min_ms
            );
            if busiest
                .as_ref()
                .is_none_or(|(_, b)| s.median_ms > b.median_ms)
            {
                busiest = Some((name, s));
            }
        }
    }
    if let Some((name, s)) = busiest {
        println!(
            "busiest screen={name} median_ms={:.2} p95_ms={:.2} min_ms={:.2}",
            s.median_ms, s.p95_ms, s.min_ms
        );
    }
    Ok(())
}

/// A small change to the screen, different for each round.
type Change<'a> = dyn Fn(usize) + 'a;

fn partial_repaints(rounds: usize) -> Result<(), Box<dyn std::error::Error>> {
    let mut display = Headless::install_reusing(1080, 1920)?;
    display.freeze_time(Some(Duration::from_millis(400)));
    let window = KioskWindow::new()?;
    window.show()?;
    MODES[0].apply(&mut display, &window);
    let mut pixels = vec![Rgb8Pixel { r: 0, g: 0, b: 0 }; 1080 * 1920];
    let kiosk = window.global::<Kiosk>();

    let cases: [(&str, &str, &Change); 2] = [
        ("timeout", "countdown", &|i| {
            kiosk.set_timeout_seconds(20 - (i % 20) as i32);
        }),
        ("technician-pin", "pin-dot", &|i| {
            window
                .global::<Technician>()
                .set_pin_digits(3 + (i % 2) as i32);
        }),
    ];
    for (screen_name, what, change) in cases {
        let screen = SCREENS
            .iter()
            .find(|s| s.name == screen_name)
            .ok_or("screen missing from the table")?;
        common::show(&window, screen);
        for i in 0..3 {
            display.render_into(&mut pixels, true);
            change(i);
            display.render_into(&mut pixels, false);
        }
        let mut area = 0;
        let samples: Vec<Duration> = (0..rounds)
            .map(|i| {
                change(i + 1);
                let t = Instant::now();
                let repainted = display.render_into(&mut pixels, false);
                let elapsed = t.elapsed();
                area = area.max(repainted.area());
                elapsed
            })
            .collect();
        let s = stats(samples);
        println!(
            "partial change={what} screen={screen_name} median_ms={:.2} p95_ms={:.2} min_ms={:.2} \
             repainted_px={area} of {}",
            s.median_ms,
            s.p95_ms,
            s.min_ms,
            1080 * 1920
        );
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|r| r.parse())
        .transpose()?
        .unwrap_or(30);
    // One platform per thread: the full and the partial measurements each get their own window
    // and buffer type, one after the other.
    std::thread::spawn(move || full_repaints(rounds).map_err(|e| e.to_string()))
        .join()
        .map_err(|_| "the full-repaint thread panicked")??;
    std::thread::spawn(move || partial_repaints(rounds).map_err(|e| e.to_string()))
        .join()
        .map_err(|_| "the partial-repaint thread panicked")??;
    Ok(())
}
