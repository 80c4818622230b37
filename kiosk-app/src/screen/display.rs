//! Applies the session core's [`View`] to the Slint window, and turns touches back into
//! [`Action`]s. Runs on the UI thread; everything here is a plain mapping, one function per
//! area of the UI's state (the kiosk as a whole, the devices, the catalog, the application,
//! the errands, the technician).

use std::cell::RefCell;
use std::rc::Rc;

use kiosk_protocol::Matter;
use kiosk_protocol::form::{Answer, FieldKind, Region};
use kiosk_protocol::{Catalog, Language, LocalizedText, RatingReason};
use kiosk_ui::{
    AnswerRow, ApplicantData, Application, Browse, CaptureNotice, Catalog as UiCatalog, Devices,
    Errand as UiErrand, ErrandResult, Errands, FieldInput, Form, FormFieldItem, FormOption,
    GuideData, IdentifyPrompt as UiPrompt, Kiosk, KioskWindow, MaterialRow, MaterialState,
    MatterItem, Page, PinNotice, PrintState, ReasonItem, ReceiptData, StatusRow, TaskState,
    Technician, ThemeItem, TicketData, Touch,
};
use slint::{ComponentHandle, Image, Rgb8Pixel, SharedPixelBuffer, SharedString};

use super::handwriting::Writing;
use super::input::{Direct, InputMethod};
use super::progress::{display_time, model, progress_item};
use crate::session::{
    Action, CaptureProblem, CheckInPrompt, DateStep, DocumentKind, Errand, ErrandOutcome,
    FieldView, FormView, IdentifyPrompt, MaintenancePanel, MaintenanceTask, Picture, PinKey,
    PinMessage, PinPad, PrintFailure, PrintStatus, Screen, SubmitFailure, TaskOutcome, View,
};

/// The window plus what it caches between views (the receipt's QR image, the language).
pub struct Display {
    window: KioskWindow,
    qr: Option<(String, Image)>,
    english: Option<bool>,
    /// The catalog version and language the topic and department lists show.
    lists_shown: Option<(String, Language)>,
    /// The materials models hold an application's pages (cleared once it is over).
    materials_shown: bool,
    /// The form's models hold answers (cleared once the form is off the screen).
    form_shown: bool,
    /// What turns a text field's keys into committed text.
    input: Rc<RefCell<Box<dyn InputMethod>>>,
    /// The handwriting pad a text field may take instead of the keyboard.
    writing: Rc<RefCell<Writing>>,
}

impl Display {
    /// Wraps a created window; `terminal_id` is shown in the home screen's footer.
    pub fn new(window: KioskWindow, terminal_id: &str, landscape: bool) -> Self {
        window.global::<Kiosk>().set_terminal_id(terminal_id.into());
        window.global::<kiosk_ui::Theme>().set_landscape(landscape);
        Self {
            window,
            qr: None,
            english: None,
            lists_shown: None,
            materials_shown: false,
            form_shown: false,
            input: Rc::new(RefCell::new(Box::new(Direct))),
            writing: Rc::default(),
        }
    }

    /// Installs the input method of text fields (a pinyin or handwriting method in place of
    /// the keyboard's direct input): the one place a composing method is connected.
    pub fn set_input_method(&self, method: Box<dyn InputMethod>) {
        *self.input.borrow_mut() = method;
    }

    /// Offers the handwriting pad (zinnia) beside the keyboard of text fields, where zinnia's
    /// model is installed (otherwise the pad is not offered and the reason is logged).
    pub fn install_handwriting(&self) {
        if let Some(writing) = super::handwriting::open() {
            *self.writing.borrow_mut() = writing;
            self.writing.borrow().show(&self.window);
        }
    }

    /// The Slint window.
    pub fn window(&self) -> &KioskWindow {
        &self.window
    }

    /// Routes every touch to `sink` as a session [`Action`].
    /// A text field's keyboard goes through the input method; every other touch maps
    /// straight to its action.
    pub fn on_action(&self, sink: impl Fn(Action) + 'static) {
        let sink = Rc::new(sink);
        let input = self.input.clone();
        let writing = self.writing.clone();
        let window = self.window.as_weak();
        self.window
            .global::<Kiosk>()
            .on_touched(move |touch, argument| {
                let mut method = input.borrow_mut();
                let actions = match touch {
                    Touch::FormType => method.key(&argument),
                    Touch::FormCandidate => match argument.parse() {
                        Ok(index) => method.choose(index),
                        Err(_) => Vec::new(),
                    },
                    Touch::FormErase => method.erase(),
                    Touch::FormHandwriting
                    | Touch::FormInkErase
                    | Touch::FormInkClear
                    | Touch::FormWritten => {
                        // Switching to the pad drops a half-typed pinyin, and back.
                        method.reset();
                        let mut pad = writing.borrow_mut();
                        let actions = pad.touch(touch, &argument);
                        if let Some(window) = window.upgrade() {
                            pad.show(&window);
                        }
                        actions
                    }
                    _ => {
                        if matches!(touch, Touch::FormFocus | Touch::FormNext | Touch::Back) {
                            method.reset();
                            writing.borrow_mut().reset();
                        }
                        action_from(touch, &argument).into_iter().collect()
                    }
                };
                drop(method);
                actions.into_iter().for_each(|action| sink(action));
            });
        self.on_strokes();
    }

