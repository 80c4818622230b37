//! Renders every page headlessly with the software renderer, in Chinese and English, and checks
//! that each shows something of its own. The PNGs are left in `target/ui-screens/` for review.

use std::collections::HashSet;
use std::path::PathBuf;

use kiosk_ui::headless::Headless;
use kiosk_ui::{
    GuideData, IdentifyPrompt, Kiosk, KioskWindow, MaterialRow, MatterItem, Page, ReceiptData,
    ThemeItem,
};
use slint::{ComponentHandle, ModelRc, SharedString, VecModel};

fn model<T: Clone + 'static>(items: Vec<T>) -> ModelRc<T> {
    ModelRc::new(VecModel::from(items))
}

fn fill(window: &KioskWindow) {
    let kiosk = window.global::<Kiosk>();
    kiosk.set_terminal_id("LYG-HZ-0001".into());
    kiosk.set_themes(model(vec![
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
    ]));
    kiosk.set_matters(model(vec![MatterItem {
        id: "m1".into(),
        name: "城乡居民养老保险参保登记".into(),
        department: "连云港市人力资源和社会保障局".into(),
        time_limit: "即办".into(),
        kiosk: true,
    }]));
    kiosk.set_guide(GuideData {
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
    kiosk.set_receipt(ReceiptData {
        application_no: "LY20261122000001".into(),
        matter: "城乡居民养老保险参保登记".into(),
        accepted_at: "2026-11-22 14:52".into(),
        progress_url: "http://127.0.0.1:8080/progress/LY20261122000001".into(),
        time_limit: "即办".into(),
        kept: false,
    });
    if let Ok(qr) = kiosk_ui::qr::qr_image("http://127.0.0.1:8080/progress/LY20261122000001") {
        kiosk.set_receipt_qr(qr);
    }
}

#[test]
fn every_page_renders_distinctly_in_both_languages() {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-screens");
    std::fs::create_dir_all(&out).expect("screenshot folder");
    let display = Headless::install(1080, 1920).expect("headless platform");
    let window = KioskWindow::new().expect("window");
    window.show().expect("show");
    fill(&window);
    let pages = [
        ("home", Page::Home),
        ("catalog", Page::Catalog),
        ("guide", Page::Guide),
        ("identify", Page::Identify),
        ("confirm", Page::Confirm),
        ("submitting", Page::Submitting),
        ("submit-failed", Page::SubmitFailed),
        ("receipt", Page::Receipt),
        ("rating", Page::Rating),
        ("thanks", Page::Thanks),
        ("out-of-service", Page::OutOfService),
        ("technician-pin", Page::TechnicianPin),
        ("maintenance", Page::Maintenance),
        ("setup", Page::Setup),
    ];
    let mut seen = HashSet::new();
    for english in [false, true] {
        kiosk_ui::select_language(english);
        window.global::<Kiosk>().set_english(english);
        for (name, page) in pages {
            window.global::<Kiosk>().set_page(page);
            let pixels = display.render();
            let distinct: HashSet<(u8, u8, u8)> = pixels.iter().map(|p| (p.r, p.g, p.b)).collect();
            assert!(distinct.len() > 8, "{name} looks blank");
            let digest: Vec<u8> = pixels.iter().step_by(97).map(|p| p.r ^ p.g ^ p.b).collect();
            assert!(
                seen.insert(digest),
                "{name} ({}) renders the same as another page",
                if english { "en" } else { "zh" }
            );
            let file = out.join(format!("{name}-{}.png", if english { "en" } else { "zh" }));
            kiosk_ui::headless::write_png(&file, 1080, 1920, &pixels).expect("png");
        }
    }

    // Device states, in Chinese: the scanner out of order on home, a scanned code answered on
    // the card screen, and the attract veil over home. Each shows something no page above does.
    kiosk_ui::select_language(false);
    let kiosk = window.global::<Kiosk>();
    kiosk.set_english(false);
    let states: [(&str, &dyn Fn()); 3] = [
        ("home-scanner-out", &|| {
            kiosk.set_scanner_available(false);
            kiosk.set_page(Page::Home);
        }),
        ("identify-code-scanned", &|| {
            kiosk.set_scanner_available(true);
            kiosk.set_identify_prompt(IdentifyPrompt::CodeNotAccepted);
            kiosk.set_page(Page::Identify);
        }),
        ("home-attract", &|| {
            kiosk.set_attract(true);
            kiosk.set_page(Page::Home);
        }),
    ];
    for (name, set_up) in states {
        set_up();
        let pixels = display.render();
        let digest: Vec<u8> = pixels.iter().step_by(97).map(|p| p.r ^ p.g ^ p.b).collect();
        assert!(seen.insert(digest), "{name} renders like another screen");
        let file = out.join(format!("{name}-zh.png"));
        kiosk_ui::headless::write_png(&file, 1080, 1920, &pixels).expect("png");
    }
}
