//! What the UI tests share: the table of screens to render, the data that fills them, and the
//! display modes (language, 长辈版, orientation) every screen is checked in.
//!
//! Adding a page to the checks is one line in [`SCREENS`] (plus a fill function when the page
//! needs data of its own); the golden test then asks for its reference images.

#![allow(dead_code)] // Each test binary uses its own part of this module.

use kiosk_ui::headless::Headless;
use kiosk_ui::{
    AnswerRow, ApplicantData, Application, Browse, CaptureNotice, Catalog, Devices, Errand,
    ErrandResult, Errands, FieldInput, Form, FormFieldItem, FormOption, GuideData, HistoryRow,
    IdentifyPrompt, Kiosk, KioskWindow, MaterialRow, MaterialState, MatterItem, Page, PinNotice,
    PrintState, ProgressItem, ReasonItem, ReceiptData, SetupState, StatusRow, TaskState,
    Technician, Theme, ThemeItem, TicketData,
};
use slint::{
    ComponentHandle, Image, Model, ModelRc, Rgb8Pixel, SharedPixelBuffer, SharedString, VecModel,
};

/// One screen to check: a file-name stem, the page, and what to fill in before showing it.
pub struct Screen {
    pub name: &'static str,
    pub page: Page,
    pub fill: fn(&KioskWindow),
}

/// Every screen the checks render. The busiest state of a page is the one worth checking.
pub const SCREENS: &[Screen] = &[
    Screen {
        name: "home",
        page: Page::Home,
        fill: nothing,
    },
    Screen {
        name: "catalog",
        page: Page::Catalog,
        fill: nothing,
    },
    Screen {
        name: "guide",
        page: Page::Guide,
        fill: nothing,
    },
    Screen {
        name: "identify",
        page: Page::Identify,
        fill: nothing,
    },
    Screen {
        name: "confirm",
        page: Page::Confirm,
        fill: applicant,
    },
    Screen {
        name: "submitting",
        page: Page::Submitting,
        fill: nothing,
    },
    Screen {
        name: "submit-failed",
        page: Page::SubmitFailed,
        fill: nothing,
    },
    Screen {
        name: "receipt",
        page: Page::Receipt,
        fill: paper_out,
    },
    Screen {
        name: "rating",
        page: Page::Rating,
        fill: bad_rating,
    },
    Screen {
        name: "thanks",
        page: Page::Thanks,
        fill: nothing,
    },
    Screen {
        name: "out-of-service",
        page: Page::OutOfService,
        fill: in_service,
    },
    Screen {
        name: "out-of-service-revoked",
        page: Page::OutOfService,
        fill: revoked,
    },
    Screen {
        name: "technician-pin",
        page: Page::TechnicianPin,
        fill: wrong_pin,
    },
    Screen {
        name: "maintenance",
        page: Page::Maintenance,
        fill: maintenance,
    },
    Screen {
        name: "setup",
        page: Page::Setup,
        fill: setup_failed,
    },
    Screen {
        name: "timeout",
        page: Page::Home,
        fill: timeout_warning,
    },
    Screen {
        name: "departments",
        page: Page::Catalog,
        fill: by_department,
    },
    Screen {
        name: "queue-pick",
        page: Page::Catalog,
        fill: queue_pick,
    },
    Screen {
        name: "search",
        page: Page::Search,
        fill: search,
    },
    Screen {
        name: "search-none",
        page: Page::Search,
        fill: search_found_nothing,
    },
    Screen {
        name: "form",
        page: Page::Confirm,
        fill: wrong_phone,
    },
    Screen {
        name: "form-address",
        page: Page::Form,
        fill: form_address,
    },
    Screen {
        name: "form-street",
        page: Page::Form,
        fill: form_street,
    },
    Screen {
        name: "form-handwriting",
        page: Page::Form,
        fill: form_handwriting,
    },
    Screen {
        name: "form-pad",
        page: Page::Form,
        fill: form_pad,
    },
    Screen {
        name: "form-date",
        page: Page::Form,
        fill: form_date,
    },
    Screen {
        name: "materials",
        page: Page::Materials,
        fill: materials,
    },
    Screen {
        name: "commitment",
        page: Page::Commitment,
        fill: materials,
    },
    Screen {
        name: "review",
        page: Page::Review,
        fill: review,
    },
    Screen {
        name: "check-in",
        page: Page::CheckIn,
        fill: nothing,
    },
    Screen {
        name: "working",
        page: Page::Working,
        fill: certificate_errand,
    },
    Screen {
        name: "ticket",
        page: Page::ErrandResult,
        fill: ticket,
    },
    Screen {
        name: "progress",
        page: Page::ErrandResult,
        fill: progress,
    },
    Screen {
        name: "no-appointment",
        page: Page::ErrandResult,
        fill: no_appointment,
    },
    Screen {
        name: "correction-review",
        page: Page::CorrectionReview,
        fill: correction_review,
    },
    Screen {
        name: "completion-rating",
        page: Page::CompletionRating,
        fill: completion_rating,
    },
    Screen {
        name: "correction-answered",
        page: Page::ErrandResult,
        fill: correction_answered,
    },
];

