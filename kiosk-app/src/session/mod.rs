//! The citizen session: a pure state machine.
//!
//! Events come in (a touch, a card read, a platform reply, the passing of time), a [`View`]
//! and [`Command`]s come out. Nothing here touches a device, a socket, a file or the clock: the
//! caller passes `now` with every call, so every journey is testable without a window, a
//! device or a network, and deterministic under a mocked clock.

mod errands;
mod follow;
mod form;
mod identity;
mod keys;
pub mod technician;

use std::sync::Arc;
use std::time::{Duration, Instant};

use kiosk_protocol::{
    ApplicantInfo, ApplicationReceipt, ApplicationRequest, Catalog, CertificateRequest,
    CheckInRequest, Language, LocalizedText, MatterId, ProgressRequest, RatingReason,
    RatingRequest, SearchIndex,
};
use zeroize::Zeroizing;

pub use errands::{
    APPLICATION_RECORD, CaptureProblem, CapturedPage, CheckInPrompt, Errand, ErrandOutcome,
    MAX_PAGES_PER_MATERIAL, MAX_PHONE_DIGITS, MAX_QUERY_CHARS, MaterialSlot, Picture, QueueTicket,
    materials_to_capture, phone_is_valid,
};
pub use follow::{CorrectionAnswer, INDICATORS, correction_answerable_here};
pub use form::{Composition, DateStep, FieldView, FormState, FormView, NextPage};
pub use identity::{CardDetails, DocumentKind, Identity, mask_id_number};
pub use keys::KeySource;
pub use kiosk_protocol::form::AnswerLine;
pub use technician::{
    MaintenancePanel, MaintenanceTask, PinEntry, PinKey, PinMessage, PinPad, StatusLine,
    TaskOutcome, TechnicianStatus, Verdict,
};

/// Timing and identity of the terminal running the session.
#[derive(Debug, Clone)]
pub struct Settings {
    /// This terminal's id, sent with every application.
    pub terminal_id: String,
    /// Inactivity before the "are you still there?" warning appears.
    pub idle_warning_after: Duration,
    /// How long the warning stays before the session ends (at least 20 s, WCAG 2.2.1).
    pub warning_grace: Duration,
    /// How long the thank-you screen stays before returning home.
    pub thanks_linger: Duration,
    /// Pause between catalog fetches while out of service.
    pub catalog_retry: Duration,
    /// Quiet time at home before the attract screen ("touch to start") shows; someone
    /// stepping up to the presence sensor, a touch or a scan wakes it.
    pub attract_after: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            terminal_id: "LYG-DEV-0001".into(),
            idle_warning_after: Duration::from_secs(60),
            warning_grace: Duration::from_secs(30),
            thanks_linger: Duration::from_secs(8),
            catalog_retry: Duration::from_secs(30),
            attract_after: Duration::from_secs(120),
        }
    }
}

/// How much longer elder mode waits before warning and before ending a session.
pub const ELDER_TIME_FACTOR: u32 = 2;

/// The shortest warning a citizen may be given before their session ends.
pub const MIN_WARNING_GRACE: Duration = Duration::from_secs(20);

/// Something that happened.
#[derive(Debug)]
pub enum Event {
    /// The platform's catalog arrived (at start, or a newer version later): shown at once when
    /// nobody is being served, otherwise when the session ends.
    CatalogLoaded(Arc<Catalog>),
    /// The catalog could not be fetched and none is cached.
    CatalogUnavailable,
    /// The platform answered a heartbeat: `true` when an operator revoked this terminal,
    /// `false` once it serves the terminal again.
    Revoked(bool),
    /// The citizen touched a control.
    Touch(Action),
    /// The ID-card reader reported.
    Card(CardEvent),
    /// The platform answered a submission.
    Submitted(Result<ApplicationReceipt, SubmitFailure>),
    /// The application is kept in the outbox (durably, sealed) and will be delivered when the
    /// platform answers: accepted, under the terminal's reference instead of the platform's
    /// number.
    Kept(ApplicationReceipt),
    /// The printer finished (or failed) the receipt.
    Printed(Result<(), PrintFailure>),
    /// The devices' health changed.
    Devices(DeviceAvailability),
    /// The technician PIN was checked at Unix time `at`.
    PinChecked {
        /// The gate's answer.
        verdict: Verdict,
        /// When (for the lockout's minutes left).
        at: i64,
    },
    /// The terminal's state for the maintenance panel.
    TechnicianStatus(TechnicianStatus),
    /// A maintenance task finished.
    TaskFinished {
        /// Which.
        task: MaintenanceTask,
        /// Whether it worked.
        ok: bool,
        /// What it said.
        detail: String,
    },
    /// The QR/barcode scanner read a code, of this kind (the payload itself never enters
    /// the session: nothing here can use it yet, and what is not held cannot leak).
    Scan(ScannedCode),
    /// The presence sensor saw someone step up to the kiosk.
    Presence,
    /// A preview frame from the document camera (while a material is being photographed).
    CameraFrame(Arc<Picture>),
    /// The document camera took (or failed to take) the page asked for.
    PageCaptured(Result<CapturedPage, CaptureProblem>),
    /// An errand (ticket, check-in, progress, certificate) came back from the platform.
    ErrandDone(ErrandOutcome),
    /// Time passed: deadlines are checked.
    Tick,
}

/// What kind of code the scanner read, as far as the session cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScannedCode {
    /// A 苏服码 or an e-licence: a code that names a person (its payload stays out).
    Identity,
    /// An appointment code (预约码), which checks its holder in: it names a booking, not a
    /// person, so it is carried.
    Appointment(String),
    /// Anything else (a URL, a product barcode, an unknown format).
    Other,
}

/// Which devices the session can count on right now. The device manager sends a new one
/// whenever a device fails or recovers; functions that need a missing device are disabled and
/// said so, everything else keeps working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceAvailability {
    /// The ID-card reader answers.
    pub card_reader: bool,
    /// The receipt printer can print (paper present, cover closed, online).
    pub printer: bool,
    /// The QR/barcode scanner is connected.
    pub scanner: bool,
    /// This kiosk has a scanner at all: one without says nothing of it to citizens.
    pub scanner_fitted: bool,
    /// The document camera gives pictures.
    pub camera: bool,
}

impl Default for DeviceAvailability {
    /// Until told otherwise, assume the devices work: a reader or printer that turns out not
    /// to is reported within seconds, and refusing service at start-up helps nobody.
    fn default() -> Self {
        Self {
            card_reader: true,
            printer: true,
            scanner: true,
            scanner_fitted: true,
            camera: true,
        }
    }
}

/// What the ID-card reader reported.
#[derive(Debug)]
pub enum CardEvent {
    /// A valid, unexpired card was read.
    Read(Identity),
    /// The card was read but has expired.
    Expired,
    /// The card was lifted before the read finished.
    Removed,
    /// The card could not be read or is of an unknown type.
    Unreadable,
    /// The reader itself is faulty or absent.
    ReaderFault,
}

/// Why a submission did not go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitFailure {
    /// The platform could not be reached (network or platform down).
    Unreachable,
    /// The platform refused the application.
    Rejected,
}

