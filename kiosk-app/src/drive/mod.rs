//! `kiosk drive`: the terminal driven by a script, for tests and QA.
//!
//! The real session, runtime, devices and platform link run as in `kiosk run`; the screens
//! are drawn by the software renderer into memory instead of a window. Steps come one JSON
//! object a line (see [`command`]); each is carried out as a citizen would do it: a tap
//! presses the element with that accessible label, typing presses the keys of the input the
//! screen shows, writing draws strokes with the pointer on the handwriting pad, a card is
//! placed on and a code scanned by the simulators through their control sockets. After each
//! step, once the kiosk has settled, one JSON line answers with the screen (see [`report`]) or
//! with an error naming what failed, and the run goes on.
//!
//! Everything happens on the calling thread (Slint's), except reading the input, which a
//! thread of its own turns into messages beside the session's views.

pub mod command;
pub mod report;
mod simulators;

use std::collections::VecDeque;
use std::io::{BufRead, Read, Write};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use kiosk_ui::KioskWindow;
use kiosk_ui::headless::Headless;
use kiosk_ui::screen_reader::{self, Target, TouchError};
use serde_json::json;
use slint::ComponentHandle;

use crate::runtime::{self, RuntimeConfig};
use crate::screen::display::Display;
use crate::session::{Screen, View};
use command::{MAX_LINE, Refusal, Step};
use report::Masking;
use simulators::ControlChannel;

/// The accessible id of the handwriting pad, which `write` draws on unless told otherwise.
pub const HANDWRITING_PAD: &str = "handwriting-pad";

/// Without a view this long after a step, the kiosk has settled.
const QUIET: Duration = Duration::from_millis(250);
/// How long a touch may take to show on the screen.
const AFTER_TOUCH: Duration = Duration::from_secs(1);
/// How long a card or a code may take to be read.
const AFTER_DEVICE: Duration = Duration::from_secs(5);
/// The longest a step's answer waits for a busy kiosk (it then answers `busy: true`).
const SETTLE_AT_MOST: Duration = Duration::from_secs(30);

/// How `kiosk drive` runs.
#[derive(Debug, Clone)]
pub struct DriveOptions {
    /// Print personal data as shown instead of masked.
    pub reveal: bool,
    /// Where `screenshot` steps write (none: they are refused, as a PNG shows everything).
    pub screenshots: Option<PathBuf>,
    /// The card reader simulator's control socket.
    pub card_control: Option<PathBuf>,
    /// The scanner simulator's control socket.
    pub scanner_control: Option<PathBuf>,
    /// The screen's width and height in pixels (wider than high: landscape layout).
    pub size: (u32, u32),
    /// Where rime keeps its deployed schema (the terminal's state folder): text fields type
    /// pinyin, and the handwriting pad is offered beside the keyboard; none: keys go in as
    /// typed and no pad (each method also stays off where its library's data is missing).
    pub pinyin_dir: Option<PathBuf>,
}

impl DriveOptions {
    /// The terminal's screen: portrait 1080×1920, or landscape 1920×1080.
    pub fn screen(landscape: bool) -> (u32, u32) {
        if landscape {
            (1920, 1080)
        } else {
            (1080, 1920)
        }
    }
}

/// How a run went.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Steps answered (comments and blank lines are not steps).
    pub steps: usize,
    /// Of which refused or failed.
    pub refused: usize,
    /// The last application number a receipt showed.
    pub application_no: Option<String>,
    /// That receipt was the terminal's: the application waits in the outbox.
    pub kept: bool,
    /// Screenshots written.
    pub screenshots: usize,
}

/// Why `kiosk drive` could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum DriveError {
    /// The headless screen could not be set up.
    #[error("cannot set up the headless screen: {0}")]
    Screen(String),
    /// The answers could not be written.
    #[error("cannot write an answer: {0}")]
    Output(#[from] std::io::Error),
}

/// What reaches the driving thread.
enum Input {
    View(Box<View>),
    Line(Result<String, Refusal>),
    End,
}