/// A display mode: language, 长辈版, and the panel's orientation.
#[derive(Clone, Copy, Debug)]
pub struct Mode {
    pub english: bool,
    pub elder: bool,
    pub landscape: bool,
}

impl Mode {
    /// zh, en and 长辈版 (in Chinese), each in portrait 1080×1920 and landscape 1920×1080.
    pub const ALL: [Mode; 6] = [
        Mode {
            english: false,
            elder: false,
            landscape: false,
        },
        Mode {
            english: true,
            elder: false,
            landscape: false,
        },
        Mode {
            english: false,
            elder: true,
            landscape: false,
        },
        Mode {
            english: false,
            elder: false,
            landscape: true,
        },
        Mode {
            english: true,
            elder: false,
            landscape: true,
        },
        Mode {
            english: false,
            elder: true,
            landscape: true,
        },
    ];

    /// "zh-portrait", "en-landscape", "elder-portrait", …
    pub fn label(&self) -> String {
        let language = if self.elder {
            "elder"
        } else if self.english {
            "en"
        } else {
            "zh"
        };
        let orientation = if self.landscape {
            "landscape"
        } else {
            "portrait"
        };
        format!("{language}-{orientation}")
    }

    /// Panel size in pixels.
    pub fn size(&self) -> (u32, u32) {
        if self.landscape {
            (1920, 1080)
        } else {
            (1080, 1920)
        }
    }

    /// Puts the window in this mode, as the kiosk does: language and 长辈版 from the session,
    /// `Theme.landscape` from the panel's shape.
    pub fn apply(&self, display: &mut Headless, window: &KioskWindow) {
        let (width, height) = self.size();
        display.resize(width, height);
        window.global::<Theme>().set_landscape(width > height);
        window.global::<Theme>().set_elder(self.elder);
        let kiosk = window.global::<Kiosk>();
        kiosk.set_elder(self.elder);
        kiosk.set_speech(self.elder);
        kiosk.set_english(self.english);
        kiosk_ui::select_language(self.english);
    }
}

/// Shows `screen` on `window`: the common data, then the screen's own, then its page.
pub fn show(window: &KioskWindow, screen: &Screen) {
    fill(window);
    (screen.fill)(window);
    window.global::<Kiosk>().set_page(screen.page);
}

fn model<T: Clone + 'static>(items: Vec<T>) -> ModelRc<T> {
    ModelRc::new(VecModel::from(items))
}