/// Why the receipt did not print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrintFailure {
    /// Out of paper.
    PaperOut,
    /// Cover open, offline or another printer fault.
    PrinterFault,
}

/// A control the citizen touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Home: start a new session (开始办事).
    Begin,
    /// Home or catalog: show one theme's matters (`None`: all).
    ChooseTheme(Option<String>),
    /// Catalog: open a matter's service guide.
    OpenMatter(MatterId),
    /// Guide: apply for this matter.
    Apply,
    /// Confirm: the prefilled data is right, submit.
    ConfirmApplicant,
    /// Submit failed: try again (with the same idempotency key).
    Retry,
    /// Receipt: finished, go on to rating.
    Done,
    /// Rating: choose a level, 1 (非常不满意) to 5 (非常满意).
    Rate(u8),
    /// Rating: choose the reason for a bad rating.
    Reason(RatingReason),
    /// Rating: send it.
    SendRating,
    /// Rating: skip it.
    SkipRating,
    /// One screen back.
    Back,
    /// Straight home (ends the session).
    Home,
    /// Switch between Chinese and English.
    ToggleLanguage,
    /// Switch 长辈版 (elder mode: larger text and targets, slower timeouts, speech on).
    ToggleElder,
    /// Switch speech output of each screen's main instruction on or off.
    ToggleSpeech,
    /// Timeout warning: "I'm still here".
    StayActive,
    /// The hidden technician gesture: one tap on the footer's terminal id.
    SecretTap,
    /// A key of the technician PIN pad.
    Pin(PinKey),
    /// A task on the maintenance panel.
    Maintenance(MaintenanceTask),
    /// Attract screen: a touch anywhere wakes the kiosk.
    Wake,
    /// Catalog: browse by department (`None`: the list of departments' matters, all).
    ChooseDepartment(Option<String>),
    /// Open the search screen with its keyboard.
    OpenSearch,
    /// Search keyboard: a letter, digit or a Chinese word from the suggestions.
    SearchType(String),
    /// Search keyboard: erase the last character.
    SearchErase,
    /// Search keyboard: clear the query.
    SearchClear,
    /// Application form: a digit of the contact phone.
    PhoneDigit(u8),
    /// Application form: erase the phone's last digit.
    PhoneErase,
    /// Materials: photograph a page of the current material.
    Capture,
    /// Materials: drop page `n` (0-based) of the current material, to take it again.
    RemovePage(usize),
    /// Materials: the current material is missing; read the commitment (告知承诺).
    DeclareMissing,
    /// Commitment: the citizen commits to hand the material in later.
    Commit,
    /// Materials: on to the next material (or the review).
    NextMaterial,
    /// Review: submit the application.
    SubmitApplication,
    /// Home: start an errand (取号, 预约签到, 办件查询, 证明打印).
    Errand(Errand),
    /// Form: focus a field (by id) for typing, the date picker or the region picker.
    FormFocus(String),
    /// Form: text committed to the focused field, by a key of the pad or keyboard or by an
    /// input method (pinyin, handwriting); what the field cannot take is dropped.
    FormCommit(String),
    /// Form: erase the focused field's last character.
    FormErase,
    /// Form: choose an option of a choice or multiple choice (a second touch takes a multiple
    /// choice's option back), or `true`/`false` for a consent.
    FormChoose {
        /// The field's id.
        field: String,
        /// The option's value.
        value: String,
    },
    /// Form: a district (its townships show) or a township, in the focused address field.
    FormRegion(String),
    /// Form: a step of the focused date field's picker.
    FormDate(DateStep),
    /// Form: what the input method is composing (its preedit and candidates), to show.
    FormCompose(Composition),
    /// Form: the next page (refused while the page has problems), then the materials.
    FormNext,
    /// 办件查询: answer the 补正 of the application at this place in the list.
    AnswerCorrection(usize),
    /// 办件查询: rate the finished application at this place in the list.
    RateCompletion(usize),
    /// Rating of completion: one of the four indicators (0 整体满意度 … 3 服务态度) at a level.
    RateIndicator {
        /// Which indicator, 0 to 3.
        indicator: usize,
        /// 1 to 5.
        level: u8,
    },
    /// 补正 review: send the photographed materials.
    SubmitCorrection,
}

/// Work for the outside world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Fetch the catalog from the platform.
    FetchCatalog,
    /// Start polling the ID-card reader.
    StartCardReader,
    /// Stop polling the ID-card reader.
    StopCardReader,
    /// Submit an application (repeat with the same key on retry).
    Submit {
        /// Idempotency key of this application.
        idempotency_key: String,
        /// The application.
        request: ApplicationRequest,
        /// Its photographed materials.
        materials: Vec<SubmittedMaterial>,
    },
    /// Print the application receipt.
    PrintReceipt(ReceiptContent),
    /// Send a 好差评 rating.
    SendRating(RatingRequest),
    /// The session ended: wipe every copy of personal data.
    WipePersonalData,
    /// Check the technician PIN.
    CheckPin(PinEntry),
    /// Record an entry of the audit trail the platform receives.
    Audit {
        /// Code: `maintenance_entered`, `pin_refused`, …
        kind: &'static str,
        /// Details (never personal data).
        detail: String,
    },
    /// Gather the terminal's state for the maintenance panel.
    RefreshTechnicianStatus,
    /// Carry out a maintenance task.
    RunTask(MaintenanceTask),
    /// Start sending document-camera preview frames.
    StartCamera,
    /// Stop the document camera.
    StopCamera,
    /// Photograph one page (answered by [`Event::PageCaptured`]).
    CapturePage,
    /// Take a queue ticket for a matter (answered by [`Event::ErrandDone`]).
    TakeTicket {
        /// The matter queued for.
        matter: MatterId,
    },
    /// Check in for today's appointment (answered by [`Event::ErrandDone`]).
    CheckIn(CheckInRequest),
    /// Ask for the applicant's applications (answered by [`Event::ErrandDone`]).
    QueryProgress(ProgressRequest),
    /// Fetch a certificate and print it (answered by [`Event::ErrandDone`]).
    PrintCertificate {
        /// Certificate kind, e.g. [`APPLICATION_RECORD`].
        kind: &'static str,
        /// Whom it is for.
        request: CertificateRequest,
    },
    /// Print a queue ticket (answered by [`Event::Printed`]).
    PrintTicket(QueueTicket),
    /// Answer a 补正 online (answered by [`Event::ErrandDone`]).
    SendCorrection(CorrectionAnswer),
    /// Send a rating of completion online, with the card (answered by [`Event::ErrandDone`]).
    SendCompletionRating(RatingRequest),
}

/// The photographed pages of one material, as submitted with the application.
#[derive(Clone, PartialEq, Eq)]
pub struct SubmittedMaterial {
    /// Index into the matter's materials.
    pub index: u16,
    /// The pages, JPEG.
    pub pages: Vec<Arc<Vec<u8>>>,
}

impl std::fmt::Debug for SubmittedMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SubmittedMaterial({}: {} pages)",
            self.index,
            self.pages.len()
        )
    }
}

