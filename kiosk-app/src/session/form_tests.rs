//! The application form in the session core: every field kind, the card's prefill, what
//! keystrokes get in, when problems show, visibility, the pages, and what is submitted,
//! reviewed, printed and wiped.

use super::tests::{Rig, matter, receipt, text};
use super::*;
use kiosk_protocol::form::{AddressAnswer, Answer, FieldProblem, FormDefinition, Mask, Region};
use zeroize::Zeroizing;

/// A form over three pages with every kind of field.
fn definition() -> FormDefinition {
    let label = |zh: &str, en: &str| serde_json::json!({"zh": zh, "en": en});
    let option = |value: &str, zh: &str, en: &str| serde_json::json!({"value": value, "label": label(zh, en)});
    serde_json::from_value(serde_json::json!({"sections": [
        {"id": "applicant", "title": label("申请人", "Applicant"), "fields": [
            {"id": "name", "label": label("姓名", "Name"), "kind": "text", "max_len": 20,
             "required": true, "prefill": {"from": "name"}},
            {"id": "sex", "label": label("性别", "Sex"), "kind": "choice", "required": true,
             "options": [option("male", "男", "Male"), option("female", "女", "Female")],
             "prefill": {"from": "sex"}},
            {"id": "birth", "label": label("出生日期", "Date of birth"), "kind": "date",
             "required": true, "prefill": {"from": "birth_date"}},
            {"id": "nation", "label": label("民族", "Ethnicity"), "kind": "text", "max_len": 10,
             "required": true, "prefill": {"from": "nation", "editable": true}},
            {"id": "home", "label": label("户籍地址", "Registered address"), "kind": "long_text",
             "max_len": 60, "prefill": {"from": "address", "editable": true}},
        ]},
        {"id": "insurance", "title": label("参保信息", "Enrolment"), "fields": [
            {"id": "level", "label": label("缴费档次", "Contribution level"), "kind": "choice",
             "required": true, "options": [option("l200", "每年200元", "200 yuan a year"),
                                           option("l500", "每年500元", "500 yuan a year")]},
            {"id": "amount", "label": label("补缴金额", "Back payment"), "kind": "number",
             "min": 0, "max": 10000, "decimals": 2, "unit": label("元", "yuan")},
            {"id": "start", "label": label("开始日期", "Start"), "kind": "date", "required": true,
             "min": "today", "max": "2030-12-31"},
            {"id": "mail", "label": label("领取方式", "Collection"), "kind": "choice",
             "required": true, "options": [option("post", "邮寄", "By post"),
                                           option("self", "自取", "Collect in person")]},
            {"id": "mail_address", "label": label("邮寄地址", "Mailing address"),
             "kind": "address", "street_max_len": 40, "required": true,
             "visible_when": {"field": "mail", "equals": "post"}},
            {"id": "extras", "label": label("其他需求", "Other needs"), "kind": "multi_choice",
             "min": 1, "max": 2, "options": [option("a", "短信提醒", "Text reminders"),
                option("b", "纸质凭证", "Paper voucher"), option("c", "上门服务", "Home visit")]},
        ]},
        {"id": "payment", "title": label("缴费与声明", "Payment and declaration"), "fields": [
            {"id": "card", "label": label("银行卡号", "Bank card"), "kind": "bank_card",
             "required": true},
            {"id": "phone", "label": label("联系电话", "Phone"), "kind": "phone", "required": true},
            {"id": "relative", "label": label("代缴人身份证号", "Payer's ID number"),
             "kind": "id_number"},
            {"id": "agree", "label": label("承诺", "Declaration"), "kind": "consent",
             "required": true, "text": label("以上信息真实有效。", "The above is true.")},
        ]},
    ]}))
    .expect("the test form")
}

fn regions() -> Vec<Region> {
    let region = |code: &str, zh: &str, parent: Option<&str>| Region {
        code: code.into(),
        name: LocalizedText::new(zh, format!("{zh} (en)")),
        parent: parent.map(str::to_owned),
    };
    vec![
        region("320706", "海州区", None),
        region("320706001", "新浦街道", Some("320706")),
        region("320706002", "海州街道", Some("320706")),
        region("320707", "赣榆区", None),
        region("320707100", "青口镇", Some("320707")),
    ]
}