/// The data every screen may show (a catalogue, a guide, a receipt), and the quiet state of
/// everything else: no warning, no veil, every device working.
pub fn fill(window: &KioskWindow) {
    let errands = window.global::<Errands>();
    let application = window.global::<Application>();
    let catalog = window.global::<Catalog>();
    let devices = window.global::<Devices>();
    let kiosk = window.global::<Kiosk>();
    kiosk.set_timeout_seconds(-1);
    kiosk.set_attract(false);
    devices.set_card_reader_available(true);
    devices.set_printer_available(true);
    devices.set_scanner_available(true);
    devices.set_scanner_working(true);
    devices.set_identify_prompt(IdentifyPrompt::PlaceCard);
    catalog.set_browse(Browse::Topics);
    errands.set_errand(Errand::None);
    application.set_phone("".into());
    application.set_phone_problem(false);
    devices.set_camera_available(true);
    application.set_capture_notice(CaptureNotice::None);
    errands.set_check_in_wrong_code(false);
    kiosk.set_terminal_id("LYG-HZ-0001".into());
    window.global::<Form>().set_answers(model(Vec::new()));
    catalog.set_themes(model(vec![
        ThemeItem {
            id: "si".into(),
            name: "社会保险".into(),
        },
        ThemeItem {
            id: "mi".into(),
            name: "医疗保险".into(),
        },
        ThemeItem {
            id: "hf".into(),
            name: "住房公积金".into(),
        },
        ThemeItem {
            id: "hh".into(),
            name: "户籍办理".into(),
        },
        ThemeItem {
            id: "ed".into(),
            name: "教育服务".into(),
        },
        ThemeItem {
            id: "tx".into(),
            name: "税务服务".into(),
        },
    ]));
    catalog.set_selected_theme("si".into());
    catalog.set_matters(model(vec![
        MatterItem {
            id: "m1".into(),
            name: "城乡居民养老保险参保登记".into(),
            department: "连云港市人力资源和社会保障局".into(),
            time_limit: "即办".into(),
            kiosk: true,
        },
        MatterItem {
            id: "m2".into(),
            name: "城乡居民基本医疗保险参保信息变更登记".into(),
            department: "连云港市医疗保障局".into(),
            time_limit: "5个工作日".into(),
            kiosk: false,
        },
    ]));
    catalog.set_guide(GuideData {
        name: "城乡居民养老保险参保登记".into(),
        department: "连云港市人力资源和社会保障局".into(),
        applicant: "年满16周岁的城乡居民".into(),
        office: "社保经办机构".into(),
        conditions: model(vec![SharedString::from("未参加职工基本养老保险")]),
        materials: model(vec![MaterialRow {
            name: "居民身份证".into(),
            form: "原件".into(),
            copies: 1,
            waivable: false,
        }]),
        procedure: model(vec![SharedString::from("申请"), SharedString::from("受理")]),
        time_limit: "即办".into(),
        fees: "不收费".into(),
        place: "连云港市民中心".into(),
        enquiry_phone: "12333".into(),
        complaint_phone: "12345".into(),
        kiosk: true,
    });
    application.set_receipt(ReceiptData {
        application_no: "LY20261122000001".into(),
        matter: "城乡居民养老保险参保登记".into(),
        accepted_at: "2026-11-22 14:52".into(),
        progress_url: "http://127.0.0.1:8080/progress/LY20261122000001".into(),
        time_limit: "即办".into(),
        kept: false,
    });
    devices.set_print_state(PrintState::Printing);
    if let Ok(qr) = kiosk_ui::qr::qr_image("http://127.0.0.1:8080/progress/LY20261122000001") {
        application.set_receipt_qr(qr);
    }
}

fn nothing(_: &KioskWindow) {}

/// Out of service because the platform cannot be reached (the revoked screen's flag, which
/// stays set on the window, cleared).
fn in_service(window: &KioskWindow) {
    window.global::<Kiosk>().set_revoked(false);
}

/// Out of service because an operator revoked the terminal.
fn revoked(window: &KioskWindow) {
    window.global::<Kiosk>().set_revoked(true);
}

fn applicant(window: &KioskWindow) {
    window.global::<Application>().set_applicant(ApplicantData {
        name: "张三".into(),
        id_masked: "3207**********1234".into(),
        kind: "居民身份证".into(),
    });
}

fn paper_out(window: &KioskWindow) {
    window
        .global::<Devices>()
        .set_print_state(PrintState::PaperOut);
}

fn bad_rating(window: &KioskWindow) {
    let application = window.global::<Application>();
    let reasons = [
        ("slow", "办理时间太长"),
        ("hard", "操作不方便"),
        ("device", "设备有故障"),
        ("unclear", "指引说明不清楚"),
        ("attitude", "服务态度不好"),
        ("other", "其他原因"),
    ];
    application.set_reasons(model(
        reasons
            .iter()
            .map(|(code, label)| ReasonItem {
                code: (*code).into(),
                label: (*label).into(),
            })
            .collect(),
    ));
    application.set_rating_level(2);
    application.set_rating_reason("device".into());
}