/// Runs the terminal described by `config`, carrying out the steps read from `input` and
/// writing one answer line per step to `output`. Call on the thread that owns Slint, inside
/// the tokio runtime the session driver is to run on.
pub fn run(
    config: RuntimeConfig,
    options: DriveOptions,
    input: impl BufRead + Send + 'static,
    output: &mut dyn Write,
) -> Result<Summary, DriveError> {
    let (width, height) = options.size;
    let headless =
        Headless::install(width, height).map_err(|e| DriveError::Screen(e.to_string()))?;
    let window = KioskWindow::new().map_err(|e| DriveError::Screen(e.to_string()))?;
    window
        .show()
        .map_err(|e| DriveError::Screen(e.to_string()))?;
    let display = Display::new(
        window.clone_strong(),
        &config.settings.terminal_id,
        width > height,
    );
    if let Some(dir) = &options.pinyin_dir {
        crate::screen::pinyin::install(&display, dir);
        display.install_handwriting();
    }
    let (tx, inputs) = mpsc::channel();
    let views = tx.clone();
    let session = runtime::start(config, move |view| {
        let _ = views.send(Input::View(Box::new(view)));
    });
    display.on_action(move |action| session.touch(action));
    std::thread::Builder::new()
        .name("drive-input".into())
        .spawn(move || read_lines(input, &tx))?;
    let mut driver = Driver {
        inputs,
        waiting: VecDeque::new(),
        ended: false,
        display,
        window,
        headless,
        last: None,
        masking: Masking::new(options.reveal),
        card: ControlChannel::new("card reader", options.card_control.clone()),
        scanner: ControlChannel::new("scanner", options.scanner_control.clone()),
        options,
        summary: Summary::default(),
        output,
    };
    driver.run_script()?;
    Ok(driver.summary)
}

/// Turns the input into lines, refusing (and skipping) one over [`MAX_LINE`] or not UTF-8.
fn read_lines(mut input: impl BufRead, tx: &Sender<Input>) {
    loop {
        let mut line = Vec::new();
        match (&mut input)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
        {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                let refusal = Refusal::new("bad_json", format!("cannot read the input: {e}"));
                let _ = tx.send(Input::Line(Err(refusal)));
                break;
            }
        }
        let message = if line.len() > MAX_LINE && !line.ends_with(b"\n") {
            skip_rest_of_line(&mut input);
            Err(Refusal::new(
                "line_too_long",
                format!("a line is at most {MAX_LINE} bytes"),
            ))
        } else {
            String::from_utf8(line)
                .map(|l| l.trim_end_matches(['\n', '\r']).to_owned())
                .map_err(|_| Refusal::new("bad_json", "the line is not UTF-8"))
        };
        if tx.send(Input::Line(message)).is_err() {
            return;
        }
    }
    let _ = tx.send(Input::End);
}

fn skip_rest_of_line(input: &mut impl BufRead) {
    loop {
        let mut scratch = Vec::new();
        match input.take(64 * 1024).read_until(b'\n', &mut scratch) {
            Ok(0) | Err(_) => return,
            Ok(_) if scratch.ends_with(b"\n") => return,
            Ok(_) => {}
        }
    }
}

/// The run's state on the driving thread.
struct Driver<'a> {
    inputs: Receiver<Input>,
    /// Lines that arrived while a step was settling.
    waiting: VecDeque<Result<String, Refusal>>,
    ended: bool,
    display: Display,
    window: KioskWindow,
    headless: Headless,
    last: Option<View>,
    masking: Masking,
    card: ControlChannel,
    scanner: ControlChannel,
    options: DriveOptions,
    summary: Summary,
    output: &'a mut dyn Write,
}

