//! A matter's guide as plain HTML form fields, and back: every guide field of a [`Matter`]
//! (name, applicant, office, conditions, materials, procedure, time limit, fees, place,
//! phones, whether it is applied for at a terminal) in both languages. Lists show their rows
//! plus one empty row: a row filled in is added when saved, a row emptied is removed. The
//! matter's id and department are never taken from the posted fields (its application form
//! is [`super::form_fields`]).

use std::collections::HashMap;

use kiosk_protocol::{LocalizedText, Material, MaterialForm, Matter, Supply, TimeLimit};
use maud::{Markup, html};

use crate::http::extract::{Fields, field};

/// Problems to show beside the field they concern, by field name (`conditions`, `materials`,
/// `time_limit`, `form.sections[…]…`, or `catalog` for the whole).
pub(super) type Problems = HashMap<String, String>;

/// Most rows a list (conditions, materials, steps) may have: what a guide needs, not what a
/// million-row form costs.
const MAX_ROWS: usize = 60;

/// Longest text a field keeps (characters); a guide's longest paragraphs are far shorter.
const MAX_TEXT: usize = 2000;

const MATERIAL_FORMS: &[(MaterialForm, &str)] = &[
    (MaterialForm::Original, "original"),
    (MaterialForm::Copy, "copy"),
    (MaterialForm::OriginalAndCopy, "original_and_copy"),
    (MaterialForm::Electronic, "electronic"),
];

const SUPPLIES: &[(Supply, &str, &str)] = &[
    (Supply::Capture, "capture", "高拍仪拍摄 Photographed"),
    (Supply::IdCard, "id_card", "读身份证 From the ID card"),
    (
        Supply::OnlineForm,
        "online_form",
        "在线填写 Filled in on the terminal",
    ),
];

/// `matter` with the guide fields of `fields` (the rest of `matter` kept).
pub(super) fn matter_from(fields: &Fields, mut matter: Matter) -> Matter {
    matter.name = localized(fields, "name");
    matter.pinyin_initials = clip(field(fields, "pinyin_initials"));
    matter.applicant = localized(fields, "applicant");
    matter.handling_office = localized(fields, "handling_office");
    matter.conditions = text_rows(fields, "conditions");
    matter.procedure = text_rows(fields, "procedure");
    matter.materials = (0..MAX_ROWS)
        .map(|i| format!("materials.{i}"))
        .filter_map(|row| material(fields, &row))
        .collect();
    matter.time_limit = match field(fields, "time_limit.kind") {
        "immediate" => TimeLimit::Immediate,
        _ => TimeLimit::WorkingDays {
            days: field(fields, "time_limit.days").trim().parse().unwrap_or(0),
        },
    };
    matter.fees = localized(fields, "fees");
    matter.place_and_hours = localized(fields, "place_and_hours");
    matter.enquiry_phone = clip(field(fields, "enquiry_phone"));
    matter.complaint_phone = clip(field(fields, "complaint_phone"));
    matter.kiosk_application = field(fields, "kiosk_application") == "on";
    matter
}

fn clip(value: &str) -> String {
    value.trim().chars().take(MAX_TEXT).collect()
}

fn localized(fields: &Fields, name: &str) -> LocalizedText {
    LocalizedText::new(
        clip(field(fields, &format!("{name}.zh"))),
        clip(field(fields, &format!("{name}.en"))),
    )
}

/// The rows of a list of texts that have something in either language.
fn text_rows(fields: &Fields, name: &str) -> Vec<LocalizedText> {
    (0..MAX_ROWS)
        .map(|i| localized(fields, &format!("{name}.{i}")))
        .filter(|t| !t.zh.is_empty() || !t.en.is_empty())
        .collect()
}

fn material(fields: &Fields, row: &str) -> Option<Material> {
    let name = localized(fields, &format!("{row}.name"));
    if name.zh.is_empty() && name.en.is_empty() {
        return None;
    }
    let at = |part: &str| field(fields, &format!("{row}.{part}"));
    Some(Material {
        name,
        form: MATERIAL_FORMS
            .iter()
            .find(|(_, key)| *key == at("form"))
            .map_or(MaterialForm::Original, |(form, _)| *form),
        copies: at("copies").trim().parse().unwrap_or(0),
        waivable: at("waivable") == "on",
        supply: SUPPLIES
            .iter()
            .find(|(_, key, _)| *key == at("supply"))
            .map_or(Supply::Capture, |(supply, _, _)| *supply),
    })
}

