//! A matter's application form as plain HTML form fields, and back: sections (id, title), and
//! in each its fields (id, label and help in both languages, kind, required, the rules of the
//! kind, options, card prefill, visibility). Without script the page cannot hide what a kind
//! does not use, so every field shows every rule's box, each labelled with the kinds that read
//! it. A section or field whose id is emptied is removed; the empty one at the end adds one.
//!
//! A rule that is not a number where a number is needed is refused here, under the path
//! [`FormDefinition::check`] would use (`form.sections[s].fields[f].max_len`); everything
//! else is checked by `Catalog::validate` when the matter is saved.

use kiosk_protocol::LocalizedText;
use kiosk_protocol::form::{
    CardField, ChoiceOption, DateLimit, FieldKind, FormDefinition, FormField, FormSection, Prefill,
    VisibleWhen,
};
use maud::{Markup, html};

use super::fields::Problems;
use crate::http::extract::{Fields, field};

/// Most sections and fields per section the editor reads.
const MAX_ROWS: usize = 40;

/// The kinds, as the catalog names them, with what an editor reads.
const KINDS: &[(&str, &str)] = &[
    ("text", "短文本 Text"),
    ("long_text", "长文本 Long text"),
    ("number", "数字 Number"),
    ("date", "日期 Date"),
    ("choice", "单选 Choice"),
    ("multi_choice", "多选 Multiple choice"),
    ("phone", "电话 Phone"),
    ("address", "地址 Address"),
    ("bank_card", "银行卡号 Bank card"),
    ("id_number", "身份证号 ID number"),
    ("consent", "同意声明 Consent"),
];

const CARD_FIELDS: &[(CardField, &str, &str)] = &[
    (CardField::Name, "name", "姓名 Name"),
    (CardField::Sex, "sex", "性别 Sex"),
    (CardField::BirthDate, "birth_date", "出生日期 Birth date"),
    (CardField::Nation, "nation", "民族 Nation"),
    (CardField::Address, "address", "住址 Address"),
    (CardField::IdNumber, "id_number", "身份号码 ID number"),
];

/// The form the posted fields describe (`None` when they describe no section).
pub(super) fn form_from(fields: &Fields) -> Result<Option<FormDefinition>, Problems> {
    let mut problems = Problems::new();
    let mut sections = Vec::new();
    for s in 0..MAX_ROWS {
        let at = format!("form.{s}");
        let id = field(fields, &format!("{at}.id")).trim().to_owned();
        if id.is_empty() {
            continue;
        }
        let mut section = FormSection {
            title: localized(fields, &format!("{at}.title")),
            fields: Vec::new(),
            id,
        };
        for f in 0..MAX_ROWS {
            let row = format!("{at}.{f}");
            let id = field(fields, &format!("{row}.id")).trim().to_owned();
            if id.is_empty() {
                continue;
            }
            let path = format!("form.sections[{}].fields[{id}]", section.id);
            let mut read = Reader {
                fields,
                row: &row,
                path: &path,
                problems: &mut problems,
            };
            section.fields.push(read.field(id));
        }
        sections.push(section);
    }
    match (problems.is_empty(), sections.is_empty()) {
        (false, _) => Err(problems),
        (true, true) => Ok(None),
        (true, false) => Ok(Some(FormDefinition { sections })),
    }
}

fn localized(fields: &Fields, name: &str) -> LocalizedText {
    LocalizedText::new(
        field(fields, &format!("{name}.zh")).trim(),
        field(fields, &format!("{name}.en")).trim(),
    )
}

/// Reads one posted form field, noting what cannot be read under its path.
struct Reader<'a> {
    fields: &'a Fields,
    row: &'a str,
    path: &'a str,
    problems: &'a mut Problems,
}

