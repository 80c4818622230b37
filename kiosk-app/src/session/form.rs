//! The application form (在线填写): after the applicant is confirmed, a matter with a form walks
//! the citizen through it, one section a page, before the materials and the review.
//!
//! Every rule comes from the catalog's [`FormDefinition`] and is checked by the one
//! implementation in `kiosk-protocol` (the platform runs the same on arrival): a keystroke is
//! filtered by [`FieldKind::accepts`] and [`FieldKind::max_chars`], an answer is checked by
//! [`FormField::check_answer`] as it changes, but its problem shows only once the citizen has
//! left the field or pressed "next" (a half-typed phone number is not an error yet).
//!
//! Input methods plug in as a source of committed text ([`Action::FormCommit`]); while one
//! composes, its preedit and candidates travel in [`Action::FormCompose`] and show in the view.
//! Answers are personal data: `Debug` shows field ids only, and they are wiped on drop.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use kiosk_protocol::form::definition::{format_date, parse_date};
use kiosk_protocol::form::{
    AddressAnswer, Answer, AnswerContext, AnswerLine, CardField, FieldKind, FieldProblem,
    FormAnswers, FormDefinition, FormField, Numbers, in_words,
};
use kiosk_protocol::{Catalog, LocalizedText, MatterId};
use zeroize::Zeroize;

use super::identity::Identity;
use super::{Action, Command, Screen, Session, materials_to_capture};

/// One step of the date picker's steppers, on the focused date field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateStep {
    /// Years forward (or back, when negative).
    Year(i32),
    /// Months forward or back; the year follows.
    Month(i32),
    /// Days forward or back; month and year follow.
    Day(i32),
}

impl DateStep {
    /// The step named by the UI's argument: `y+1`, `y-10`, `m-1`, `d+1`…
    pub fn parse(text: &str) -> Option<Self> {
        let (unit, count) = text.split_at_checked(1)?;
        let count: i32 = count.strip_prefix('+').unwrap_or(count).parse().ok()?;
        if count == 0 || count.abs() > 100 {
            return None;
        }
        match unit {
            "y" => Some(DateStep::Year(count)),
            "m" => Some(DateStep::Month(count)),
            "d" => Some(DateStep::Day(count)),
            _ => None,
        }
    }
}

/// What an input method is composing: the pinyin typed so far and the words it offers.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Composition {
    /// The letters not yet turned into characters (`shebao`).
    pub preedit: String,
    /// The candidates offered for them, best first.
    pub candidates: Vec<String>,
}

impl fmt::Debug for Composition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Composition({} candidates)", self.candidates.len())
    }
}

/// One field as the form page shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct FieldView {
    /// The field's definition.
    pub field: FormField,
    /// Its answer so far.
    pub answer: Option<Answer>,
    /// Filled from the card and not to be changed (shown as read).
    pub locked: bool,
    /// The field has the input focus.
    pub focused: bool,
    /// What is wrong with the answer, once the citizen has left the field or pressed "next".
    pub problem: Option<FieldProblem>,
}

/// The form page: the section shown and its visible fields.
#[derive(Clone, PartialEq, Eq)]
pub struct FormView {
    /// The page (section) shown, 0-based.
    pub page: usize,
    /// How many pages the form has.
    pub pages: usize,
    /// The section's title.
    pub title: LocalizedText,
    /// The section's visible fields, in order.
    pub fields: Vec<FieldView>,
    /// The district chosen in the focused address field's picker (its townships are listed).
    pub county: Option<String>,
    /// What the input method is composing for the focused field.
    pub composition: Composition,
    /// The day the form's date rules take as today (the date picker starts there).
    pub today: time::Date,
}

impl fmt::Debug for FormView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.fields.iter().map(|v| v.field.id.as_str()).collect();
        f.debug_struct("FormView")
            .field("page", &self.page)
            .field("pages", &self.pages)
            .field("fields", &ids)
            .finish_non_exhaustive()
    }
}

/// What "next" did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextPage {
    /// The page has problems: they show now, and the page stays.
    Refused,
    /// On to the next page.
    Turned,
    /// The last page was passed and the whole form checks out.
    Finished,
}

