//! Journeys driven through the real screens by their accessible labels, as a screen reader or
//! a test robot would: Slint's testing backend finds each control by the label a citizen
//! reads, invokes it, and the touch goes through the display's mapping into the session core;
//! each new view is drawn back onto the screens. The devices and the platform are played by
//! the test (their answers are events), so this checks the UI, the mapping and the session
//! together, in Chinese, in English and in 长辈版.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use kiosk_app::screen::display::Display;
use kiosk_app::session::{
    Action, CapturedPage, CardDetails, CardEvent, Command, DocumentKind, ErrandOutcome, Event,
    Identity, KeySource, Picture, Screen, Session, Settings,
};
use kiosk_protocol::{ApplicationReceipt, Catalog, Language};
use kiosk_ui::{Application, Errands, KioskWindow};
use slint::ComponentHandle;

fn catalog() -> Arc<Catalog> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../platform/catalog/lianyungang.json"
    );
    let text = std::fs::read_to_string(path).expect("the shipped catalog");
    Arc::new(serde_json::from_str(&text).expect("catalog"))
}

/// The kiosk's screens and session, with the test standing in for devices and platform.
struct Terminal {
    window: KioskWindow,
    display: Display,
    session: Session,
    touches: Rc<RefCell<Vec<Action>>>,
    commands: Vec<Command>,
    t0: Instant,
}

impl Terminal {
    fn start() -> Self {
        Terminal::start_with(catalog())
    }

    fn start_with(catalog: Arc<Catalog>) -> Self {
        i_slint_backend_testing::init_no_event_loop();
        let window = KioskWindow::new().expect("window");
        window.show().expect("show");
        let display = Display::new(window.clone_strong(), "LYG-TEST-0001", false);
        let touches = Rc::new(RefCell::new(Vec::new()));
        let sink = touches.clone();
        display.on_action(move |action| sink.borrow_mut().push(action));
        let t0 = Instant::now();
        let mut session = Session::new(Settings::default(), KeySource::seeded(7), t0);
        session.start();
        session.handle(Event::CatalogLoaded(catalog), t0);
        let mut kiosk = Terminal {
            window,
            display,
            session,
            touches,
            commands: Vec::new(),
            t0,
        };
        kiosk.redraw();
        kiosk
    }

    fn redraw(&mut self) {
        let view = self.session.view(self.t0);
        self.display.show(&view);
    }

    fn event(&mut self, event: Event) {
        let commands = self.session.handle(event, self.t0);
        self.commands.extend(commands);
        self.redraw();
    }

    /// The enabled buttons labelled `label` on the screen now (the label's own text is an
    /// element too, but not one to touch).
    fn controls(&self, label: &str) -> Vec<ElementHandle> {
        ElementHandle::find_by_accessible_label(&self.window, label)
            .filter(|e| {
                e.is_valid()
                    && matches!(
                        e.accessible_role(),
                        Some(AccessibleRole::Button | AccessibleRole::Checkbox)
                    )
                    && e.accessible_enabled() != Some(false)
            })
            .collect()
    }

    /// Touches the control labelled `label` (the first, when a label repeats, as digits do
    /// on no screen but the keyboards).
    fn tap(&mut self, label: &str) {
        let control = self.controls(label).into_iter().next().unwrap_or_else(|| {
            panic!(
                "no control labelled {label:?} on {:?}",
                self.session.screen()
            )
        });
        control.invoke_accessible_default_action();
        let touches: Vec<Action> = self.touches.borrow_mut().drain(..).collect();
        assert!(!touches.is_empty(), "{label:?} raised no action");
        for action in touches {
            self.event(Event::Touch(action));
        }
    }

    /// Touches the answer box of the form field labelled `label` (it takes the focus).
    fn fill_in(&mut self, label: &str) {
        let field = ElementHandle::find_by_accessible_label(&self.window, label)
            .find(|e| e.is_valid() && e.accessible_role() == Some(AccessibleRole::TextInput))
            .unwrap_or_else(|| panic!("no field labelled {label:?}"));
        field.invoke_accessible_default_action();
        let touches: Vec<Action> = self.touches.borrow_mut().drain(..).collect();
        for action in touches {
            self.event(Event::Touch(action));
        }
    }

    /// What the form field labelled `label` shows as its answer.
    fn field_value(&self, label: &str) -> String {
        ElementHandle::find_by_accessible_label(&self.window, label)
            .find(|e| e.is_valid() && e.accessible_role() == Some(AccessibleRole::TextInput))
            .and_then(|e| e.accessible_value())
            .map(|v| v.to_string())
            .unwrap_or_default()
    }

