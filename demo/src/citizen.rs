//! The headless demo: a scripted citizen walks every screen, and each is written as a PNG.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use kiosk_app::runtime::SessionHandle;
use kiosk_app::screen::display::Display;
use kiosk_app::session::{
    Action, Errand, MaintenanceTask, PinKey, PinMessage, PinPad, PrintStatus, Screen, Settings,
    TaskOutcome, View,
};
use kiosk_ui::KioskWindow;
use kiosk_ui::headless::Headless;
use slint::ComponentHandle;

use crate::DemoOptions;
use crate::stage::{
    DEMO_PHONE, DEMO_SEARCH, DEMO_TECHNICIAN_PIN, Stage, enroll, runtime_config, set_the_stage,
};

/// The matter the demo citizen applies for: the senior card (敬老卡) has a photo to capture and
/// a household register that may be handed in later. The demo types no form answers, so it
/// applies for a matter without a form.
const DEMO_MATTER: &str = "lyg-health-0701";

pub fn headless(
    options: &DemoOptions,
    dir: &Path,
    tokio: &tokio::runtime::Runtime,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut stage = set_the_stage(&dir.join("devices"), options)?;
    let (platform, terminal_id) = tokio.block_on(enroll(&stage))?;
    let (width, height) = options.size;
    let screen = Headless::install(width, height)?;
    let window = KioskWindow::new().map_err(|e| anyhow!("cannot create the kiosk window: {e}"))?;
    window
        .show()
        .map_err(|e| anyhow!("cannot show the kiosk window: {e}"))?;
    let settings = Settings {
        terminal_id,
        idle_warning_after: Duration::from_secs(5),
        thanks_linger: Duration::from_secs(2),
        ..Settings::default()
    };
    let mut display = Display::new(window, &settings.terminal_id, width > height);
    let (views_tx, views) = mpsc::channel();
    let session = {
        let _guard = tokio.enter();
        kiosk_app::runtime::start(
            runtime_config(&stage, options, platform, settings)?,
            move |view| {
                let _ = views_tx.send(view);
            },
        )
    };
    let mut citizen = Citizen {
        views,
        display: &mut display,
        screen: &screen,
        session,
        dir,
        shots: Vec::new(),
        last: None,
    };
    let application_no = citizen.walk(&mut stage, options.card)?;
    println!("application number: {application_no}");
    println!("{} screenshots in {}", citizen.shots.len(), dir.display());
    println!("printed receipts in {}", stage.receipts.display());
    Ok(())
}

/// The scripted citizen of the headless demo.
struct Citizen<'a> {
    views: Receiver<View>,
    display: &'a mut Display,
    screen: &'a Headless,
    session: SessionHandle,
    dir: &'a Path,
    shots: Vec<PathBuf>,
    last: Option<View>,
}