    /// The handwriting pad's strokes: kept and drawn back here, recognised as each ends.
    fn on_strokes(&self) {
        let form = self.window.global::<Form>();
        let redraw = |writing: &Rc<RefCell<Writing>>, window: &slint::Weak<KioskWindow>| {
            if let Some(window) = window.upgrade() {
                writing.borrow().show(&window);
            }
        };
        let (writing, window) = (self.writing.clone(), self.window.as_weak());
        form.on_stroke_begun(move |x, y, side| {
            writing.borrow_mut().begin(x, y, side);
            redraw(&writing, &window);
        });
        let (writing, window) = (self.writing.clone(), self.window.as_weak());
        form.on_stroke_moved(move |x, y| {
            writing.borrow_mut().extend(x, y);
            if let Some(window) = window.upgrade() {
                writing.borrow().show_ink(&window);
            }
        });
        let (writing, window) = (self.writing.clone(), self.window.as_weak());
        form.on_stroke_ended(move || {
            writing.borrow_mut().end();
            redraw(&writing, &window);
        });
    }

    /// Shows `view`: the kiosk's modes and devices, the lists every page may use, then the
    /// screen's own state (one function per screen), then its page.
    pub fn show(&mut self, view: &View) {
        self.show_modes(view);
        self.show_devices(view);
        self.show_errand(view);
        self.show_lists(view);
        self.show_materials(view);
        self.show_form(view);
        let page = match &view.screen {
            Screen::OutOfService => Page::OutOfService,
            Screen::Home => Page::Home,
            Screen::Thanks => Page::Thanks,
            Screen::Catalog { theme } => self.show_topics(view, theme.as_deref(), Browse::Topics),
            Screen::QueuePick { theme } => self.show_topics(view, theme.as_deref(), Browse::Queue),
            Screen::Departments { department } => {
                self.show_departments(view, department.as_deref())
            }
            Screen::Search { query } => self.show_search(view, query),
            Screen::Guide { matter } => self.show_matter(view, matter, Page::Guide),
            Screen::Identify { matter, prompt } => self.show_identify(view, matter, *prompt),
            Screen::Confirm { matter } => self.show_matter(view, matter, Page::Confirm),
            Screen::Form { matter } => self.show_matter(view, matter, Page::Form),
            Screen::Materials {
                matter,
                slot,
                capturing,
                problem,
            } => self.show_capture(view, matter, *slot, *capturing, *problem),
            Screen::Commitment { matter, slot } => self.show_commitment(view, matter, *slot),
            Screen::Review { matter } => self.show_matter(view, matter, Page::Review),
            Screen::Submitting { matter } => self.show_matter(view, matter, Page::Submitting),
            Screen::SubmitFailed { matter, failure } => {
                self.show_submit_failed(view, matter, *failure)
            }
            Screen::Receipt {
                receipt,
                printing,
                kept,
            } => self.show_receipt(view, receipt, *printing, *kept),
            Screen::Rating { level, reason, .. } => self.show_rating(view, *level, *reason),
            Screen::CompletionRating {
                level,
                indicators,
                reason,
                ..
            } => {
                self.show_rating(view, *level, *reason);
                self.window
                    .global::<Application>()
                    .set_indicator_levels(model(indicators.iter().map(|l| l.map_or(0, i32::from))));
                Page::CompletionRating
            }
            Screen::CorrectionReview { matter } => {
                self.show_matter(view, matter, Page::CorrectionReview)
            }
            Screen::CheckIn { prompt, card } => self.show_check_in(*prompt, *card),
            Screen::IdentifyFor { prompt, .. } => {
                self.show_prompt(*prompt);
                Page::Identify
            }
            Screen::Working { .. } => Page::Working,
            Screen::ErrandResult {
                outcome, printing, ..
            } => self.show_errand_result(view, outcome, *printing),
            Screen::TechnicianPin(pad) => self.show_pin(pad),
            Screen::Maintenance(panel) => self.show_maintenance(panel),
        };
        self.show_applicant(view);
        self.window.global::<Kiosk>().set_page(page);
    }

    // The kiosk as a whole.

    /// Language, 长辈版, speech, the timeout warning and the attract veil.
    fn show_modes(&mut self, view: &View) {
        let english = view.language == Language::En;
        if self.english != Some(english) {
            kiosk_ui::select_language(english);
            self.english = Some(english);
        }
        let kiosk = self.window.global::<Kiosk>();
        kiosk.set_english(english);
        kiosk.set_elder(view.elder);
        kiosk.set_speech(view.speech);
        self.window
            .global::<kiosk_ui::Theme>()
            .set_elder(view.elder);
        kiosk.set_timeout_seconds(view.timeout_warning.map_or(-1, |s| s as i32));
        kiosk.set_attract(view.attract);
        kiosk.set_revoked(view.revoked);
    }

    /// What the devices allow now.
    fn show_devices(&self, view: &View) {
        let devices = self.window.global::<Devices>();
        devices.set_card_reader_available(view.devices.card_reader);
        devices.set_printer_available(view.devices.printer);
        // "Out of order" is for a scanner that is fitted and failing, not one never fitted.
        devices.set_scanner_available(view.devices.scanner || !view.devices.scanner_fitted);
        devices.set_scanner_working(view.devices.scanner && view.devices.scanner_fitted);
        devices.set_camera_available(view.devices.camera);
    }

    /// What the card reader asks of the citizen (applying and the errands alike).
    fn show_prompt(&self, prompt: IdentifyPrompt) {
        self.window
            .global::<Devices>()
            .set_identify_prompt(ui_prompt(prompt));
    }

    // The catalog.