/// What the printed receipt (受理回执) says. Holds masked data only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptContent {
    /// Application number.
    pub application_no: String,
    /// Matter name.
    pub matter_name: LocalizedText,
    /// Applicant name, masked.
    pub applicant_masked: String,
    /// Document number, masked.
    pub id_number_masked: String,
    /// Acceptance time as the platform stated it.
    pub accepted_at: String,
    /// Terminal id.
    pub terminal_id: String,
    /// Progress address (the QR code).
    pub progress_url: String,
    /// The progress code (查询码) printed beside the number: with it, the number opens the
    /// public progress page. Empty while kept in the outbox, or from a platform without codes.
    pub progress_code: String,
    /// Statutory time limit of the matter.
    pub time_limit: LocalizedText,
    /// Language the citizen used.
    pub language: Language,
    /// The application waits in the outbox: the number is the terminal's reference.
    pub kept: bool,
    /// The form's answers the receipt prints, personal numbers masked to their last 4 and
    /// nothing filled from the card (see [`FormState::printable_lines`]).
    pub answers: Vec<AnswerLine>,
}

/// What the ID-card screen asks of the citizen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentifyPrompt {
    /// 请放置身份证.
    PlaceCard,
    /// The card was lifted too early: place it again.
    PlaceAgain,
    /// The card has expired.
    Expired,
    /// The card cannot be read.
    Unreadable,
    /// The reader is out of order: identity-dependent functions are unavailable.
    ReaderUnavailable,
    /// A QR code was scanned: codes cannot identify anyone at this terminal yet, the card is
    /// needed.
    CodeNotAccepted,
}

/// State of the receipt printing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrintStatus {
    /// Being printed.
    Printing,
    /// Printed: take it.
    Printed,
    /// Not printed: the citizen is told how to follow progress another way.
    Failed(PrintFailure),
}

/// The screen the citizen sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    /// The catalog cannot be had and nothing can be done.
    OutOfService,
    /// Home / attract screen.
    Home,
    /// The catalog, optionally filtered by theme.
    Catalog {
        /// Selected theme.
        theme: Option<String>,
    },
    /// A matter's service guide (办事指南).
    Guide {
        /// The matter.
        matter: MatterId,
    },
    /// Identify with the ID card.
    Identify {
        /// The matter applied for.
        matter: MatterId,
        /// What the citizen is asked.
        prompt: IdentifyPrompt,
    },
    /// Confirm the data read from the card.
    Confirm {
        /// The matter applied for.
        matter: MatterId,
    },
    /// The matter's application form, one section a page (the page is the form's state).
    Form {
        /// The matter applied for.
        matter: MatterId,
    },
    /// Waiting for the platform.
    Submitting {
        /// The matter applied for.
        matter: MatterId,
    },
    /// The platform could not take the application.
    SubmitFailed {
        /// The matter applied for.
        matter: MatterId,
        /// Why.
        failure: SubmitFailure,
    },
    /// Accepted: the receipt.
    Receipt {
        /// The platform's receipt (or, when `kept`, the terminal's).
        receipt: ApplicationReceipt,
        /// Printing state.
        printing: PrintStatus,
        /// The platform has not answered yet: the application waits in the outbox and the
        /// number shown is the terminal's reference.
        kept: bool,
    },
    /// 好差评.
    Rating {
        /// Application rated.
        application_no: String,
        /// Matter rated.
        matter: MatterId,
        /// Level chosen, 1–5.
        level: Option<u8>,
        /// Reason chosen (required for 1–2).
        reason: Option<RatingReason>,
    },
    /// 好差评 of a finished application found by 办件查询: the level, the four national
    /// indicators and, for ★1–2, a reason.
    CompletionRating {
        /// The application, by its place in the list 办件查询 found.
        application: usize,
        /// Level chosen, 1–5.
        level: Option<u8>,
        /// 整体满意度, 服务效率, 服务水平, 服务态度 chosen, each 1–5.
        indicators: [Option<u8>; INDICATORS],
        /// Reason chosen (required for 1–2).
        reason: Option<RatingReason>,
    },
    /// The pages photographed for a 补正, before they are sent.
    CorrectionReview {
        /// The application's matter.
        matter: MatterId,
    },
    /// Thank you; home shortly.
    Thanks,
    /// The technician PIN pad.
    TechnicianPin(PinPad),
    /// Maintenance mode.
    Maintenance(MaintenancePanel),
    /// The catalog by handling department.
    Departments {
        /// Selected department (`None`: every matter).
        department: Option<String>,
    },
    /// Search with the on-screen keyboard.
    Search {
        /// What was typed.
        query: String,
    },
    /// Photograph (or declare missing) the matter's materials, one at a time.
    Materials {
        /// The matter applied for.
        matter: MatterId,
        /// Which of the materials to capture (index into the session's slots).
        slot: usize,
        /// A page is being taken.
        capturing: bool,
        /// What went wrong with the last capture.
        problem: Option<CaptureProblem>,
    },
    /// The written commitment (告知承诺) for a material handed in later.
    Commitment {
        /// The matter applied for.
        matter: MatterId,
        /// The material's slot.
        slot: usize,
    },
    /// Everything the application holds, before it is submitted.
    Review {
        /// The matter applied for.
        matter: MatterId,
    },
    /// 取号: choose the matter to queue for.
    QueuePick {
        /// Selected theme.
        theme: Option<String>,
    },
    /// 预约签到: place the card or scan the appointment code.
    CheckIn {
        /// What the citizen is asked.
        prompt: CheckInPrompt,
        /// What the card reader said, if it said anything wrong.
        card: IdentifyPrompt,
    },
    /// Identify with the card for an errand (办件查询, 证明打印).
    IdentifyFor {
        /// The errand.
        errand: Errand,
        /// What the citizen is asked.
        prompt: IdentifyPrompt,
    },
    /// Waiting for the platform (or the printer) on an errand.
    Working {
        /// The errand.
        errand: Errand,
    },
    /// How the errand went.
    ErrandResult {
        /// The errand.
        errand: Errand,
        /// What came of it.
        outcome: ErrandOutcome,
        /// Printing of the ticket, when one was issued.
        printing: Option<PrintStatus>,
    },
}

impl Screen {
    /// Screens on which inactivity ends the session. Home has no session; while the platform
    /// is being asked or the thank-you screen shows, the session ends by itself.
    fn idles_out(&self) -> bool {
        !matches!(
            self,
            Screen::Home
                | Screen::OutOfService
                | Screen::Submitting { .. }
                | Screen::Thanks
                | Screen::Working { .. }
        )
    }
}

/// The applicant as shown on screen to the citizen themselves.
#[derive(Clone, PartialEq, Eq)]
pub struct ApplicantView {
    /// Name in full (it is their own screen).
    pub name: String,
    /// Document number, masked.
    pub id_number_masked: String,
    /// Document kind.
    pub kind: DocumentKind,
}

