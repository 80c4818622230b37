//! What the kiosk says aloud: each screen's main instruction, in English source text with its
//! Chinese translation in the same `.po` file as the screens' strings (context `speech`).
//!
//! The voice is driven by the session on the runtime's threads, away from the window, so its
//! sentences cannot be `@tr` strings of a `.slint` file (Slint translates those only inside a
//! component, on the UI thread). They are written here instead and translated from the bundled
//! catalogue; `tests/translations.rs` checks that none lacks its Chinese.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::translation::{CONTEXT_SEPARATOR, ZH_CN_PO, catalog};

/// The translation context of the spoken sentences: a sentence may be said differently from
/// the same words on a screen.
pub const CONTEXT: &str = "speech";

/// One spoken instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Instruction {
    /// The terminal cannot serve.
    OutOfService,
    /// Home: how to begin.
    Home,
    /// The catalog by topic.
    Catalog,
    /// A service guide while the card reader is out of order.
    GuideWithoutReader,
    /// A service guide.
    Guide,
    /// Waiting for the ID card.
    PlaceCard,
    /// The card was lifted before it was read.
    PlaceAgain,
    /// The card has expired.
    CardExpired,
    /// The card cannot be read.
    CardUnreadable,
    /// The card reader is out of order.
    ReaderUnavailable,
    /// A QR code where an ID card is needed.
    CodeNotAccepted,
    /// The phone number typed is not valid.
    PhoneWrong,
    /// The applicant's details and phone number.
    Confirm,
    /// The catalog by department.
    Departments,
    /// The search keyboard.
    Search,
    /// The camera found no page.
    NoPage,
    /// The document camera failed.
    CameraFailed,
    /// A material has all the pages it may have.
    TooManyPages,
    /// Photographing a material.
    Materials,
    /// The written commitment for a missing material.
    Commitment,
    /// The application before it is submitted.
    Review,
    /// Choosing what to queue for.
    QueuePick,
    /// A scanned code that is no appointment.
    NotAnAppointmentCode,
    /// Appointment check-in.
    CheckIn,
    /// An errand under way.
    Working,
    /// A queue ticket issued.
    Ticket,
    /// No appointment today.
    NoAppointment,
    /// No applications found.
    NoApplications,
    /// The citizen's applications.
    Progress,
    /// A certificate printed.
    CertificatePrinted,
    /// The platform cannot do the errand now.
    ErrandUnavailable,
    /// The certificate could not be printed.
    CertificateNotPrinted,
    /// An application being submitted.
    Submitting,
    /// The platform could not be reached.
    SubmitUnreachable,
    /// The platform refused the application.
    SubmitRejected,
    /// Accepted; the receipt printing.
    ReceiptPrinting,
    /// Accepted; the receipt printed.
    ReceiptPrinted,
    /// Accepted; the receipt could not be printed.
    ReceiptNotPrinted,
    /// The rating.
    Rating,
    /// The end of a visit.
    Thanks,
}

impl Instruction {
    /// Every instruction, for the translation check.
    pub const ALL: [Instruction; 40] = [
        Instruction::OutOfService,
        Instruction::Home,
        Instruction::Catalog,
        Instruction::GuideWithoutReader,
        Instruction::Guide,
        Instruction::PlaceCard,
        Instruction::PlaceAgain,
        Instruction::CardExpired,
        Instruction::CardUnreadable,
        Instruction::ReaderUnavailable,
        Instruction::CodeNotAccepted,
        Instruction::PhoneWrong,
        Instruction::Confirm,
        Instruction::Departments,
        Instruction::Search,
        Instruction::NoPage,
        Instruction::CameraFailed,
        Instruction::TooManyPages,
        Instruction::Materials,
        Instruction::Commitment,
        Instruction::Review,
        Instruction::QueuePick,
        Instruction::NotAnAppointmentCode,
        Instruction::CheckIn,
        Instruction::Working,
        Instruction::Ticket,
        Instruction::NoAppointment,
        Instruction::NoApplications,
        Instruction::Progress,
        Instruction::CertificatePrinted,
        Instruction::ErrandUnavailable,
        Instruction::CertificateNotPrinted,
        Instruction::Submitting,
        Instruction::SubmitUnreachable,
        Instruction::SubmitRejected,
        Instruction::ReceiptPrinting,
        Instruction::ReceiptPrinted,
        Instruction::ReceiptNotPrinted,
        Instruction::Rating,
        Instruction::Thanks,
    ];