/// The catalog: `pension` has the form (and nothing to photograph), `m1` has none.
fn catalog() -> Arc<Catalog> {
    let mut pension = matter("pension", "si", true);
    pension.form = Some(definition());
    let catalog = Catalog {
        version: "f1".into(),
        themes: vec![kiosk_protocol::ThemeGroup {
            id: "si".into(),
            name: text("社保"),
        }],
        departments: vec![kiosk_protocol::Department {
            id: "dept".into(),
            name: text("部门"),
        }],
        regions: regions(),
        notes: Vec::new(),
        abbreviations: Vec::new(),
        matters: vec![pension, matter("m1", "si", true)],
    };
    catalog.validate().expect("the test catalog is valid");
    Arc::new(catalog)
}

fn today() -> time::Date {
    time::macros::date!(2026 - 12 - 07)
}

/// 张三, with what the card says besides name and number.
fn person() -> Identity {
    Identity::new(
        "张三".into(),
        "320706199001011237".into(),
        DocumentKind::Resident,
    )
    .with_details(CardDetails {
        sex: Some("male"),
        birth: Some(time::macros::date!(1990 - 01 - 01)),
        nation: Some(Zeroizing::new("汉".into())),
        address: Some(Zeroizing::new("江苏省连云港市海州区新浦路1号".into())),
        read_on: Some(today()),
    })
}

/// A session where `who` applied for `matter`, typed a phone and confirmed.
fn confirmed(matter: &str, who: Identity) -> Rig {
    let mut r = Rig::with_catalog(catalog());
    r.touch(Action::Begin);
    r.touch(Action::OpenMatter(matter.into()));
    r.touch(Action::Apply);
    r.send(Event::Card(CardEvent::Read(who)));
    for d in [1, 3, 9, 1, 2, 3, 4, 5, 6, 7, 8] {
        r.touch(Action::PhoneDigit(d));
    }
    r.touch(Action::ConfirmApplicant);
    r
}

/// A session on the form's first page.
fn on_form() -> Rig {
    let r = confirmed("pension", person());
    assert_eq!(
        r.s.screen(),
        &Screen::Form {
            matter: "pension".into()
        }
    );
    r
}

fn form(r: &Rig) -> FormView {
    r.s.view(Instant::now()).form.expect("the form shows")
}

fn field<'a>(view: &'a FormView, id: &str) -> &'a FieldView {
    view.fields
        .iter()
        .find(|f| f.field.id == id)
        .unwrap_or_else(|| panic!("{id} is not shown"))
}

fn answer(r: &Rig, id: &str) -> Option<Answer> {
    field(&form(r), id).answer.clone()
}

fn text_answer(r: &Rig, id: &str) -> String {
    match answer(r, id) {
        Some(Answer::Text(t)) => t,
        other => panic!("{id}: {other:?}"),
    }
}

fn typed(r: &mut Rig, id: &str, keys: &str) {
    r.touch(Action::FormFocus(id.into()));
    r.touch(Action::FormCommit(keys.into()));
}

fn choose(r: &mut Rig, id: &str, value: &str) {
    r.touch(Action::FormChoose {
        field: id.into(),
        value: value.into(),
    });
}

/// Fills page 2 right (by post to 海州区新浦街道人民路8号) and goes on.
fn fill_insurance(r: &mut Rig) {
    choose(r, "level", "l500");
    r.touch(Action::FormFocus("start".into()));
    r.touch(Action::FormDate(DateStep::Day(1)));
    choose(r, "mail", "post");
    r.touch(Action::FormFocus("mail_address".into()));
    r.touch(Action::FormRegion("320706".into()));
    r.touch(Action::FormRegion("320706001".into()));
    r.touch(Action::FormCommit("人民路8号".into()));
    r.touch(Action::FormNext);
    assert_eq!(form(r).page, 2, "{:?}", form(r));
}