impl std::fmt::Debug for ApplicantView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplicantView")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Everything the UI needs to draw the current moment.
#[derive(Debug, Clone)]
pub struct View {
    /// Current screen.
    pub screen: Screen,
    /// Current language.
    pub language: Language,
    /// Seconds left before the session ends, while the timeout warning shows.
    pub timeout_warning: Option<u32>,
    /// The catalog, once loaded.
    pub catalog: Option<Arc<Catalog>>,
    /// The identified applicant, while identified.
    pub applicant: Option<ApplicantView>,
    /// What the devices allow right now.
    pub devices: DeviceAvailability,
    /// 长辈版 is on.
    pub elder: bool,
    /// Each screen's main instruction is spoken.
    pub speech: bool,
    /// The attract screen shows (home, nobody there for a while).
    pub attract: bool,
    /// The contact phone typed on the application form.
    pub phone: String,
    /// The phone was refused when the citizen tried to go on.
    pub phone_problem: bool,
    /// The matters found by the search screen's query, best first.
    pub search_results: Vec<MatterId>,
    /// The materials being gathered for the application.
    pub materials: Vec<MaterialSlot>,
    /// The document camera's latest preview frame (while photographing).
    pub preview: Option<Arc<Picture>>,
    /// An operator revoked this terminal: out of service, citizens go to another terminal.
    pub revoked: bool,
    /// The form page, while it shows.
    pub form: Option<FormView>,
    /// The form's answers in words, on the review screen.
    pub answers: Vec<AnswerLine>,
    /// The materials photographed answer a 补正 (none may be handed in later).
    pub correcting: bool,
}

/// An application between "confirm" and the platform's answer.
#[derive(Debug, Clone)]
struct Pending {
    key: String,
    request: ApplicationRequest,
    materials: Vec<SubmittedMaterial>,
}

/// The citizen session state machine.
#[derive(Debug)]
pub struct Session {
    settings: Settings,
    keys: KeySource,
    screen: Screen,
    language: Language,
    catalog: Option<Arc<Catalog>>,
    /// The catalog's search index, built once when the catalog is shown.
    search_index: SearchIndex,
    /// A newer catalog that arrived while a citizen was being served: the screens they are
    /// on must not change under them (a matter gone, a form grown), so it is shown when the
    /// session ends.
    waiting_catalog: Option<Arc<Catalog>>,
    identity: Option<Identity>,
    pending: Option<Pending>,
    last_activity: Instant,
    entered_at: Instant,
    reader_running: bool,
    devices: DeviceAvailability,
    elder: bool,
    speech: bool,
    secret_taps: technician::SecretTaps,
    pin: PinEntry,
    attract: bool,
    phone: Zeroizing<String>,
    phone_problem: bool,
    /// The application form being filled in (personal data, wiped with the session).
    form: Option<FormState>,
    slots: Vec<MaterialSlot>,
    preview: Option<Arc<Picture>>,
    camera_running: bool,
    /// The citizen following their applications after 办件查询 (the card read for it).
    following: Option<follow::Following>,
    /// An operator revoked this terminal (the last heartbeat said so).
    revoked: bool,
    /// Where "back" from a guide leads (the catalog, departments or search it was opened from).
    guide_return: Screen,
    /// Where "back" from search leads.
    search_return: Screen,
}

impl Session {
    /// A session core at home, waiting for its catalog. Call [`Session::start`] next.
    pub fn new(mut settings: Settings, keys: KeySource, now: Instant) -> Self {
        settings.warning_grace = settings.warning_grace.max(MIN_WARNING_GRACE);
        Self {
            settings,
            keys,
            screen: Screen::Home,
            language: Language::Zh,
            catalog: None,
            search_index: SearchIndex::default(),
            waiting_catalog: None,
            identity: None,
            pending: None,
            last_activity: now,
            entered_at: now,
            reader_running: false,
            devices: DeviceAvailability::default(),
            elder: false,
            speech: false,
            secret_taps: technician::SecretTaps::default(),
            pin: PinEntry::default(),
            attract: false,
            phone: Zeroizing::new(String::new()),
            phone_problem: false,
            form: None,
            slots: Vec::new(),
            preview: None,
            camera_running: false,
            following: None,
            revoked: false,
            guide_return: Screen::Catalog { theme: None },
            search_return: Screen::Home,
        }
    }

    /// First commands: fetch the catalog.
    pub fn start(&mut self) -> Vec<Command> {
        vec![Command::FetchCatalog]
    }

    /// The current screen.
    pub fn screen(&self) -> &Screen {
        &self.screen
    }

    /// The current language.
    pub fn language(&self) -> Language {
        self.language
    }

    /// On a form page, shows section `section` as a citizen first reaches it; `false` when
    /// no form is open or that section shows no field. For the console's preview only in the
    /// sense that no touch leads here: a citizen turns pages with "next".
    pub fn open_form_section(&mut self, section: usize) -> bool {
        match (&self.screen, self.form.as_mut()) {
            (Screen::Form { .. }, Some(form)) => form.open_page(section),
            _ => false,
        }
    }

    /// True while personal data is held.
    pub fn holds_personal_data(&self) -> bool {
        self.identity.is_some()
            || self.pending.is_some()
            || !self.phone.is_empty()
            || self.form.is_some()
            || self.slots.iter().any(|s| !s.pages.is_empty())
            || self.preview.is_some()
            || self.following.is_some()
    }

    /// What the UI should show at `now`.
    pub fn view(&self, now: Instant) -> View {
        View {
            screen: self.screen.clone(),
            language: self.language,
            timeout_warning: self.warning_seconds_left(now),
            catalog: self.catalog.clone(),
            applicant: self.identity.as_ref().map(|who| ApplicantView {
                name: who.name().to_owned(),
                id_number_masked: who.masked_id_number(),
                kind: who.kind(),
            }),
            devices: self.devices,
            elder: self.elder,
            speech: self.speech,
            attract: self.attract,
            phone: self.phone.to_string(),
            phone_problem: self.phone_problem,
            search_results: match (&self.screen, &self.catalog) {
                (Screen::Search { query }, Some(catalog)) => self
                    .search_index
                    .search(catalog, query)
                    .into_iter()
                    .map(|m| m.id.clone())
                    .collect(),
                _ => Vec::new(),
            },
            materials: self.slots.clone(),
            preview: self.preview.clone(),
            revoked: self.revoked,
            form: match (&self.screen, &self.form) {
                (Screen::Form { .. }, Some(form)) => Some(form.view()),
                _ => None,
            },
            answers: match (&self.screen, &self.form) {
                (Screen::Review { .. }, Some(form)) => form.lines(),
                _ => Vec::new(),
            },
            correcting: self.correcting(),
        }
    }

    /// When the caller must deliver the next [`Event::Tick`], if ever.
    pub fn next_deadline(&self, now: Instant) -> Option<Instant> {
        match &self.screen {
            Screen::Thanks => Some(self.entered_at + self.settings.thanks_linger),
            Screen::OutOfService => Some(self.entered_at + self.settings.catalog_retry),
            Screen::Home if !self.attract => Some(self.last_activity + self.settings.attract_after),
            screen if screen.idles_out() => {
                let warn_at = self.last_activity + self.idle_warning_after();
                let end_at = warn_at + self.warning_grace();
                if now < warn_at {
                    Some(warn_at)
                } else {
                    // While warning, tick every second so the countdown moves.
                    let elapsed = now.duration_since(warn_at);
                    let next_second = warn_at + Duration::from_secs(elapsed.as_secs() + 1);
                    Some(next_second.min(end_at))
                }
            }
            _ => None,
        }
    }

