//! One line of a `kiosk drive` script: a JSON object naming one step and its options, checked
//! before anything is done, so a bad line is answered with a code and a reason and changes
//! nothing.

use std::time::Duration;

use kiosk_ui::screen_reader::LabelMatch;
use serde_json::{Map, Value};

/// The longest line read; the rest of a longer one is skipped and the line refused.
pub const MAX_LINE: usize = 256 * 1024;
/// The largest square `write`'s `pad` may name.
const MAX_PAD_SIDE: f64 = 4096.0;
/// The most strokes one `write` may draw.
const MAX_STROKES: usize = 64;
/// The most points all strokes of one `write` may have together.
const MAX_POINTS: usize = 8192;
/// The longest `type` text.
const MAX_TYPED: usize = 256;
/// The longest scanned code (a QR code carries under 3 KB).
const MAX_CODE: usize = 4096;
/// How long `wait` waits unless told.
const DEFAULT_WAIT: Duration = Duration::from_secs(30);
/// The longest `wait`.
const MAX_WAIT: Duration = Duration::from_secs(600);

/// What a line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Press the element with this accessible label, `times` times (5 quick taps open the
    /// technician's PIN pad).
    Tap {
        /// The label.
        label: String,
        /// Whole label or its beginning.
        matching: LabelMatch,
        /// Which of the elements carrying it (1 is the first).
        nth: usize,
        /// How many taps.
        times: usize,
    },
    /// Type text on the input the screen shows (its keys, one per character).
    Type {
        /// The text.
        text: String,
    },
    /// Draw strokes on the handwriting pad (or on the element labelled `on`).
    Write {
        /// Each stroke's points in the pad's own logical pixels.
        strokes: Vec<Vec<(f32, f32)>>,
        /// The element to draw on, when not the handwriting pad.
        on: Option<String>,
        /// The points are on a square of this side, scaled to the element's size (so one
        /// script writes the same character on the portrait, landscape and 长辈版 pads).
        pad: Option<f32>,
    },
    /// Place simulated card N on the reader.
    Card {
        /// Index in the simulator's deck.
        index: u32,
    },
    /// Lift the card off the reader.
    Lift,
    /// Scan a code with the simulated scanner.
    Scan {
        /// What the code carries.
        code: String,
    },
    /// Wait until a screen (or a dialog over it) shows, ready for the citizen.
    Wait {
        /// Its name.
        screen: String,
        /// How long at most.
        timeout: Duration,
    },
    /// Write the screen as a PNG in the screenshot folder.
    Screenshot {
        /// The file's name.
        name: String,
    },
    /// Print the screen as it is.
    Read,
}

impl Step {
    /// The step's name, as the line spelled it.
    pub fn name(&self) -> &'static str {
        match self {
            Step::Tap { .. } => "tap",
            Step::Type { .. } => "type",
            Step::Write { .. } => "write",
            Step::Card { .. } => "card",
            Step::Lift => "lift",
            Step::Scan { .. } => "scan",
            Step::Wait { .. } => "wait",
            Step::Screenshot { .. } => "screenshot",
            Step::Read => "read",
        }
    }
}

/// Why a line was refused or a step failed: a stable code and a sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// Stable, for scripts to test: `bad_json`, `unknown_command`, `bad_argument`,
    /// `unknown_label`, `disabled`, `no_key`, `no_handwriting_pad`, `unknown_screen`,
    /// `timeout`, `simulator`, `screenshot`, `line_too_long`.
    pub code: &'static str,
    /// What went wrong, in English.
    pub message: String,
}

impl Refusal {
    /// A refusal with this code.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

const STEPS: [&str; 9] = [
    "tap",
    "type",
    "write",
    "card",
    "lift",
    "scan",
    "wait",
    "screenshot",
    "read",
];

/// Which options each step takes besides its own key.
fn options_of(step: &str) -> &'static [&'static str] {
    match step {
        "tap" => &["nth", "times", "prefix"],
        "write" => &["on", "pad"],
        "wait" => &["timeout_ms"],
        _ => &[],
    }
}

fn bad(message: impl Into<String>) -> Refusal {
    Refusal::new("bad_argument", message)
}