/// A form being filled in, for one application.
pub struct FormState {
    catalog: Arc<Catalog>,
    definition: FormDefinition,
    answers: FormAnswers,
    /// What the card says for prefilled fields (put back when a hidden field shows again).
    prefills: BTreeMap<String, Answer>,
    /// Prefilled fields the citizen may not change.
    locked: BTreeSet<String>,
    page: usize,
    focus: Option<String>,
    /// Fields whose problems show: left once, or on a page "next" was pressed on.
    shown: BTreeSet<String>,
    county: Option<String>,
    composition: Composition,
    today: time::Date,
}

impl fmt::Debug for FormState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FormState")
            .field("page", &self.page)
            .field("answers", &self.answers)
            .finish_non_exhaustive()
    }
}

impl Drop for FormState {
    fn drop(&mut self) {
        wipe(&mut self.answers.0);
        wipe(&mut self.prefills);
        self.composition.preedit.zeroize();
    }
}

/// Overwrites every string of `answers` before it is freed.
fn wipe(answers: &mut BTreeMap<String, Answer>) {
    for answer in answers.values_mut() {
        match answer {
            Answer::Flag(_) => {}
            Answer::Text(text) => text.zeroize(),
            Answer::Choices(values) => values.iter_mut().for_each(Zeroize::zeroize),
            Answer::Address(address) => {
                address.region.zeroize();
                address.street.zeroize();
            }
        }
    }
    answers.clear();
}

/// The card's value for a prefill, as an answer of the field's kind.
fn card_value(from: CardField, who: &Identity) -> Option<Answer> {
    let details = who.details();
    let text = match from {
        CardField::Name => Some(who.name().to_owned()),
        CardField::IdNumber => Some(who.id_number().to_owned()),
        CardField::Sex => details.sex.map(str::to_owned),
        CardField::BirthDate => details.birth.map(format_date),
        CardField::Nation => details.nation.as_deref().cloned(),
        CardField::Address => details.address.as_deref().cloned(),
    };
    text.filter(|t| !t.is_empty()).map(Answer::Text)
}

impl FormState {
    /// The form of `matter`, prefilled from the card; `None` when the matter has none.
    pub fn start(catalog: Arc<Catalog>, matter: &str, who: &Identity) -> Option<Self> {
        let definition = catalog.matter(matter)?.form.clone()?;
        let today = who.details().read_on.unwrap_or(time::Date::MIN);
        let mut state = FormState {
            catalog,
            definition,
            answers: FormAnswers::default(),
            prefills: BTreeMap::new(),
            locked: BTreeSet::new(),
            page: 0,
            focus: None,
            shown: BTreeSet::new(),
            county: None,
            composition: Composition::default(),
            today,
        };
        let context = AnswerContext::on(today, &state.catalog.regions);
        for field in state.definition.fields() {
            let Some(prefill) = field.prefill else {
                continue;
            };
            let Some(value) = card_value(prefill.from, who) else {
                // Nothing on the card (a foreigner's has no address): the citizen types it.
                continue;
            };
            // A card value the field's rules refuse (an address longer than the field allows)
            // would leave the citizen stuck on a locked field: it stays editable.
            let fits = field.check_answer(Some(&value), &context).is_ok();
            if !prefill.editable && fits {
                state.locked.insert(field.id.clone());
            }
            state.prefills.insert(field.id.clone(), value);
        }
        state.settle();
        state.page = state.first_page_from(0).unwrap_or(0);
        Some(state)
    }