    /// The topic and department lists, when the catalog or the language changed.
    fn show_lists(&mut self, view: &View) {
        let lang = view.language;
        let Some(catalog) = &view.catalog else { return };
        if self
            .lists_shown
            .as_ref()
            .is_some_and(|(version, shown)| *version == catalog.version && *shown == lang)
        {
            return;
        }
        self.lists_shown = Some((catalog.version.clone(), lang));
        let ui = self.window.global::<UiCatalog>();
        ui.set_themes(model(catalog.themes.iter().map(|t| ThemeItem {
            id: t.id.as_str().into(),
            name: t.name.get(lang).into(),
        })));
        ui.set_departments(model(catalog.departments.iter().map(|d| ThemeItem {
            id: d.id.as_str().into(),
            name: short_department(d.name.get(lang)).into(),
        })));
    }

    /// The catalog by topic (or, for a queue number, which matter), `theme` chosen or all.
    fn show_topics(&self, view: &View, theme: Option<&str>, browse: Browse) -> Page {
        let ui = self.window.global::<UiCatalog>();
        ui.set_browse(browse);
        ui.set_selected_theme(theme.unwrap_or_default().into());
        self.show_matters(view, |m| theme.is_none_or(|t| m.theme == t));
        Page::Catalog
    }

    /// The catalog by department, `department` chosen or all.
    fn show_departments(&self, view: &View, department: Option<&str>) -> Page {
        let ui = self.window.global::<UiCatalog>();
        ui.set_browse(Browse::Departments);
        ui.set_selected_department(department.unwrap_or_default().into());
        self.show_matters(view, |m| department.is_none_or(|d| m.department == d));
        Page::Catalog
    }

    /// The catalog's matters that pass `keep`, in the catalog page's list.
    fn show_matters(&self, view: &View, keep: impl Fn(&Matter) -> bool) {
        let Some(catalog) = &view.catalog else { return };
        self.window.global::<UiCatalog>().set_matters(model(
            catalog
                .matters
                .iter()
                .filter(|m| keep(m))
                .map(|m| matter_item(catalog, m, view.language)),
        ));
    }

    /// The search: what was typed, the matters found, and words to tap.
    fn show_search(&self, view: &View, query: &str) -> Page {
        let ui = self.window.global::<UiCatalog>();
        ui.set_search_query(query.into());
        if let Some(catalog) = &view.catalog {
            let found = view
                .search_results
                .iter()
                .filter_map(|id| catalog.matter(id));
            ui.set_matters(model(found.map(|m| matter_item(catalog, m, view.language))));
            ui.set_search_words(model(
                catalog
                    .themes
                    .iter()
                    .take(SEARCH_WORDS)
                    .filter_map(|t| search_word(t.name.get(Language::Zh)))
                    .map(SharedString::from),
            ));
        }
        Page::Search
    }

    /// A matter's guide, which the application's pages show too.
    fn show_guide(&self, view: &View, matter_id: &str) {
        let lang = view.language;
        let Some(catalog) = &view.catalog else { return };
        let Some(m) = catalog.matter(matter_id) else {
            return;
        };
        let texts =
            |list: &[LocalizedText]| model(list.iter().map(|t| SharedString::from(t.get(lang))));
        self.window.global::<UiCatalog>().set_guide(GuideData {
            name: m.name.get(lang).into(),
            department: department_name(catalog, &m.department, lang),
            applicant: m.applicant.get(lang).into(),
            office: m.handling_office.get(lang).into(),
            conditions: texts(&m.conditions),
            materials: model(m.materials.iter().map(|mat| MaterialRow {
                name: mat.name.get(lang).into(),
                form: mat.form.label().get(lang).into(),
                copies: i32::from(mat.copies),
                waivable: mat.waivable,
            })),
            procedure: texts(&m.procedure),
            time_limit: m.time_limit.label().get(lang).into(),
            fees: m.fees.get(lang).into(),
            place: m.place_and_hours.get(lang).into(),
            enquiry_phone: m.enquiry_phone.as_str().into(),
            complaint_phone: m.complaint_phone.as_str().into(),
            kiosk: m.kiosk_application,
        });
    }

    /// A page that shows the open matter and nothing else of its own.
    fn show_matter(&self, view: &View, matter: &str, page: Page) -> Page {
        self.show_guide(view, matter);
        page
    }

    // The application.

    /// Who applies (overwritten when nobody does, so no copy of the last citizen's data stays
    /// in the UI's properties), and the phone number typed.
    fn show_applicant(&self, view: &View) {
        let ui = self.window.global::<Application>();
        ui.set_phone(view.phone.as_str().into());
        ui.set_phone_problem(view.phone_problem);
        ui.set_applicant(match &view.applicant {
            Some(who) => ApplicantData {
                name: who.name.as_str().into(),
                id_masked: who.id_number_masked.as_str().into(),
                kind: document_label(who.kind).get(view.language).into(),
            },
            None => ApplicantData::default(),
        });
    }

    fn show_identify(&self, view: &View, matter: &str, prompt: IdentifyPrompt) -> Page {
        self.show_guide(view, matter);
        self.show_prompt(prompt);
        Page::Identify
    }