    /// The pension matter's materials: the first photographed (one page), the second handed
    /// in later on the commitment; the review follows.
    fn photograph_one_and_commit_the_other(&mut self) {
        self.tap("拍照");
        self.event(Event::PageCaptured(Ok(page())));
        self.tap("下一步");
        self.tap("容缺后补");
        self.tap("我承诺");
        assert!(matches!(self.session.screen(), Screen::Review { .. }));
    }

    fn shows(&self, label: &str) -> bool {
        !self.controls(label).is_empty()
    }

    /// Whether anything at all (a text, an image, a control) carries `label` on the screen now.
    fn displays(&self, label: &str) -> bool {
        ElementHandle::find_by_accessible_label(&self.window, label).any(|e| e.is_valid())
    }

    fn take_commands(&mut self) -> Vec<Command> {
        std::mem::take(&mut self.commands)
    }
}

fn person() -> Identity {
    Identity::new(
        "李四".into(),
        "320706198503120133".into(),
        DocumentKind::Resident,
    )
    .with_details(CardDetails {
        sex: Some("male"),
        birth: Some(time::macros::date!(1985 - 03 - 12)),
        nation: Some(zeroize::Zeroizing::new("汉".into())),
        address: Some(zeroize::Zeroizing::new(
            "江苏省连云港市海州区新浦路1号".into(),
        )),
        read_on: Some(time::macros::date!(2026 - 12 - 07)),
    })
}

/// The shipped catalog, with 城乡居民养老保险参保登记's enrolment form and two townships.
fn catalog_with_form() -> Arc<Catalog> {
    let mut catalog = (*catalog()).clone();
    let label = |zh: &str, en: &str| serde_json::json!({"zh": zh, "en": en});
    let option = |value: &str, zh: &str, en: &str| serde_json::json!({"value": value, "label": label(zh, en)});
    catalog.regions = serde_json::from_value(serde_json::json!([
        {"code": "320706", "name": label("海州区", "Haizhou District")},
        {"code": "320706001", "name": label("新浦街道", "Xinpu Subdistrict"), "parent": "320706"},
        {"code": "320707", "name": label("赣榆区", "Ganyu District")},
        {"code": "320707100", "name": label("青口镇", "Qingkou Town"), "parent": "320707"},
    ]))
    .expect("regions");
    let form = serde_json::from_value(serde_json::json!({"sections": [
        {"id": "applicant", "title": label("申请人", "Applicant"), "fields": [
            {"id": "name", "label": label("姓名", "Name"), "kind": "text", "max_len": 20,
             "required": true, "prefill": {"from": "name"}},
            {"id": "nation", "label": label("民族", "Ethnicity"), "kind": "text", "max_len": 10,
             "required": true, "prefill": {"from": "nation", "editable": true}},
        ]},
        {"id": "insurance", "title": label("参保信息", "Enrolment"), "fields": [
            {"id": "level", "label": label("缴费档次", "Contribution level"), "kind": "choice",
             "required": true, "options": [option("l200", "每年200元", "200 yuan a year"),
                                           option("l500", "每年500元", "500 yuan a year")]},
            {"id": "start", "label": label("参保开始日期", "Start"), "kind": "date",
             "required": true, "min": "today"},
            {"id": "mail", "label": label("社保卡领取方式", "Card collection"), "kind": "choice",
             "required": true, "options": [option("post", "邮寄到家", "By post"),
                                           option("self", "网点自取", "At a branch")]},
            {"id": "mail_address", "label": label("邮寄地址", "Mailing address"),
             "kind": "address", "street_max_len": 40, "required": true,
             "visible_when": {"field": "mail", "equals": "post"}},
        ]},
        {"id": "payment", "title": label("缴费与声明", "Payment"), "fields": [
            {"id": "card", "label": label("银行卡号", "Bank card"), "kind": "bank_card",
             "required": true},
            {"id": "agree", "label": label("告知承诺", "Declaration"), "kind": "consent",
             "required": true, "text": label("所填信息真实有效。", "All of this is true.")},
        ]},
    ]}))
    .expect("form");
    let pension = catalog
        .matters
        .iter_mut()
        .find(|m| m.id == "lyg-hrss-0101")
        .expect("the pension matter");
    pension.form = Some(form);
    catalog.validate().expect("valid");
    Arc::new(catalog)
}

fn page() -> CapturedPage {
    CapturedPage {
        jpeg: Arc::new(vec![0xff, 0xd8, 0xff, 0xd9]),
        thumbnail: Arc::new(Picture {
            width: 2,
            height: 2,
            rgb: vec![200; 12],
        }),
    }
}

