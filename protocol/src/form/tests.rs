//! One form with every kind of field, its answers checked the way both sides check them, and the
//! definitions an editor must be stopped from publishing.

use serde_json::json;

use super::*;
use crate::text::LocalizedText;

fn regions() -> Vec<Region> {
    serde_json::from_value(json!([
        {"code": "320706", "name": {"zh": "海州区", "en": "Haizhou District"}},
        {"code": "320706001", "name": {"zh": "新浦街道", "en": "Xinpu Subdistrict"}, "parent": "320706"}
    ]))
    .expect("regions")
}

fn form() -> FormDefinition {
    serde_json::from_value(json!({"sections": [
        {"id": "basic", "title": {"zh": "基本信息", "en": "Basics"}, "fields": [
            {"id": "name", "label": {"zh": "姓名", "en": "Name"}, "kind": "text", "max_len": 20,
             "required": true, "prefill": {"from": "name"}},
            {"id": "sex", "label": {"zh": "性别", "en": "Sex"}, "kind": "choice", "options": [
                {"value": "male", "label": {"zh": "男", "en": "Male"}},
                {"value": "female", "label": {"zh": "女", "en": "Female"}}],
             "prefill": {"from": "sex"}},
            {"id": "born", "label": {"zh": "出生日期", "en": "Born"}, "kind": "date", "max": "today",
             "min": "1900-01-01"},
            {"id": "postcode", "label": {"zh": "邮编", "en": "Postcode"}, "kind": "text", "max_len": 6,
             "pattern": "[0-9]{6}"},
            {"id": "note", "label": {"zh": "说明", "en": "Note"}, "kind": "long_text", "max_len": 200},
            {"id": "area", "label": {"zh": "面积", "en": "Area"}, "kind": "number", "min": 1,
             "max": 500, "decimals": 2, "unit": {"zh": "平方米", "en": "m²"}}
        ]},
        {"id": "money", "title": {"zh": "缴费", "en": "Payment"}, "fields": [
            {"id": "level", "label": {"zh": "缴费档次", "en": "Level"}, "kind": "choice", "required": true,
             "options": [{"value": "l1", "label": {"zh": "300元", "en": "300 yuan"}},
                         {"value": "l2", "label": {"zh": "500元", "en": "500 yuan"}}]},
            {"id": "channels", "label": {"zh": "通知方式", "en": "Notices"}, "kind": "multi_choice",
             "min": 1, "max": 2, "options": [{"value": "sms", "label": {"zh": "短信", "en": "SMS"}},
                                            {"value": "post", "label": {"zh": "邮寄", "en": "Post"}}]},
            {"id": "mail_to", "label": {"zh": "邮寄地址", "en": "Mailing address"}, "kind": "address",
             "street_max_len": 60, "required": true, "visible_when": {"field": "channels", "equals": "post"}},
            {"id": "phone", "label": {"zh": "电话", "en": "Phone"}, "kind": "phone", "required": true},
            {"id": "card", "label": {"zh": "银行卡号", "en": "Bank card"}, "kind": "bank_card"},
            {"id": "agent_id", "label": {"zh": "代办人身份证号", "en": "Agent's ID number"}, "kind": "id_number"},
            {"id": "agree", "label": {"zh": "承诺", "en": "Declaration"}, "kind": "consent", "required": true,
             "text": {"zh": "本人承诺所填信息真实。", "en": "I declare this is true."}}
        ]}
    ]}))
    .expect("every kind deserialises")
}

fn day(text: &str) -> time::Date {
    definition::parse_date(text).expect("date")
}

fn answers(value: serde_json::Value) -> FormAnswers {
    serde_json::from_value(value).expect("answers")
}

fn good() -> serde_json::Value {
    json!({"name": "张三", "sex": "male", "born": "1960-05-01", "postcode": "222000",
           "area": "88.5", "level": "l2", "channels": ["sms", "post"],
           "mail_to": {"region": "320706001", "street": "朝阳东路1号"},
           "phone": "13912345678", "card": "6222021001116245702", "agent_id": "11010519491231002X",
           "agree": true})
}

fn problems(value: serde_json::Value) -> Vec<(String, FieldProblem)> {
    let regions = regions();
    let context = AnswerContext::on(day("2026-12-07"), &regions);
    match form().check_answers(&answers(value), &context) {
        Ok(()) => Vec::new(),
        Err(errors) => errors.into_iter().map(|e| (e.path, e.problem)).collect(),
    }
}

fn with(field: &str, value: serde_json::Value) -> serde_json::Value {
    let mut all = good();
    all[field] = value;
    all
}

#[test]
fn a_complete_form_passes_and_round_trips() {
    let form = form();
    assert_eq!(form.check(&regions()), Ok(()));
    assert_eq!(problems(good()), Vec::new());
    let again: FormDefinition =
        serde_json::from_str(&serde_json::to_string(&form).expect("json")).expect("back");
    assert_eq!(again, form);
}