impl Driver<'_> {
    fn run_script(&mut self) -> Result<(), DriveError> {
        let mut number = 0;
        while let Some(line) = self.next_line() {
            number += 1;
            let result = match line {
                Err(refusal) => Err(refusal),
                Ok(line) => {
                    let line = line.trim();
                    if line.is_empty() || line.starts_with('#') {
                        continue;
                    }
                    command::parse(line).and_then(|step| {
                        let name = step.name();
                        self.step(step).map(|()| name)
                    })
                }
            };
            self.answer(number, result)?;
        }
        Ok(())
    }

    /// The next line, applying the views that come first; `None` at the end of the input.
    fn next_line(&mut self) -> Option<Result<String, Refusal>> {
        if let Some(line) = self.waiting.pop_front() {
            return Some(line);
        }
        while !self.ended {
            match self.inputs.recv() {
                Ok(Input::View(view)) => self.apply(*view),
                Ok(Input::Line(line)) => return Some(line),
                Ok(Input::End) | Err(_) => self.ended = true,
            }
        }
        None
    }

    fn apply(&mut self, view: View) {
        self.display.show(&view);
        self.masking.learn(&view);
        if let Screen::Receipt { receipt, kept, .. } = &view.screen {
            self.summary.application_no = Some(receipt.application_no.clone());
            self.summary.kept = *kept;
        }
        self.last = Some(view);
    }

    /// Waits up to `timeout` for the next view and applies it; `true` if one came.
    fn receive(&mut self, timeout: Duration) -> bool {
        match self.inputs.recv_timeout(timeout) {
            Ok(Input::View(view)) => {
                self.apply(*view);
                true
            }
            Ok(Input::Line(line)) => {
                self.waiting.push_back(line);
                false
            }
            Ok(Input::End) => {
                self.ended = true;
                false
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => {
                std::thread::sleep(timeout);
                false
            }
        }
    }

    fn busy(&self) -> bool {
        self.last.as_ref().is_some_and(report::busy)
    }

    /// Waits for what a step set off to show: a first view within `first`, then until no view
    /// has come for [`QUIET`] and the kiosk is not busy (at most [`SETTLE_AT_MOST`]).
    fn settle(&mut self, first: Duration) {
        let start = Instant::now();
        let deadline = start + SETTLE_AT_MOST;
        let mut moved = false;
        loop {
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            let window = if moved {
                QUIET
            } else {
                first.saturating_sub(now - start).max(QUIET)
            };
            if self.receive(window.min(deadline - now)) {
                moved = true;
            } else if Instant::now() >= start + first.max(QUIET) || moved {
                if !self.busy() {
                    return;
                }
                moved = true;
            }
        }
    }

    fn step(&mut self, step: Step) -> Result<(), Refusal> {
        match step {
            Step::Tap {
                label,
                matching,
                nth,
                times,
            } => {
                let target = Target::Label {
                    label: &label,
                    matching,
                    nth,
                };
                for _ in 0..times {
                    screen_reader::press(&self.window, target).map_err(touch_refusal)?;
                }
                self.settle(AFTER_TOUCH);
            }
            Step::Type { text } => self.type_text(&text)?,
            Step::Write { strokes, on, pad } => self.write(&strokes, on.as_deref(), pad)?,
            Step::Card { index } => self.device(true, &format!("place {index}"))?,
            Step::Lift => self.device(true, "lift")?,
            Step::Scan { code } => self.device(false, &format!("scan {code}"))?,
            Step::Wait { screen, timeout } => self.wait(&screen, timeout)?,
            Step::Screenshot { name } => self.screenshot(&name)?,
            Step::Read => self.settle(Duration::ZERO),
        }
        Ok(())
    }

    /// Presses, for each character, the key labelled with it on the input the screen shows:
    /// the number pad, the search keyboard, and the pinyin keyboard (whose candidates are
    /// then chosen with `tap`).
    fn type_text(&mut self, text: &str) -> Result<(), Refusal> {
        for c in text.chars() {
            let key = c.to_string();
            screen_reader::press(&self.window, Target::Key(&key)).map_err(|e| match e {
                TouchError::NoSuchLabel { .. } => Refusal::new(
                    "no_key",
                    format!(
                        "no key `{c}` on this screen's input (Chinese is typed as pinyin, then its candidate tapped)"
                    ),
                ),
                other => touch_refusal(other),
            })?;
        }
        self.settle(AFTER_TOUCH);
        Ok(())
    }

    fn write(
        &mut self,
        strokes: &[Vec<(f32, f32)>],
        on: Option<&str>,
        pad: Option<f32>,
    ) -> Result<(), Refusal> {
        let target = match on {
            Some(label) => Target::Label {
                label,
                matching: screen_reader::LabelMatch::Exact,
                nth: 1,
            },
            None => Target::Id(HANDWRITING_PAD),
        };
        if on.is_none() && !screen_reader::shows(&self.window, target) {
            return Err(Refusal::new(
                "no_handwriting_pad",
                "no handwriting pad on this screen",
            ));
        }
        let scaled;
        let strokes = match pad {
            None => strokes,
            Some(side) => {
                let (width, height) =
                    screen_reader::size(&self.window, target).map_err(touch_refusal)?;
                scaled = strokes
                    .iter()
                    .map(|s| {
                        s.iter()
                            .map(|&(x, y)| (x * width / side, y * height / side))
                            .collect()
                    })
                    .collect::<Vec<Vec<_>>>();
                &scaled
            }
        };
        screen_reader::write_strokes(&self.window, target, strokes).map_err(touch_refusal)?;
        self.settle(AFTER_TOUCH);
        Ok(())
    }

    /// Sends a control line to the card reader's simulator (`card`) or the scanner's.
    fn device(&mut self, card: bool, line: &str) -> Result<(), Refusal> {
        let channel = if card {
            &mut self.card
        } else {
            &mut self.scanner
        };
        channel
            .send(line)
            .map_err(|m| Refusal::new("simulator", m))?;
        self.settle(if line == "lift" {
            AFTER_TOUCH
        } else {
            AFTER_DEVICE
        });
        Ok(())
    }

    fn wait(&mut self, name: &str, timeout: Duration) -> Result<(), Refusal> {
        if !report::SCREEN_NAMES.contains(&name) && !report::DIALOG_NAMES.contains(&name) {
            return Err(Refusal::new(
                "unknown_screen",
                format!(
                    "`{name}` is none of the screens ({}) or dialogs ({})",
                    report::SCREEN_NAMES.join(", "),
                    report::DIALOG_NAMES.join(", ")
                ),
            ));
        }
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(view) = &self.last {
                let shown = report::screen_name(&view.screen) == name
                    || report::dialog_name(view) == Some(name);
                let always_busy = matches!(
                    view.screen,
                    Screen::Submitting { .. } | Screen::Working { .. }
                );
                if shown && (always_busy || !report::busy(view)) {
                    return Ok(());
                }
            }
            let now = Instant::now();
            if now >= deadline {
                let showing = self
                    .last
                    .as_ref()
                    .map_or("nothing yet", |v| report::screen_name(&v.screen));
                return Err(Refusal::new(
                    "timeout",
                    format!(
                        "the kiosk did not show `{name}` within {} ms (it shows {showing})",
                        timeout.as_millis()
                    ),
                ));
            }
            self.receive((deadline - now).min(QUIET));
        }
    }

    fn screenshot(&mut self, name: &str) -> Result<(), Refusal> {
        let Some(dir) = &self.options.screenshots else {
            return Err(Refusal::new(
                "screenshot",
                "screenshots are off: start kiosk drive with --screenshots DIR (a screenshot shows personal data unmasked)",
            ));
        };
        let path = dir.join(name);
        self.headless
            .write_png(&path)
            .map_err(|e| Refusal::new("screenshot", e.to_string()))?;
        self.summary.screenshots += 1;
        Ok(())
    }

    /// Writes the answer to line `number`: the step and the screen, or the error and the screen.
    fn answer(
        &mut self,
        number: usize,
        result: Result<&'static str, Refusal>,
    ) -> Result<(), DriveError> {
        self.summary.steps += 1;
        slint::platform::update_timers_and_animations();
        let reading = screen_reader::read(&self.window);
        self.masking.learn_fields(&reading);
        let screen = self
            .last
            .as_ref()
            .map(|view| report::screen_json(view, &reading, &self.masking));
        let answer = match result {
            Ok(step) => json!({ "line": number, "step": step, "screen": screen }),
            Err(refusal) => {
                self.summary.refused += 1;
                json!({
                    "line": number,
                    "error": { "code": refusal.code, "message": self.masking.text(&refusal.message) },
                    "screen": screen,
                })
            }
        };
        writeln!(self.output, "{answer}")?;
        self.output.flush()?;
        Ok(())
    }
}

fn touch_refusal(error: TouchError) -> Refusal {
    let code = match error {
        TouchError::NoSuchLabel { .. } | TouchError::TooFew { .. } => "unknown_label",
        TouchError::Disabled { .. } => "disabled",
        TouchError::OutsideElement { .. } => "bad_argument",
    };
    Refusal::new(code, error.to_string())
}