    /// The application's materials (names, pages taken, commitments).
    fn show_materials(&mut self, view: &View) {
        let lang = view.language;
        let ui = self.window.global::<Application>();
        let matter = match &view.screen {
            Screen::Materials { matter, .. }
            | Screen::Commitment { matter, .. }
            | Screen::CorrectionReview { matter }
            | Screen::Review { matter } => view.catalog.as_ref().and_then(|c| c.matter(matter)),
            _ => None,
        };
        let Some(matter) = matter else {
            if !std::mem::take(&mut self.materials_shown) {
                return;
            }
            // Overwrite: no thumbnail of the last citizen's papers stays in the UI.
            ui.set_materials(model(std::iter::empty()));
            ui.set_material_pages(model(std::iter::empty()));
            ui.set_camera_preview(Image::default());
            ui.set_has_preview(false);
            return;
        };
        self.materials_shown = true;
        ui.set_materials(model(view.materials.iter().filter_map(|slot| {
            let material = matter.materials.get(usize::from(slot.index))?;
            Some(MaterialState {
                name: material.name.get(lang).into(),
                form: material.form.label().get(lang).into(),
                copies: i32::from(material.copies),
                pages: i32::try_from(slot.pages.len()).unwrap_or(0),
                committed: slot.committed,
                // A 补正 asks for these very materials: none is handed in later.
                waivable: material.waivable && !view.correcting,
            })
        })));
    }

    /// Photographing material `slot`: its pages, the camera's picture, how the last try went.
    fn show_capture(
        &self,
        view: &View,
        matter: &str,
        slot: usize,
        capturing: bool,
        problem: Option<CaptureProblem>,
    ) -> Page {
        self.show_guide(view, matter);
        let ui = self.window.global::<Application>();
        ui.set_material_slot(i32::try_from(slot).unwrap_or(0));
        ui.set_material_pages(model(
            view.materials
                .get(slot)
                .into_iter()
                .flat_map(|s| s.pages.iter())
                .map(|p| picture_image(&p.thumbnail)),
        ));
        match &view.preview {
            Some(frame) => {
                ui.set_camera_preview(picture_image(frame));
                ui.set_has_preview(true);
            }
            None => {
                ui.set_camera_preview(Image::default());
                ui.set_has_preview(false);
            }
        }
        ui.set_capture_notice(match (capturing, problem) {
            (true, _) => CaptureNotice::Capturing,
            (false, None) => CaptureNotice::None,
            (false, Some(CaptureProblem::NoPage)) => CaptureNotice::NoPage,
            (false, Some(CaptureProblem::CameraFailed)) => CaptureNotice::CameraFailed,
            (false, Some(CaptureProblem::TooManyPages)) => CaptureNotice::TooManyPages,
        });
        Page::Materials
    }

    fn show_commitment(&self, view: &View, matter: &str, slot: usize) -> Page {
        self.show_guide(view, matter);
        self.window
            .global::<Application>()
            .set_material_slot(i32::try_from(slot).unwrap_or(0));
        Page::Commitment
    }

    fn show_submit_failed(&self, view: &View, matter: &str, failure: SubmitFailure) -> Page {
        self.show_guide(view, matter);
        self.window
            .global::<Application>()
            .set_submit_unreachable(failure == SubmitFailure::Unreachable);
        Page::SubmitFailed
    }

    fn show_receipt(
        &mut self,
        view: &View,
        receipt: &kiosk_protocol::ApplicationReceipt,
        printing: PrintStatus,
        kept: bool,
    ) -> Page {
        let lang = view.language;
        let matter = view
            .catalog
            .as_ref()
            .and_then(|c| c.matter(&receipt.matter_id));
        let qr = self.qr_for(&receipt.progress_url);
        let ui = self.window.global::<Application>();
        ui.set_receipt(ReceiptData {
            application_no: receipt.application_no.as_str().into(),
            matter: matter.map(|m| m.name.get(lang)).unwrap_or_default().into(),
            accepted_at: display_time(&receipt.accepted_at).into(),
            progress_url: receipt.progress_url.as_str().into(),
            time_limit: matter
                .map(|m| m.time_limit.label().get(lang).to_owned())
                .unwrap_or_default()
                .into(),
            kept,
        });
        ui.set_receipt_qr(qr);
        self.window
            .global::<Devices>()
            .set_print_state(print_state(printing));
        Page::Receipt
    }

    fn show_rating(&self, view: &View, level: Option<u8>, reason: Option<RatingReason>) -> Page {
        let ui = self.window.global::<Application>();
        ui.set_rating_level(level.map_or(0, i32::from));
        ui.set_rating_reason(reason.map(reason_code).unwrap_or_default().into());
        ui.set_reasons(model(RatingReason::ALL.iter().map(|&r| ReasonItem {
            code: reason_code(r).into(),
            label: r.label().get(view.language).into(),
        })));
        Page::Rating
    }

    // The errands.

    /// Which errand is under way, if any.
    fn show_errand(&self, view: &View) {
        self.window
            .global::<Errands>()
            .set_errand(match &view.screen {
                Screen::QueuePick { .. } => UiErrand::Ticket,
                Screen::CheckIn { .. } => UiErrand::CheckIn,
                Screen::IdentifyFor { errand, .. }
                | Screen::Working { errand }
                | Screen::ErrandResult { errand, .. } => ui_errand(*errand),
                _ => UiErrand::None,
            });
    }

    fn show_check_in(&self, prompt: CheckInPrompt, card: IdentifyPrompt) -> Page {
        self.window
            .global::<Errands>()
            .set_check_in_wrong_code(prompt == CheckInPrompt::NotAnAppointmentCode);
        self.show_prompt(card);
        Page::CheckIn
    }

