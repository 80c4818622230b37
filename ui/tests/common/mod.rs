//! What the UI tests share: the table of screens to render, the data that fills them, and the
//! display modes (language, 长辈版, orientation) every screen is checked in.
//!
//! Adding a page to the checks is one line in [`SCREENS`] (plus a fill function when the page
//! needs data of its own); the golden test then asks for its reference images.

#![allow(dead_code)] // Each test binary uses its own part of this module.

use kiosk_ui::headless::Headless;
use kiosk_ui::{
    ApplicantData, Application, Browse, CaptureNotice, Catalog, Devices, Errand, ErrandResult,
    Errands, GuideData, IdentifyPrompt, Kiosk, KioskWindow, MaterialRow, MaterialState, MatterItem,
    Page, PinNotice, PrintState, ProgressItem, ReasonItem, ReceiptData, SetupState, StatusRow,
    TaskState, Technician, Theme, ThemeItem, TicketData,
};
use slint::{
    ComponentHandle, Image, ModelRc, Rgb8Pixel, SharedPixelBuffer, SharedString, VecModel,
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

fn progress(window: &KioskWindow) {
    let errands = window.global::<Errands>();
    errands.set_errand(Errand::Progress);
    errands.set_errand_result(ErrandResult::Progress);
    errands.set_progress(model(vec![
        ProgressItem {
            application_no: "LY20261122000001".into(),
            matter: "城乡居民养老保险参保登记".into(),
            accepted_at: "2026-11-22 14:52".into(),
            state: "审核中".into(),
            done: false,
        },
        ProgressItem {
            application_no: "LY20261020000114".into(),
            matter: "社会保障卡申领".into(),
            accepted_at: "2026-10-20 09:05".into(),
            state: "已办结".into(),
            done: true,
        },
    ]));
}

fn no_appointment(window: &KioskWindow) {
    let errands = window.global::<Errands>();
    errands.set_errand(Errand::CheckIn);
    errands.set_errand_result(ErrandResult::NoAppointment);
}
