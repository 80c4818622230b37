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
    Action, CapturedPage, CardEvent, Command, DocumentKind, ErrandOutcome, Event, Identity,
    KeySource, Picture, Screen, Session, Settings,
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
        session.handle(Event::CatalogLoaded(catalog()), t0);
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
                    && e.accessible_role() == Some(AccessibleRole::Button)
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

    // 办事: the first matter of 社会保险, its guide, the card.
    k.tap("开始办事");
    k.tap("社会保险");
    k.tap("城乡居民养老保险参保登记");
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
    k.tap("拍照");
    k.event(Event::PageCaptured(Ok(page())));
    k.tap("下一步");
    k.tap("容缺后补");
    k.tap("我承诺");
    assert!(matches!(k.session.screen(), Screen::Review { .. }));

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
        matter_id: "lyg-hrss-0101".into(),
        accepted_at: "2026-11-22T14:00:00+08:00".into(),
        progress_url: "http://platform/progress/LY20261122000009".into(),
        replayed: false,
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
