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

/// Declares [`Instruction`] with each sentence beside its name, and [`Instruction::ALL`] from
/// the same list, so no instruction escapes the translation check.
macro_rules! instructions {
    ($($(#[doc = $doc:literal])* $name:ident => $english:literal,)*) => {
        /// One spoken instruction.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Instruction {
            $($(#[doc = $doc])* $name,)*
        }

        impl Instruction {
            /// Every instruction, for the translation check.
            pub const ALL: &[Instruction] = &[$(Instruction::$name,)*];

            /// The English sentence, which is also the source string of its translation.
            pub fn english(self) -> &'static str {
                match self {
                    $(Instruction::$name => $english,)*
                }
            }
        }
    };
}

instructions! {
    /// The terminal cannot serve.
    OutOfService => "This terminal is out of service. Please go to a service window.",
    /// Home: how to begin.
    Home => "Welcome. Touch Start a service to begin.",
    /// The catalog by topic.
    Catalog => "Please choose the service you need.",
    /// A service guide while the card reader is out of order.
    GuideWithoutReader => "This is the service guide. The card reader is out of order; please apply at a service window.",
    /// A service guide.
    Guide => "This is the service guide. When you are ready, touch Apply here.",
    /// Waiting for the ID card.
    PlaceCard => "Please place your ID card flat on the reader below the screen.",
    /// The card was lifted before it was read.
    PlaceAgain => "The card was lifted too early. Please place it again.",
    /// The card has expired.
    CardExpired => "This ID card has expired and cannot be used here.",
    /// The card cannot be read.
    CardUnreadable => "This card cannot be read. Please place it again.",
    /// The card reader is out of order.
    ReaderUnavailable => "The card reader is out of order. Please go to a service window.",
    /// A QR code where an ID card is needed.
    CodeNotAccepted => "QR codes cannot identify you here yet. Please place your ID card.",
    /// The phone number typed is not valid.
    PhoneWrong => "That phone number is not right. Please type it again.",
    /// The applicant's details and phone number.
    Confirm => "Please check your details, type your phone number, then touch Next.",
    /// The application form.
    Form => "Please fill in the form, then touch Next.",
    /// The catalog by department.
    Departments => "Please choose a department, then the service.",
    /// The search keyboard.
    Search => "Type the first letters of the service's pinyin, or English words.",
    /// The camera found no page.
    NoPage => "No document was found. Please lay it flat in the capture area and try again.",
    /// The document camera failed.
    CameraFailed => "The document camera failed. You may commit to hand it in later, or go to a window.",
    /// A material has all the pages it may have.
    TooManyPages => "This material already has the most pages it may have.",
    /// Photographing a material.
    Materials => "Lay the document flat under the camera and touch Capture, once for each page.",
    /// The written commitment for a missing material.
    Commitment => "Please read the commitment, then touch I commit if you agree.",
    /// The application before it is submitted.
    Review => "Please review your application, then touch Submit application.",
    /// Choosing what to queue for.
    QueuePick => "Please choose what you are queueing for.",
    /// A scanned code that is no appointment.
    NotAnAppointmentCode => "That is not an appointment code. Scan the code from your booking, or place your ID card.",
    /// Appointment check-in.
    CheckIn => "Please place your ID card, or scan your appointment code.",
    /// An errand under way.
    Working => "Working on it, please wait.",
    /// A queue ticket issued.
    Ticket => "Here is your queue ticket. Please wait to be called.",
    /// No appointment today.
    NoAppointment => "No appointment for today at this centre was found.",
    /// No applications found.
    NoApplications => "No applications were found for you.",
    /// The citizen's applications.
    Progress => "Here is where your applications stand.",
    /// A certificate printed.
    CertificatePrinted => "Your certificate is printed. Please take it.",
    /// The platform cannot do the errand now.
    ErrandUnavailable => "This cannot be done right now. Please try later or go to a service window.",
    /// The certificate could not be printed.
    CertificateNotPrinted => "The certificate could not be printed. Please go to a service window.",
    /// An application being submitted.
    Submitting => "Submitting, please wait.",
    /// The platform could not be reached.
    SubmitUnreachable => "The platform cannot be reached. Your application was not submitted. You can try again.",
    /// The platform refused the application.
    SubmitRejected => "The platform could not accept this application. Please go to a service window.",
    /// Accepted; the receipt printing.
    ReceiptPrinting => "Your application is accepted. Printing your receipt.",
    /// Accepted; the receipt printed.
    ReceiptPrinted => "Your application is accepted. Please take your receipt.",
    /// Accepted; the receipt could not be printed.
    ReceiptNotPrinted => "Your application is accepted. The receipt could not be printed; scan the code on screen to follow it.",
    /// The rating.
    Rating => "Please rate this service.",
    /// The rating of a completed matter.
    CompletionRating => "Please rate how this matter was handled, then touch Send rating.",
    /// The photographs for a 补正, before they are sent.
    CorrectionReview => "Please check the materials, then touch Send materials.",
    /// A 补正 answered.
    CorrectionAnswered => "Your materials were handed in. The department reviews your application again.",
    /// A rating of completion recorded.
    CompletionRated => "Thank you for your rating.",
    /// The end of a visit.
    Thanks => "All done, thank you. Please take your ID card and receipt.",
}

impl Instruction {
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
