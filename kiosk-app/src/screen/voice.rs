//! Speech output: each screen's main instruction, spoken when speech is on (by the
//! accessibility button, and by default in 长辈版), as closed-function kiosks are expected to
//! (EN 301 549 §5.1.3).
//!
//! Speech goes through Debian's `espeak-ng` with its Mandarin (`cmn`) or English voice. A new
//! screen interrupts what is still being said about the last one.

use std::process::{Child, Command, Stdio};

use kiosk_protocol::{Language, LocalizedText};
use kiosk_ui::speech::Instruction;

use crate::session::{
    CaptureProblem, CheckInPrompt, ErrandOutcome, IdentifyPrompt, PrintFailure, PrintStatus,
    Screen, SubmitFailure, View,
};

/// The sentence to speak for what `view` shows, if anything, in both languages.
pub fn instruction(view: &View) -> Option<LocalizedText> {
    form_problem(view)
        .or_else(|| spoken(view).map(|i| LocalizedText::new(i.chinese(), i.english())))
}

/// On the form, the first problem shown, said with its field's question ("手机号码：请填写
/// 11位手机号码…"), so a citizen who cannot read the red text hears what to correct.
fn form_problem(view: &View) -> Option<LocalizedText> {
    let form = view.form.as_ref()?;
    let (field, problem) = form
        .fields
        .iter()
        .find_map(|f| Some((&f.field, f.problem.as_ref()?)))?;
    let message = problem.message();
    Some(LocalizedText::new(
        format!("{}：{}", field.label.zh, message.zh),
        format!("{}: {}", field.label.en, message.en),
    ))
}

/// Which instruction `view` calls for; the sentences themselves are kiosk-ui's, translated
/// beside the screens' strings.
fn spoken(view: &View) -> Option<Instruction> {
    use Instruction as I;
    Some(match &view.screen {
        // The technician's screens are not announced to the hall.
        Screen::TechnicianPin(_) | Screen::Maintenance(_) => return None,
        Screen::OutOfService => I::OutOfService,
        Screen::Home => I::Home,
        Screen::Catalog { .. } => I::Catalog,
        Screen::Guide { .. } if !view.devices.card_reader => I::GuideWithoutReader,
        Screen::Guide { .. } => I::Guide,
        Screen::Identify { prompt, .. } | Screen::IdentifyFor { prompt, .. } => match prompt {
            IdentifyPrompt::PlaceCard => I::PlaceCard,
            IdentifyPrompt::PlaceAgain => I::PlaceAgain,
            IdentifyPrompt::Expired => I::CardExpired,
            IdentifyPrompt::Unreadable => I::CardUnreadable,
            IdentifyPrompt::ReaderUnavailable => I::ReaderUnavailable,
            IdentifyPrompt::CodeNotAccepted => I::CodeNotAccepted,
        },
        Screen::Confirm { .. } if view.phone_problem => I::PhoneWrong,
        Screen::Confirm { .. } => I::Confirm,
        Screen::Form { .. } => I::Form,
        Screen::Departments { .. } => I::Departments,
        Screen::Search { .. } => I::Search,
        Screen::Materials {
            problem: Some(problem),
            ..
        } => match problem {
            CaptureProblem::NoPage => I::NoPage,
            CaptureProblem::CameraFailed => I::CameraFailed,
            CaptureProblem::TooManyPages => I::TooManyPages,
        },
        Screen::Materials { .. } => I::Materials,
        Screen::Commitment { .. } => I::Commitment,
        Screen::Review { .. } => I::Review,
        Screen::QueuePick { .. } => I::QueuePick,
        Screen::CheckIn {
            prompt: CheckInPrompt::NotAnAppointmentCode,
            ..
        } => I::NotAnAppointmentCode,
        Screen::CheckIn { .. } => I::CheckIn,
        Screen::Working { .. } => I::Working,
        Screen::ErrandResult { outcome, .. } => match outcome {
            ErrandOutcome::Ticket { .. } => I::Ticket,
            ErrandOutcome::NoAppointment => I::NoAppointment,
            ErrandOutcome::Progress(list) if list.is_empty() => I::NoApplications,
            ErrandOutcome::Progress(_) => I::Progress,
            ErrandOutcome::CertificatePrinted => I::CertificatePrinted,
            ErrandOutcome::Unreachable | ErrandOutcome::Refused => I::ErrandUnavailable,
            ErrandOutcome::PrinterFailed => I::CertificateNotPrinted,
            ErrandOutcome::CorrectionAnswered => I::CorrectionAnswered,
            ErrandOutcome::CompletionRated => I::CompletionRated,
        },
        Screen::Submitting { .. } => I::Submitting,
        Screen::SubmitFailed { failure, .. } => match failure {
            SubmitFailure::Unreachable => I::SubmitUnreachable,
            SubmitFailure::Rejected => I::SubmitRejected,
        },
        Screen::Receipt { printing, .. } => match printing {
            PrintStatus::Printing => I::ReceiptPrinting,
            PrintStatus::Printed => I::ReceiptPrinted,
            PrintStatus::Failed(PrintFailure::PaperOut | PrintFailure::PrinterFault) => {
                I::ReceiptNotPrinted
            }
        },
        Screen::Rating { .. } => I::Rating,
        Screen::CompletionRating { .. } => I::CompletionRating,
        Screen::CorrectionReview { .. } => I::CorrectionReview,
        Screen::Thanks => I::Thanks,
    })
}

