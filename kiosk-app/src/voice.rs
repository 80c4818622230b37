//! Speech output: each screen's main instruction, spoken when speech is on (by the
//! accessibility button, and by default in 长辈版), as closed-function kiosks are expected to
//! (EN 301 549 §5.1.3).
//!
//! Speech goes through Debian's `espeak-ng` with its Mandarin (`cmn`) or English voice. A new
//! screen interrupts what is still being said about the last one.

use std::process::{Child, Command, Stdio};

use kiosk_protocol::{Language, LocalizedText};

use crate::session::{
    CaptureProblem, CheckInPrompt, ErrandOutcome, IdentifyPrompt, PrintFailure, PrintStatus,
    Screen, SubmitFailure, View,
};

/// The sentence to speak for what `view` shows, if anything.
pub fn instruction(view: &View) -> Option<LocalizedText> {
    let t = LocalizedText::new;
    Some(match &view.screen {
        // The technician's screens are not announced to the hall.
        Screen::TechnicianPin(_) | Screen::Maintenance(_) => return None,
        Screen::OutOfService => t(
            "本终端暂停服务，请前往服务窗口办理。",
            "This terminal is out of service. Please go to a service window.",
        ),
        Screen::Home => t(
            "欢迎使用连易办。请点击开始办事。",
            "Welcome. Touch Start a service to begin.",
        ),
        Screen::Catalog { .. } => t(
            "请选择要办理的事项。",
            "Please choose the service you need.",
        ),
        Screen::Guide { .. } if !view.devices.card_reader => t(
            "这是办事指南。读卡器暂时故障，申请请前往服务窗口。",
            "This is the service guide. The card reader is out of order; please apply at a service window.",
        ),
        Screen::Guide { .. } => t(
            "这是办事指南。阅读后，点击在本机申请。",
            "This is the service guide. When you are ready, touch Apply here.",
        ),
        Screen::Identify { prompt, .. } | Screen::IdentifyFor { prompt, .. } => match prompt {
            IdentifyPrompt::PlaceCard => t(
                "请将身份证平放在屏幕下方的读卡区。",
                "Please place your ID card flat on the reader below the screen.",
            ),
            IdentifyPrompt::PlaceAgain => t(
                "身份证移开过早，请重新放置。",
                "The card was lifted too early. Please place it again.",
            ),
            IdentifyPrompt::Expired => t(
                "此身份证已过有效期，无法在本机使用。",
                "This ID card has expired and cannot be used here.",
            ),
            IdentifyPrompt::Unreadable => t(
                "无法读取此卡，请重新放置。",
                "This card cannot be read. Please place it again.",
            ),
            IdentifyPrompt::ReaderUnavailable => t(
                "读卡器暂时故障，请前往服务窗口办理。",
                "The card reader is out of order. Please go to a service window.",
            ),
            IdentifyPrompt::CodeNotAccepted => t(
                "本机暂不支持扫码认证，请放置身份证。",
                "QR codes cannot identify you here yet. Please place your ID card.",
            ),
        },
        Screen::Confirm { .. } if view.phone_problem => t(
            "手机号码不正确，请重新输入。",
            "That phone number is not right. Please type it again.",
        ),
        Screen::Confirm { .. } => t(
            "请核对您的信息，并输入手机号码，然后点击下一步。",
            "Please check your details, type your phone number, then touch Next.",
        ),
        Screen::Departments { .. } => t(
            "请选择部门，再选择事项。",
            "Please choose a department, then the service.",
        ),
        Screen::Search { .. } => t(
            "请输入事项名称的拼音首字母，例如社保缴费输入 s b j f。",
            "Type the first letters of the service's pinyin, or English words.",
        ),
        Screen::Materials {
            problem: Some(problem),
            ..
        } => match problem {
            CaptureProblem::NoPage => t(
                "没有找到材料，请将材料平放在拍摄区内再拍。",
                "No document was found. Please lay it flat in the capture area and try again.",
            ),
            CaptureProblem::CameraFailed => t(
                "高拍仪暂时故障，您可以选择容缺承诺或前往窗口。",
                "The document camera failed. You may commit to hand it in later, or go to a window.",
            ),
            CaptureProblem::TooManyPages => t(
                "此材料页数已满。",
                "This material already has the most pages it may have.",
            ),
        },
        Screen::Materials { .. } => t(
            "请将材料平放在高拍仪下，点击拍照。每页拍一次。",
            "Lay the document flat under the camera and touch Capture, once for each page.",
        ),
        Screen::Commitment { .. } => t(
            "请阅读告知承诺书，同意后点击我承诺。",
            "Please read the commitment, then touch I commit if you agree.",
        ),
        Screen::Review { .. } => t(
            "请核对申请内容，无误后点击提交申请。",
            "Please review your application, then touch Submit application.",
        ),
        Screen::QueuePick { .. } => t(
            "请选择要排队办理的事项。",
            "Please choose what you are queueing for.",
        ),
        Screen::CheckIn {
            prompt: CheckInPrompt::NotAnAppointmentCode,
            ..
        } => t(
            "这不是预约码，请扫描预约短信中的二维码，或放置身份证。",
            "That is not an appointment code. Scan the code from your booking, or place your ID card.",
        ),
        Screen::CheckIn { .. } => t(
            "请放置身份证，或扫描预约二维码。",
            "Please place your ID card, or scan your appointment code.",
        ),
        Screen::Working { .. } => t("正在办理，请稍候。", "Working on it, please wait."),
        Screen::ErrandResult {
            errand, outcome, ..
        } => match (errand, outcome) {
            (_, ErrandOutcome::Ticket { .. }) => t(
                "取号成功，请取走排队号，留意叫号。",
                "Here is your queue ticket. Please wait to be called.",
            ),
            (_, ErrandOutcome::NoAppointment) => t(
                "没有找到您今天在本中心的预约。",
                "No appointment for today at this centre was found.",
            ),
            (_, ErrandOutcome::Progress(list)) if list.is_empty() => {
                t("没有查到您的办件。", "No applications were found for you.")
            }
            (_, ErrandOutcome::Progress(_)) => t(
                "这是您的办件进度。",
                "Here is where your applications stand.",
            ),
            (_, ErrandOutcome::CertificatePrinted) => t(
                "证明已打印，请取走。",
                "Your certificate is printed. Please take it.",
            ),
            (_, ErrandOutcome::Unreachable | ErrandOutcome::Refused) => t(
                "暂时无法办理，请稍后再试或前往服务窗口。",
                "This cannot be done right now. Please try later or go to a service window.",
            ),
            (_, ErrandOutcome::PrinterFailed) => t(
                "证明未能打印，请前往服务窗口。",
                "The certificate could not be printed. Please go to a service window.",
            ),
        },
        Screen::Submitting { .. } => t("正在提交，请稍候。", "Submitting, please wait."),
        Screen::SubmitFailed { failure, .. } => match failure {
            SubmitFailure::Unreachable => t(
                "暂时无法连接平台，申请尚未提交，您可以重试。",
                "The platform cannot be reached. Your application was not submitted. You can try again.",
            ),
            SubmitFailure::Rejected => t(
                "平台未能受理此申请，请前往服务窗口。",
                "The platform could not accept this application. Please go to a service window.",
            ),
        },
        Screen::Receipt { printing, .. } => match printing {
            PrintStatus::Printing => t(
                "您的申请已受理，正在打印回执。",
                "Your application is accepted. Printing your receipt.",
            ),
            PrintStatus::Printed => t(
                "您的申请已受理，请取走回执。",
                "Your application is accepted. Please take your receipt.",
            ),
            PrintStatus::Failed(PrintFailure::PaperOut | PrintFailure::PrinterFault) => t(
                "您的申请已受理。回执未能打印，请扫描屏幕上的二维码查询进度。",
                "Your application is accepted. The receipt could not be printed; scan the code on screen to follow it.",
            ),
        },
        Screen::Rating { .. } => t("请为本次服务评价。", "Please rate this service."),
        Screen::Thanks => t(
            "办理完成，谢谢。请带好您的身份证和回执。",
            "All done, thank you. Please take your ID card and receipt.",
        ),
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
        }
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