impl Citizen<'_> {
    /// Waits until the kiosk shows a view satisfying `wanted`, applying every view on the way.
    fn expect(&mut self, what: &str, wanted: impl Fn(&View) -> bool) -> anyhow::Result<View> {
        let deadline = Instant::now() + Duration::from_secs(30);
        if let Some(view) = self.last.clone().filter(|v| wanted(v)) {
            return Ok(view);
        }
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.views.recv_timeout(left) {
                Ok(view) => {
                    self.display.show(&view);
                    self.last = Some(view.clone());
                    if wanted(&view) {
                        return Ok(view);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    let at = self
                        .last
                        .as_ref()
                        .map(|v| format!("{:?}", v.screen))
                        .unwrap_or_default();
                    bail!("the kiosk did not reach {what} within 30s (it shows {at})")
                }
                Err(RecvTimeoutError::Disconnected) => bail!("the kiosk stopped before {what}"),
            }
        }
    }

    fn shot(&mut self, name: &str) -> anyhow::Result<()> {
        let path = self
            .dir
            .join(format!("{:02}-{name}.png", self.shots.len() + 1));
        self.screen.write_png(&path)?;
        self.shots.push(path);
        Ok(())
    }

    fn touch(&mut self, action: Action) {
        self.session.touch(action);
    }

    fn walk(&mut self, stage: &mut Stage, card: usize) -> anyhow::Result<String> {
        let home = self.expect("the home screen", |v| {
            v.screen == Screen::Home && v.catalog.is_some()
        })?;
        let catalog = home.catalog.clone().ok_or_else(|| anyhow!("no catalog"))?;
        let without_form = |m: &&kiosk_protocol::Matter| m.kiosk_application && m.form.is_none();
        let matter = catalog
            .matter(DEMO_MATTER)
            .filter(without_form)
            .or_else(|| catalog.matters.iter().find(without_form))
            .ok_or_else(|| {
                anyhow!(
                    "the platform's catalog has no matter without a form that can be applied for at a terminal"
                )
            })?
            .clone();
        self.shot("home")?;

        // 长辈版: larger text and targets, and the screen's instruction spoken.
        self.touch(Action::ToggleElder);
        self.expect("elder mode", |v| v.elder && v.speech)?;
        self.shot("home-elder")?;
        self.touch(Action::ToggleElder);
        self.expect("the standard mode", |v| !v.elder)?;

        self.touch(Action::Begin);
        self.expect("the catalog", |v| {
            v.screen == Screen::Catalog { theme: None }
        })?;
        self.shot("catalog")?;

        self.touch(Action::ChooseTheme(Some(matter.theme.clone())));
        self.expect("the theme's matters", |v| {
            matches!(&v.screen, Screen::Catalog { theme: Some(_) })
        })?;
        self.shot("catalog-theme")?;

        self.touch(Action::OpenMatter(matter.id.clone()));
        self.expect("the service guide", |v| {
            matches!(v.screen, Screen::Guide { .. })
        })?;
        self.shot("guide")?;

        self.touch(Action::ToggleLanguage);
        self.expect("the guide in English", |v| {
            v.language == kiosk_protocol::Language::En
        })?;
        self.shot("guide-en")?;
        self.touch(Action::ToggleLanguage);
        self.expect("the guide in Chinese", |v| {
            v.language == kiosk_protocol::Language::Zh
        })?;

        self.touch(Action::Apply);
        self.expect("the ID-card screen", |v| {
            matches!(v.screen, Screen::Identify { .. })
        })?;
        self.shot("identify")?;

        stage.idcard.control(&format!("place {card}"))?;
        self.expect("the applicant's details", |v| {
            matches!(v.screen, Screen::Confirm { .. })
        })?;
        for digit in DEMO_PHONE.bytes() {
            self.touch(Action::PhoneDigit(digit - b'0'));
        }
        self.expect("the phone typed", |v| v.phone == DEMO_PHONE)?;
        self.shot("form")?;

        self.touch(Action::ConfirmApplicant);
        self.gather_materials()?;
        self.expect("the review", |v| matches!(v.screen, Screen::Review { .. }))?;
        self.shot("review")?;

        self.touch(Action::SubmitApplication);
        let receipt = self.expect("the printed receipt", |v| {
            matches!(&v.screen, Screen::Receipt { printing, .. } if *printing != PrintStatus::Printing)
                || matches!(v.screen, Screen::SubmitFailed { .. })
        })?;
        let Screen::Receipt {
            receipt,
            printing,
            kept,
        } = receipt.screen
        else {
            bail!("the platform did not accept the application (see the platform's log)");
        };
        self.shot("receipt")?;
        if printing != PrintStatus::Printed {
            eprintln!("warning: the receipt was not printed ({printing:?})");
        }
        stage.idcard.control("lift")?;

        self.rate_and_leave()?;
        self.walk_away()?;

        self.find_by_search_and_department()?;
        self.errands(stage, card)?;

        // A technician visits: five taps on the footer, a wrong PIN, then the right one.
        self.technician_visit()?;
        Ok(if kept {
            format!(
                "{} (kept in the outbox until the platform answers)",
                receipt.application_no
            )
        } else {
            receipt.application_no
        })
    }
}

