//! The headless demo: the citizen is a script for `kiosk drive` (`demo/scripts/`), walking
//! every screen; the script's `screenshot` steps write one PNG per screen.
//!
//! The kiosk runs through the same [`kiosk_app::drive`] as `kiosk drive`, in this process, on
//! the stage's platform and simulators; its answers (personal data masked) are kept beside the
//! screenshots in `drive.jsonl`.

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use kiosk_app::drive::{DriveOptions, Summary};
use kiosk_app::session::Settings;

use crate::DemoOptions;
use crate::stage::{IDCARD_CONTROL, SCANNER_CONTROL, enroll, runtime_config, set_the_stage};

/// The citizen's walk: home, 长辈版, the catalog, a guide in both languages, an application
/// with its card, phone and photographed materials, the receipt, a rating, a walk-away, search
/// and the departments, a queue ticket.
const CITIZEN: &str = include_str!("../scripts/citizen.jsonl");
/// Checking in for the appointment the stage booked, by its code (only on a platform the demo
/// started, where the appointment exists).
const CHECK_IN: &str = include_str!("../scripts/check-in.jsonl");
/// Progress and the certificate by card, then a technician's visit.
const RECORDS: &str = include_str!("../scripts/records.jsonl");

/// The script as this stage runs it: the card it places and the appointment code it scans are
/// filled in.
fn script(card: usize, appointment: Option<&str>) -> String {
    let card = card.to_string();
    let mut script = CITIZEN.replace("${CARD}", &card);
    if let Some(code) = appointment {
        script.push_str(&CHECK_IN.replace("${APPOINTMENT}", code));
    }
    script.push_str(&RECORDS.replace("${CARD}", &card));
    script
}

pub fn headless(
    options: &DemoOptions,
    dir: &Path,
    tokio: &tokio::runtime::Runtime,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let stage = set_the_stage(&dir.join("devices"), options)?;
    let (platform, terminal_id) = tokio.block_on(enroll(&stage))?;
    // Short idle and thank-you times, so the walk shows the timeout warning and goes on.
    let settings = Settings {
        terminal_id,
        idle_warning_after: Duration::from_secs(5),
        thanks_linger: Duration::from_secs(2),
        ..Settings::default()
    };
    let script = match &options.script {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the script {}", path.display()))?,
        None => script(options.card, stage.appointment.as_deref()),
    };
    let drive = DriveOptions {
        reveal: false,
        screenshots: Some(dir.to_owned()),
        card_control: Some(stage.work.join(IDCARD_CONTROL)),
        scanner_control: Some(stage.work.join(SCANNER_CONTROL)),
        size: options.size,
        pinyin_dir: Some(stage.work.join("rime")),
    };
    let answers_path = dir.join("drive.jsonl");
    let mut answers = std::io::BufWriter::new(
        std::fs::File::create(&answers_path)
            .with_context(|| format!("cannot create {}", answers_path.display()))?,
    );
    let summary = {
        let _guard = tokio.enter();
        kiosk_app::drive::run(
            runtime_config(&stage, options, platform, settings)?,
            drive,
            std::io::Cursor::new(script),
            &mut answers,
        )?
    };
    answers.flush()?;
    report(&summary, dir, &answers_path)?;
    println!("printed receipts in {}", stage.receipts.display());
    Ok(())
}

fn report(summary: &Summary, dir: &Path, answers: &Path) -> anyhow::Result<()> {
    if summary.refused > 0 {
        bail!(
            "{} of {} steps of the citizen's script failed; the kiosk's answers are in {}",
            summary.refused,
            summary.steps,
            answers.display()
        );
    }
    let number = summary
        .application_no
        .as_deref()
        .ok_or_else(|| anyhow!("the script reached no receipt"))?;
    if summary.kept {
        println!("application number: {number} (kept in the outbox until the platform answers)");
    } else {
        println!("application number: {number}");
    }
    println!("{} screenshots in {}", summary.screenshots, dir.display());
    Ok(())
}