fn wrong_pin(window: &KioskWindow) {
    let technician = window.global::<Technician>();
    technician.set_pin_digits(4);
    technician.set_pin_notice(PinNotice::Wrong);
    technician.set_pin_number(2);
}

fn maintenance(window: &KioskWindow) {
    let technician = window.global::<Technician>();
    let rows = [
        ("card-reader", "ok", "SAM 05.01-20260101, /dev/ttyUSB0"),
        ("printer", "degraded", "paper near end"),
        ("scanner", "ok", "/dev/ttyACM0"),
        ("camera", "failed", "no UVC device found on USB"),
        ("platform", "ok", "last answer 2 s ago"),
        ("outbox", "degraded", "3 items waiting, oldest 12 min"),
    ];
    technician.set_technician_status(model(
        rows.iter()
            .map(|(name, state, detail)| StatusRow {
                name: (*name).into(),
                state: (*state).into(),
                detail: (*detail).into(),
            })
            .collect(),
    ));
    technician.set_technician_version("0.1.0 (819adb6)".into());
    technician.set_task_state(TaskState::Done);
    technician.set_task_detail("test page printed".into());
}

fn setup_failed(window: &KioskWindow) {
    let technician = window.global::<Technician>();
    technician.set_setup_serial("LYB-2026-000123-AB".into());
    technician.set_setup_state(SetupState::Failed);
    technician.set_setup_detail("the enrollment token has expired".into());
}

fn timeout_warning(window: &KioskWindow) {
    window.global::<Kiosk>().set_timeout_seconds(20);
}

fn by_department(window: &KioskWindow) {
    let catalog = window.global::<Catalog>();
    catalog.set_browse(Browse::Departments);
    catalog.set_departments(model(
        [
            ("hrss", "连云港市人力资源和社会保障局"),
            ("hs", "连云港市医疗保障局"),
            ("hpf", "连云港市住房公积金管理中心"),
            ("nrp", "连云港市自然资源和规划局（市不动产登记中心）"),
            ("psb", "连云港市公安局"),
        ]
        .iter()
        .map(|(id, name)| ThemeItem {
            id: (*id).into(),
            name: (*name).into(),
        })
        .collect(),
    ));
    catalog.set_selected_department("hrss".into());
}

fn queue_pick(window: &KioskWindow) {
    window.global::<Catalog>().set_browse(Browse::Queue);
}

fn search(window: &KioskWindow) {
    let catalog = window.global::<Catalog>();
    catalog.set_search_query("cxjm".into());
    catalog.set_search_words(model(
        ["社会保险", "医疗保险", "住房公积金", "不动产登记"]
            .iter()
            .map(|w| SharedString::from(*w))
            .collect(),
    ));
}

/// A query that finds nothing: the topics are offered instead.
fn search_found_nothing(window: &KioskWindow) {
    search(window);
    let catalog = window.global::<Catalog>();
    catalog.set_search_query("xyz".into());
    catalog.set_matters(model(Vec::new()));
}

fn wrong_phone(window: &KioskWindow) {
    let application = window.global::<Application>();
    applicant(window);
    application.set_phone("139123".into());
    application.set_phone_problem(true);
}

/// A page thumbnail: a light page with a few dark lines, as the camera's pages look.
fn page_picture() -> Image {
    let (w, h) = (120u32, 170u32);
    let mut buffer = SharedPixelBuffer::<Rgb8Pixel>::new(w, h);
    for (i, p) in buffer.make_mut_slice().iter_mut().enumerate() {
        let y = i as u32 / w;
        let x = i as u32 % w;
        let ink = y % 14 < 2 && (12..108).contains(&x) && y > 20;
        *p = if ink {
            Rgb8Pixel {
                r: 40,
                g: 40,
                b: 50,
            }
        } else {
            Rgb8Pixel {
                r: 245,
                g: 243,
                b: 236,
            }
        };
    }
    Image::from_rgb8(buffer)
}