    /// Elder mode doubles the time before the warning and the warning itself.
    fn idle_warning_after(&self) -> Duration {
        self.settings.idle_warning_after * if self.elder { ELDER_TIME_FACTOR } else { 1 }
    }

    fn warning_grace(&self) -> Duration {
        self.settings.warning_grace * if self.elder { ELDER_TIME_FACTOR } else { 1 }
    }

    fn warning_seconds_left(&self, now: Instant) -> Option<u32> {
        if !self.screen.idles_out() {
            return None;
        }
        let warn_at = self.last_activity + self.idle_warning_after();
        if now < warn_at {
            return None;
        }
        let end_at = warn_at + self.warning_grace();
        let left = end_at.saturating_duration_since(now);
        Some(left.as_secs_f64().ceil() as u32)
    }

    /// Feeds one event; returns the commands it causes.
    pub fn handle(&mut self, event: Event, now: Instant) -> Vec<Command> {
        let mut out = Vec::new();
        match event {
            Event::CatalogLoaded(catalog) => {
                self.waiting_catalog = Some(catalog);
                if self.catalog.is_none() || self.at_rest() {
                    self.take_waiting_catalog();
                }
                if self.screen == Screen::OutOfService && !self.revoked {
                    self.enter(Screen::Home, now, &mut out);
                }
            }
            Event::CatalogUnavailable => {
                if self.catalog.is_none() {
                    self.enter(Screen::OutOfService, now, &mut out);
                }
            }
            Event::Revoked(revoked) => self.revoked_changed(revoked, now, &mut out),
            Event::Touch(action) => self.touch(action, now, &mut out),
            Event::Card(card) => self.card(card, now, &mut out),
            Event::Devices(devices) => self.devices_changed(devices),
            Event::PinChecked { verdict, at } => self.pin_checked(verdict, at, now, &mut out),
            Event::TechnicianStatus(status) => {
                if let Screen::Maintenance(panel) = &mut self.screen {
                    panel.status = status;
                }
            }
            Event::TaskFinished { task, ok, detail } => {
                if let Screen::Maintenance(panel) = &mut self.screen {
                    panel.last_task = Some((
                        task,
                        if ok {
                            TaskOutcome::Done(detail)
                        } else {
                            TaskOutcome::Failed(detail)
                        },
                    ));
                    out.push(Command::RefreshTechnicianStatus);
                }
            }
            Event::Scan(code) => self.scanned(code, now, &mut out),
            Event::Presence => self.wake(now),
            Event::CameraFrame(frame) => {
                if matches!(self.screen, Screen::Materials { .. }) {
                    self.preview = Some(frame);
                }
            }
            Event::PageCaptured(result) => self.page_captured(result, now),
            Event::ErrandDone(outcome) => self.errand_done(outcome, now, &mut out),
            Event::Submitted(result) => self.submitted(result, false, now, &mut out),
            Event::Kept(receipt) => self.submitted(Ok(receipt), true, now, &mut out),
            Event::Printed(result) => {
                let done = match result {
                    Ok(()) => PrintStatus::Printed,
                    Err(failure) => PrintStatus::Failed(failure),
                };
                match &mut self.screen {
                    Screen::Receipt { printing, .. } => *printing = done,
                    Screen::ErrandResult {
                        printing: Some(printing),
                        ..
                    } => *printing = done,
                    _ => {}
                }
            }
            Event::Tick => self.tick(now, &mut out),
        }
        out
    }

    fn tick(&mut self, now: Instant, out: &mut Vec<Command>) {
        match &self.screen {
            Screen::Thanks if now >= self.entered_at + self.settings.thanks_linger => {
                self.go_home(now, out);
            }
            Screen::OutOfService if now >= self.entered_at + self.settings.catalog_retry => {
                // Re-enter to restart the retry clock, and ask again.
                self.entered_at = now;
                out.push(Command::FetchCatalog);
            }
            Screen::Home if now >= self.last_activity + self.settings.attract_after => {
                self.attract = true;
            }
            screen if screen.idles_out() => {
                let end_at = self.last_activity + self.idle_warning_after() + self.warning_grace();
                if now >= end_at {
                    self.go_home(now, out);
                }
            }
            _ => {}
        }
    }