/// Parses one line.
pub fn parse(line: &str) -> Result<Step, Refusal> {
    let value: Value = serde_json::from_str(line)
        .map_err(|e| Refusal::new("bad_json", format!("not a JSON object: {e}")))?;
    let Value::Object(object) = value else {
        return Err(Refusal::new("bad_json", "a line must be one JSON object"));
    };
    let named: Vec<&str> = STEPS
        .iter()
        .copied()
        .filter(|s| object.contains_key(*s))
        .collect();
    let step = match named.as_slice() {
        [one] => *one,
        [] => {
            return Err(Refusal::new(
                "unknown_command",
                format!("a line names one of: {}", STEPS.join(", ")),
            ));
        }
        many => {
            return Err(Refusal::new(
                "unknown_command",
                format!("a line names one step, not {}", many.join(" and ")),
            ));
        }
    };
    if let Some(extra) = object
        .keys()
        .find(|k| k.as_str() != step && !options_of(step).contains(&k.as_str()))
    {
        return Err(bad(format!("`{step}` takes no `{extra}`")));
    }
    let argument = &object[step];
    match step {
        "tap" => tap(argument, &object),
        "type" => {
            let text = text(argument, "type", MAX_TYPED)?;
            Ok(Step::Type { text })
        }
        "write" => write(argument, &object),
        "card" => argument
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n < 1000)
            .map(|index| Step::Card { index })
            .ok_or_else(|| bad("`card` is the index of a card in the simulator's deck (0–999)")),
        "lift" => match argument {
            Value::Bool(true) => Ok(Step::Lift),
            _ => Err(bad("`lift` is `true`")),
        },
        "scan" => {
            let code = text(argument, "scan", MAX_CODE)?;
            Ok(Step::Scan { code })
        }
        "wait" => {
            let screen = text(argument, "wait", 64)?;
            let timeout = match object.get("timeout_ms") {
                None => DEFAULT_WAIT,
                Some(ms) => ms
                    .as_u64()
                    .map(Duration::from_millis)
                    .filter(|t| !t.is_zero() && *t <= MAX_WAIT)
                    .ok_or_else(|| bad("`timeout_ms` is 1 to 600000"))?,
            };
            Ok(Step::Wait { screen, timeout })
        }
        "screenshot" => screenshot(argument),
        _ => match argument {
            Value::Bool(true) => Ok(Step::Read),
            _ => Err(bad("`read` is `true`")),
        },
    }
}

/// A non-empty string without control characters, at most `max` characters.
fn text(value: &Value, key: &str, max: usize) -> Result<String, Refusal> {
    let Some(s) = value.as_str() else {
        return Err(bad(format!("`{key}` is a string")));
    };
    if s.is_empty() || s.chars().count() > max {
        return Err(bad(format!("`{key}` is 1 to {max} characters")));
    }
    if s.chars().any(char::is_control) {
        return Err(bad(format!("`{key}` has a control character")));
    }
    Ok(s.to_owned())
}

fn small_count(object: &Map<String, Value>, key: &str, max: u64) -> Result<usize, Refusal> {
    match object.get(key) {
        None => Ok(1),
        Some(n) => n
            .as_u64()
            .filter(|n| (1..=max).contains(n))
            .map(|n| n as usize)
            .ok_or_else(|| bad(format!("`{key}` is 1 to {max}"))),
    }
}

fn tap(argument: &Value, object: &Map<String, Value>) -> Result<Step, Refusal> {
    let label = text(argument, "tap", 200)?;
    let matching = match object.get("prefix") {
        None | Some(Value::Bool(false)) => LabelMatch::Exact,
        Some(Value::Bool(true)) => LabelMatch::Prefix,
        Some(_) => return Err(bad("`prefix` is true or false")),
    };
    Ok(Step::Tap {
        label,
        matching,
        nth: small_count(object, "nth", 100)?,
        times: small_count(object, "times", 10)?,
    })
}

fn write(argument: &Value, object: &Map<String, Value>) -> Result<Step, Refusal> {
    let shape = "`write` is a list of strokes, each a list of [x, y] points";
    let strokes = argument.as_array().ok_or_else(|| bad(shape))?;
    if strokes.is_empty() || strokes.len() > MAX_STROKES {
        return Err(bad(format!("`write` has 1 to {MAX_STROKES} strokes")));
    }
    let mut points = 0;
    let mut parsed = Vec::with_capacity(strokes.len());
    for stroke in strokes {
        let stroke = stroke
            .as_array()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| bad(shape))?;
        points += stroke.len();
        if points > MAX_POINTS {
            return Err(bad(format!("`write` has at most {MAX_POINTS} points")));
        }
        let mut line = Vec::with_capacity(stroke.len());
        for point in stroke {
            let xy = point
                .as_array()
                .filter(|p| p.len() == 2)
                .and_then(|p| Some((p[0].as_f64()?, p[1].as_f64()?)))
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .ok_or_else(|| bad(shape))?;
            line.push((xy.0 as f32, xy.1 as f32));
        }
        parsed.push(line);
    }
    let on = match object.get("on") {
        None => None,
        Some(label) => Some(text(label, "on", 200)?),
    };
    let pad = match object.get("pad") {
        None => None,
        Some(side) => Some(
            side.as_f64()
                .filter(|side| (1.0..=MAX_PAD_SIDE).contains(side))
                .ok_or_else(|| bad(format!("`pad` is a side from 1 to {MAX_PAD_SIDE}")))?
                as f32,
        ),
    };
    Ok(Step::Write {
        strokes: parsed,
        on,
        pad,
    })
}

