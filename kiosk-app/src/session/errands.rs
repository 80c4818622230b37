//! The errands besides applying: a queue ticket (取号), appointment check-in (预约签到), the
//! progress of one's applications (办件查询) and a certificate to print (证明打印); and the
//! pieces of an application that are gathered after the card is read: the contact phone and
//! the materials, photographed or committed to (容缺受理).

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use kiosk_protocol::{
    ApplicationStatus, AppointmentInfo, Catalog, CertificateRequest, CheckInRequest, Language,
    LocalizedText, MatterId, ProgressRequest, Supply, Ticket,
};
use zeroize::Zeroizing;

use super::{CardEvent, Command, IdentifyPrompt, PrintFailure, PrintStatus, Screen, Session};

/// What a queue ticket says (printed by the edge; composed by `printing::receipt`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueTicket {
    /// The ticket number called out in the hall, e.g. `A015`.
    pub number: String,
    /// The matter the citizen queues for.
    pub matter_name: LocalizedText,
    /// Where to go when called, e.g. `B区 12号窗口`.
    pub window: String,
    /// How many people are called before this ticket.
    pub people_ahead: u32,
    /// When the ticket was taken (RFC 3339).
    pub issued_at: String,
    /// Terminal id.
    pub terminal_id: String,
    /// Language the citizen used.
    pub language: Language,
}

/// Longest search query the keyboard takes.
pub const MAX_QUERY_CHARS: usize = 24;

/// Something a citizen comes to do other than apply for a matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Errand {
    /// 取号: a queue ticket for a service window.
    Ticket,
    /// 预约签到: check in for today's appointment (ID card or the appointment code).
    CheckIn,
    /// 办件查询: where one's applications stand.
    Progress,
    /// 证明打印: print the 办件记录证明 (record of applications).
    Certificate,
}

impl Errand {
    /// The name used in the UI's `errand` action and in audit lines.
    pub fn code(self) -> &'static str {
        match self {
            Errand::Ticket => "ticket",
            Errand::CheckIn => "check-in",
            Errand::Progress => "progress",
            Errand::Certificate => "certificate",
        }
    }

    /// The errand named `code`.
    pub fn parse(code: &str) -> Option<Self> {
        [
            Errand::Ticket,
            Errand::CheckIn,
            Errand::Progress,
            Errand::Certificate,
        ]
        .into_iter()
        .find(|e| e.code() == code)
    }
}

/// The certificate kind the platform issues at terminals (`/v1/certificates/{kind}`).
pub const APPLICATION_RECORD: &str = "application-record";

/// How an errand ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrandOutcome {
    /// A ticket was issued (for a matter, or for today's appointment).
    Ticket {
        /// The ticket.
        ticket: Ticket,
        /// The appointment checked in for, when it came from a check-in.
        appointment: Option<AppointmentInfo>,
    },
    /// No appointment today at this site for that card or code.
    NoAppointment,
    /// The applicant's applications, newest first.
    Progress(Vec<ApplicationStatus>),
    /// The certificate was printed.
    CertificatePrinted,
    /// The 补正 was answered: the application is back with the department.
    CorrectionAnswered,
    /// The rating of completion was recorded.
    CompletionRated,
    /// The platform could not be reached: nothing can be done offline.
    Unreachable,
    /// The platform refused (a code in a wrong format, an unknown matter, this terminal's
    /// record queries suspended…): the citizen is sent to a service window.
    Refused,
    /// The printer failed while printing the certificate.
    PrinterFailed,
}

/// What the appointment code screen shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckInPrompt {
    /// Place the card or scan the code.
    CardOrCode,
    /// A code was scanned that is not an appointment code.
    NotAnAppointmentCode,
}

/// A page photographed by the document camera: the cropped, deskewed page as JPEG (for the
/// application), and a small picture of it for the page list. Photos of documents are
/// personal data: they print as sizes only and live only as long as the session.
#[derive(Clone, PartialEq, Eq)]
pub struct CapturedPage {
    /// The page as sent to the platform.
    pub jpeg: Arc<Vec<u8>>,
    /// A thumbnail for the screen.
    pub thumbnail: Arc<Picture>,
}

impl fmt::Debug for CapturedPage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CapturedPage({} bytes)", self.jpeg.len())
    }
}

/// An RGB picture for the screen (a camera preview or a page thumbnail).
#[derive(Clone, PartialEq, Eq)]
pub struct Picture {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Row-major RGB bytes, `width * height * 3` of them.
    pub rgb: Vec<u8>,
}

impl fmt::Debug for Picture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Picture({}×{})", self.width, self.height)
    }
}

/// Why a capture gave no page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureProblem {
    /// No page could be found in the picture (nothing on the plate, or too little contrast).
    NoPage,
    /// The camera gave no picture.
    CameraFailed,
    /// This material already has as many pages as one material may have.
    TooManyPages,
}

/// Most pages one material may have.
pub const MAX_PAGES_PER_MATERIAL: usize = 10;