#[test]
fn the_card_fills_its_fields_and_those_not_to_be_changed_cannot_be() {
    let mut r = on_form();
    let page = form(&r);
    assert_eq!(page.page, 0);
    assert_eq!(page.pages, 3);
    assert_eq!(page.title.zh, "申请人");
    assert_eq!(text_answer(&r, "name"), "张三");
    assert_eq!(text_answer(&r, "sex"), "male");
    assert_eq!(text_answer(&r, "birth"), "1990-01-01");
    assert_eq!(text_answer(&r, "nation"), "汉");
    assert_eq!(text_answer(&r, "home"), "江苏省连云港市海州区新浦路1号");
    for locked in ["name", "sex", "birth"] {
        assert!(field(&page, locked).locked, "{locked}");
    }
    assert!(!field(&page, "nation").locked && !field(&page, "home").locked);

    // A locked field takes no focus, no keys, no other option.
    typed(&mut r, "name", "李");
    choose(&mut r, "sex", "female");
    assert_eq!(text_answer(&r, "name"), "张三");
    assert_eq!(text_answer(&r, "sex"), "male");
    assert!(!field(&form(&r), "name").focused);

    // An editable one is the citizen's to change.
    typed(&mut r, "nation", "x");
    assert_eq!(text_answer(&r, "nation"), "汉x");
    r.touch(Action::FormErase);
    assert_eq!(text_answer(&r, "nation"), "汉");
    assert_eq!(r.touch(Action::FormNext), Vec::new());
    assert_eq!(form(&r).page, 1);
}

#[test]
fn a_card_without_the_datum_leaves_the_field_to_the_citizen() {
    // A foreigner's card: no nation, no address, no stated sex.
    let foreigner = Identity::new(
        "JOHN DOE".into(),
        "840000199001010014".into(),
        DocumentKind::ForeignerY,
    )
    .with_details(CardDetails {
        birth: Some(time::macros::date!(1990 - 01 - 01)),
        read_on: Some(today()),
        ..CardDetails::default()
    });
    let mut r = confirmed("pension", foreigner);
    let page = form(&r);
    assert_eq!(field(&page, "sex").answer, None);
    assert!(!field(&page, "sex").locked);
    choose(&mut r, "sex", "female");
    assert_eq!(text_answer(&r, "sex"), "female");
    // Next shows what is missing: the nation, required and not on the card.
    r.touch(Action::FormNext);
    let page = form(&r);
    assert_eq!(page.page, 0);
    assert_eq!(field(&page, "nation").problem, Some(FieldProblem::Required));
    assert_eq!(field(&page, "home").problem, None, "optional");
}

#[test]
fn keystrokes_a_field_cannot_take_never_get_in() {
    let mut r = on_form();
    r.touch(Action::FormNext);
    fill_insurance(&mut r);

    // Phone: digits and a dash; letters, control characters and a 14th character dropped.
    typed(&mut r, "phone", "1a3\u{7}9\n0518-85821234x");
    assert_eq!(text_answer(&r, "phone"), "1390518-85821");
    // Bank card: digits only, at most 19.
    typed(&mut r, "card", "6222 0212-3456789012845678");
    assert_eq!(text_answer(&r, "card"), "6222021234567890128");
    // ID number: a lower-case x becomes the check character X.
    typed(&mut r, "relative", "32070619900101123x");
    assert_eq!(text_answer(&r, "relative"), "32070619900101123X");
    // Consent takes no keys at all.
    typed(&mut r, "agree", "yes");
    assert_eq!(answer(&r, "agree"), None);
}