impl Reader<'_> {
    fn text(&self, part: &str) -> &str {
        field(self.fields, &format!("{}.{part}", self.row)).trim()
    }

    fn localized(&self, part: &str) -> LocalizedText {
        localized(self.fields, &format!("{}.{part}", self.row))
    }

    /// A number rule; empty is `fallback`, anything else not a number is a problem.
    fn number<T: std::str::FromStr>(&mut self, part: &str, fallback: T) -> T {
        let text = self.text(part).to_owned();
        if text.is_empty() {
            return fallback;
        }
        text.parse().unwrap_or_else(|_| {
            self.problems.insert(
                format!("{}.{part}", self.path),
                format!(
                    "{}.{part}: `{text}` 不是有效的数字 is not a valid number here",
                    self.path
                ),
            );
            fallback
        })
    }

    fn date(&mut self, part: &str) -> Option<DateLimit> {
        let text = self.text(part).to_owned();
        if text.is_empty() {
            return None;
        }
        DateLimit::try_from(text)
            .map_err(|why| {
                self.problems.insert(
                    format!("{}.{part}", self.path),
                    format!("{}.{part}: {why}", self.path),
                )
            })
            .ok()
    }

    /// Options, one a line: `value | 中文 | English`.
    fn options(&mut self) -> Vec<ChoiceOption> {
        let text = self.text("options").to_owned();
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let mut parts = line.split('|').map(str::trim);
                let value = parts.next().unwrap_or_default().to_owned();
                let zh = parts.next().unwrap_or_default();
                let en = parts.next().unwrap_or_default();
                ChoiceOption {
                    value,
                    label: LocalizedText::new(zh, en),
                }
            })
            .collect()
    }

    fn kind(&mut self) -> FieldKind {
        match self.text("kind") {
            "long_text" => FieldKind::LongText {
                min_len: self.number("min_len", 0),
                max_len: self.number("max_len", 0),
            },
            "number" => FieldKind::Number {
                min: self.number("min", 0),
                max: self.number("max", 0),
                decimals: self.number("decimals", 0),
                unit: Some(self.localized("unit")).filter(|u| !u.zh.is_empty() || !u.en.is_empty()),
            },
            "date" => FieldKind::Date {
                min: self.date("min"),
                max: self.date("max"),
            },
            "choice" => FieldKind::Choice {
                options: self.options(),
            },
            "multi_choice" => FieldKind::MultiChoice {
                options: self.options(),
                min: self.number("min", 0),
                max: self.number("max", 0),
            },
            "phone" => FieldKind::Phone,
            "address" => FieldKind::Address {
                street_max_len: self.number("street_max_len", 0),
            },
            "bank_card" => FieldKind::BankCard,
            "id_number" => FieldKind::IdNumber,
            "consent" => FieldKind::Consent {
                text: self.localized("consent"),
            },
            _ => FieldKind::Text {
                min_len: self.number("min_len", 0),
                max_len: self.number("max_len", 0),
                pattern: Some(self.text("pattern").to_owned()).filter(|p| !p.is_empty()),
            },
        }
    }

    fn field(&mut self, id: String) -> FormField {
        let help = self.localized("help");
        let prefill = CARD_FIELDS
            .iter()
            .find(|(_, key, _)| *key == self.text("prefill"))
            .map(|(from, _, _)| Prefill {
                from: *from,
                editable: self.text("prefill_editable") == "on",
            });
        let when = self.text("visible_field").to_owned();
        let equals = self.text("visible_equals").to_owned();
        FormField {
            label: self.localized("label"),
            help: Some(help).filter(|h| !h.zh.is_empty() || !h.en.is_empty()),
            kind: self.kind(),
            required: self.text("required") == "on",
            prefill,
            visible_when: Some(VisibleWhen {
                field: when,
                equals: Some(equals).filter(|e| !e.is_empty()),
            })
            .filter(|w| !w.field.is_empty()),
            id,
        }
    }
}

/// The form's sections and fields, each with an empty one to add, problems beside them.
pub(super) fn form_fields(form: Option<&FormDefinition>, problems: &Problems) -> Markup {
    let sections = form.map_or(&[][..], |f| f.sections.as_slice());
    let blank = FormSection {
        id: String::new(),
        title: LocalizedText::default(),
        fields: Vec::new(),
    };
    html! {
        fieldset id="form" {
            legend { "申请表 Application form" }
            p { "每节为终端上的一页；清空编号即删除。 Each section is a page on the terminal; empty an id to remove it." }
            @for (s, section) in sections.iter().chain([&blank]).take(MAX_ROWS).enumerate() {
                (section_fields(s, section, problems))
            }
        }
    }
}

fn section_fields(s: usize, section: &FormSection, problems: &Problems) -> Markup {
    let at = format!("form.{s}");
    let path = format!("form.sections[{}]", section.id);
    let blank = FormField {
        id: String::new(),
        label: LocalizedText::default(),
        help: None,
        kind: FieldKind::Text {
            min_len: 0,
            max_len: 50,
            pattern: None,
        },
        required: false,
        prefill: None,
        visible_when: None,
    };
    html! {
        fieldset class="form-section" {
            legend { "节 Section " (s + 1) }
            label { "编号 Id " input type="text" name={ (at) ".id" } value=(section.id); }
            label { " 标题 Title " }
            input type="text" name={ (at) ".title.zh" } value=(section.title.zh) placeholder="中文";
            input type="text" name={ (at) ".title.en" } value=(section.title.en) placeholder="English";
            @for (key, why) in problems.iter().filter(|(k, _)| section_level(k, &path, !section.id.is_empty())) {
                p class="error field-error" id={ "problem-" (key) } { (why) }
            }
            @for (f, field) in section.fields.iter().chain([&blank]).take(MAX_ROWS).enumerate() {
                (field_fields(&format!("{at}.{f}"), &format!("{path}.fields[{}]", field.id), field, problems))
            }
        }
    }
}

/// A problem of the section itself (not of one of its fields).
fn section_level(key: &str, path: &str, named: bool) -> bool {
    named && key.starts_with(path) && !key[path.len()..].starts_with(".fields[")
}