    /// The English sentence, which is also the source string of its translation.
    pub fn english(self) -> &'static str {
        match self {
            Instruction::OutOfService => {
                "This terminal is out of service. Please go to a service window."
            }
            Instruction::Home => "Welcome. Touch Start a service to begin.",
            Instruction::Catalog => "Please choose the service you need.",
            Instruction::GuideWithoutReader => {
                "This is the service guide. The card reader is out of order; please apply at a service window."
            }
            Instruction::Guide => {
                "This is the service guide. When you are ready, touch Apply here."
            }
            Instruction::PlaceCard => {
                "Please place your ID card flat on the reader below the screen."
            }
            Instruction::PlaceAgain => "The card was lifted too early. Please place it again.",
            Instruction::CardExpired => "This ID card has expired and cannot be used here.",
            Instruction::CardUnreadable => "This card cannot be read. Please place it again.",
            Instruction::ReaderUnavailable => {
                "The card reader is out of order. Please go to a service window."
            }
            Instruction::CodeNotAccepted => {
                "QR codes cannot identify you here yet. Please place your ID card."
            }
            Instruction::PhoneWrong => "That phone number is not right. Please type it again.",
            Instruction::Confirm => {
                "Please check your details, type your phone number, then touch Next."
            }
            Instruction::Departments => "Please choose a department, then the service.",
            Instruction::Search => {
                "Type the first letters of the service's pinyin, or English words."
            }
            Instruction::NoPage => {
                "No document was found. Please lay it flat in the capture area and try again."
            }
            Instruction::CameraFailed => {
                "The document camera failed. You may commit to hand it in later, or go to a window."
            }
            Instruction::TooManyPages => "This material already has the most pages it may have.",
            Instruction::Materials => {
                "Lay the document flat under the camera and touch Capture, once for each page."
            }
            Instruction::Commitment => {
                "Please read the commitment, then touch I commit if you agree."
            }
            Instruction::Review => "Please review your application, then touch Submit application.",
            Instruction::QueuePick => "Please choose what you are queueing for.",
            Instruction::NotAnAppointmentCode => {
                "That is not an appointment code. Scan the code from your booking, or place your ID card."
            }
            Instruction::CheckIn => "Please place your ID card, or scan your appointment code.",
            Instruction::Working => "Working on it, please wait.",
            Instruction::Ticket => "Here is your queue ticket. Please wait to be called.",
            Instruction::NoAppointment => "No appointment for today at this centre was found.",
            Instruction::NoApplications => "No applications were found for you.",
            Instruction::Progress => "Here is where your applications stand.",
            Instruction::CertificatePrinted => "Your certificate is printed. Please take it.",
            Instruction::ErrandUnavailable => {
                "This cannot be done right now. Please try later or go to a service window."
            }
            Instruction::CertificateNotPrinted => {
                "The certificate could not be printed. Please go to a service window."
            }
            Instruction::Submitting => "Submitting, please wait.",
            Instruction::SubmitUnreachable => {
                "The platform cannot be reached. Your application was not submitted. You can try again."
            }
            Instruction::SubmitRejected => {
                "The platform could not accept this application. Please go to a service window."
            }
            Instruction::ReceiptPrinting => "Your application is accepted. Printing your receipt.",
            Instruction::ReceiptPrinted => {
                "Your application is accepted. Please take your receipt."
            }
            Instruction::ReceiptNotPrinted => {
                "Your application is accepted. The receipt could not be printed; scan the code on screen to follow it."
            }
            Instruction::Rating => "Please rate this service.",
            Instruction::Thanks => "All done, thank you. Please take your ID card and receipt.",
        }
    }

    /// The Chinese sentence from the bundled translation (the English one should a translation
    /// be missing, as the screens do).
    pub fn chinese(self) -> &'static str {
        static ZH: OnceLock<HashMap<String, String>> = OnceLock::new();
        let zh = ZH.get_or_init(|| catalog(ZH_CN_PO));
        zh.get(&format!("{CONTEXT}{CONTEXT_SEPARATOR}{}", self.english()))
            .map_or(self.english(), String::as_str)
    }

    /// The sentence in English or in Chinese.
    pub fn text(self, english: bool) -> &'static str {
        if english {
            self.english()
        } else {
            self.chinese()
        }
    }
}