    /// An errand's outcome: the ticket, the applications, or nothing more to show.
    fn show_errand_result(
        &self,
        view: &View,
        outcome: &ErrandOutcome,
        printing: Option<PrintStatus>,
    ) -> Page {
        let lang = view.language;
        let ui = self.window.global::<Errands>();
        let matter_name = |id: &str| -> SharedString {
            view.catalog
                .as_ref()
                .and_then(|c| c.matter(id))
                .map(|m| m.name.get(lang))
                .unwrap_or(id)
                .into()
        };
        let result = match outcome {
            ErrandOutcome::Ticket {
                ticket,
                appointment,
            } => {
                ui.set_ticket(TicketData {
                    number: ticket.ticket_no.as_str().into(),
                    window: ticket.window.as_str().into(),
                    people_ahead: i32::try_from(ticket.people_ahead).unwrap_or(i32::MAX),
                    matter: matter_name(&ticket.matter_id),
                    appointment: appointment
                        .as_ref()
                        .map(|a| format!("{} {}", a.day, a.slot))
                        .unwrap_or_default()
                        .into(),
                });
                ErrandResult::Ticket
            }
            ErrandOutcome::NoAppointment => ErrandResult::NoAppointment,
            ErrandOutcome::Progress(list) => {
                let catalog = view.catalog.as_deref();
                ui.set_progress(model(list.iter().map(|a| progress_item(catalog, a, lang))));
                ErrandResult::Progress
            }
            ErrandOutcome::CertificatePrinted => ErrandResult::CertificatePrinted,
            ErrandOutcome::CorrectionAnswered => ErrandResult::CorrectionAnswered,
            ErrandOutcome::CompletionRated => ErrandResult::CompletionRated,
            ErrandOutcome::Unreachable => ErrandResult::Unreachable,
            ErrandOutcome::Refused => ErrandResult::Refused,
            ErrandOutcome::PrinterFailed => ErrandResult::PrinterFailed,
        };
        ui.set_errand_result(result);
        if let Some(printing) = printing {
            self.window
                .global::<Devices>()
                .set_print_state(print_state(printing));
        }
        Page::ErrandResult
    }

    // The form.

    /// The form page (its section, fields and the focused field's input) and the review's
    /// answers; both emptied once the form is off the screen, so no answer stays in the UI.
    fn show_form(&mut self, view: &View) {
        let ui = self.window.global::<Form>();
        let lang = view.language;
        let regions = view
            .catalog
            .as_ref()
            .map_or(&[][..], |c| c.regions.as_slice());
        if view.form.is_none() && view.answers.is_empty() {
            if std::mem::take(&mut self.form_shown) {
                let mut writing = self.writing.borrow_mut();
                writing.close();
                writing.show(&self.window);
                ui.set_fields(model(std::iter::empty()));
                ui.set_answers(model(std::iter::empty()));
                ui.set_preedit(SharedString::new());
                ui.set_candidates(model(std::iter::empty()));
            }
            return;
        }
        self.form_shown = true;
        ui.set_answers(model(view.answers.iter().map(|line| AnswerRow {
            label: line.label.get(lang).into(),
            value: line.value.get(lang).into(),
        })));
        let Some(form) = &view.form else { return };
        ui.set_title(form.title.get(lang).into());
        ui.set_page(i32::try_from(form.page + 1).unwrap_or(1));
        ui.set_pages(i32::try_from(form.pages).unwrap_or(1));
        ui.set_fields(model(
            form.fields.iter().map(|f| field_item(f, regions, lang)),
        ));
        ui.set_preedit(form.composition.preedit.as_str().into());
        ui.set_candidates(model(
            form.composition
                .candidates
                .iter()
                .map(|c| SharedString::from(c.as_str())),
        ));
        self.show_focused(form, regions, lang);
    }

    /// The input of the focused field: which one, its pad's extra keys, the date picker's
    /// day, the region picker's lists.
    fn show_focused(&self, form: &FormView, regions: &[Region], lang: Language) {
        let ui = self.window.global::<Form>();
        let focused = form.fields.iter().find(|f| f.focused);
        ui.set_has_focus(focused.is_some());
        let Some(f) = focused else { return };
        let kind = &f.field.kind;
        ui.set_focused_label(f.field.label.get(lang).into());
        ui.set_focused_value(field_item(f, regions, lang).value);
        ui.set_input(field_input(kind));
        ui.set_point_key(matches!(kind, FieldKind::Number { decimals, .. } if *decimals > 0));
        ui.set_minus_key(matches!(kind, FieldKind::Number { min, .. } if *min < 0));
        ui.set_x_key(matches!(kind, FieldKind::IdNumber));
        ui.set_dash_key(matches!(kind, FieldKind::Phone));
        let day = match &f.answer {
            Some(Answer::Text(text)) if matches!(kind, FieldKind::Date { .. }) => {
                kiosk_protocol::form::definition::parse_date(text)
            }
            _ => None,
        };
        ui.set_year(day.map_or(0, |d| d.year()));
        ui.set_month(day.map_or(0, |d| i32::from(u8::from(d.month()))));
        ui.set_day(day.map_or(0, |d| i32::from(d.day())));
        let chosen = match &f.answer {
            Some(Answer::Address(address)) => address.region.as_str(),
            _ => "",
        };
        let county = form.county.as_deref().unwrap_or_default();
        let option = |r: &Region, on: bool| FormOption {
            value: r.code.as_str().into(),
            label: r.name.get(lang).into(),
            chosen: on,
        };
        ui.set_counties(model(
            Region::counties(regions).map(|r| option(r, r.code == county)),
        ));
        ui.set_townships(model(
            Region::townships(regions, county).map(|r| option(r, r.code == chosen)),
        ));
        ui.set_county(county.into());
        ui.set_place(
            Region::full_name(regions, chosen)
                .filter(|_| !chosen.is_empty())
                .map(|p| SharedString::from(p.get(lang)))
                .unwrap_or_default(),
        );
    }

    // The technician.