fn materials(window: &KioskWindow) {
    let application = window.global::<Application>();
    applicant(window);
    application.set_materials(model(vec![
        MaterialState {
            name: "居民户口簿".into(),
            form: "原件".into(),
            copies: 1,
            pages: 2,
            committed: false,
            waivable: true,
        },
        MaterialState {
            name: "本人社会保障卡或银行借记卡（用于缴费代扣和待遇发放）".into(),
            form: "原件".into(),
            copies: 1,
            pages: 0,
            committed: true,
            waivable: true,
        },
    ]));
    application.set_material_slot(0);
    application.set_material_pages(model(vec![page_picture(), page_picture()]));
    application.set_camera_preview(page_picture());
    application.set_has_preview(true);
    application.set_capture_notice(CaptureNotice::NoPage);
}

fn review(window: &KioskWindow) {
    materials(window);
    window
        .global::<Application>()
        .set_phone("13912345678".into());
    let row = |label: &str, value: &str| AnswerRow {
        label: label.into(),
        value: value.into(),
    };
    window.global::<Form>().set_answers(model(vec![
        row("缴费档次", "每年500元"),
        row("领取方式", "邮寄"),
        row("邮寄地址", "海州区新浦街道人民路8号"),
        row("银行卡号", "***************0128"),
        row("承诺", "同意"),
    ]));
}

/// A field of the form page: `input` with its label, answer, problem and options.
fn form_field(id: &str, label: &str, input: FieldInput, value: &str) -> FormFieldItem {
    FormFieldItem {
        id: id.into(),
        label: label.into(),
        input,
        required: true,
        value: value.into(),
        ..FormFieldItem::default()
    }
}

fn options(list: &[(&str, &str, bool)]) -> ModelRc<FormOption> {
    model(
        list.iter()
            .map(|(value, label, chosen)| FormOption {
                value: (*value).into(),
                label: (*label).into(),
                chosen: *chosen,
            })
            .collect(),
    )
}

/// The form's page and the focused field's input, for `fields`.
fn form_page(window: &KioskWindow, title: &str, page: i32, fields: Vec<FormFieldItem>) {
    let form = window.global::<Form>();
    applicant(window);
    form.set_title(title.into());
    form.set_page(page);
    form.set_pages(3);
    let focused = fields.iter().find(|f| f.focused).cloned();
    form.set_fields(model(fields));
    form.set_has_focus(focused.is_some());
    let focused = focused.unwrap_or_default();
    form.set_focused_label(focused.label);
    form.set_focused_value(focused.value);
    form.set_place("".into());
    form.set_input(focused.input);
    form.set_point_key(false);
    form.set_minus_key(false);
    form.set_x_key(false);
    form.set_dash_key(false);
    form.set_preedit("".into());
    form.set_candidates(model(Vec::new()));
    form.set_handwriting_available(false);
    form.set_handwriting(false);
    form.set_ink("".into());
    form.set_written(model(Vec::new()));
}

/// Page 2: choices, a date, and the mailing address's township being picked.
fn form_address(window: &KioskWindow) {
    let mut level = form_field("level", "缴费档次", FieldInput::Choice, "");
    level.help = "可随时到社保经办机构变更".into();
    level.options = options(&[
        ("l200", "每年200元", false),
        ("l500", "每年500元", true),
        ("l1000", "每年1000元", false),
    ]);
    let mut mail = form_field("mail", "社保卡领取方式", FieldInput::Choice, "");
    mail.options = options(&[("post", "邮寄到家", true), ("self", "网点自取", false)]);
    let mut address = form_field("mail_address", "邮寄地址", FieldInput::Address, "");
    address.focused = true;
    form_page(
        window,
        "参保信息",
        2,
        vec![
            level,
            form_field("start", "参保开始日期", FieldInput::Date, "2026-12-07"),
            mail,
            address,
        ],
    );
    let form = window.global::<Form>();
    form.set_counties(options(&[
        ("320703", "连云区", false),
        ("320706", "海州区", true),
        ("320707", "赣榆区", false),
        ("320722", "东海县", false),
        ("320723", "灌云县", false),
        ("320724", "灌南县", false),
    ]));
    form.set_townships(options(&[
        ("320706001", "新浦街道", true),
        ("320706002", "海州街道", false),
        ("320706003", "幸福路街道", false),
        ("320706004", "朐阳街道", false),
        ("320706005", "洪门街道", false),
        ("320706100", "宁海街道", false),
        ("320706101", "浦西街道", false),
        ("320706102", "新东街道", false),
    ]));
    form.set_county("320706".into());
}