#[test]
fn a_citizen_applies_by_touching_labelled_controls_in_chinese_then_english_then_elder_mode() {
    let mut k = Terminal::start();

    // 办事: the training subsidy (a matter without a form, two materials to photograph), its
    // guide, the card.
    k.tap("开始办事");
    k.tap("就业");
    k.tap("职业技能培训补贴申领");
    assert!(matches!(k.session.screen(), Screen::Guide { .. }));
    k.tap("在本机申请");
    assert_eq!(k.take_commands(), vec![Command::StartCardReader]);
    k.event(Event::Card(CardEvent::Read(person())));
    assert_eq!(
        k.window.global::<Application>().get_applicant().name,
        "李四"
    );

    // The form: a wrong phone is refused, then the right one typed on the pad.
    k.tap("下一步");
    assert!(k.window.global::<Application>().get_phone_problem());
    for digit in "13912345678".chars() {
        k.tap(&digit.to_string());
    }
    assert_eq!(k.window.global::<Application>().get_phone(), "13912345678");
    k.tap("下一步");

    // The first material photographed (a page taken, removed, taken again), the second
    // handed in later on the commitment.
    assert!(matches!(
        k.session.screen(),
        Screen::Materials { slot: 0, .. }
    ));
    k.tap("拍照");
    k.event(Event::PageCaptured(Ok(page())));
    assert!(k.shows("删除第 1 页"));
    k.tap("删除第 1 页");
    assert!(!k.shows("删除第 1 页"));
    k.photograph_one_and_commit_the_other();

    // Review in English, then submit.
    k.tap("English");
    assert!(k.shows("Submit application"));
    k.tap("Submit application");
    let commands = k.take_commands();
    let Some(Command::Submit {
        request, materials, ..
    }) = commands
        .iter()
        .find(|c| matches!(c, Command::Submit { .. }))
    else {
        panic!("no submission in {commands:?}")
    };
    assert_eq!(request.language, Language::En);
    assert_eq!(request.committed_missing_materials, vec![3]);
    assert_eq!(materials.len(), 1);
    k.event(Event::Submitted(Ok(ApplicationReceipt {
        application_no: "LY20261122000009".into(),
        matter_id: "lyg-hrss-0903".into(),
        accepted_at: "2026-11-22T14:00:00+08:00".into(),
        progress_url: "http://platform/progress/LY20261122000009".into(),
        replayed: false,
        progress_code: String::new(),
    })));
    assert_eq!(
        k.window
            .global::<Application>()
            .get_receipt()
            .application_no,
        "LY20261122000009"
    );
    k.event(Event::Printed(Ok(())));
    k.tap("Finish");

    // 好差评: a bad rating needs its reason before it can be sent.
    k.tap("长辈版");
    assert!(k.window.global::<kiosk_ui::Theme>().get_elder());
    k.tap("Very dissatisfied");
    assert!(
        !k.shows("Send rating"),
        "no reason given: it cannot be sent"
    );
    k.tap("Took too long");
    k.tap("Send rating");
    assert_eq!(k.session.screen(), &Screen::Thanks);
    assert!(
        k.take_commands()
            .iter()
            .any(|c| matches!(c, Command::SendRating(r) if r.level == 1))
    );

    // Nothing of the citizen is left on the screens.
    k.tap("Home");
    let application = k.window.global::<Application>();
    assert_eq!(application.get_applicant().name, "");
    assert_eq!(application.get_phone(), "");
    assert_eq!(slint::Model::row_count(&application.get_materials()), 0);
    assert!(k.shows("开始办事"), "home, in Chinese again");
}