    fn show_pin(&self, pad: &PinPad) -> Page {
        let ui = self.window.global::<Technician>();
        ui.set_pin_digits(i32::from(pad.digits));
        let (notice, number) = match pad.message {
            PinMessage::Enter => (PinNotice::Enter, 0),
            PinMessage::Checking => (PinNotice::Checking, 0),
            PinMessage::Wrong { attempts_left } => (PinNotice::Wrong, attempts_left),
            PinMessage::Locked { minutes } => (PinNotice::Locked, minutes),
            PinMessage::NotConfigured => (PinNotice::NotConfigured, 0),
        };
        ui.set_pin_notice(notice);
        ui.set_pin_number(i32::try_from(number).unwrap_or(i32::MAX));
        Page::TechnicianPin
    }

    fn show_maintenance(&self, panel: &MaintenancePanel) -> Page {
        let ui = self.window.global::<Technician>();
        ui.set_technician_status(model(panel.status.lines.iter().map(|line| StatusRow {
            name: line.name.as_str().into(),
            state: line.state.as_str().into(),
            detail: line.detail.as_str().into(),
        })));
        ui.set_technician_version(panel.status.version.as_str().into());
        let (state, detail) = match &panel.last_task {
            None => (TaskState::None, ""),
            Some((_, TaskOutcome::Running)) => (TaskState::Running, ""),
            Some((_, TaskOutcome::Done(detail))) => (TaskState::Done, detail.as_str()),
            Some((_, TaskOutcome::Failed(detail))) => (TaskState::Failed, detail.as_str()),
        };
        ui.set_task_state(state);
        ui.set_task_detail(detail.into());
        Page::Maintenance
    }

    fn qr_for(&mut self, url: &str) -> Image {
        if let Some((cached, image)) = &self.qr
            && cached == url
        {
            return image.clone();
        }
        match kiosk_ui::qr::qr_image(url) {
            Ok(image) => {
                self.qr = Some((url.to_owned(), image.clone()));
                image
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot draw the progress QR code");
                Image::default()
            }
        }
    }
}

/// The input a field kind takes.
fn field_input(kind: &FieldKind) -> FieldInput {
    match kind {
        FieldKind::Text { .. } => FieldInput::Text,
        FieldKind::LongText { .. } => FieldInput::LongText,
        FieldKind::Number { .. } => FieldInput::Number,
        FieldKind::Date { .. } => FieldInput::Date,
        FieldKind::Choice { .. } => FieldInput::Choice,
        FieldKind::MultiChoice { .. } => FieldInput::MultiChoice,
        FieldKind::Phone => FieldInput::Phone,
        FieldKind::Address { .. } => FieldInput::Address,
        FieldKind::BankCard => FieldInput::BankCard,
        FieldKind::IdNumber => FieldInput::IdNumber,
        FieldKind::Consent { .. } => FieldInput::Consent,
    }
}

/// One field of the form page, its answer in words.
fn field_item(f: &FieldView, regions: &[Region], lang: Language) -> FormFieldItem {
    let kind = &f.field.kind;
    let chosen = |value: &str| match &f.answer {
        Some(Answer::Text(v)) => v == value,
        Some(Answer::Choices(values)) => values.iter().any(|v| v == value),
        _ => false,
    };
    let value = match &f.answer {
        Some(Answer::Text(text)) if matches!(kind, FieldKind::Choice { .. }) => kind
            .options()
            .iter()
            .find(|o| &o.value == text)
            .map_or(text.clone(), |o| o.label.get(lang).to_owned()),
        Some(Answer::Text(text)) => text.clone(),
        Some(Answer::Address(address)) => {
            let place = Region::full_name(regions, &address.region)
                .map(|p| p.get(lang).to_owned())
                .unwrap_or_default();
            [place.as_str(), address.street.as_str()]
                .into_iter()
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        }
        _ => String::new(),
    };
    let text = |t: Option<&LocalizedText>| SharedString::from(t.map_or("", |t| t.get(lang)));
    FormFieldItem {
        id: f.field.id.as_str().into(),
        label: f.field.label.get(lang).into(),
        help: text(f.field.help.as_ref()),
        input: field_input(kind),
        required: f.field.required,
        value: value.into(),
        read_only: f.locked,
        focused: f.focused,
        problem: f
            .problem
            .as_ref()
            .map(|p| SharedString::from(p.message().get(lang)))
            .unwrap_or_default(),
        options: model(kind.options().iter().map(|o| FormOption {
            value: o.value.as_str().into(),
            label: o.label.get(lang).into(),
            chosen: chosen(&o.value),
        })),
        unit: text(match kind {
            FieldKind::Number { unit, .. } => unit.as_ref(),
            _ => None,
        }),
        consent_text: text(match kind {
            FieldKind::Consent { text } => Some(text),
            _ => None,
        }),
        agreed: matches!(f.answer, Some(Answer::Flag(true))),
    }
}

/// A department's name for its chip: without the city every department shares.
fn short_department(name: &str) -> &str {
    let short = name
        .strip_prefix("连云港市")
        .or_else(|| name.strip_prefix("Lianyungang Municipal "))
        .or_else(|| name.strip_prefix("Lianyungang "))
        .unwrap_or(name);
    if short.is_empty() { name } else { short }
}

/// How many Chinese words the search screen offers to tap.
const SEARCH_WORDS: usize = 4;

/// A theme's name as a search word: its first part (社会保险 → 社会保险, 户籍·出入境 → 户籍).
fn search_word(theme: &str) -> Option<&str> {
    theme
        .split(['·', '、', '/', ' '])
        .next()
        .filter(|w| !w.is_empty())
}