#[test]
fn numbers_take_a_point_only_where_decimals_are_allowed_and_text_stops_at_its_length() {
    let mut r = on_form();
    typed(&mut r, "home", &"路".repeat(100));
    assert_eq!(text_answer(&r, "home").chars().count(), 60);
    r.touch(Action::FormNext);
    typed(&mut r, "amount", "-12.50元");
    assert_eq!(
        text_answer(&r, "amount"),
        "12.50",
        "no minus: the minimum is 0"
    );
    r.touch(Action::FormFocus("level".into()));
    assert_eq!(field(&form(&r), "amount").problem, None);
    typed(&mut r, "amount", "0");
    r.touch(Action::FormFocus("start".into()));
    assert_eq!(
        field(&form(&r), "amount").problem,
        Some(FieldProblem::NotANumber { decimals: 2 })
    );
}

#[test]
fn a_problem_shows_once_the_field_is_left_not_on_the_first_keystroke() {
    let mut r = on_form();
    r.touch(Action::FormNext);
    fill_insurance(&mut r);
    typed(&mut r, "phone", "139");
    assert_eq!(field(&form(&r), "phone").problem, None, "still typing");
    r.touch(Action::FormFocus("card".into()));
    assert_eq!(
        field(&form(&r), "phone").problem,
        Some(FieldProblem::BadPhone)
    );
    // Corrected, the problem goes as the digits come.
    typed(&mut r, "phone", "12345678");
    assert_eq!(field(&form(&r), "phone").problem, None);
    // A wrong check digit on the bank card, shown once left.
    typed(&mut r, "card", "6222021234567890124");
    r.touch(Action::FormFocus("phone".into()));
    assert_eq!(
        field(&form(&r), "card").problem,
        Some(FieldProblem::BadBankCard)
    );
    r.touch(Action::FormFocus("card".into()));
    r.touch(Action::FormErase);
    r.touch(Action::FormCommit("8".into()));
    assert_eq!(field(&form(&r), "card").problem, None);
    typed(&mut r, "relative", "320706199001011234");
    r.touch(Action::FormFocus("card".into()));
    assert_eq!(
        field(&form(&r), "relative").problem,
        Some(FieldProblem::BadIdNumber)
    );
}

#[test]
fn next_is_refused_while_the_page_has_problems_and_shows_every_one() {
    let mut r = on_form();
    r.touch(Action::FormNext);
    assert_eq!(form(&r).page, 1);
    assert_eq!(field(&form(&r), "level").problem, None, "nothing shown yet");
    r.touch(Action::FormNext);
    let page = form(&r);
    assert_eq!(page.page, 1, "refused");
    assert_eq!(field(&page, "level").problem, Some(FieldProblem::Required));
    assert_eq!(field(&page, "start").problem, Some(FieldProblem::Required));
    assert_eq!(field(&page, "mail").problem, Some(FieldProblem::Required));
    assert_eq!(field(&page, "amount").problem, None, "optional");
    assert_eq!(field(&page, "extras").problem, None, "optional");
    fill_insurance(&mut r);

    // The last page: a consent not given is named as such.
    typed(&mut r, "card", "6222021234567890128");
    typed(&mut r, "phone", "13912345678");
    r.touch(Action::FormNext);
    assert_eq!(
        field(&form(&r), "agree").problem,
        Some(FieldProblem::ConsentRequired)
    );
    choose(&mut r, "agree", "true");
    assert_eq!(answer(&r, "agree"), Some(Answer::Flag(true)));
    r.touch(Action::FormNext);
    assert_eq!(
        r.s.screen(),
        &Screen::Review {
            matter: "pension".into()
        }
    );
}

#[test]
fn a_hidden_field_is_skipped_and_its_answer_dropped() {
    let mut r = on_form();
    r.touch(Action::FormNext);
    let ids =
        |r: &Rig| -> Vec<String> { form(r).fields.iter().map(|f| f.field.id.clone()).collect() };
    assert!(!ids(&r).contains(&"mail_address".to_owned()));
    choose(&mut r, "mail", "post");
    assert!(ids(&r).contains(&"mail_address".to_owned()));
    r.touch(Action::FormFocus("mail_address".into()));
    r.touch(Action::FormRegion("320706".into()));
    r.touch(Action::FormRegion("320706002".into()));
    r.touch(Action::FormCommit("解放路2号".into()));
    choose(&mut r, "mail", "self");
    assert!(!ids(&r).contains(&"mail_address".to_owned()));
    choose(&mut r, "mail", "post");
    assert_eq!(answer(&r, "mail_address"), None, "the old address is gone");
    // Hidden, it is neither required nor submitted.
    choose(&mut r, "mail", "self");
    choose(&mut r, "level", "l200");
    r.touch(Action::FormFocus("start".into()));
    r.touch(Action::FormDate(DateStep::Day(1)));
    r.touch(Action::FormNext);
    assert_eq!(form(&r).page, 2);
}