/// Page 2 again: the township picked, the street typed in pinyin with the candidates offered.
fn form_street(window: &KioskWindow) {
    form_address(window);
    let form = window.global::<Form>();
    let mut fields: Vec<FormFieldItem> = form.get_fields().iter().collect();
    if let Some(address) = fields.last_mut() {
        address.value = "海州区新浦街道 人民".into();
        form.set_focused_value(address.value.clone());
    }
    form.set_fields(model(fields));
    form.set_place("海州区新浦街道".into());
    form.set_preedit("lu".into());
    form.set_candidates(model(
        ["路", "鹿", "陆", "录", "露"]
            .into_iter()
            .map(SharedString::from)
            .collect(),
    ));
}

/// The street again, written by hand: 十 on the pad and what it may be.
fn form_handwriting(window: &KioskWindow) {
    form_street(window);
    let form = window.global::<Form>();
    form.set_preedit(SharedString::new());
    form.set_candidates(model(Vec::new()));
    form.set_handwriting_available(true);
    form.set_handwriting(true);
    form.set_ink("M 56.0 196.0 L 364.0 193.0 M 210.0 56.0 L 210.0 378.0".into());
    form.set_written(model(
        ["十", "什", "汁", "斗", "干", "千", "廿", "卜"]
            .into_iter()
            .map(SharedString::from)
            .collect(),
    ));
}

/// Page 3: the bank card on the number pad, a phone left wrong, a consent not given.
fn form_pad(window: &KioskWindow) {
    let mut card = form_field("card", "银行卡号", FieldInput::BankCard, "622202123456");
    card.help = "用于代扣保费和发放待遇，须为本人借记卡".into();
    card.focused = true;
    let mut phone = form_field("phone", "联系电话", FieldInput::Phone, "139123");
    phone.problem = "请填写11位手机号码或带区号的固定电话".into();
    let mut relative = form_field("relative", "代缴人身份证号", FieldInput::IdNumber, "");
    relative.required = false;
    let mut agree = form_field("agree", "告知承诺", FieldInput::Consent, "");
    agree.consent_text = "本人承诺所填信息真实有效，如有虚假，愿承担相应法律责任。".into();
    agree.problem = "需要您同意才能继续".into();
    form_page(window, "缴费与声明", 3, vec![card, phone, relative, agree]);
}

/// Page 1: what the card says, shown as read, and a date being set on the steppers.
fn form_date(window: &KioskWindow) {
    let read = |id: &str, label: &str, input: FieldInput, value: &str| {
        let mut field = form_field(id, label, input, value);
        field.read_only = true;
        field
    };
    let mut since = form_field("since", "户籍迁入日期", FieldInput::Date, "1998-06-15");
    since.focused = true;
    form_page(
        window,
        "申请人信息",
        1,
        vec![
            read("name", "姓名", FieldInput::Text, "张三"),
            read("sex", "性别", FieldInput::Choice, "男"),
            read("birth", "出生日期", FieldInput::Date, "1990-01-01"),
            form_field("nation", "民族", FieldInput::Text, "汉"),
            since,
        ],
    );
    let form = window.global::<Form>();
    form.set_year(1998);
    form.set_month(6);
    form.set_day(15);
}

fn certificate_errand(window: &KioskWindow) {
    window.global::<Errands>().set_errand(Errand::Certificate);
}

fn ticket(window: &KioskWindow) {
    let errands = window.global::<Errands>();
    errands.set_errand(Errand::CheckIn);
    errands.set_errand_result(ErrandResult::Ticket);
    errands.set_ticket(TicketData {
        number: "A015".into(),
        window: "综合窗口 3号".into(),
        people_ahead: 4,
        matter: "城乡居民养老保险参保登记".into(),
        appointment: "2026-11-22 09:30-10:00".into(),
    });
    window
        .global::<Devices>()
        .set_print_state(PrintState::Printed);
}