#[test]
fn a_citizen_fills_the_enrolment_form_by_its_labels_and_the_answers_are_submitted() {
    let mut k = Terminal::start_with(catalog_with_form());
    k.tap("开始办事");
    k.tap("社会保险");
    k.tap("城乡居民养老保险参保登记");
    k.tap("在本机申请");
    k.event(Event::Card(CardEvent::Read(person())));
    for digit in "13912345678".chars() {
        k.tap(&digit.to_string());
    }
    k.tap("下一步");

    // Page 1: the card's name, shown as read; the nation, prefilled and editable.
    assert!(matches!(k.session.screen(), Screen::Form { .. }));
    assert!(k.displays("第 1 页，共 3 页"));
    assert_eq!(k.field_value("姓名"), "李四");
    assert!(k.displays("🪪 取自您的身份证"));
    assert_eq!(k.field_value("民族"), "汉");
    k.tap("下一步");

    // Page 2: "next" with nothing chosen shows what is missing, next to each field.
    assert!(k.displays("第 2 页，共 3 页"));
    k.tap("下一步");
    assert!(k.displays("⚠ 请填写此项"));
    assert!(k.displays("第 2 页，共 3 页"), "refused");
    k.tap("每年500元");
    k.fill_in("参保开始日期");
    k.tap("后一天");
    assert_eq!(k.field_value("参保开始日期"), "2026-12-07");
    k.tap("后一天");
    assert_eq!(k.field_value("参保开始日期"), "2026-12-08");
    assert!(!k.displays("邮寄地址"), "shown only for the post");
    k.tap("邮寄到家");
    k.fill_in("邮寄地址");
    k.tap("海州区");
    k.tap("新浦街道");
    for key in ["r", "m", "l", "8"] {
        k.tap(key);
    }
    assert_eq!(k.field_value("邮寄地址"), "海州区新浦街道 rml8");
    k.tap("下一步");

    // Page 3: a mistyped bank card is caught once the field is left; corrected on the pad.
    k.fill_in("银行卡号");
    for digit in "6222021234567890124".chars() {
        k.tap(&digit.to_string());
    }
    k.tap("我已阅读并同意");
    assert!(k.displays("⚠ 银行卡号不对，请核对后重新输入"));
    k.fill_in("银行卡号");
    k.tap("删除");
    k.tap("8");
    assert!(!k.displays("⚠ 银行卡号不对，请核对后重新输入"));
    k.tap("下一步");

    // The materials, then the review lists the answers in words, the card masked.
    assert!(matches!(k.session.screen(), Screen::Materials { .. }));
    k.photograph_one_and_commit_the_other();
    for shown in [
        "每年500元",
        "邮寄到家",
        "海州区新浦街道rml8",
        "***************0128",
        "同意",
    ] {
        assert!(k.displays(shown), "{shown} is not on the review");
    }
    k.tap("确认提交");
    let commands = k.take_commands();
    let Some(Command::Submit { request, .. }) = commands
        .iter()
        .find(|c| matches!(c, Command::Submit { .. }))
    else {
        panic!("no submission in {commands:?}")
    };
    let answers = &request.answers.0;
    let text = |id: &str| match answers.get(id) {
        Some(kiosk_protocol::form::Answer::Text(t)) => t.clone(),
        other => panic!("{id}: {other:?}"),
    };
    assert_eq!(text("level"), "l500");
    assert_eq!(text("card"), "6222021234567890128");
    assert_eq!(text("name"), "李四");
    assert_eq!(text("start"), "2026-12-08");
    assert_eq!(answers.len(), 8, "{answers:?}");

    // Home: nothing of the form is left on the screens.
    k.event(Event::Submitted(Err(
        kiosk_app::session::SubmitFailure::Rejected,
    )));
    k.tap("首页");
    let form = k.window.global::<kiosk_ui::Form>();
    assert_eq!(slint::Model::row_count(&form.get_fields()), 0);
    assert_eq!(slint::Model::row_count(&form.get_answers()), 0);
}

#[test]
fn errands_and_search_are_reached_from_home_by_their_labels() {
    let mut k = Terminal::start();
    k.tap("搜索事项");
    for key in ["s", "h", "b", "z", "k"] {
        k.tap(key);
    }
    assert!(k.shows("社会保障卡申领"));
    k.tap("社会保障卡申领");
    assert!(matches!(k.session.screen(), Screen::Guide { .. }));
    k.tap("首页");
    k.take_commands();

    k.tap("取号");
    k.tap("城乡居民养老保险参保登记");
    assert!(matches!(
        k.take_commands().as_slice(),
        [Command::TakeTicket { matter }] if matter == "lyg-hrss-0101"
    ));
    assert!(
        !k.shows("首页"),
        "waiting for the platform, nothing to touch"
    );
    k.event(Event::ErrandDone(ErrandOutcome::Unreachable));
    assert_eq!(
        k.window.global::<Errands>().get_errand_result(),
        kiosk_ui::ErrandResult::Unreachable
    );
    k.tap("首页");

    // The ticket and certificate buttons say when the devices do not allow them.
    k.event(Event::Devices(kiosk_app::session::DeviceAvailability {
        printer: false,
        ..Default::default()
    }));
    assert!(k.shows("取号"));
    assert!(!k.shows("证明打印"), "no printer, no certificate");
    k.tap("办件查询");
    assert!(matches!(k.session.screen(), Screen::IdentifyFor { .. }));
    k.tap("首页");

    // A terminal without a scanner offers check-in by card only, and says so.
    k.tap("预约签到");
    assert!(k.displays("预约码对准扫码口"));
    k.tap("首页");
    k.event(Event::Devices(kiosk_app::session::DeviceAvailability {
        scanner: false,
        scanner_fitted: false,
        ..Default::default()
    }));
    k.tap("预约签到");
    assert!(k.displays("身份证放在读卡区"));
    assert!(!k.displays("预约码对准扫码口"));
    assert!(k.displays("请将身份证放在读卡区。"));
}