    fn context(&self) -> AnswerContext<'_> {
        AnswerContext::on(self.today, &self.catalog.regions)
    }

    /// Puts prefills into shown fields that have no answer, drops the answers of hidden
    /// fields, until nothing changes (showing one field may show another).
    fn settle(&mut self) {
        for _ in 0..=self.definition.fields().count() {
            let mut changed = false;
            let fields: Vec<(String, bool)> = self
                .definition
                .fields()
                .map(|f| (f.id.clone(), self.definition.is_visible(f, &self.answers)))
                .collect();
            for (id, visible) in fields {
                if !visible {
                    if let Some(mut gone) = self.answers.0.remove(&id) {
                        wipe_one(&mut gone);
                        changed = true;
                    }
                    self.shown.remove(&id);
                    if self.focus.as_deref() == Some(id.as_str()) {
                        self.focus = None;
                    }
                } else if !self.answers.0.contains_key(&id)
                    && let Some(value) = self.prefills.get(&id)
                {
                    self.answers.0.insert(id, value.clone());
                    changed = true;
                }
            }
            if !changed {
                return;
            }
        }
    }

    /// The visible fields of page `page`.
    fn visible_on(&self, page: usize) -> impl Iterator<Item = &FormField> {
        self.definition
            .sections
            .get(page)
            .into_iter()
            .flat_map(|s| s.fields.iter())
            .filter(|f| self.definition.is_visible(f, &self.answers))
    }

    /// The first page from `page` on that shows any field (a section may be wholly hidden).
    fn first_page_from(&self, page: usize) -> Option<usize> {
        (page..self.definition.sections.len()).find(|&p| self.visible_on(p).next().is_some())
    }

    /// A visible field of the page shown, by id.
    fn on_page(&self, id: &str) -> Option<&FormField> {
        self.visible_on(self.page).find(|f| f.id == id)
    }

    fn focused(&self) -> Option<&FormField> {
        self.on_page(self.focus.as_deref()?)
    }

    /// The page shown, 0-based.
    pub fn page(&self) -> usize {
        self.page
    }

    /// The answers so far.
    pub fn answers(&self) -> &FormAnswers {
        &self.answers
    }

    /// The problem shown next to `field`, if any.
    pub fn problem(&self, field: &FormField) -> Option<FieldProblem> {
        if !self.shown.contains(&field.id) {
            return None;
        }
        field
            .check_answer(self.answers.0.get(&field.id), &self.context())
            .err()
    }

    /// Leaves the focused field: its problems show from now on.
    fn leave(&mut self) {
        if let Some(id) = self.focus.take() {
            self.shown.insert(id);
        }
        self.county = None;
        self.composition = Composition::default();
    }

    /// Focuses `id` (a field of the page shown that the citizen may change).
    pub fn focus(&mut self, id: &str) {
        if self.focus.as_deref() == Some(id) || self.locked.contains(id) {
            return;
        }
        let Some(field) = self.on_page(id) else {
            return;
        };
        let id = field.id.clone();
        self.leave();
        self.county = match self.answers.0.get(&id) {
            Some(Answer::Address(address)) => self
                .catalog
                .regions
                .iter()
                .find(|r| r.code == address.region)
                .and_then(|r| r.parent.clone()),
            _ => None,
        };
        self.focus = Some(id);
    }

    /// The text of the focused field that typing changes, created empty if need be.
    fn typed_text(&mut self) -> Option<(FieldKind, &mut String)> {
        let field = self.focused()?;
        let (id, kind) = (field.id.clone(), field.kind.clone());
        if matches!(
            kind,
            FieldKind::Choice { .. } | FieldKind::MultiChoice { .. } | FieldKind::Consent { .. }
        ) {
            return None;
        }
        let answer = self.answers.0.entry(id).or_insert_with(|| match kind {
            FieldKind::Address { .. } => Answer::Address(AddressAnswer {
                region: String::new(),
                street: String::new(),
            }),
            _ => Answer::Text(String::new()),
        });
        match answer {
            Answer::Address(address) => Some((kind, &mut address.street)),
            Answer::Text(text) => Some((kind, text)),
            Answer::Flag(_) | Answer::Choices(_) => None,
        }
    }

    /// Text committed to the focused field (a key, or an input method's words): each
    /// character the field's kind does not accept is dropped, and nothing goes beyond the
    /// field's length.
    pub fn commit(&mut self, typed: &str) {
        self.composition = Composition::default();
        let Some((kind, text)) = self.typed_text() else {
            return;
        };
        let max = kind.max_chars();
        let mut count = text.chars().count();
        for c in typed.chars() {
            // The ID number's check character is an upper-case X, whichever key gave it.
            let c = if matches!(kind, FieldKind::IdNumber) && c == 'x' {
                'X'
            } else {
                c
            };
            if count < max && kind.accepts(c) {
                text.push(c);
                count += 1;
            }
        }
        self.settle();
    }

    /// Erases the focused field's last character.
    pub fn erase(&mut self) {
        if let Some((kind, text)) = self.typed_text() {
            text.pop();
            if matches!(kind, FieldKind::Date { .. }) {
                // A date is set whole by the picker: erasing clears it.
                text.zeroize();
            }
        }
        self.drop_blank_focus();
        self.settle();
    }

    /// An answer erased to nothing is no answer (a visibility rule sees it as absent).
    fn drop_blank_focus(&mut self) {
        if let Some(id) = &self.focus
            && self.answers.0.get(id).is_some_and(|a| match a {
                Answer::Address(address) => address.region.is_empty() && address.street.is_empty(),
                other => other.is_blank(),
            })
        {
            self.answers.0.remove(id);
        }
    }

    /// Chooses `value` for `field`: one option of a choice, an option of a multiple choice
    /// (a second touch takes it back; no more than the field allows), `true` or `false` for
    /// a consent.
    pub fn choose(&mut self, id: &str, value: &str) {
        if self.locked.contains(id) {
            return;
        }
        let Some(field) = self.on_page(id) else {
            return;
        };
        let kind = field.kind.clone();
        let known = kind.options().iter().any(|o| o.value == value);
        let answer = match (&kind, self.answers.0.get(id)) {
            (FieldKind::Choice { .. }, _) if known => Answer::Text(value.to_owned()),
            (FieldKind::MultiChoice { max, .. }, current) if known => {
                let mut values = match current {
                    Some(Answer::Choices(values)) => values.clone(),
                    _ => Vec::new(),
                };
                if let Some(at) = values.iter().position(|v| v == value) {
                    values.remove(at);
                } else if values.len() < usize::from(*max) {
                    values.push(value.to_owned());
                }
                Answer::Choices(values)
            }
            (FieldKind::Consent { .. }, _) if value == "true" || value == "false" => {
                Answer::Flag(value == "true")
            }
            _ => return,
        };
        self.leave();
        let id = id.to_owned();
        if answer.is_blank() {
            self.answers.0.remove(&id);
        } else {
            self.answers.0.insert(id.clone(), answer);
        }
        self.shown.insert(id);
        self.settle();
    }

    /// In the focused address field's picker: a district or county lists its townships (and
    /// undoes a township picked before, so the picker shows again); a township is the
    /// address's region.
    pub fn pick_region(&mut self, code: &str) {
        let Some(field) = self.focused() else {
            return;
        };
        if !matches!(field.kind, FieldKind::Address { .. }) {
            return;
        }
        let id = field.id.clone();
        let Some(region) = self
            .catalog
            .regions
            .iter()
            .find(|r| r.code == code)
            .cloned()
        else {
            return;
        };
        let answer = self.answers.0.entry(id).or_insert_with(|| {
            Answer::Address(AddressAnswer {
                region: String::new(),
                street: String::new(),
            })
        });
        let Answer::Address(address) = answer else {
            return;
        };
        match &region.parent {
            None => {
                // A district (again): its townships to pick from; the street stays.
                address.region.clear();
                self.county = Some(region.code);
            }
            Some(parent) => {
                address.region = region.code.clone();
                self.county = Some(parent.clone());
            }
        }
    }

    /// Moves the focused date field by `step`, from its date or (when empty) from today,
    /// kept within the field's earliest and latest days.
    pub fn step_date(&mut self, step: DateStep) {
        let today = self.today;
        let Some(field) = self.focused() else {
            return;
        };
        let FieldKind::Date { min, max } = field.kind else {
            return;
        };
        let id = field.id.clone();
        let from = match self.answers.0.get(&id) {
            Some(Answer::Text(text)) => parse_date(text),
            _ => None,
        };
        let day = match from {
            Some(day) => stepped(day, step),
            None => today,
        };
        let earliest = min.map(|m| m.resolve(today));
        let latest = max.map(|m| m.resolve(today));
        let day = earliest.map_or(day, |e| day.max(e));
        let day = latest.map_or(day, |l| day.min(l));
        self.answers.0.insert(id, Answer::Text(format_date(day)));
        self.settle();
    }

    /// What the input method composes for the focused field.
    pub fn compose(&mut self, composition: Composition) {
        if self.focus.is_some() {
            self.composition = composition;
        }
    }

    /// "Next": refused while the page has problems (which then all show), else the next page
    /// that shows a field, or the end of the form once all of it checks out.
    pub fn turn(&mut self) -> NextPage {
        self.leave();
        let context = self.context();
        let bad = self
            .visible_on(self.page)
            .any(|f| f.check_answer(self.answers.0.get(&f.id), &context).is_err());
        let checked = self.definition.check_answers(&self.answers, &context);
        let ids: Vec<String> = self.visible_on(self.page).map(|f| f.id.clone()).collect();
        self.shown.extend(ids);
        if bad {
            return NextPage::Refused;
        }
        if let Some(page) = self.first_page_from(self.page + 1) {
            self.page = page;
            return NextPage::Turned;
        }
        match checked {
            Ok(()) => NextPage::Finished,
            Err(problems) => {
                // Only a rule across pages can get here; show the first page it names.
                let first = problems.iter().find_map(|p| {
                    self.definition
                        .sections
                        .iter()
                        .position(|s| s.fields.iter().any(|f| f.id == p.field))
                });
                self.shown.extend(problems.into_iter().map(|p| p.field));
                self.page = first.unwrap_or(self.page);
                NextPage::Refused
            }
        }
    }

    /// Shows page `page` as a citizen first sees it (prefills in, nothing else answered,
    /// no problems showing) when it has any visible field; `false` otherwise. The console's
    /// preview uses it to draw each section of a form: walking there with "next" would need
    /// answers, and a preview must not invent a citizen's answers.
    pub fn open_page(&mut self, page: usize) -> bool {
        if self.visible_on(page).next().is_none() {
            return false;
        }
        self.leave();
        self.page = page;
        true
    }

    /// "Back": the previous page that shows a field; `false` on the first.
    pub fn back(&mut self) -> bool {
        self.leave();
        let previous = (0..self.page)
            .rev()
            .find(|&p| self.visible_on(p).next().is_some());
        match previous {
            Some(page) => {
                self.page = page;
                true
            }
            None => false,
        }
    }

    /// Shows the last page again (back from the materials or the review).
    pub fn to_last_page(&mut self) {
        self.leave();
        let last = (0..self.definition.sections.len())
            .rev()
            .find(|&p| self.visible_on(p).next().is_some());
        self.page = last.unwrap_or(0);
    }

    /// The page as the screen shows it.
    pub fn view(&self) -> FormView {
        let section = self.definition.sections.get(self.page);
        FormView {
            page: self.page,
            pages: self.definition.sections.len(),
            title: section.map(|s| s.title.clone()).unwrap_or_default(),
            fields: self
                .visible_on(self.page)
                .map(|f| FieldView {
                    field: f.clone(),
                    answer: self.answers.0.get(&f.id).cloned(),
                    locked: self.locked.contains(&f.id),
                    focused: self.focus.as_deref() == Some(f.id.as_str()),
                    problem: self.problem(f),
                })
                .collect(),
            county: self.county.clone(),
            composition: self.composition.clone(),
            today: self.today,
        }
    }

    /// Every answer of the shown fields, in form order, in words, as the review screen shows
    /// them: ID numbers as typed, a bank card starred but its last 4 digits.
    pub fn lines(&self) -> Vec<AnswerLine> {
        self.definition
            .fields()
            .filter(|f| self.definition.is_visible(f, &self.answers))
            .filter_map(|f| {
                let answer = self.answers.0.get(&f.id)?;
                Some(AnswerLine {
                    field: f.id.clone(),
                    label: f.label.clone(),
                    value: in_words(f, answer, &self.catalog.regions, Numbers::REVIEW),
                })
            })
            .collect()
    }

    /// The answers the receipt prints, so the citizen takes home what they applied with.
    ///
    /// A receipt is left on counters and in the tray, so bank card, ID and phone numbers are
    /// printed as their last 4 digits only ([`Numbers::PRINTED`]). What was filled from the ID
    /// card (name, birth date, registered address) is left out: the receipt's header already
    /// names the applicant masked, and the card's data printed whole under it would undo that.
    pub fn printable_lines(&self) -> Vec<AnswerLine> {
        let from_card: BTreeSet<&str> = self
            .definition
            .fields()
            .filter(|f| f.prefill.is_some())
            .map(|f| f.id.as_str())
            .collect();
        (self.definition)
            .answer_lines(&self.answers, &self.catalog.regions, Numbers::PRINTED)
            .into_iter()
            .filter(|l| !from_card.contains(l.field.as_str()))
            .collect()
    }
}