/// A material of the application being gathered at the terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaterialSlot {
    /// Index into the matter's materials.
    pub index: u16,
    /// Pages photographed.
    pub pages: Vec<CapturedPage>,
    /// The citizen committed to hand it in later (告知承诺), instead of photographing it.
    pub committed: bool,
}

impl MaterialSlot {
    /// True when the material is photographed or committed to.
    pub fn settled(&self) -> bool {
        self.committed || !self.pages.is_empty()
    }
}

/// The materials of `matter` the terminal photographs (not those read from the card, filled
/// in on the terminal's form, or fetched by the platform as electronic licences).
pub fn materials_to_capture(catalog: &Catalog, matter: &MatterId) -> Vec<MaterialSlot> {
    let Some(found) = catalog.matter(matter) else {
        return Vec::new();
    };
    found
        .materials
        .iter()
        .enumerate()
        .filter(|(_, m)| {
            m.supply == Supply::Capture && m.form != kiosk_protocol::MaterialForm::Electronic
        })
        .filter_map(|(i, _)| u16::try_from(i).ok())
        .map(|index| MaterialSlot {
            index,
            pages: Vec::new(),
            committed: false,
        })
        .collect()
}

/// Checks a contact phone typed on the terminal's number pad: a mainland mobile number (11
/// digits from 13… to 19…) or a landline with its area code (0 then 9 to 11 digits).
pub fn phone_is_valid(phone: &str) -> bool {
    let digits = phone.bytes().all(|b| b.is_ascii_digit());
    let mobile = phone.len() == 11 && phone.starts_with('1') && phone.as_bytes()[1] >= b'3';
    let landline = (10..=12).contains(&phone.len()) && phone.starts_with('0');
    digits && (mobile || landline)
}

/// Longest phone the pad accepts.
pub const MAX_PHONE_DIGITS: usize = 12;

impl Session {
    /// Starts an errand from home, if the devices it needs work.
    pub(super) fn start_errand(&mut self, errand: Errand, now: Instant, out: &mut Vec<Command>) {
        let d = self.devices;
        let screen = match errand {
            Errand::Ticket => Screen::QueuePick { theme: None },
            Errand::CheckIn if d.card_reader || (d.scanner && d.scanner_fitted) => {
                Screen::CheckIn {
                    prompt: CheckInPrompt::CardOrCode,
                    card: IdentifyPrompt::PlaceCard,
                }
            }
            Errand::Progress if d.card_reader => Screen::IdentifyFor {
                errand,
                prompt: IdentifyPrompt::PlaceCard,
            },
            Errand::Certificate if d.card_reader && d.printer => Screen::IdentifyFor {
                errand,
                prompt: IdentifyPrompt::PlaceCard,
            },
            _ => return,
        };
        self.enter(screen, now, out);
    }

    /// A card on an errand's screen; true when the screen was one.
    pub(super) fn errand_card(
        &mut self,
        card: &CardEvent,
        now: Instant,
        out: &mut Vec<Command>,
    ) -> bool {
        let errand = match &self.screen {
            Screen::CheckIn { .. } => Errand::CheckIn,
            Screen::IdentifyFor { errand, .. } => *errand,
            _ => return false,
        };
        self.last_activity = now;
        let prompt = match card {
            CardEvent::Read(who) => {
                // The card's data goes into the one request and is not kept, but for 办件查询:
                // there it stays with the session for a 补正 or a rating the citizen may go on
                // to (each needs the applicant's card). The platform answers only for the
                // number *and* the name read from the same card, so that a number alone
                // (typed, leaked, guessed) opens no one's records.
                if errand == Errand::Progress {
                    self.follow_with(who.clone());
                }
                let id_number = who.id_number().to_owned();
                let name = who.name().to_owned();
                out.push(match errand {
                    Errand::CheckIn | Errand::Ticket => Command::CheckIn(CheckInRequest {
                        code: None,
                        id_number: Some(id_number),
                        name: Some(name),
                    }),
                    Errand::Progress => Command::QueryProgress(ProgressRequest {
                        id_number,
                        name: Some(name),
                    }),
                    Errand::Certificate => Command::PrintCertificate {
                        kind: APPLICATION_RECORD,
                        request: CertificateRequest { name, id_number },
                    },
                });
                self.enter(Screen::Working { errand }, now, out);
                return true;
            }
            CardEvent::Expired => IdentifyPrompt::Expired,
            CardEvent::Removed => IdentifyPrompt::PlaceAgain,
            CardEvent::Unreadable => IdentifyPrompt::Unreadable,
            CardEvent::ReaderFault => IdentifyPrompt::ReaderUnavailable,
        };
        match &mut self.screen {
            Screen::CheckIn { card, .. } => *card = prompt,
            Screen::IdentifyFor { prompt: shown, .. } => *shown = prompt,
            _ => {}
        }
        true
    }