fn field_fields(row: &str, path: &str, f: &FormField, problems: &Problems) -> Markup {
    let rules = Rules::of(&f.kind);
    let help = f.help.clone().unwrap_or_default();
    let prefill = f.prefill.map(|p| p.from);
    let (when, equals) = f
        .visible_when
        .as_ref()
        .map_or((String::new(), String::new()), |w| {
            (w.field.clone(), w.equals.clone().unwrap_or_default())
        });
    let input = |part: &str, value: &str| html! { input type="text" name={ (row) "." (part) } value=(value); };
    let pair = |part: &str, text: &LocalizedText| {
        html! {
            input type="text" name={ (row) "." (part) ".zh" } value=(text.zh) placeholder="中文";
            input type="text" name={ (row) "." (part) ".en" } value=(text.en) placeholder="English";
        }
    };
    html! {
        div class="form-field" {
            label { "字段编号 Field id " (input("id", &f.id)) }
            select name={ (row) ".kind" } {
                @for (key, label) in KINDS { option value=(key) selected[*key == f.kind.name()] { (label) } }
            }
            label { input type="checkbox" name={ (row) ".required" } checked[f.required]; " 必填 Required" }
            div { "问题 Label " (pair("label", &f.label)) }
            div { "帮助 Help " (pair("help", &help)) }
            div class="rules" {
                label { "最少字数 Min length (text) " (input("min_len", &rules.min_len)) }
                label { "最多字数 Max length (text) " (input("max_len", &rules.max_len)) }
                label { "格式 Pattern (text) " (input("pattern", &rules.pattern)) }
                label { "最小 Min (number, date: today/YYYY-MM-DD, multiple choice) " (input("min", &rules.min)) }
                label { "最大 Max " (input("max", &rules.max)) }
                label { "小数位 Decimals (number) " (input("decimals", &rules.decimals)) }
                label { "街道最多字数 Street max length (address) " (input("street_max_len", &rules.street)) }
            }
            div { "单位 Unit (number) " (pair("unit", &rules.unit)) }
            div { "声明 Consent text " (pair("consent", &rules.consent)) }
            label { "选项 Options (value | 中文 | English, one a line) "
                textarea name={ (row) ".options" } rows="3" { (rules.options) } }
            div {
                "身份证预填 Prefill from the card "
                select name={ (row) ".prefill" } {
                    option value="" { "无 none" }
                    @for (card, key, label) in CARD_FIELDS { option value=(key) selected[prefill == Some(*card)] { (label) } }
                }
                label { input type="checkbox" name={ (row) ".prefill_editable" } checked[f.prefill.is_some_and(|p| p.editable)]; " 可修改 Editable" }
            }
            div { "显示条件 Shown when field " (input("visible_field", &when)) " = " (input("visible_equals", &equals)) }
            @for (key, why) in problems.iter().filter(|(k, _)| !f.id.is_empty() && k.starts_with(path)) {
                p class="error field-error" id={ "problem-" (key) } { (why) }
            }
        }
    }
}

/// A kind's rules as the boxes show them (empty where the kind has none).
#[derive(Default)]
struct Rules {
    min_len: String,
    max_len: String,
    pattern: String,
    min: String,
    max: String,
    decimals: String,
    street: String,
    unit: LocalizedText,
    consent: LocalizedText,
    options: String,
}

impl Rules {
    fn of(kind: &FieldKind) -> Rules {
        let options = |list: &[ChoiceOption]| {
            list.iter()
                .map(|o| format!("{} | {} | {}", o.value, o.label.zh, o.label.en))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let date = |d: &Option<DateLimit>| d.map(String::from).unwrap_or_default();
        match kind {
            FieldKind::Text {
                min_len,
                max_len,
                pattern,
            } => Rules {
                min_len: min_len.to_string(),
                max_len: max_len.to_string(),
                pattern: pattern.clone().unwrap_or_default(),
                ..Rules::default()
            },
            FieldKind::LongText { min_len, max_len } => Rules {
                min_len: min_len.to_string(),
                max_len: max_len.to_string(),
                ..Rules::default()
            },
            FieldKind::Number {
                min,
                max,
                decimals,
                unit,
            } => Rules {
                min: min.to_string(),
                max: max.to_string(),
                decimals: decimals.to_string(),
                unit: unit.clone().unwrap_or_default(),
                ..Rules::default()
            },
            FieldKind::Date { min, max } => Rules {
                min: date(min),
                max: date(max),
                ..Rules::default()
            },
            FieldKind::Choice { options: list } => Rules {
                options: options(list),
                ..Rules::default()
            },
            FieldKind::MultiChoice {
                options: list,
                min,
                max,
            } => Rules {
                options: options(list),
                min: min.to_string(),
                max: max.to_string(),
                ..Rules::default()
            },
            FieldKind::Address { street_max_len } => Rules {
                street: street_max_len.to_string(),
                ..Rules::default()
            },
            FieldKind::Consent { text } => Rules {
                consent: text.clone(),
                ..Rules::default()
            },
            FieldKind::Phone | FieldKind::BankCard | FieldKind::IdNumber => Rules::default(),
        }
    }
}