#[test]
fn every_kind_refuses_what_breaks_its_rule() {
    let cases: Vec<(&str, serde_json::Value, FieldProblem)> = vec![
        (
            "name",
            json!("一二三四五六七八九十一二三四五六七八九十一"),
            FieldProblem::TooLong { max: 20 },
        ),
        ("name", json!("张\u{7}三"), FieldProblem::ControlCharacter),
        ("sex", json!("other"), FieldProblem::UnknownOption),
        (
            "born",
            json!("2026-12-08"),
            FieldProblem::DateTooLate {
                latest: "2026-12-07".into(),
            },
        ),
        (
            "born",
            json!("1899-12-31"),
            FieldProblem::DateTooEarly {
                earliest: "1900-01-01".into(),
            },
        ),
        ("born", json!("1960-02-30"), FieldProblem::NotADate),
        ("postcode", json!("22200A"), FieldProblem::Pattern),
        (
            "note",
            json!("第一行\n第二行\u{0}"),
            FieldProblem::ControlCharacter,
        ),
        (
            "area",
            json!("88.555"),
            FieldProblem::NotANumber { decimals: 2 },
        ),
        (
            "area",
            json!("500.01"),
            FieldProblem::OutOfRange { min: 1, max: 500 },
        ),
        (
            "area",
            json!("1e3"),
            FieldProblem::NotANumber { decimals: 2 },
        ),
        ("level", json!(["l1"]), FieldProblem::WrongType),
        (
            "channels",
            json!(["post", "post"]),
            FieldProblem::UnknownOption,
        ),
        (
            "channels",
            json!(["post", "fax"]),
            FieldProblem::UnknownOption,
        ),
        (
            "mail_to",
            json!({"region": "320706", "street": "朝阳东路1号"}),
            FieldProblem::UnknownRegion,
        ),
        (
            "mail_to",
            json!({"region": "320706001", "street": ""}),
            FieldProblem::TooShort { min: 1 },
        ),
        ("phone", json!("1391234567"), FieldProblem::BadPhone),
        (
            "card",
            json!("6222021001116245703"),
            FieldProblem::BadBankCard,
        ),
        (
            "agent_id",
            json!("110105194912310021"),
            FieldProblem::BadIdNumber,
        ),
        ("agree", json!(false), FieldProblem::ConsentRequired),
        ("level", json!(""), FieldProblem::Required),
    ];
    for (field, value, expected) in cases {
        assert_eq!(
            problems(with(field, value.clone())),
            vec![(format!("answers.{field}"), expected.clone())],
            "{field} = {value}"
        );
    }
}

#[test]
fn hidden_and_unknown_fields_carry_no_answer_and_hidden_required_fields_need_none() {
    let mut only_sms = with("channels", json!(["sms"]));
    assert_eq!(
        problems(only_sms.clone()),
        vec![("answers.mail_to".to_owned(), FieldProblem::Unexpected)],
        "an address for a hidden field is refused, not kept"
    );
    only_sms.as_object_mut().expect("object").remove("mail_to");
    assert_eq!(problems(only_sms), Vec::new());
    let mut extra = good();
    extra["favourite_colour"] = json!("blue");
    assert_eq!(
        problems(extra),
        vec![(
            "answers.favourite_colour".to_owned(),
            FieldProblem::Unexpected
        )]
    );
}

#[test]
fn today_is_a_range_for_answers_that_waited_in_an_outbox() {
    let regions = regions();
    let form = form();
    let late = answers(with("born", json!("2026-12-07")));
    let platform_next_day = AnswerContext {
        regions: &regions,
        earliest_today: day("2026-12-01"),
        latest_today: day("2026-12-08"),
    };
    assert_eq!(form.check_answers(&late, &platform_next_day), Ok(()));
}

#[test]
fn input_methods_stop_at_what_a_field_allows() {
    let form = form();
    let kind = |id: &str| &form.field(id).expect("field").kind;
    assert_eq!(kind("name").max_chars(), 20);
    assert!(!kind("name").accepts('\n'));
    assert!(kind("name").accepts('张'));
    assert!(kind("area").accepts('.') && !kind("area").accepts('-'));
    assert!(kind("agent_id").accepts('X') && !kind("agent_id").accepts('x'));
    assert!(!kind("card").accepts('a'));
}

fn refused(mut edit: impl FnMut(&mut serde_json::Value)) -> DefinitionError {
    let mut value = serde_json::to_value(form()).expect("json");
    edit(&mut value);
    let form: FormDefinition = serde_json::from_value(value).expect("still well-formed json");
    form.check(&regions()).expect_err("refused")
}

/// A change to a form's JSON.
type Edit = dyn Fn(&mut serde_json::Value);