/// The fields of `matter`'s guide, each with its problem (if any) beside it.
pub(super) fn guide_fields(matter: &Matter, problems: &Problems) -> Markup {
    html! {
        fieldset id="guide" {
            legend { "办事指南 Guide" }
            (pair("name", "事项名称 Name", &matter.name, problems))
            (single("pinyin_initials", "拼音首字母 Pinyin initials", &matter.pinyin_initials, problems))
            (pair("applicant", "服务对象 Applicant", &matter.applicant, problems))
            (pair("handling_office", "办理机构 Handling office", &matter.handling_office, problems))
            (text_list("conditions", "受理条件 Conditions", &matter.conditions, problems))
            (materials(&matter.materials, problems))
            (text_list("procedure", "办理流程 Procedure", &matter.procedure, problems))
            (time_limit(matter.time_limit, problems))
            (pair("fees", "收费标准 Fees", &matter.fees, problems))
            (pair("place_and_hours", "办理地点和时间 Place and hours", &matter.place_and_hours, problems))
            (single("enquiry_phone", "咨询电话 Enquiry phone", &matter.enquiry_phone, problems))
            (single("complaint_phone", "投诉电话 Complaint phone", &matter.complaint_phone, problems))
            p {
                label {
                    input type="checkbox" name="kiosk_application" checked[matter.kiosk_application];
                    " 可在终端申请 Applied for at the terminal"
                }
            }
        }
    }
}

/// The problem of field `name`, shown right after it.
fn problem(name: &str, problems: &Problems) -> Markup {
    html! {
        @if let Some(why) = problems.get(name) {
            p class="error field-error" id={ "problem-" (name) } { (why) }
        }
    }
}

fn pair(name: &str, label: &str, text: &LocalizedText, problems: &Problems) -> Markup {
    html! {
        div class="field" id={ "field-" (name) } {
            label { (label) }
            input type="text" name={ (name) ".zh" } value=(text.zh) placeholder="中文";
            input type="text" name={ (name) ".en" } value=(text.en) placeholder="English";
            (problem(name, problems))
        }
    }
}

fn single(name: &str, label: &str, value: &str, problems: &Problems) -> Markup {
    html! {
        div class="field" id={ "field-" (name) } {
            label { (label) input type="text" name=(name) value=(value); }
            (problem(name, problems))
        }
    }
}

/// A list of bilingual texts: its rows, then an empty one to add.
fn text_list(name: &str, label: &str, rows: &[LocalizedText], problems: &Problems) -> Markup {
    let blank = LocalizedText::default();
    html! {
        div class="field" id={ "field-" (name) } {
            label { (label) }
            ol {
                @for (i, row) in rows.iter().chain([&blank]).take(MAX_ROWS).enumerate() {
                    li {
                        input type="text" name={ (name) "." (i) ".zh" } value=(row.zh) placeholder="中文";
                        input type="text" name={ (name) "." (i) ".en" } value=(row.en) placeholder="English";
                    }
                }
            }
            (problem(name, problems))
        }
    }
}

fn materials(rows: &[Material], problems: &Problems) -> Markup {
    let blank = Material {
        name: LocalizedText::default(),
        form: MaterialForm::Original,
        copies: 1,
        waivable: false,
        supply: Supply::Capture,
    };
    html! {
        div class="field" id="field-materials" {
            label { "申请材料 Materials" }
            table id="materials" {
                thead { tr {
                    th { "名称 Name" } th { "形式 Form" } th { "份数 Copies" }
                    th { "可容缺 Waivable" } th { "获取方式 Supply" }
                } }
                tbody {
                    @for (i, m) in rows.iter().chain([&blank]).take(MAX_ROWS).enumerate() {
                        (material_row(i, m))
                    }
                }
            }
            (problem("materials", problems))
        }
    }
}

fn material_row(i: usize, m: &Material) -> Markup {
    let row = format!("materials.{i}");
    html! {
        tr {
            td {
                input type="text" name={ (row) ".name.zh" } value=(m.name.zh) placeholder="中文";
                input type="text" name={ (row) ".name.en" } value=(m.name.en) placeholder="English";
            }
            td { select name={ (row) ".form" } {
                @for (form, key) in MATERIAL_FORMS {
                    option value=(key) selected[*form == m.form] { (form.label().zh) " " (form.label().en) }
                }
            } }
            td { input type="number" min="1" max="99" name={ (row) ".copies" } value=(m.copies); }
            td { input type="checkbox" name={ (row) ".waivable" } checked[m.waivable]; }
            td { select name={ (row) ".supply" } {
                @for (supply, key, label) in SUPPLIES {
                    option value=(key) selected[*supply == m.supply] { (label) }
                }
            } }
        }
    }
}

fn time_limit(limit: TimeLimit, problems: &Problems) -> Markup {
    let days = match limit {
        TimeLimit::Immediate => None,
        TimeLimit::WorkingDays { days } => Some(days),
    };
    html! {
        div class="field" id="field-time_limit" {
            label { "办理时限 Time limit" }
            select name="time_limit.kind" {
                option value="immediate" selected[days.is_none()] { "即办 On the spot" }
                option value="working_days" selected[days.is_some()] { "工作日 Working days" }
            }
            input type="number" min="1" max="999" name="time_limit.days" value=(days.unwrap_or(1));
            (problem("time_limit", problems))
        }
    }
}