#[test]
fn the_region_picker_goes_from_district_to_township_then_the_street() {
    let mut r = on_form();
    r.touch(Action::FormNext);
    choose(&mut r, "mail", "post");
    r.touch(Action::FormFocus("mail_address".into()));
    // A township is not picked by a code the catalog has not, nor a district as the region.
    r.touch(Action::FormRegion("999999".into()));
    assert_eq!(form(&r).county, None);
    r.touch(Action::FormRegion("320707".into()));
    assert_eq!(form(&r).county.as_deref(), Some("320707"));
    r.touch(Action::FormRegion("320707100".into()));
    // A district again undoes the township (the street stays).
    r.touch(Action::FormRegion("320706".into()));
    let Some(Answer::Address(address)) = answer(&r, "mail_address") else {
        panic!("an address answer")
    };
    assert_eq!(address.region, "");
    r.touch(Action::FormRegion("320706001".into()));
    r.touch(Action::FormCommit("人民路8号".into()));
    assert_eq!(
        answer(&r, "mail_address"),
        Some(Answer::Address(AddressAnswer {
            region: "320706001".into(),
            street: "人民路8号".into()
        }))
    );
    // Street without a township: the picker's problem.
    r.touch(Action::FormRegion("320707".into()));
    r.touch(Action::FormFocus("level".into()));
    assert_eq!(
        field(&form(&r), "mail_address").problem,
        Some(FieldProblem::UnknownRegion)
    );
    // Focused again, the picker opens on the address's district.
    r.touch(Action::FormFocus("mail_address".into()));
    r.touch(Action::FormRegion("320706".into()));
    r.touch(Action::FormRegion("320706002".into()));
    r.touch(Action::FormFocus("level".into()));
    r.touch(Action::FormFocus("mail_address".into()));
    assert_eq!(form(&r).county.as_deref(), Some("320706"));
}

#[test]
fn the_date_picker_starts_today_steps_and_keeps_within_the_limits() {
    let mut r = on_form();
    r.touch(Action::FormNext);
    r.touch(Action::FormFocus("start".into()));
    r.touch(Action::FormDate(DateStep::Day(-1)));
    assert_eq!(text_answer(&r, "start"), "2026-12-07", "starts today");
    r.touch(Action::FormDate(DateStep::Day(-1)));
    assert_eq!(text_answer(&r, "start"), "2026-12-07", "not before today");
    r.touch(Action::FormDate(DateStep::Month(2)));
    assert_eq!(text_answer(&r, "start"), "2027-02-07");
    r.touch(Action::FormDate(DateStep::Month(-1)));
    r.touch(Action::FormDate(DateStep::Day(24)));
    assert_eq!(text_answer(&r, "start"), "2027-01-31");
    r.touch(Action::FormDate(DateStep::Month(1)));
    assert_eq!(
        text_answer(&r, "start"),
        "2027-02-28",
        "31 January + 1 month"
    );
    r.touch(Action::FormDate(DateStep::Year(10)));
    assert_eq!(
        text_answer(&r, "start"),
        "2030-12-31",
        "not after the latest"
    );
    r.touch(Action::FormErase);
    assert_eq!(answer(&r, "start"), None, "erasing clears a date");
    assert_eq!(DateStep::parse("y-10"), Some(DateStep::Year(-10)));
    assert_eq!(DateStep::parse("m+1"), Some(DateStep::Month(1)));
    for bad in ["", "y", "y+0", "q+1", "d+1000", "y+x"] {
        assert_eq!(DateStep::parse(bad), None, "{bad}");
    }
}