#[test]
fn bad_definitions_are_refused_with_the_path_named() {
    let cases: Vec<(Box<Edit>, &str)> = vec![
        (
            Box::new(|v| v["sections"][1]["fields"][2]["visible_when"]["field"] = json!("nope")),
            "sections[money].fields[mail_to].visible_when",
        ),
        (
            Box::new(|v| v["sections"][1]["fields"][2]["visible_when"]["equals"] = json!("fax")),
            "sections[money].fields[mail_to].visible_when.equals",
        ),
        (
            Box::new(|v| v["sections"][0]["fields"][0]["min_len"] = json!(30)),
            "sections[basic].fields[name].max_len",
        ),
        (
            Box::new(|v| v["sections"][0]["fields"][5]["min"] = json!(600)),
            "sections[basic].fields[area].min",
        ),
        (
            Box::new(|v| v["sections"][1]["fields"][1]["max"] = json!(3)),
            "sections[money].fields[channels].max",
        ),
        (
            Box::new(|v| v["sections"][0]["fields"][1]["label"]["en"] = json!(" ")),
            "sections[basic].fields[sex].label",
        ),
        (
            Box::new(|v| v["sections"][0]["fields"][3]["pattern"] = json!("[0-9")),
            "sections[basic].fields[postcode].pattern",
        ),
        (
            Box::new(|v| v["sections"][0]["fields"][2]["prefill"] = json!({"from": "name"})),
            "sections[basic].fields[born].prefill",
        ),
        (
            Box::new(|v| v["sections"][1]["fields"][0]["options"][1]["value"] = json!("l1")),
            "sections[money].fields[level].options[l1]",
        ),
        (
            Box::new(|v| v["sections"][1]["fields"][3]["id"] = json!("level")),
            "sections[money].fields[level]",
        ),
        (
            Box::new(|v| {
                v["sections"][1]["fields"][1]["visible_when"] = json!({"field": "mail_to"});
            }),
            "sections[money].fields[channels].visible_when",
        ),
        (
            Box::new(|v| {
                v["sections"][0]["fields"][2]["min"] = json!("2030-01-01");
                v["sections"][0]["fields"][2]["max"] = json!("2020-01-01");
            }),
            "sections[basic].fields[born].min",
        ),
    ];
    for (edit, path) in cases {
        let error = refused(edit);
        // A max_len below min_len is reported at min_len.
        let expected = path.replace("fields[name].max_len", "fields[name].min_len");
        assert_eq!(error.path, expected, "{error}");
    }
}

#[test]
fn an_unknown_kind_does_not_deserialise() {
    let mut value = serde_json::to_value(form()).expect("json");
    value["sections"][0]["fields"][0]["kind"] = json!("signature");
    let error = serde_json::from_value::<FormDefinition>(value).expect_err("unknown kind");
    assert!(error.to_string().contains("signature"), "{error}");
}

#[test]
fn an_address_field_needs_townships_in_the_catalog() {
    let error = form().check(&[]).expect_err("no regions");
    assert_eq!(error.path, "sections[money].fields[mail_to]");
    let blank = LocalizedText::new("", "");
    assert!(blank.is_incomplete());
}

/// Answers read back in words: an option's label, a township's name, a unit after a number,
/// card and ID numbers masked where others may see the screen; hidden and blank fields left out.
#[test]
fn answers_are_read_back_in_words() {
    let regions = regions();
    let mut value = good();
    value["note"] = json!("");
    let lines = form().answer_lines(&answers(value), &regions, Numbers::QUERIED);
    let shown = |id: &str| {
        lines
            .iter()
            .find(|l| l.field == id)
            .map(|l| (l.value.zh.clone(), l.value.en.clone()))
    };
    assert_eq!(shown("sex"), Some(("男".into(), "Male".into())));
    assert_eq!(shown("level"), Some(("500元".into(), "500 yuan".into())));
    assert_eq!(
        shown("channels"),
        Some(("短信、邮寄".into(), "SMS, Post".into()))
    );
    assert_eq!(
        shown("mail_to"),
        Some((
            "海州区新浦街道朝阳东路1号".into(),
            "朝阳东路1号, Xinpu Subdistrict, Haizhou District".into()
        ))
    );
    assert_eq!(shown("area"), Some(("88.5平方米".into(), "88.5 m²".into())));
    assert_eq!(shown("card").map(|s| s.0), Some("****5702".into()));
    assert_eq!(shown("agent_id").map(|s| s.0), Some("****002X".into()));
    assert_eq!(shown("agree").map(|s| s.0), Some("同意".into()));
    assert_eq!(shown("note"), None);
    assert_eq!(lines.first().map(|l| l.field.as_str()), Some("name"));
    let whole = form().answer_lines(&answers(good()), &regions, Numbers::WHOLE);
    assert!(whole.iter().any(|l| l.value.zh == "6222021001116245702"));
    // Posting not chosen: the mailing address is hidden, and not read back.
    let mut value = good();
    value["channels"] = json!(["sms"]);
    let lines = form().answer_lines(&answers(value), &regions, Numbers::QUERIED);
    assert!(lines.iter().all(|l| l.field != "mail_to"));
    assert!(!format!("{lines:?}").contains("朝阳"));
}