    pub(super) fn check_in_with_code(
        &mut self,
        code: String,
        now: Instant,
        out: &mut Vec<Command>,
    ) {
        out.push(Command::CheckIn(CheckInRequest {
            code: Some(code),
            id_number: None,
            name: None,
        }));
        self.enter(
            Screen::Working {
                errand: Errand::CheckIn,
            },
            now,
            out,
        );
    }

    /// The platform (or the printer) finished an errand.
    pub(super) fn errand_done(
        &mut self,
        outcome: ErrandOutcome,
        now: Instant,
        out: &mut Vec<Command>,
    ) {
        let Screen::Working { errand } = self.screen else {
            return;
        };
        if errand == Errand::Progress {
            match &outcome {
                ErrandOutcome::Progress(_) => self.followed(&outcome),
                _ => self.follow_up_done(),
            }
        }
        let printing = match &outcome {
            ErrandOutcome::Ticket { ticket, .. } if self.devices.printer => {
                let matter_name = self
                    .catalog
                    .as_ref()
                    .and_then(|c| c.matter(&ticket.matter_id))
                    .map(|m| m.name.clone())
                    .unwrap_or_default();
                out.push(Command::PrintTicket(QueueTicket {
                    number: ticket.ticket_no.clone(),
                    matter_name,
                    window: ticket.window.clone(),
                    people_ahead: ticket.people_ahead,
                    issued_at: ticket.issued_at.clone(),
                    terminal_id: self.settings.terminal_id.clone(),
                    language: self.language,
                }));
                Some(PrintStatus::Printing)
            }
            ErrandOutcome::Ticket { .. } => Some(PrintStatus::Failed(PrintFailure::PrinterFault)),
            _ => None,
        };
        self.enter(
            Screen::ErrandResult {
                errand,
                outcome,
                printing,
            },
            now,
            out,
        );
    }

    /// True when the material in `slot` may be handed in later on a written commitment.
    pub(super) fn waivable(&self, catalog: &Catalog, matter: &MatterId, slot: usize) -> bool {
        if self.correcting() {
            return false;
        }
        let Some(index) = self.slots.get(slot).map(|s| usize::from(s.index)) else {
            return false;
        };
        catalog
            .matter(matter)
            .and_then(|m| m.materials.get(index))
            .is_some_and(|m| m.waivable)
    }

    /// Shows material `slot`, or the review once every material is settled.
    pub(super) fn show_material(
        &mut self,
        matter: MatterId,
        slot: usize,
        now: Instant,
        out: &mut Vec<Command>,
    ) {
        let screen = if slot < self.slots.len() {
            Screen::Materials {
                matter,
                slot,
                capturing: false,
                problem: None,
            }
        } else if self.correcting() {
            Screen::CorrectionReview { matter }
        } else {
            Screen::Review { matter }
        };
        self.enter(screen, now, out);
    }

    /// The camera answered a capture.
    pub(super) fn page_captured(
        &mut self,
        result: Result<CapturedPage, CaptureProblem>,
        now: Instant,
    ) {
        let Screen::Materials {
            matter,
            slot,
            capturing: true,
            ..
        } = self.screen.clone()
        else {
            // A page that arrives after the citizen left the screen is dropped here.
            return;
        };
        self.last_activity = now;
        let problem = match result {
            Ok(page) => {
                if let Some(s) = self.slots.get_mut(slot) {
                    s.pages.push(page);
                    s.committed = false;
                }
                None
            }
            Err(problem) => Some(problem),
        };
        self.screen = Screen::Materials {
            matter,
            slot,
            capturing: false,
            problem,
        };
    }

    /// Drops everything the application gathered: card data, phone, photos, the pending
    /// submission.
    pub(super) fn drop_application(&mut self) {
        self.identity = None;
        self.pending = None;
        self.phone = Zeroizing::new(String::new());
        self.phone_problem = false;
        self.slots.clear();
        self.form = None;
        self.preview = None;
        self.following = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_mobiles_or_landlines_with_area_code() {
        for good in ["13912345678", "18605180000", "051885800000", "0518858000"] {
            assert!(phone_is_valid(good), "{good}");
        }
        for bad in [
            "",
            "1391234567",
            "139123456789",
            "12012345678",
            "5188580000",
            "1391234567x",
        ] {
            assert!(!phone_is_valid(bad), "{bad}");
        }
    }

    #[test]
    fn errand_codes_round_trip() {
        for errand in [
            Errand::Ticket,
            Errand::CheckIn,
            Errand::Progress,
            Errand::Certificate,
        ] {
            assert_eq!(Errand::parse(errand.code()), Some(errand));
        }
        assert_eq!(Errand::parse("launch"), None);
    }

    #[test]
    fn photos_never_print_their_bytes() {
        let page = CapturedPage {
            jpeg: Arc::new(vec![0xff, 0xd8, 0x41, 0x42]),
            thumbnail: Arc::new(Picture {
                width: 1,
                height: 1,
                rgb: vec![1, 2, 3],
            }),
        };
        assert_eq!(format!("{page:?}"), "CapturedPage(4 bytes)");
        assert_eq!(format!("{:?}", page.thumbnail), "Picture(1×1)");
    }
}
