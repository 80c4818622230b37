//! What `kiosk drive` prints of a screen: its name, whether it is still busy, the visible
//! texts, the fields and the controls, with personal data masked unless `--reveal`.
//!
//! Masking works two ways, so that no screen can forget it: every personal value the session
//! has shown in this run (the card holder's name, whatever was typed into a field) is masked
//! wherever it appears, and any standalone run of digits that is a valid citizen ID
//! number, bank card number or mobile number is masked whatever its source. A field's value is
//! always masked: whatever a citizen types is theirs.

use kiosk_protocol::form::numbers::{is_bank_card, is_citizen_id_number, is_phone_number};
use kiosk_protocol::form::{Answer, FieldKind};
use kiosk_ui::screen_reader::Reading;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::session::{ErrandOutcome, PrintStatus, Screen, TaskOutcome, View};

/// The names `wait` accepts and the output carries: one per screen.
pub const SCREEN_NAMES: [&str; 26] = [
    "out-of-service",
    "home",
    "catalog",
    "guide",
    "identify",
    "confirm",
    "form",
    "submitting",
    "submit-failed",
    "receipt",
    "rating",
    "thanks",
    "technician-pin",
    "maintenance",
    "departments",
    "search",
    "materials",
    "commitment",
    "review",
    "queue-pick",
    "check-in",
    "identify-for",
    "working",
    "errand-result",
    "correction-review",
    "completion-rating",
];

/// The dialogs over a screen `wait` also accepts.
pub const DIALOG_NAMES: [&str; 2] = ["timeout-warning", "attract"];

/// A screen's stable name (kebab case, as in [`SCREEN_NAMES`]).
pub fn screen_name(screen: &Screen) -> &'static str {
    match screen {
        Screen::OutOfService => "out-of-service",
        Screen::Home => "home",
        Screen::Catalog { .. } => "catalog",
        Screen::Guide { .. } => "guide",
        Screen::Identify { .. } => "identify",
        Screen::Confirm { .. } => "confirm",
        Screen::Form { .. } => "form",
        Screen::Submitting { .. } => "submitting",
        Screen::SubmitFailed { .. } => "submit-failed",
        Screen::Receipt { .. } => "receipt",
        Screen::Rating { .. } => "rating",
        Screen::Thanks => "thanks",
        Screen::TechnicianPin(_) => "technician-pin",
        Screen::Maintenance(_) => "maintenance",
        Screen::Departments { .. } => "departments",
        Screen::Search { .. } => "search",
        Screen::Materials { .. } => "materials",
        Screen::Commitment { .. } => "commitment",
        Screen::Review { .. } => "review",
        Screen::QueuePick { .. } => "queue-pick",
        Screen::CheckIn { .. } => "check-in",
        Screen::IdentifyFor { .. } => "identify-for",
        Screen::Working { .. } => "working",
        Screen::ErrandResult { .. } => "errand-result",
        Screen::CorrectionReview { .. } => "correction-review",
        Screen::CompletionRating { .. } => "completion-rating",
    }
}

/// The dialog over the screen, if one shows.
pub fn dialog_name(view: &View) -> Option<&'static str> {
    if view.timeout_warning.is_some() {
        Some("timeout-warning")
    } else if view.attract {
        Some("attract")
    } else {
        None
    }
}

/// The kiosk is still working on something the citizen waits for: the catalog at start, the
/// platform's answer, a page being photographed, a receipt or ticket being printed, a
/// technician's task. A step's answer waits until it is done.
pub fn busy(view: &View) -> bool {
    match &view.screen {
        Screen::Home => view.catalog.is_none(),
        Screen::Submitting { .. } | Screen::Working { .. } => true,
        Screen::Receipt { printing, .. } => *printing == PrintStatus::Printing,
        Screen::ErrandResult { printing, .. } => *printing == Some(PrintStatus::Printing),
        Screen::Materials { capturing, .. } => *capturing,
        Screen::Maintenance(panel) => {
            matches!(panel.last_task, Some((_, TaskOutcome::Running)))
        }
        _ => false,
    }
}

/// How many personal values a run remembers for masking (the oldest are forgotten first).
const REMEMBERED: usize = 64;

/// The masking of one run.
pub struct Masking {
    reveal: bool,
    personal: Vec<Zeroizing<String>>,
}

impl std::fmt::Debug for Masking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Masking")
            .field("reveal", &self.reveal)
            .field("remembered", &self.personal.len())
            .finish()
    }
}

fn masked(text: &str) -> String {
    "•".repeat(text.chars().count())
}

impl Masking {
    /// Masking on, unless `reveal`.
    pub fn new(reveal: bool) -> Self {
        Self {
            reveal,
            personal: Vec::new(),
        }
    }

    fn remember(&mut self, value: &str, shortest: usize) {
        let value = value.trim();
        if self.reveal
            || value.chars().count() < shortest
            || self.personal.iter().any(|p| p.as_str() == value)
        {
            return;
        }
        if self.personal.len() == REMEMBERED {
            self.personal.remove(0);
        }
        self.personal.push(Zeroizing::new(value.to_owned()));
        // Longer first, so that a name is masked whole before a part of it would be.
        self.personal.sort_by_key(|p| std::cmp::Reverse(p.len()));
    }