#[test]
fn multiple_choice_toggles_and_never_exceeds_its_most() {
    let mut r = on_form();
    r.touch(Action::FormNext);
    choose(&mut r, "extras", "a");
    choose(&mut r, "extras", "c");
    choose(&mut r, "extras", "b");
    assert_eq!(
        answer(&r, "extras"),
        Some(Answer::Choices(vec!["a".into(), "c".into()]))
    );
    choose(&mut r, "extras", "a");
    choose(&mut r, "extras", "unknown");
    assert_eq!(
        answer(&r, "extras"),
        Some(Answer::Choices(vec!["c".into()]))
    );
    choose(&mut r, "extras", "c");
    assert_eq!(answer(&r, "extras"), None, "none chosen is no answer");
    choose(&mut r, "level", "l999");
    assert_eq!(answer(&r, "level"), None, "not an option");
}

#[test]
fn an_input_method_composes_in_the_view_and_commits_to_the_field() {
    let mut r = on_form();
    r.touch(Action::FormFocus("home".into()));
    let composition = Composition {
        preedit: "lu".into(),
        candidates: vec!["路".into(), "鹿".into()],
    };
    r.touch(Action::FormCompose(composition.clone()));
    assert_eq!(form(&r).composition, composition);
    r.touch(Action::FormCommit("路".into()));
    assert_eq!(form(&r).composition, Composition::default());
    assert!(text_answer(&r, "home").ends_with("1号路"));
    // Composition for no field is not kept.
    r.touch(Action::FormFocus("nation".into()));
    assert_eq!(form(&r).composition, Composition::default());
}

#[test]
fn back_turns_pages_then_leaves_for_the_applicant_and_returns_with_the_answers() {
    let mut r = on_form();
    r.touch(Action::FormNext);
    choose(&mut r, "level", "l200");
    r.touch(Action::Back);
    assert_eq!(form(&r).page, 0);
    r.touch(Action::Back);
    assert_eq!(
        r.s.screen(),
        &Screen::Confirm {
            matter: "pension".into()
        }
    );
    r.touch(Action::ConfirmApplicant);
    r.touch(Action::FormNext);
    assert_eq!(text_answer(&r, "level"), "l200");
}

#[test]
fn the_answers_are_submitted_reviewed_in_words_printed_in_part_and_wiped() {
    let mut r = on_form();
    r.touch(Action::FormNext);
    fill_insurance(&mut r);
    typed(&mut r, "card", "6222021234567890128");
    typed(&mut r, "phone", "0518-85821234");
    choose(&mut r, "agree", "true");
    r.touch(Action::FormNext);

    // The review lists every answer in words, the bank card masked.
    let view = r.s.view(Instant::now());
    let lines: Vec<(String, String)> = view
        .answers
        .iter()
        .map(|l| (l.label.zh.clone(), l.value.zh.clone()))
        .collect();
    for expected in [
        ("性别", "男"),
        ("缴费档次", "每年500元"),
        ("领取方式", "邮寄"),
        ("邮寄地址", "海州区新浦街道人民路8号"),
        ("银行卡号", "***************0128"),
        ("承诺", "同意"),
        ("开始日期", "2026-12-07"),
    ] {
        assert!(
            lines.contains(&(expected.0.into(), expected.1.into())),
            "{expected:?} in {lines:?}"
        );
    }
    // Back from a review without materials: the form's last page.
    r.touch(Action::Back);
    assert_eq!(form(&r).page, 2);
    r.touch(Action::FormNext);

    let commands = r.touch(Action::SubmitApplication);
    let Some(Command::Submit { request, .. }) = commands.first() else {
        panic!("{commands:?}")
    };
    let definition = definition();
    let catalog = catalog();
    let context = kiosk_protocol::form::AnswerContext::on(today(), &catalog.regions);
    assert_eq!(definition.check_answers(&request.answers, &context), Ok(()));
    assert_eq!(
        request.answers.0.get("card"),
        Some(&Answer::Text("6222021234567890128".into()))
    );
    assert_eq!(request.answers.0.len(), 12, "{:?}", request.answers);
    assert!(!request.answers.0.contains_key("extras"), "not answered");
    // Nothing of an answer in the session's Debug.
    let debug = format!("{:?}", r.s);
    for secret in ["6222021234567890128", "人民路", "0518-85821234", "新浦路"] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }

    let commands = r.send(Event::Submitted(Ok(receipt("LY1", "pension"))));
    let Some(Command::PrintReceipt(printed)) = commands.first() else {
        panic!("{commands:?}")
    };
    let printed: Vec<(&str, &str)> = (printed.answers.iter())
        .map(|l| (l.field.as_str(), l.value.zh.as_str()))
        .collect();
    // Everything the citizen answered, the numbers a finder could use masked to the last 4;
    // nothing filled from the card (the header prints the applicant masked).
    for expected in [
        ("level", "每年500元"),
        ("mail", "邮寄"),
        ("mail_address", "海州区新浦街道人民路8号"),
        ("card", "****0128"),
        ("agree", "同意"),
    ] {
        assert!(printed.contains(&expected), "{expected:?} in {printed:?}");
    }
    assert!(
        (printed.iter()).any(|(f, v)| *f == "phone" && v.starts_with("****") && v.len() == 8),
        "{printed:?}"
    );
    for (field, _) in &printed {
        assert!(
            !["name", "sex", "birth", "nation", "home"].contains(field),
            "{field} came from the card"
        );
    }
    r.touch(Action::Done);
    assert!(!r.s.holds_personal_data());
}