fn wipe_one(answer: &mut Answer) {
    let mut one = BTreeMap::from([(
        String::new(),
        std::mem::replace(answer, Answer::Flag(false)),
    )]);
    wipe(&mut one);
}

/// A date moved by `step`; a day the month has not (31 February) becomes its last day.
fn stepped(day: time::Date, step: DateStep) -> time::Date {
    let in_month = |year: i32, month: time::Month, d: u8| {
        let last = time::util::days_in_month(month, year);
        time::Date::from_calendar_date(year, month, d.min(last)).unwrap_or(day)
    };
    match step {
        DateStep::Year(n) => in_month(day.year().saturating_add(n), day.month(), day.day()),
        DateStep::Month(n) => {
            let months = day.year() * 12 + i32::from(u8::from(day.month())) - 1 + n;
            let month = u8::try_from(months.rem_euclid(12) + 1).unwrap_or(1);
            let month = time::Month::try_from(month).unwrap_or(time::Month::January);
            in_month(months.div_euclid(12), month, day.day())
        }
        DateStep::Day(n) => day
            .checked_add(time::Duration::days(i64::from(n)))
            .unwrap_or(day),
    }
}

/// Whether `action` is one of the form page's own.
pub(super) fn is_form_action(action: &Action) -> bool {
    matches!(
        action,
        Action::FormFocus(_)
            | Action::FormCommit(_)
            | Action::FormErase
            | Action::FormChoose { .. }
            | Action::FormRegion(_)
            | Action::FormDate(_)
            | Action::FormCompose(_)
            | Action::FormNext
    )
}