    /// Learns the personal values a view holds.
    pub fn learn(&mut self, view: &View) {
        if let Some(applicant) = &view.applicant {
            self.remember(&applicant.name, 1);
        }
        // A partly typed phone is masked in its field; its first digits alone would mask every
        // digit on the screen.
        self.remember(&view.phone, 3);
        // 办件查询: the answers the platform holds for the card holder, every one of them (their
        // kinds are not known here, so none is taken for harmless).
        if let Screen::ErrandResult {
            outcome: ErrandOutcome::Progress(found),
            ..
        } = &view.screen
        {
            for line in found.iter().flat_map(|status| &status.answers) {
                self.remember(&line.value.zh, 2);
                self.remember(&line.value.en, 2);
            }
        }
        // What the form holds as typed (not the options chosen): the review and the receipt
        // show it again, joined to other words (an address's street after its township).
        for field in view.form.iter().flat_map(|form| &form.fields) {
            match (&field.field.kind, &field.answer) {
                (FieldKind::Choice { .. } | FieldKind::MultiChoice { .. }, _) => {}
                (_, Some(Answer::Address(address))) => self.remember(&address.street, 2),
                (_, Some(Answer::Text(text))) => {
                    let digits = text.chars().all(|c| c.is_ascii_digit());
                    self.remember(text, if digits { 3 } else { 2 });
                }
                _ => {}
            }
        }
    }

    /// Learns what the citizen typed into the screen's fields, so that it stays masked where
    /// a later screen shows it as text (the review lists every answer). A value of digits
    /// only is remembered from its third digit, so the first digits of a phone do not mask
    /// every number on the screen.
    pub fn learn_fields(&mut self, reading: &Reading) {
        for field in &reading.fields {
            let digits = field.value.chars().all(|c| c.is_ascii_digit());
            self.remember(&field.value, if digits { 3 } else { 2 });
        }
    }

    /// A text as the output shows it.
    pub fn text(&self, text: &str) -> String {
        if self.reveal {
            return text.to_owned();
        }
        let mut out = text.to_owned();
        for value in &self.personal {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), &masked(value));
            }
        }
        mask_numbers(&out)
    }

    /// A field's value as the output shows it.
    pub fn value(&self, value: &str) -> String {
        if self.reveal {
            value.to_owned()
        } else {
            masked(value)
        }
    }
}

/// Masks every standalone run of ASCII digits (an ID number's last may be `X`) that is a valid
/// ID number, bank card number or mobile number. Standalone: not inside a longer run of ASCII
/// letters and digits, so an application number (`LY2026…`) stays readable.
fn mask_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut token = String::new();
    let flush = |token: &mut String, out: &mut String| {
        let personal = token.bytes().all(|b| b.is_ascii_digit() || b == b'X')
            && (is_citizen_id_number(token) || is_bank_card(token) || is_phone_number(token));
        if personal {
            out.push_str(&masked(token));
        } else {
            out.push_str(token);
        }
        token.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            token.push(c);
        } else {
            flush(&mut token, &mut out);
            out.push(c);
        }
    }
    flush(&mut token, &mut out);
    out
}

/// The screen as one JSON object.
pub fn screen_json(view: &View, reading: &Reading, masking: &Masking) -> Value {
    let texts: Vec<String> = reading.texts.iter().map(|t| masking.text(t)).collect();
    let fields: Vec<Value> = reading
        .fields
        .iter()
        .map(|f| {
            json!({
                "label": masking.text(&f.label),
                "value": masking.value(&f.value),
                "error": f.error.as_deref().map(|e| masking.text(e)),
            })
        })
        .collect();
    let controls: Vec<Value> = reading
        .controls
        .iter()
        .map(|c| json!({ "label": masking.text(&c.label), "enabled": c.enabled }))
        .collect();
    let mut screen = json!({
        "name": screen_name(&view.screen),
        "busy": busy(view),
        "dialog": dialog_name(view),
        "language": if view.language == kiosk_protocol::Language::En { "en" } else { "zh" },
        "elder": view.elder,
        "texts": texts,
        "fields": fields,
        "controls": controls,
    });
    if let Screen::Receipt {
        receipt,
        printing,
        kept,
    } = &view.screen
    {
        screen["receipt"] = json!({
            "application_no": receipt.application_no,
            "kept": kept,
            "printed": match printing {
                PrintStatus::Printing => "printing",
                PrintStatus::Printed => "printed",
                PrintStatus::Failed(_) => "failed",
            },
        });
    }
    screen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_numbers_bank_cards_and_phones_are_masked_wherever_they_show() {
        let masking = Masking::new(false);
        // A valid ID number (check digit X), a Luhn-valid card, a mobile number.
        let text = "证件 11010519491231002X 卡 6222020200112233446 电话13912345678。";
        let out = masking.text(text);
        assert!(!out.contains("11010519491231002X"), "{out}");
        assert!(!out.contains("6222020200112233446"), "{out}");
        assert!(!out.contains("13912345678"), "{out}");
        assert!(out.starts_with("证件 ••••"), "{out}");
    }

    #[test]
    fn application_numbers_and_ordinary_numbers_stay_readable() {
        let masking = Masking::new(false);
        for text in [
            "LY20261122000001",
            "第 3 步，共 5 步",
            "2026-12-07 13:05",
            "12345678901",
        ] {
            assert_eq!(masking.text(text), text);
        }
    }

    #[test]
    fn a_value_once_shown_stays_masked_for_the_run() {
        let mut masking = Masking::new(false);
        masking.remember("张三丰", 1);
        masking.remember("张三", 1);
        assert_eq!(masking.text("张三丰，您好；张三"), "•••，您好；••");
        // What was typed into a field stays masked where the review shows it as text.
        masking.learn_fields(&Reading {
            fields: vec![kiosk_ui::screen_reader::FieldReading {
                label: "地址".into(),
                value: "幸福路88号".into(),
                error: None,
            }],
            ..Reading::default()
        });
        assert_eq!(masking.text("地址：幸福路88号"), "地址：••••••");
        assert_eq!(masking.value("139"), "•••");
        let revealed = Masking::new(true);
        assert_eq!(revealed.text("张三丰"), "张三丰");
        assert_eq!(revealed.value("139"), "139");
    }
}