fn matter_item(catalog: &Catalog, m: &Matter, lang: Language) -> MatterItem {
    MatterItem {
        id: m.id.as_str().into(),
        name: m.name.get(lang).into(),
        department: department_name(catalog, &m.department, lang),
        time_limit: m.time_limit.label().get(lang).into(),
        kiosk: m.kiosk_application,
    }
}

fn ui_prompt(prompt: IdentifyPrompt) -> UiPrompt {
    match prompt {
        IdentifyPrompt::PlaceCard => UiPrompt::PlaceCard,
        IdentifyPrompt::PlaceAgain => UiPrompt::PlaceAgain,
        IdentifyPrompt::Expired => UiPrompt::Expired,
        IdentifyPrompt::Unreadable => UiPrompt::Unreadable,
        IdentifyPrompt::ReaderUnavailable => UiPrompt::ReaderUnavailable,
        IdentifyPrompt::CodeNotAccepted => UiPrompt::CodeNotAccepted,
    }
}

fn ui_errand(errand: Errand) -> UiErrand {
    match errand {
        Errand::Ticket => UiErrand::Ticket,
        Errand::CheckIn => UiErrand::CheckIn,
        Errand::Progress => UiErrand::Progress,
        Errand::Certificate => UiErrand::Certificate,
    }
}

fn print_state(printing: PrintStatus) -> PrintState {
    match printing {
        PrintStatus::Printing => PrintState::Printing,
        PrintStatus::Printed => PrintState::Printed,
        PrintStatus::Failed(PrintFailure::PaperOut) => PrintState::PaperOut,
        PrintStatus::Failed(PrintFailure::PrinterFault) => PrintState::PrinterFault,
    }
}

/// A picture from the camera as a Slint image.
fn picture_image(picture: &Picture) -> Image {
    let expected = picture.width as usize * picture.height as usize * 3;
    if picture.rgb.len() != expected {
        return Image::default();
    }
    let buffer = SharedPixelBuffer::<Rgb8Pixel>::clone_from_slice(
        &picture.rgb,
        picture.width,
        picture.height,
    );
    Image::from_rgb8(buffer)
}

fn department_name(catalog: &Catalog, id: &str, lang: Language) -> SharedString {
    catalog
        .department(id)
        .map(|d| d.name.get(lang))
        .unwrap_or_default()
        .into()
}

/// `2026-11-22T14:52:56+08:00` → `2026-11-22 14:52`.
fn document_label(kind: DocumentKind) -> LocalizedText {
    match kind {
        DocumentKind::Resident => LocalizedText::new("居民身份证", "Resident ID card"),
        DocumentKind::PermitJ => LocalizedText::new(
            "港澳台居民居住证",
            "Residence permit for Hong Kong, Macao and Taiwan residents",
        ),
        DocumentKind::ForeignerI | DocumentKind::ForeignerY => {
            LocalizedText::new("外国人永久居留身份证", "Foreign permanent resident ID card")
        }
    }
}

fn reason_code(reason: RatingReason) -> &'static str {
    match reason {
        RatingReason::TookTooLong => "took_too_long",
        RatingReason::TooComplicated => "too_complicated",
        RatingReason::UnclearGuide => "unclear_guide",
        RatingReason::DeviceProblem => "device_problem",
        RatingReason::Other => "other",
    }
}