    fn touch(&mut self, action: Action, now: Instant, out: &mut Vec<Command>) {
        self.last_activity = now;
        if std::mem::take(&mut self.attract) || action == Action::Wake {
            // The touch that wakes the screen does nothing else: the citizen has not seen
            // what is under it.
            return;
        }
        if self.technician_touch(&action, now, out) {
            return;
        }
        let Some(catalog) = self.catalog.clone() else {
            // Nothing but the language can change before the catalog is here.
            match action {
                Action::ToggleLanguage => self.language = self.language.toggled(),
                Action::ToggleElder => self.toggle_elder(),
                Action::ToggleSpeech => self.speech = !self.speech,
                _ => {}
            }
            return;
        };
        match (action, self.screen.clone()) {
            (Action::ToggleLanguage, _) => self.language = self.language.toggled(),
            (Action::ToggleElder, _) => self.toggle_elder(),
            (Action::ToggleSpeech, _) => self.speech = !self.speech,
            (Action::StayActive, _) => {}
            (Action::Home, Screen::Home) => {}
            (Action::Home, Screen::Submitting { .. }) => {}
            (Action::Home, _) => self.go_home(now, out),
            (Action::Begin, Screen::Home) => self.enter(Screen::Catalog { theme: None }, now, out),
            (
                Action::ChooseTheme(theme),
                Screen::Home
                | Screen::Catalog { .. }
                | Screen::Departments { .. }
                | Screen::Search { .. },
            ) => {
                let theme = theme.filter(|id| catalog.theme(id).is_some());
                self.enter(Screen::Catalog { theme }, now, out);
            }
            (Action::ChooseTheme(theme), Screen::QueuePick { .. }) => {
                let theme = theme.filter(|id| catalog.theme(id).is_some());
                self.screen = Screen::QueuePick { theme };
            }
            (
                Action::ChooseDepartment(department),
                Screen::Home | Screen::Catalog { .. } | Screen::Departments { .. },
            ) => {
                let department = department.filter(|id| catalog.department(id).is_some());
                self.enter(Screen::Departments { department }, now, out);
            }
            (
                Action::OpenSearch,
                screen @ (Screen::Home | Screen::Catalog { .. } | Screen::Departments { .. }),
            ) => {
                self.search_return = screen;
                self.enter(
                    Screen::Search {
                        query: String::new(),
                    },
                    now,
                    out,
                );
            }
            (Action::SearchType(typed), Screen::Search { mut query }) => {
                let allowed = typed
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || ('\u{4e00}'..='\u{9fff}').contains(&c));
                if allowed && query.chars().count() + typed.chars().count() <= MAX_QUERY_CHARS {
                    query.extend(typed.chars().flat_map(char::to_lowercase));
                }
                self.screen = Screen::Search { query };
            }
            (Action::SearchErase, Screen::Search { mut query }) => {
                query.pop();
                self.screen = Screen::Search { query };
            }
            (Action::SearchClear, Screen::Search { .. }) => {
                self.screen = Screen::Search {
                    query: String::new(),
                };
            }
            (
                Action::OpenMatter(matter),
                screen @ (Screen::Catalog { .. }
                | Screen::Departments { .. }
                | Screen::Search { .. }),
            ) if catalog.matter(&matter).is_some() => {
                self.guide_return = screen;
                self.enter(Screen::Guide { matter }, now, out);
            }
            (Action::OpenMatter(matter), Screen::QueuePick { .. })
                if catalog.matter(&matter).is_some() =>
            {
                out.push(Command::TakeTicket { matter });
                self.enter(
                    Screen::Working {
                        errand: Errand::Ticket,
                    },
                    now,
                    out,
                );
            }
            (Action::Errand(errand), Screen::Home) => self.start_errand(errand, now, out),
            (Action::Done, Screen::ErrandResult { .. }) => self.enter(Screen::Thanks, now, out),
            (Action::Apply, Screen::Guide { matter })
                if self.devices.card_reader
                    && catalog.matter(&matter).is_some_and(|m| m.kiosk_application) =>
            {
                self.ask_for_card(matter, now, out);
            }
            (Action::PhoneDigit(digit), Screen::Confirm { .. })
                if digit <= 9 && self.phone.len() < MAX_PHONE_DIGITS =>
            {
                self.phone.push(char::from(b'0' + digit));
                self.phone_problem = false;
            }
            (Action::PhoneErase, Screen::Confirm { .. }) => {
                self.phone.pop();
                self.phone_problem = false;
            }
            (Action::ConfirmApplicant, Screen::Confirm { matter }) => {
                if phone_is_valid(&self.phone) {
                    self.begin_form(matter, now, out);
                } else {
                    self.phone_problem = true;
                }
            }
            (
                Action::Capture,
                Screen::Materials {
                    matter,
                    slot,
                    capturing: false,
                    ..
                },
            ) if self.devices.camera => {
                let full = self
                    .slots
                    .get(slot)
                    .is_none_or(|s| s.pages.len() >= MAX_PAGES_PER_MATERIAL);
                let problem = full.then_some(CaptureProblem::TooManyPages);
                if !full {
                    out.push(Command::CapturePage);
                }
                self.screen = Screen::Materials {
                    matter,
                    slot,
                    capturing: !full,
                    problem,
                };
            }
            (
                Action::RemovePage(page),
                Screen::Materials {
                    slot,
                    capturing: false,
                    ..
                },
            ) => {
                if let Some(s) = self.slots.get_mut(slot)
                    && page < s.pages.len()
                {
                    s.pages.remove(page);
                }
            }
            (
                Action::DeclareMissing,
                Screen::Materials {
                    matter,
                    slot,
                    capturing: false,
                    ..
                },
            ) if self.waivable(&catalog, &matter, slot) => {
                self.enter(Screen::Commitment { matter, slot }, now, out);
            }
            (Action::Commit, Screen::Commitment { matter, slot }) => {
                if let Some(s) = self.slots.get_mut(slot) {
                    s.committed = true;
                    s.pages.clear();
                }
                self.show_material(matter, slot + 1, now, out);
            }
            (
                Action::NextMaterial,
                Screen::Materials {
                    matter,
                    slot,
                    capturing: false,
                    ..
                },
            ) if self.slots.get(slot).is_some_and(MaterialSlot::settled) => {
                self.show_material(matter, slot + 1, now, out);
            }
            (action, Screen::Form { matter }) if form::is_form_action(&action) => {
                self.form_touch(action, matter, now, out);
            }
            (Action::SubmitApplication, Screen::Review { matter }) => {
                self.submit_new(matter, now, out)
            }
            (Action::Retry, Screen::SubmitFailed { matter, .. }) => self.resubmit(matter, now, out),
            (Action::Done, Screen::Receipt { receipt, .. }) => {
                self.drop_application();
                out.push(Command::WipePersonalData);
                self.enter(
                    Screen::Rating {
                        application_no: receipt.application_no,
                        matter: receipt.matter_id,
                        level: None,
                        reason: None,
                    },
                    now,
                    out,
                );
            }
            (
                Action::Rate(level),
                Screen::Rating {
                    application_no,
                    matter,
                    reason,
                    ..
                },
            ) if (1..=5).contains(&level) => {
                let reason = if level <= 2 { reason } else { None };
                self.screen = Screen::Rating {
                    application_no,
                    matter,
                    level: Some(level),
                    reason,
                };
            }
            (
                Action::Reason(why),
                Screen::Rating {
                    application_no,
                    matter,
                    level: Some(level),
                    ..
                },
            ) if level <= 2 => {
                self.screen = Screen::Rating {
                    application_no,
                    matter,
                    level: Some(level),
                    reason: Some(why),
                };
            }
            (
                Action::SendRating,
                Screen::Rating {
                    application_no,
                    matter,
                    level: Some(level),
                    reason,
                },
            ) if level > 2 || reason.is_some() => {
                out.push(Command::SendRating(RatingRequest {
                    application_no,
                    matter_id: matter,
                    terminal_id: self.settings.terminal_id.clone(),
                    level,
                    reason: if level <= 2 { reason } else { None },
                    stage: kiosk_protocol::RatingStage::Acceptance,
                    indicators: None,
                    holder: None,
                }));
                self.enter(Screen::Thanks, now, out);
            }
            (Action::SkipRating, Screen::Rating { .. }) => self.enter(Screen::Thanks, now, out),
            (action, screen @ (Screen::ErrandResult { .. } | Screen::CompletionRating { .. }))
                if Self::is_follow_action(&action) =>
            {
                self.follow_touch(action, screen, now, out);
            }
            (Action::SubmitCorrection, Screen::CorrectionReview { .. }) => {
                self.send_correction(now, out);
            }
            (Action::Back, screen) => self.back(screen, now, out),
            _ => {}
        }
    }

    fn back(&mut self, screen: Screen, now: Instant, out: &mut Vec<Command>) {
        let previous = match screen {
            Screen::Catalog { .. }
            | Screen::Departments { .. }
            | Screen::QueuePick { .. }
            | Screen::CheckIn { .. }
            | Screen::IdentifyFor { .. }
            | Screen::ErrandResult { .. } => Screen::Home,
            Screen::Search { .. } => self.search_return.clone(),
            Screen::Guide { .. } => self.guide_return.clone(),
            Screen::Identify { matter, .. } => Screen::Guide { matter },
            Screen::Confirm { matter } | Screen::SubmitFailed { matter, .. } => {
                // Stepping back from the applicant's data drops it.
                self.drop_application();
                out.push(Command::WipePersonalData);
                Screen::Guide { matter }
            }
            Screen::Form { matter } => self.form_back(matter),
            Screen::Materials { slot: 0, .. } if self.correcting() => self.back_to_applications(),
            Screen::CompletionRating { .. } => self.back_to_applications(),
            Screen::Materials {
                matter, slot: 0, ..
            } => self.before_materials(matter),
            Screen::Materials { matter, slot, .. } => Screen::Materials {
                matter,
                slot: slot - 1,
                capturing: false,
                problem: None,
            },
            Screen::Commitment { matter, slot } => Screen::Materials {
                matter,
                slot,
                capturing: false,
                problem: None,
            },
            Screen::CorrectionReview { matter } | Screen::Review { matter } => {
                match self.slots.len() {
                    0 => self.before_materials(matter),
                    n => Screen::Materials {
                        matter,
                        slot: n - 1,
                        capturing: false,
                        problem: None,
                    },
                }
            }
            _ => return,
        };
        if previous == Screen::Home {
            self.go_home(now, out);
        } else {
            self.enter(previous, now, out);
        }
    }

    /// Elder mode turns speech on with it (and off again with it).
    fn toggle_elder(&mut self) {
        self.elder = !self.elder;
        self.speech = self.elder;
    }

    fn devices_changed(&mut self, devices: DeviceAvailability) {
        self.devices = devices;
        // A citizen already waiting at the card screen is told at once, not after a timeout.
        if let Screen::Identify { prompt, .. } = &mut self.screen {
            if !devices.card_reader {
                *prompt = IdentifyPrompt::ReaderUnavailable;
            } else if *prompt == IdentifyPrompt::ReaderUnavailable {
                *prompt = IdentifyPrompt::PlaceCard;
            }
        }
    }

    /// Someone stepped up (or scanned, or touched): leave the attract screen.
    fn wake(&mut self, now: Instant) {
        if self.screen == Screen::Home {
            self.attract = false;
            self.last_activity = now;
        }
    }

    /// A code was scanned. Only the identify screen answers it: codes cannot identify a
    /// citizen here yet (the platform has no 苏服码 resolution), so the citizen is told to use
    /// the card instead of being left wondering why nothing happened.
    /// An appointment code checks its holder in, on the check-in screen or straight from
    /// home.
    fn scanned(&mut self, code: ScannedCode, now: Instant, out: &mut Vec<Command>) {
        match (&mut self.screen, code) {
            (Screen::Identify { prompt, .. } | Screen::IdentifyFor { prompt, .. }, _) => {
                self.last_activity = now;
                if *prompt != IdentifyPrompt::ReaderUnavailable {
                    *prompt = IdentifyPrompt::CodeNotAccepted;
                }
            }
            (Screen::CheckIn { .. }, ScannedCode::Appointment(code)) => {
                self.check_in_with_code(code, now, out);
            }
            (Screen::CheckIn { prompt, .. }, _) => {
                self.last_activity = now;
                *prompt = CheckInPrompt::NotAnAppointmentCode;
            }
            (Screen::Home, ScannedCode::Appointment(code)) if self.catalog.is_some() => {
                self.attract = false;
                self.check_in_with_code(code, now, out);
            }
            (Screen::Home, _) => self.wake(now),
            _ => {}
        }
    }

    fn card(&mut self, card: CardEvent, now: Instant, out: &mut Vec<Command>) {
        if self.errand_card(&card, now, out) {
            return;
        }
        let Screen::Identify { matter, .. } = self.screen.clone() else {
            // A card placed anywhere else is ignored; its data is dropped here.
            return;
        };
        self.last_activity = now;
        let prompt = match card {
            CardEvent::Read(who) => {
                self.identity = Some(who);
                self.enter(Screen::Confirm { matter }, now, out);
                return;
            }
            CardEvent::Expired => IdentifyPrompt::Expired,
            CardEvent::Removed => IdentifyPrompt::PlaceAgain,
            CardEvent::Unreadable => IdentifyPrompt::Unreadable,
            CardEvent::ReaderFault => IdentifyPrompt::ReaderUnavailable,
        };
        self.screen = Screen::Identify { matter, prompt };
    }

    fn ask_for_card(&mut self, matter: MatterId, now: Instant, out: &mut Vec<Command>) {
        let prompt = IdentifyPrompt::PlaceCard;
        self.enter(Screen::Identify { matter, prompt }, now, out);
    }

    fn submit_new(&mut self, matter: MatterId, now: Instant, out: &mut Vec<Command>) {
        let Some(who) = &self.identity else {
            self.ask_for_card(matter, now, out);
            return;
        };
        let request = ApplicationRequest {
            terminal_id: self.settings.terminal_id.clone(),
            matter_id: matter.clone(),
            applicant: ApplicantInfo {
                name: who.name().to_owned(),
                id_number: who.id_number().to_owned(),
                document_kind: who.kind().wire_name().to_owned(),
                phone: Some(self.phone.to_string()).filter(|p| !p.is_empty()),
            },
            language: self.language,
            committed_missing_materials: self
                .slots
                .iter()
                .filter(|s| s.committed)
                .map(|s| s.index)
                .collect(),
            catalog_version: self.catalog.as_ref().map(|c| c.version.clone()),
            answers: self
                .form
                .as_ref()
                .map(|f| f.answers().clone())
                .unwrap_or_default(),
        };
        let materials = self
            .slots
            .iter()
            .filter(|s| !s.committed && !s.pages.is_empty())
            .map(|s| SubmittedMaterial {
                index: s.index,
                pages: s.pages.iter().map(|p| p.jpeg.clone()).collect(),
            })
            .collect();
        let pending = Pending {
            key: self.keys.next_key(),
            request,
            materials,
        };
        out.push(Command::Submit {
            idempotency_key: pending.key.clone(),
            request: pending.request.clone(),
            materials: pending.materials.clone(),
        });
        self.pending = Some(pending);
        self.enter(Screen::Submitting { matter }, now, out);
    }

    fn resubmit(&mut self, matter: MatterId, now: Instant, out: &mut Vec<Command>) {
        match &self.pending {
            Some(pending) => {
                out.push(Command::Submit {
                    idempotency_key: pending.key.clone(),
                    request: pending.request.clone(),
                    materials: pending.materials.clone(),
                });
                self.enter(Screen::Submitting { matter }, now, out);
            }
            None => self.submit_new(matter, now, out),
        }
    }

    fn submitted(
        &mut self,
        result: Result<ApplicationReceipt, SubmitFailure>,
        kept: bool,
        now: Instant,
        out: &mut Vec<Command>,
    ) {
        let Screen::Submitting { matter } = self.screen.clone() else {
            return;
        };
        match result {
            Ok(receipt) => {
                // Without a working printer nothing is sent to it: the receipt screen says so
                // at once and points to the progress QR code instead.
                let printing = if self.devices.printer {
                    PrintStatus::Printing
                } else {
                    PrintStatus::Failed(PrintFailure::PrinterFault)
                };
                if let (true, Some(who), Some(catalog)) =
                    (self.devices.printer, &self.identity, &self.catalog)
                {
                    let found = catalog.matter(&receipt.matter_id);
                    out.push(Command::PrintReceipt(ReceiptContent {
                        application_no: receipt.application_no.clone(),
                        matter_name: found.map(|m| m.name.clone()).unwrap_or_default(),
                        applicant_masked: who.masked_name(),
                        id_number_masked: who.masked_id_number(),
                        accepted_at: receipt.accepted_at.clone(),
                        terminal_id: self.settings.terminal_id.clone(),
                        progress_url: receipt.progress_url.clone(),
                        progress_code: receipt.progress_code.clone(),
                        time_limit: found.map(|m| m.time_limit.label()).unwrap_or_default(),
                        language: self.language,
                        kept,
                        answers: self
                            .form
                            .as_ref()
                            .map(FormState::printable_lines)
                            .unwrap_or_default(),
                    }));
                }
                // Kept in the outbox (or delivered): the terminal's copies go.
                self.pending = None;
                self.slots.clear();
                self.phone = Zeroizing::new(String::new());
                self.form = None;
                self.enter(
                    Screen::Receipt {
                        receipt,
                        printing,
                        kept,
                    },
                    now,
                    out,
                );
            }
            Err(failure) => self.enter(Screen::SubmitFailed { matter, failure }, now, out),
        }
    }

    /// Moves to `screen`, starting or stopping the card reader as the new screen needs.
    fn enter(&mut self, screen: Screen, now: Instant, out: &mut Vec<Command>) {
        let wants_reader = matches!(
            screen,
            Screen::Identify { .. } | Screen::IdentifyFor { .. } | Screen::CheckIn { .. }
        );
        if wants_reader && !self.reader_running {
            out.push(Command::StartCardReader);
        } else if !wants_reader && self.reader_running {
            out.push(Command::StopCardReader);
        }
        self.reader_running = wants_reader;
        let wants_camera = matches!(screen, Screen::Materials { .. });
        if wants_camera && !self.camera_running {
            out.push(Command::StartCamera);
        } else if !wants_camera && self.camera_running {
            out.push(Command::StopCamera);
            self.preview = None;
        }
        self.camera_running = wants_camera;
        self.attract = false;
        self.screen = screen;
        self.entered_at = now;
        self.last_activity = now;
        if self.at_rest() {
            self.take_waiting_catalog();
        }
    }

    /// Nobody is being served: home (or out of service) with no citizen's data held, where a
    /// new catalog may replace the one shown.
    fn at_rest(&self) -> bool {
        matches!(self.screen, Screen::Home | Screen::OutOfService) && !self.holds_personal_data()
    }

    /// Shows the catalog that waited for the session to end, if one did.
    fn take_waiting_catalog(&mut self) {
        if let Some(catalog) = self.waiting_catalog.take() {
            self.search_index = SearchIndex::new(&catalog);
            self.catalog = Some(catalog);
        }
    }

    /// Ends the session: home, language back to Chinese, every personal datum wiped.
    /// The technician's controls; true when `action` was one (handled even out of service).
    fn technician_touch(&mut self, action: &Action, now: Instant, out: &mut Vec<Command>) -> bool {
        match (action, &self.screen) {
            (Action::SecretTap, Screen::Home | Screen::OutOfService)
                if !self.holds_personal_data() =>
            {
                if self.secret_taps.tap(now) {
                    self.pin = PinEntry::default();
                    self.enter(
                        Screen::TechnicianPin(PinPad {
                            digits: 0,
                            message: PinMessage::Enter,
                        }),
                        now,
                        out,
                    );
                }
                true
            }
            (Action::SecretTap, _) => true,
            (Action::Pin(key), Screen::TechnicianPin(pad)) => {
                let mut pad = *pad;
                if pad.message == PinMessage::Checking {
                    return true;
                }
                match key {
                    PinKey::Digit(d) => self.pin.push(*d),
                    PinKey::Erase => self.pin.erase(),
                    PinKey::Submit if self.pin.len() >= technician::MIN_PIN_DIGITS => {
                        out.push(Command::CheckPin(self.pin.take()));
                        pad.message = PinMessage::Checking;
                    }
                    PinKey::Submit => {}
                }
                pad.digits = u8::try_from(self.pin.len()).unwrap_or(u8::MAX);
                self.screen = Screen::TechnicianPin(pad);
                true
            }
            (Action::Pin(_), _) => true,
            (Action::Maintenance(task), Screen::Maintenance(panel)) => {
                if matches!(panel.last_task, Some((_, TaskOutcome::Running))) {
                    return true;
                }
                let mut panel = panel.clone();
                panel.last_task = Some((*task, TaskOutcome::Running));
                self.screen = Screen::Maintenance(panel);
                out.push(Command::Audit {
                    kind: task.code(),
                    detail: String::new(),
                });
                out.push(Command::RunTask(*task));
                true
            }
            (Action::Maintenance(_), _) => true,
            (Action::Home | Action::Back, Screen::TechnicianPin(_) | Screen::Maintenance(_)) => {
                if matches!(self.screen, Screen::Maintenance(_)) {
                    out.push(Command::Audit {
                        kind: "maintenance_left",
                        detail: String::new(),
                    });
                }
                self.pin = PinEntry::default();
                self.go_home(now, out);
                true
            }
            _ => false,
        }
    }

    fn pin_checked(&mut self, verdict: Verdict, at: i64, now: Instant, out: &mut Vec<Command>) {
        let Screen::TechnicianPin(_) = self.screen else {
            return;
        };
        let (kind, detail) = match verdict {
            Verdict::Accepted => ("maintenance_entered", String::new()),
            Verdict::Refused { attempts_left } => {
                ("pin_refused", format!("{attempts_left} attempts left"))
            }
            Verdict::LockedOut { until } => ("pin_locked_out", format!("locked until {until}")),
            Verdict::NotConfigured => ("pin_not_configured", String::new()),
        };
        out.push(Command::Audit { kind, detail });
        if verdict == Verdict::Accepted {
            self.enter(
                Screen::Maintenance(MaintenancePanel {
                    status: TechnicianStatus::default(),
                    last_task: None,
                }),
                now,
                out,
            );
            out.push(Command::RefreshTechnicianStatus);
        } else {
            self.screen = Screen::TechnicianPin(PinPad {
                digits: 0,
                message: technician::message_for(verdict, at),
            });
        }
    }

    fn go_home(&mut self, now: Instant, out: &mut Vec<Command>) {
        self.drop_application();
        self.language = Language::Zh;
        self.elder = false;
        self.speech = false;
        let screen = if self.revoked {
            Screen::OutOfService
        } else {
            Screen::Home
        };
        self.enter(screen, now, out);
        out.push(Command::WipePersonalData);
    }

    /// A revoked terminal goes out of service, but never under a citizen: one being served
    /// finishes (what they submit waits in the outbox), and the session then ends on the
    /// out-of-service screen instead of home. Restored, it serves again by itself.
    fn revoked_changed(&mut self, revoked: bool, now: Instant, out: &mut Vec<Command>) {
        if self.revoked == revoked {
            return;
        }
        self.revoked = revoked;
        match (revoked, &self.screen) {
            (true, Screen::Home) => self.enter(Screen::OutOfService, now, out),
            (false, Screen::OutOfService) if self.catalog.is_some() => {
                self.enter(Screen::Home, now, out);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod follow_tests;
#[cfg(test)]
mod form_tests;
#[cfg(test)]
mod tests;