impl Session {
    /// Confirmed applicant: the form, when the matter has one, else the materials.
    pub(super) fn begin_form(&mut self, matter: MatterId, now: Instant, out: &mut Vec<Command>) {
        if self.form.is_none()
            && let (Some(catalog), Some(who)) = (&self.catalog, &self.identity)
        {
            self.form = FormState::start(catalog.clone(), &matter, who);
        }
        if self.form.is_some() {
            self.enter(Screen::Form { matter }, now, out);
        } else {
            self.after_form(matter, now, out);
        }
    }

    /// The form is done (or there is none): on to the materials (or the review).
    fn after_form(&mut self, matter: MatterId, now: Instant, out: &mut Vec<Command>) {
        // Pages already photographed stay when the citizen comes back through the form.
        if self.slots.is_empty()
            && let Some(catalog) = &self.catalog
        {
            self.slots = materials_to_capture(catalog, &matter);
        }
        self.show_material(matter, 0, now, out);
    }

    /// A touch on the form page.
    pub(super) fn form_touch(
        &mut self,
        action: Action,
        matter: MatterId,
        now: Instant,
        out: &mut Vec<Command>,
    ) {
        let Some(form) = self.form.as_mut() else {
            return;
        };
        match action {
            Action::FormFocus(id) => form.focus(&id),
            Action::FormCommit(text) => form.commit(&text),
            Action::FormErase => form.erase(),
            Action::FormChoose { field, value } => form.choose(&field, &value),
            Action::FormRegion(code) => form.pick_region(&code),
            Action::FormDate(step) => form.step_date(step),
            Action::FormCompose(composition) => form.compose(composition),
            Action::FormNext => match form.turn() {
                NextPage::Finished => self.after_form(matter, now, out),
                NextPage::Turned => self.enter(Screen::Form { matter }, now, out),
                NextPage::Refused => {}
            },
            _ => {}
        }
    }

    /// "Back" on the form: its previous page, or the applicant's screen from the first.
    pub(super) fn form_back(&mut self, matter: MatterId) -> Screen {
        if self.form.as_mut().is_some_and(FormState::back) {
            Screen::Form { matter }
        } else {
            Screen::Confirm { matter }
        }
    }

    /// Where "back" from the first material (or a review without materials) leads: the
    /// form's last page, or the applicant's screen.
    pub(super) fn before_materials(&mut self, matter: MatterId) -> Screen {
        match self.form.as_mut() {
            Some(form) => {
                form.to_last_page();
                Screen::Form { matter }
            }
            None => Screen::Confirm { matter },
        }
    }
}