/// A plain PNG file name: the screenshot lands in the folder `--screenshots` names, never
/// elsewhere.
fn screenshot(argument: &Value) -> Result<Step, Refusal> {
    let name = text(argument, "screenshot", 100)?;
    let plain = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.')
        && name.ends_with(".png");
    if !plain {
        return Err(bad(
            "`screenshot` is a file name like `01-home.png` (letters, digits, - _ .)",
        ));
    }
    Ok(Step::Screenshot { name })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_parses_with_its_options() {
        assert_eq!(
            parse(r#"{"tap": "下一步", "nth": 2, "times": 5, "prefix": true}"#),
            Ok(Step::Tap {
                label: "下一步".into(),
                matching: LabelMatch::Prefix,
                nth: 2,
                times: 5
            })
        );
        assert_eq!(
            parse(r#"{"write": [[[1, 2], [3.5, 4]], [[5, 6]]]}"#),
            Ok(Step::Write {
                strokes: vec![vec![(1.0, 2.0), (3.5, 4.0)], vec![(5.0, 6.0)]],
                on: None,
                pad: None
            })
        );
        assert_eq!(
            parse(r#"{"write": [[[1, 2]]], "pad": 300}"#),
            Ok(Step::Write {
                strokes: vec![vec![(1.0, 2.0)]],
                on: None,
                pad: Some(300.0)
            })
        );
        assert_eq!(
            parse(r#"{"wait": "receipt", "timeout_ms": 5000}"#),
            Ok(Step::Wait {
                screen: "receipt".into(),
                timeout: Duration::from_secs(5)
            })
        );
        assert_eq!(parse(r#"{"card": 1}"#), Ok(Step::Card { index: 1 }));
        assert_eq!(parse(r#"{"lift": true}"#), Ok(Step::Lift));
        assert_eq!(parse(r#"{"read": true}"#), Ok(Step::Read));
    }

    #[test]
    fn bad_lines_are_refused_with_a_code() {
        let code = |line: &str| parse(line).map_err(|r| r.code);
        assert_eq!(code("{\"tap\": "), Err("bad_json"));
        assert_eq!(code("[1, 2]"), Err("bad_json"));
        assert_eq!(code(r#"{"fly": true}"#), Err("unknown_command"));
        assert_eq!(code(r#"{"tap": "a", "type": "b"}"#), Err("unknown_command"));
        assert_eq!(
            code(r#"{"tap": "a", "timeout_ms": 3}"#),
            Err("bad_argument")
        );
        assert_eq!(code(r#"{"tap": ""}"#), Err("bad_argument"));
        assert_eq!(code(r#"{"card": -1}"#), Err("bad_argument"));
        assert_eq!(
            code(r#"{"wait": "home", "timeout_ms": 0}"#),
            Err("bad_argument")
        );
        assert_eq!(code(r#"{"write": []}"#), Err("bad_argument"));
        assert_eq!(code(r#"{"write": [[[1]]]}"#), Err("bad_argument"));
        assert_eq!(code(r#"{"write": [[]]}"#), Err("bad_argument"));
        for pad in ["0", "-300", "1e9", "\"300\""] {
            let line = format!(r#"{{"write": [[[1, 2]]], "pad": {pad}}}"#);
            assert_eq!(code(&line), Err("bad_argument"), "{line}");
        }
    }

    #[test]
    fn a_scanned_code_cannot_smuggle_a_second_control_line() {
        // The simulator's control channel is line-based: a newline would be a second command.
        assert_eq!(
            parse(r#"{"scan": "APPT-1\nquit"}"#).map_err(|r| r.code),
            Err("bad_argument")
        );
    }

    #[test]
    fn screenshots_stay_in_their_folder() {
        for name in ["../x.png", "/tmp/x.png", ".png", "a/b.png", "shot.jpg"] {
            let line = serde_json::json!({ "screenshot": name }).to_string();
            assert_eq!(
                parse(&line).map_err(|r| r.code),
                Err("bad_argument"),
                "{name}"
            );
        }
        assert!(parse(r#"{"screenshot": "01-home.png"}"#).is_ok());
    }
}