#[test]
fn leaving_the_session_wipes_the_form() {
    let mut r = on_form();
    r.touch(Action::FormNext);
    choose(&mut r, "level", "l200");
    assert!(r.s.holds_personal_data());
    let commands = r.touch(Action::Home);
    assert!(commands.contains(&Command::WipePersonalData));
    assert!(!r.s.holds_personal_data());
    assert!(r.s.view(Instant::now()).form.is_none());
}

#[test]
fn a_matter_without_a_form_goes_from_the_applicant_to_the_materials() {
    let mut r = confirmed("m1", person());
    assert_eq!(
        r.s.screen(),
        &Screen::Review {
            matter: "m1".into()
        }
    );
    // Form actions elsewhere do nothing.
    r.touch(Action::FormCommit("x".into()));
    assert!(r.s.view(Instant::now()).form.is_none());
    let commands = r.touch(Action::SubmitApplication);
    let Some(Command::Submit { request, .. }) = commands.first() else {
        panic!("{commands:?}")
    };
    assert!(request.answers.is_empty());
}

#[test]
fn bank_cards_show_only_their_last_four_digits() {
    assert_eq!(
        Mask::Starred.apply("6222021234567890128"),
        "***************0128"
    );
    assert_eq!(Mask::Starred.apply("123"), "123");
}

#[test]
fn a_later_section_opened_for_the_preview_shows_as_first_reached_without_problems() {
    let mut r = on_form();
    assert!(r.s.open_form_section(2), "the third section has fields");
    let view = form(&r);
    assert_eq!((view.page, view.pages), (2, 3));
    assert!(
        view.fields
            .iter()
            .all(|f| f.problem.is_none() && !f.focused),
        "nothing answered shows as wrong before the citizen touched it"
    );
    assert!(r.s.open_form_section(0));
    assert_eq!(
        text_answer(&r, "name"),
        "张三",
        "the card's prefills are kept"
    );
    assert!(!r.s.open_form_section(3), "no such section");
    assert_eq!(form(&r).page, 0, "a refused section leaves the page shown");
}

#[test]
fn a_form_section_cannot_be_opened_before_the_form() {
    let mut r = Rig::with_catalog(catalog());
    r.touch(Action::Begin);
    r.touch(Action::OpenMatter("pension".into()));
    assert!(!r.s.open_form_section(0));
    assert!(matches!(r.s.screen(), Screen::Guide { .. }));
}