/// Maps a touch the UI raised to a session action: the one table between the screens and the
/// session core. `None` for an argument the touch cannot carry (a rating of "four").
pub fn action_from(touch: Touch, argument: &str) -> Option<Action> {
    let id = || Some(argument.to_owned()).filter(|a| !a.is_empty());
    let digit = || argument.parse::<u8>().ok().filter(|d| *d <= 9);
    Some(match touch {
        Touch::Begin => Action::Begin,
        Touch::Theme => Action::ChooseTheme(id()),
        Touch::Department => Action::ChooseDepartment(id()),
        Touch::Search => Action::OpenSearch,
        Touch::Type => Action::SearchType(id()?),
        Touch::SearchErase => Action::SearchErase,
        Touch::SearchClear => Action::SearchClear,
        Touch::Matter => Action::OpenMatter(argument.to_owned()),
        Touch::Apply => Action::Apply,
        Touch::Confirm => Action::ConfirmApplicant,
        Touch::PhoneDigit => Action::PhoneDigit(digit()?),
        Touch::PhoneErase => Action::PhoneErase,
        Touch::Capture => Action::Capture,
        Touch::RemovePage => Action::RemovePage(argument.parse().ok()?),
        Touch::Missing => Action::DeclareMissing,
        Touch::Commit => Action::Commit,
        Touch::NextMaterial => Action::NextMaterial,
        Touch::Submit => Action::SubmitApplication,
        Touch::Retry => Action::Retry,
        Touch::ErrandTicket => Action::Errand(Errand::Ticket),
        Touch::ErrandCheckIn => Action::Errand(Errand::CheckIn),
        Touch::ErrandProgress => Action::Errand(Errand::Progress),
        Touch::ErrandCertificate => Action::Errand(Errand::Certificate),
        Touch::Done => Action::Done,
        Touch::Rate => Action::Rate(argument.parse().ok()?),
        Touch::Reason => Action::Reason(
            RatingReason::ALL
                .into_iter()
                .find(|&r| reason_code(r) == argument)?,
        ),
        Touch::SendRating => Action::SendRating,
        Touch::AnswerCorrection => Action::AnswerCorrection(argument.parse().ok()?),
        Touch::SubmitCorrection => Action::SubmitCorrection,
        Touch::RateCompletion => Action::RateCompletion(argument.parse().ok()?),
        Touch::RateIndicator => {
            let (indicator, level) = argument.split_once(':')?;
            Action::RateIndicator {
                indicator: indicator.parse().ok()?,
                level: level.parse().ok()?,
            }
        }
        Touch::SkipRating => Action::SkipRating,
        Touch::Back => Action::Back,
        Touch::Home => Action::Home,
        Touch::Language => Action::ToggleLanguage,
        Touch::Elder => Action::ToggleElder,
        Touch::Speech => Action::ToggleSpeech,
        Touch::Stay => Action::StayActive,
        Touch::Wake => Action::Wake,
        Touch::SecretTap => Action::SecretTap,
        Touch::PinDigit => Action::Pin(PinKey::Digit(digit()?)),
        Touch::PinErase => Action::Pin(PinKey::Erase),
        Touch::PinSubmit => Action::Pin(PinKey::Submit),
        Touch::PrintTestPage => Action::Maintenance(MaintenanceTask::PrintTestPage),
        Touch::PaperReplaced => Action::Maintenance(MaintenanceTask::PaperReplaced),
        Touch::FlushOutbox => Action::Maintenance(MaintenanceTask::FlushOutbox),
        Touch::Restart => Action::Maintenance(MaintenanceTask::Restart),
        Touch::FormFocus => Action::FormFocus(id()?),
        // A pad's key is committed as it is; the keyboard's keys go through the input method
        // (`Display::on_action`), and without one they are committed as typed too.
        Touch::FormPad | Touch::FormType => Action::FormCommit(id()?),
        Touch::FormCandidate => return None,
        Touch::FormErase => Action::FormErase,
        Touch::FormChoose => {
            let (field, value) = argument.split_once(':')?;
            Action::FormChoose {
                field: field.to_owned(),
                value: value.to_owned(),
            }
        }
        Touch::FormRegion => Action::FormRegion(id()?),
        Touch::FormDate => Action::FormDate(DateStep::parse(argument)?),
        Touch::FormNext => Action::FormNext,
        // The handwriting pad's touches stay in the display (`Display::on_action`).
        Touch::FormHandwriting | Touch::FormInkErase | Touch::FormInkClear | Touch::FormWritten => {
            return None;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_touch_the_screens_raise_maps_to_an_action() {
        assert_eq!(
            action_from(Touch::Theme, ""),
            Some(Action::ChooseTheme(None))
        );
        assert_eq!(
            action_from(Touch::Theme, "housing-fund"),
            Some(Action::ChooseTheme(Some("housing-fund".into())))
        );
        assert_eq!(action_from(Touch::Rate, "4"), Some(Action::Rate(4)));
        assert_eq!(action_from(Touch::Rate, "four"), None);
        assert_eq!(
            action_from(Touch::RateIndicator, "2:5"),
            Some(Action::RateIndicator {
                indicator: 2,
                level: 5
            })
        );
        assert_eq!(action_from(Touch::RateIndicator, "2"), None);
        assert_eq!(
            action_from(Touch::AnswerCorrection, "1"),
            Some(Action::AnswerCorrection(1))
        );
        assert_eq!(action_from(Touch::RateCompletion, "x"), None);
        for reason in RatingReason::ALL {
            assert_eq!(
                action_from(Touch::Reason, reason_code(reason)),
                Some(Action::Reason(reason))
            );
        }
        assert_eq!(action_from(Touch::Reason, "bogus"), None);
        assert_eq!(action_from(Touch::Type, ""), None);
        assert_eq!(action_from(Touch::PinDigit, "10"), None);
        assert_eq!(
            action_from(Touch::PinDigit, "7"),
            Some(Action::Pin(PinKey::Digit(7)))
        );
        assert_eq!(
            action_from(Touch::ErrandCheckIn, ""),
            Some(Action::Errand(Errand::CheckIn))
        );
        // The touches without an argument are all understood without one.
        for touch in [
            Touch::Begin,
            Touch::Apply,
            Touch::Confirm,
            Touch::Retry,
            Touch::Done,
            Touch::SendRating,
            Touch::SkipRating,
            Touch::Back,
            Touch::Home,
            Touch::Language,
            Touch::Elder,
            Touch::Speech,
            Touch::Stay,
            Touch::Wake,
            Touch::Department,
            Touch::Search,
            Touch::SearchErase,
            Touch::SearchClear,
            Touch::PhoneErase,
            Touch::Capture,
            Touch::Missing,
            Touch::Commit,
            Touch::NextMaterial,
            Touch::Submit,
            Touch::ErrandTicket,
            Touch::ErrandProgress,
            Touch::ErrandCertificate,
            Touch::SecretTap,
            Touch::PinErase,
            Touch::PinSubmit,
            Touch::PrintTestPage,
            Touch::PaperReplaced,
            Touch::FlushOutbox,
            Touch::Restart,
        ] {
            assert!(
                action_from(touch, "").is_some(),
                "{touch:?} is not understood"
            );
        }
    }

    #[test]
    fn department_chips_drop_the_city_every_department_shares() {
        assert_eq!(short_department("连云港市医疗保障局"), "医疗保障局");
        assert_eq!(
            short_department("国家税务总局连云港市税务局"),
            "国家税务总局连云港市税务局"
        );
        assert_eq!(
            short_department("Lianyungang Municipal Healthcare Security Bureau"),
            "Healthcare Security Bureau"
        );
        assert_eq!(short_department("连云港市"), "连云港市");
    }

    #[test]
    fn times_show_to_the_minute() {
        assert_eq!(
            display_time("2026-11-22T14:52:56+08:00"),
            "2026-11-22 14:52"
        );
        assert_eq!(display_time("garbage"), "garbage");
    }
}