impl Citizen<'_> {
    /// Photographs the first material (two pages), commits to hand in later what may be, and
    /// photographs the rest.
    fn gather_materials(&mut self) -> anyhow::Result<()> {
        let mut shown_commitment = false;
        loop {
            let view = self.expect("the materials or the review", |v| {
                matches!(
                    v.screen,
                    Screen::Materials {
                        capturing: false,
                        ..
                    } | Screen::Review { .. }
                )
            })?;
            let Screen::Materials { slot, matter, .. } = &view.screen else {
                return Ok(());
            };
            let waivable = view
                .catalog
                .as_ref()
                .and_then(|c| c.matter(matter))
                .zip(view.materials.get(*slot))
                .and_then(|(m, s)| m.materials.get(usize::from(s.index)))
                .is_some_and(|m| m.waivable);
            let slot = *slot;
            if slot > 0 && waivable {
                self.touch(Action::DeclareMissing);
                self.expect("the commitment", |v| {
                    matches!(v.screen, Screen::Commitment { .. })
                })?;
                if !shown_commitment {
                    self.shot("commitment")?;
                    shown_commitment = true;
                }
                self.touch(Action::Commit);
                self.expect("the next step", |v| {
                    !matches!(v.screen, Screen::Commitment { .. })
                })?;
                continue;
            }
            let pages = if slot == 0 { 2 } else { 1 };
            for n in 1..=pages {
                self.touch(Action::Capture);
                self.expect("the page taken", |v| {
                    v.materials.get(slot).is_some_and(|s| s.pages.len() >= n)
                        && matches!(
                            v.screen,
                            Screen::Materials {
                                capturing: false,
                                ..
                            }
                        )
                })?;
            }
            if slot == 0 {
                self.expect("the camera's picture", |v| v.preview.is_some())?;
                self.shot("materials")?;
            }
            self.touch(Action::NextMaterial);
            self.expect(
                "the next material",
                |v| !matches!(&v.screen, Screen::Materials { slot: s, .. } if *s == slot),
            )?;
        }
    }

    /// Five stars for the service, the thank-you screen, and home again with nobody's data.
    fn rate_and_leave(&mut self) -> anyhow::Result<()> {
        self.touch(Action::Done);
        self.expect("the rating", |v| matches!(v.screen, Screen::Rating { .. }))?;
        self.touch(Action::Rate(5));
        self.expect("a five-star rating", |v| {
            matches!(v.screen, Screen::Rating { level: Some(5), .. })
        })?;
        self.shot("rating")?;

        self.touch(Action::SendRating);
        self.expect("the thank-you screen", |v| v.screen == Screen::Thanks)?;
        self.shot("thanks")?;
        self.expect("home again", |v| {
            v.screen == Screen::Home && v.applicant.is_none()
        })?;
        Ok(())
    }

    /// A second citizen walks away mid-session: the kiosk warns before it wipes.
    fn walk_away(&mut self) -> anyhow::Result<()> {
        self.touch(Action::Begin);
        self.expect("the catalog", |v| {
            matches!(v.screen, Screen::Catalog { .. })
        })?;
        self.expect("the timeout warning", |v| v.timeout_warning.is_some())?;
        self.shot("timeout-warning")?;
        self.touch(Action::Home);
        self.expect("home", |v| v.screen == Screen::Home)?;
        Ok(())
    }

    /// Search by pinyin initials, then the catalog by department.
    fn find_by_search_and_department(&mut self) -> anyhow::Result<()> {
        self.touch(Action::OpenSearch);
        self.expect("the search screen", |v| {
            matches!(v.screen, Screen::Search { .. })
        })?;
        for key in DEMO_SEARCH.chars() {
            self.touch(Action::SearchType(key.to_string()));
        }
        self.expect("search results", |v| {
            matches!(&v.screen, Screen::Search { query } if query == DEMO_SEARCH)
                && !v.search_results.is_empty()
        })?;
        self.shot("search")?;
        self.touch(Action::Back);
        self.expect("home", |v| v.screen == Screen::Home)?;
        self.touch(Action::Begin);
        self.touch(Action::ChooseDepartment(None));
        self.expect("the departments", |v| {
            matches!(v.screen, Screen::Departments { .. })
        })?;
        self.shot("departments")?;
        self.touch(Action::Home);
        self.expect("home", |v| v.screen == Screen::Home)?;
        Ok(())
    }

    /// A queue number, an appointment check-in by its code, the progress of the application
    /// just made, and the record of applications printed.
    fn errands(&mut self, stage: &mut Stage, card: usize) -> anyhow::Result<()> {
        let finished = |v: &View| {
            matches!(&v.screen, Screen::ErrandResult { printing, .. }
                if *printing != Some(PrintStatus::Printing))
        };
        self.touch(Action::Errand(Errand::Ticket));
        let view = self.expect("the queue picker", |v| {
            matches!(v.screen, Screen::QueuePick { .. })
        })?;
        let matter = view
            .catalog
            .as_ref()
            .and_then(|c| c.matters.first())
            .map(|m| m.id.clone())
            .ok_or_else(|| anyhow!("no matter to queue for"))?;
        self.touch(Action::OpenMatter(matter));
        self.expect("the queue ticket", finished)?;
        self.shot("ticket")?;
        self.touch(Action::Done);
        self.expect("home", |v| v.screen == Screen::Home)?;

        if let Some(code) = stage.appointment.clone() {
            self.touch(Action::Errand(Errand::CheckIn));
            self.expect("the check-in screen", |v| {
                matches!(v.screen, Screen::CheckIn { .. })
            })?;
            self.shot("check-in")?;
            stage.scanner.control(&format!("scan {code}"))?;
            self.expect("checked in", finished)?;
            self.shot("checked-in")?;
            self.touch(Action::Done);
            self.expect("home", |v| v.screen == Screen::Home)?;
        }

        for (errand, what, shot) in [
            (Errand::Progress, "the applications", "progress"),
            (Errand::Certificate, "the certificate", "certificate"),
        ] {
            self.touch(Action::Errand(errand));
            self.expect("the card screen", |v| {
                matches!(v.screen, Screen::IdentifyFor { .. })
            })?;
            stage.idcard.control(&format!("place {card}"))?;
            self.expect(what, finished)?;
            self.shot(shot)?;
            stage.idcard.control("lift")?;
            self.touch(Action::Done);
            self.expect("home", |v| v.screen == Screen::Home)?;
        }
        Ok(())
    }

    fn technician_visit(&mut self) -> anyhow::Result<()> {
        for _ in 0..kiosk_app::session::technician::SECRET_TAPS {
            self.touch(Action::SecretTap);
        }
        self.expect("the technician PIN pad", |v| {
            matches!(v.screen, Screen::TechnicianPin(_))
        })?;
        self.type_pin("00000000");
        self.expect("the wrong PIN refused", |v| {
            matches!(
                v.screen,
                Screen::TechnicianPin(PinPad {
                    message: PinMessage::Wrong { .. },
                    ..
                })
            )
        })?;
        self.shot("technician-pin")?;
        self.type_pin(DEMO_TECHNICIAN_PIN);
        self.expect(
            "the maintenance panel",
            |v| matches!(&v.screen, Screen::Maintenance(panel) if !panel.status.lines.is_empty()),
        )?;
        self.touch(Action::Maintenance(MaintenanceTask::PrintTestPage));
        self.expect("the test page printed", |v| {
            matches!(&v.screen, Screen::Maintenance(panel)
                if matches!(panel.last_task, Some((_, TaskOutcome::Done(_) | TaskOutcome::Failed(_)))))
        })?;
        self.shot("maintenance")?;
        self.touch(Action::Home);
        self.expect("home", |v| v.screen == Screen::Home)?;
        Ok(())
    }

    fn type_pin(&mut self, pin: &str) {
        for digit in pin.bytes() {
            self.touch(Action::Pin(PinKey::Digit(digit - b'0')));
        }
        self.touch(Action::Pin(PinKey::Submit));
    }
}