fn history(steps: &[(&str, &str)]) -> ModelRc<HistoryRow> {
    model(
        steps
            .iter()
            .map(|(at, what)| HistoryRow {
                at: (*at).into(),
                what: (*what).into(),
            })
            .collect(),
    )
}

fn strings(items: &[&str]) -> ModelRc<SharedString> {
    model(items.iter().map(|s| SharedString::from(*s)).collect())
}

/// The applications of one card holder: one waiting for a 补正 it can answer here, one
/// under review with its answers, one completed that may be rated.
fn progress(window: &KioskWindow) {
    let errands = window.global::<Errands>();
    errands.set_errand(Errand::Progress);
    errands.set_errand_result(ErrandResult::Progress);
    errands.set_progress(model(vec![
        ProgressItem {
            application_no: "LY20261125000031".into(),
            matter: "老年人优待证（敬老卡）办理".into(),
            accepted_at: "2026-11-25 10:12".into(),
            state: "需补正材料".into(),
            done: false,
            answers: model(Vec::new()),
            due: "2026-12-02".into(),
            history: history(&[
                ("2026-11-25 10:12", "已受理"),
                ("2026-11-26 09:30", "开始审核"),
                ("2026-11-26 15:04", "需补正材料"),
            ]),
            correction: true,
            correction_materials: strings(&["居民户口簿"]),
            correction_fields: model(Vec::new()),
            correction_reason: "户口簿照片不清晰，请重新拍摄户主页和本人页。".into(),
            correction_by: "2026-12-03".into(),
            correction_here: true,
            rateable: false,
        },
        ProgressItem {
            application_no: "LY20261122000001".into(),
            matter: "城乡居民养老保险参保登记".into(),
            accepted_at: "2026-11-22 14:52".into(),
            state: "审核中".into(),
            done: false,
            due: "2026-11-29".into(),
            history: history(&[
                ("2026-11-22 14:52", "已受理"),
                ("2026-11-23 08:40", "开始审核"),
            ]),
            answers: model(
                [
                    ("年缴费档次", "每年500元"),
                    ("开户银行", "中国工商银行"),
                    ("银行卡号", "****4560"),
                ]
                .into_iter()
                .map(|(label, value)| AnswerRow {
                    label: label.into(),
                    value: value.into(),
                })
                .collect(),
            ),
            ..ProgressItem::default()
        },
        ProgressItem {
            application_no: "LY20261020000114".into(),
            matter: "社会保障卡申领".into(),
            accepted_at: "2026-10-20 09:05".into(),
            state: "已办结".into(),
            done: true,
            answers: model(Vec::new()),
            due: "".into(),
            history: history(&[
                ("2026-10-20 09:05", "已受理"),
                ("2026-10-21 10:00", "开始审核"),
                ("2026-10-23 16:20", "已办结：请到窗口领取社保卡"),
            ]),
            rateable: true,
            ..ProgressItem::default()
        },
    ]));
}

/// The household register photographed again for a 补正, before it is sent.
fn correction_review(window: &KioskWindow) {
    materials(window);
    let application = window.global::<Application>();
    application.set_materials(model(vec![MaterialState {
        name: "居民户口簿".into(),
        form: "原件".into(),
        copies: 1,
        pages: 2,
        committed: false,
        waivable: false,
    }]));
}

/// A ★2 rating of a completed matter, its indicators chosen but one, a reason picked.
fn completion_rating(window: &KioskWindow) {
    bad_rating(window);
    window
        .global::<Application>()
        .set_indicator_levels(model(vec![2, 1, 3, 0]));
}

fn correction_answered(window: &KioskWindow) {
    let errands = window.global::<Errands>();
    errands.set_errand(Errand::Progress);
    errands.set_errand_result(ErrandResult::CorrectionAnswered);
}

fn no_appointment(window: &KioskWindow) {
    let errands = window.global::<Errands>();
    errands.set_errand(Errand::CheckIn);
    errands.set_errand_result(ErrandResult::NoAppointment);
}