/// Command-line arguments for `espeak-ng` saying `text`: the Mandarin or English voice, a
/// slower rate in elder mode.
pub fn espeak_args(text: &str, language: Language, elder: bool) -> Vec<String> {
    let voice = match language {
        Language::Zh => "cmn",
        Language::En => "en-us",
    };
    let words_per_minute = if elder { 130 } else { 165 };
    vec![
        "-v".into(),
        voice.into(),
        "-s".into(),
        words_per_minute.to_string(),
        "--".into(),
        text.into(),
    ]
}

/// Speaks instructions through `espeak-ng`, one at a time.
pub struct Voice {
    speaking: Option<Child>,
    last: Option<(String, Language)>,
}

impl Voice {
    /// A voice, when `espeak-ng` is installed; `None` otherwise (speech is then unavailable and
    /// said so once in the log).
    pub fn find() -> Option<Self> {
        let found = Command::new("espeak-ng")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            tracing::warn!("espeak-ng is not installed: speech output is unavailable");
            return None;
        }
        Some(Self {
            speaking: None,
            last: None,
        })
    }

    /// Speaks the instruction for `view` if speech is on and it differs from the last one said.
    pub fn follow(&mut self, view: &View) {
        if !view.speech {
            self.stop();
            self.last = None;
            return;
        }
        let Some(text) = instruction(view) else {
            return;
        };
        let sentence = text.get(view.language).to_owned();
        if self.last.as_ref() == Some(&(sentence.clone(), view.language)) {
            return;
        }
        self.stop();
        match Command::new("espeak-ng")
            .args(espeak_args(&sentence, view.language, view.elder))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(child) => self.speaking = Some(child),
            Err(e) => tracing::warn!(error = %e, "cannot speak"),
        }
        self.last = Some((sentence, view.language));
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.speaking.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Voice {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{DeviceAvailability, Errand};

    fn view(screen: Screen) -> View {
        View {
            screen,
            language: Language::Zh,
            timeout_warning: None,
            catalog: None,
            applicant: None,
            devices: DeviceAvailability::default(),
            elder: false,
            speech: true,
            attract: false,
            phone: String::new(),
            phone_problem: false,
            search_results: Vec::new(),
            materials: Vec::new(),
            preview: None,
            revoked: false,
            form: None,
            answers: Vec::new(),
            correcting: false,
        }
    }

    #[test]
    fn the_form_says_the_first_problem_with_its_question() {
        let field: kiosk_protocol::form::FormField = serde_json::from_value(serde_json::json!({
            "id": "phone", "kind": "phone", "required": true,
            "label": {"zh": "联系电话", "en": "Phone"}
        }))
        .expect("field");
        let mut shown = view(Screen::Form { matter: "m".into() });
        let mut form = crate::session::FormView {
            page: 0,
            pages: 1,
            title: LocalizedText::new("联系方式", "Contact"),
            fields: vec![crate::session::FieldView {
                field,
                answer: None,
                locked: false,
                focused: false,
                problem: None,
            }],
            county: None,
            composition: Default::default(),
            today: time::macros::date!(2026 - 12 - 07),
        };
        shown.form = Some(form.clone());
        let plain = instruction(&shown).expect("spoken");
        assert_eq!(plain.en, Instruction::Form.english());
        form.fields[0].problem = Some(kiosk_protocol::form::FieldProblem::Required);
        shown.form = Some(form);
        let spoken = instruction(&shown).expect("spoken");
        assert_eq!(spoken.zh, "联系电话：请填写此项");
        assert_eq!(spoken.en, "Phone: Please fill this in");
    }

    #[test]
    fn every_screen_has_an_instruction_in_both_languages() {
        let screens = [
            Screen::OutOfService,
            Screen::Home,
            Screen::Catalog { theme: None },
            Screen::Guide { matter: "m".into() },
            Screen::Identify {
                matter: "m".into(),
                prompt: IdentifyPrompt::PlaceCard,
            },
            Screen::Identify {
                matter: "m".into(),
                prompt: IdentifyPrompt::Expired,
            },
            Screen::Confirm { matter: "m".into() },
            Screen::Form { matter: "m".into() },
            Screen::Submitting { matter: "m".into() },
            Screen::SubmitFailed {
                matter: "m".into(),
                failure: SubmitFailure::Unreachable,
            },
            Screen::Rating {
                application_no: "LY1".into(),
                matter: "m".into(),
                level: None,
                reason: None,
            },
            Screen::Thanks,
            Screen::Departments { department: None },
            Screen::Search { query: "sb".into() },
            Screen::Materials {
                matter: "m".into(),
                slot: 0,
                capturing: false,
                problem: Some(CaptureProblem::NoPage),
            },
            Screen::Commitment {
                matter: "m".into(),
                slot: 0,
            },
            Screen::Review { matter: "m".into() },
            Screen::QueuePick { theme: None },
            Screen::CheckIn {
                prompt: CheckInPrompt::NotAnAppointmentCode,
                card: IdentifyPrompt::PlaceCard,
            },
            Screen::IdentifyFor {
                errand: Errand::Progress,
                prompt: IdentifyPrompt::PlaceCard,
            },
            Screen::Working {
                errand: Errand::Certificate,
            },
            Screen::ErrandResult {
                errand: Errand::Ticket,
                outcome: ErrandOutcome::NoAppointment,
                printing: None,
            },
            Screen::ErrandResult {
                errand: Errand::Certificate,
                outcome: ErrandOutcome::Unreachable,
                printing: None,
            },
        ];
        let mut said = std::collections::HashSet::new();
        for screen in screens {
            let text = instruction(&view(screen.clone()))
                .unwrap_or_else(|| panic!("{screen:?} says nothing"));
            assert!(!text.is_incomplete(), "{screen:?}");
            said.insert(text.zh);
        }
        assert!(
            said.len() >= 20,
            "screens share their instructions: {said:?}"
        );
    }

    #[test]
    fn the_guide_says_why_applying_is_unavailable() {
        let mut v = view(Screen::Guide { matter: "m".into() });
        v.devices.card_reader = false;
        assert!(instruction(&v).is_some_and(|t| t.zh.contains("读卡器")));
    }

    #[test]
    fn what_espeak_is_asked_to_say_is_pinned_in_both_languages() {
        let said = |screen: Screen, language: Language| {
            let mut v = view(screen);
            v.language = language;
            instruction(&v)
                .map(|t| t.get(language).to_owned())
                .unwrap_or_default()
        };
        assert_eq!(
            said(Screen::Home, Language::Zh),
            "欢迎使用连易办。请点击开始办事。"
        );
        assert_eq!(
            said(Screen::Home, Language::En),
            "Welcome. Touch Start a service to begin."
        );
        let too_many = || Screen::Materials {
            matter: "m".into(),
            slot: 0,
            capturing: false,
            problem: Some(CaptureProblem::TooManyPages),
        };
        // The screen shows 此材料页数已达上限 for the same English; the voice keeps its words.
        assert_eq!(said(too_many(), Language::Zh), "此材料页数已满。");
        assert_eq!(
            said(too_many(), Language::En),
            "This material already has the most pages it may have."
        );
        let paper_out = || Screen::Receipt {
            receipt: kiosk_protocol::ApplicationReceipt {
                application_no: "LY1".into(),
                matter_id: "m".into(),
                accepted_at: String::new(),
                progress_url: String::new(),
                replayed: false,
                progress_code: String::new(),
            },
            printing: PrintStatus::Failed(PrintFailure::PaperOut),
            kept: false,
        };
        assert_eq!(
            said(paper_out(), Language::Zh),
            "您的申请已受理。回执未能打印，请扫描屏幕上的二维码查询进度。"
        );
        assert_eq!(
            said(paper_out(), Language::En),
            "Your application is accepted. The receipt could not be printed; scan the code on screen to follow it."
        );
        assert_eq!(
            said(Screen::Thanks, Language::Zh),
            "办理完成，谢谢。请带好您的身份证和回执。"
        );
    }

    #[test]
    fn elder_mode_speaks_slower_in_the_right_voice() {
        assert_eq!(
            espeak_args("你好", Language::Zh, true),
            ["-v", "cmn", "-s", "130", "--", "你好"]
        );
        assert_eq!(
            espeak_args("-x hello", Language::En, false),
            ["-v", "en-us", "-s", "165", "--", "-x hello"]
        );
    }
}
