//! `kiosk drive` end to end: the real `kiosk` binary of an enrolled terminal's kiosk.toml,
//! headless, against the real `kiosk-platform serve`, with the card reader and printer
//! simulators on real ptys and a folder of photos as the document camera. A script applies
//! for 职业技能培训补贴申领 to its receipt; the application is on the platform; bad lines
//! and an unknown label are answered with errors and the run goes on; the card's name, ID
//! number and the phone typed are masked unless `--reveal`.

mod common;

use common::{Terminal, terminal};
use kiosk_testkit::PlatformPeer;
use serde_json::Value;

/// The simulator's first test card (drivers/testdata/cards.json).
const CARD_NAME: &str = "张三";
const CARD_NUMBER: &str = "320706198503120133";
const PHONE: &str = "13912345678";

/// The terminal, its devices and the platform, as a test drives them.
struct Bench {
    _work: tempfile::TempDir,
    platform: PlatformPeer,
    terminal: Terminal,
}

fn bench() -> Bench {
    let work = tempfile::tempdir().expect("temp dir");
    let platform = PlatformPeer::start(&work.path().join("platform.db")).expect("platform");
    let terminal = terminal(work.path(), "kiosk", &platform, "e2e");
    Bench {
        _work: work,
        platform,
        terminal,
    }
}

/// Runs `kiosk drive` with `script` on stdin; its exit code and its answers.
fn drive(bench: &Bench, extra: &[&str], script: &str) -> (Option<i32>, String, Vec<Value>) {
    common::drive(&bench.terminal, extra, script)
}

/// The number of the one application the platform holds.
fn stored_application(bench: &Bench) -> String {
    let conn = rusqlite::Connection::open(&bench.platform.db).expect("platform db");
    conn.query_row("SELECT application_no FROM applications", [], |row| {
        row.get(0)
    })
    .expect("one application")
}

/// The answer to script line `line`.
fn answer(answers: &[Value], line: u64) -> &Value {
    answers
        .iter()
        .find(|a| a["line"] == line)
        .unwrap_or_else(|| panic!("no answer to line {line}: {answers:#?}"))
}

fn error_code(answers: &[Value], line: u64) -> &str {
    answer(answers, line)["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("line {line} did not fail: {}", answer(answers, line)))
}

fn screen(answers: &[Value], line: u64) -> &str {
    let a = answer(answers, line);
    assert!(a["error"].is_null(), "line {line} failed: {a}");
    a["screen"]["name"].as_str().expect("screen name")
}

/// Applying from the guide: the card read, the phone typed, on to the next screen.
const APPLY_WITH_CARD: &str = r#"{"tap": "在本机申请"}
{"wait": "identify"}
{"card": 0}
{"wait": "confirm"}
{"type": "13912345678"}
{"tap": "下一步"}
"#;

const APPLY_HEAD: &str = r#"{"wait": "home"}
{"tap": "开始办事"}
{"tap": "没有这个按钮"}
this line is not JSON
# a comment, not a step
{"tap": "就业"}
{"tap": "职业技能培训补贴申领"}
"#;

const APPLY_TAIL: &str = r#"{"wait": "materials"}
{"tap": "拍照"}
{"tap": "下一步"}
{"tap": "容缺后补"}
{"tap": "我承诺"}
{"wait": "review"}
{"write": [[[10, 10], [40, 40]]]}
{"tap": "确认提交"}
{"wait": "receipt"}
{"screenshot": "receipt.png"}
{"lift": true}
{"tap": "办理完成"}
"#;

#[test]
fn a_script_applies_through_kiosk_drive_and_personal_data_stays_masked() {
    let bench = bench();
    let (code, output, answers) = drive(
        &bench,
        &[],
        &[APPLY_HEAD, APPLY_WITH_CARD, APPLY_TAIL].concat(),
    );

    // One answer per step (the comment is none), in order, and the run went on past errors.
    assert_eq!(answers.len(), 24, "{output}");
    assert_eq!(screen(&answers, 1), "home");
    assert_eq!(screen(&answers, 2), "catalog");
    assert_eq!(error_code(&answers, 3), "unknown_label");
    assert_eq!(answer(&answers, 3)["screen"]["name"], "catalog");
    assert_eq!(error_code(&answers, 4), "bad_json");
    assert_eq!(screen(&answers, 6), "catalog");
    assert_eq!(screen(&answers, 10), "confirm");
    // The phone, typed on the number pad, is in its field, masked.
    let confirm = &answer(&answers, 12)["screen"];
    assert_eq!(confirm["fields"][0]["value"], "•".repeat(11), "{confirm}");
    assert_eq!(confirm["fields"][0]["error"], Value::Null);
    // No handwriting pad on the review screen; screenshots are off without --screenshots.
    assert_eq!(error_code(&answers, 20), "no_handwriting_pad");
    assert_eq!(screen(&answers, 22), "receipt");
    assert_eq!(error_code(&answers, 23), "screenshot");
    assert_eq!(screen(&answers, 25), "rating");
    assert_eq!(code, Some(3), "refused steps make the exit status 3");

    // The application reached the platform under the number the receipt showed.
    let receipt = &answer(&answers, 22)["screen"]["receipt"];
    let number = receipt["application_no"]
        .as_str()
        .expect("application number");
    assert_eq!(receipt["kept"], false);
    assert_eq!(stored_application(&bench), number);

    // The card's name and number and the phone are nowhere in the answers or the log.
    for secret in [CARD_NAME, CARD_NUMBER, PHONE] {
        assert!(
            !output.contains(secret),
            "{secret} in the output:\n{output}"
        );
    }

    // With --reveal, the same screen shows the name as the citizen sees it.
    let (code, output, answers) = drive(
        &bench,
        &["--reveal"],
        r#"{"wait": "home"}
{"tap": "开始办事"}
{"tap": "就业"}
{"tap": "职业技能培训补贴申领"}
{"tap": "在本机申请"}
{"card": 0}
{"type": "139"}
{"tap": "下一步"}
{"lift": true}
"#,
    );
    assert_eq!(code, Some(0), "{output}");
    assert_eq!(screen(&answers, 6), "confirm");
    let texts = answer(&answers, 6)["screen"]["texts"].to_string();
    assert!(texts.contains(CARD_NAME), "{texts}");
    // A phone too short is refused next to its field.
    let field = &answer(&answers, 8)["screen"]["fields"][0];
    assert_eq!(field["value"], "139");
    assert!(
        field["error"].as_str().is_some_and(|e| e.contains("11")),
        "{field}"
    );
}

/// The enrolment of 城乡居民养老保险参保登记 with its form: the household type chosen, the
/// phone on the number pad, the current address picked by district and township with the
/// street typed as pinyin (解放 from `jiefang`) and one character written on the handwriting
/// pad (十, two strokes on a 300-unit square scaled to the pad), a contribution level, a bank
/// and a bank card.
const PENSION_HEAD: &str = r#"{"wait": "home"}
{"tap": "开始办事"}
{"tap": "社会保险"}
{"tap": "城乡居民养老保险参保登记"}
"#;

const PENSION_TAIL: &str = r#"{"wait": "form"}
{"tap": "普通居民家庭"}
{"tap": "联系电话"}
{"type": "13912345678"}
{"tap": "现居住地址"}
{"tap": "海州区"}
{"tap": "新浦街道"}
{"type": "jiefang"}
{"tap": "解放"}
{"tap": "手写"}
{"write": [[[40, 140], [260, 138]], [[150, 40], [150, 270]]], "pad": 300}
{"tap": "十"}
{"tap": "拼音键盘"}
{"type": "hao"}
{"tap": "号"}
{"tap": "下一步"}
{"tap": "下一步"}
{"tap": "每年500元"}
{"tap": "中国工商银行"}
{"tap": "银行卡号"}
{"type": "6222021601001234560"}
{"tap": "我已阅读并同意"}
{"tap": "下一步"}
{"wait": "materials"}
{"tap": "容缺后补"}
{"tap": "我承诺"}
{"tap": "容缺后补"}
{"tap": "我承诺"}
{"wait": "review"}
{"tap": "确认提交"}
{"wait": "receipt"}
{"lift": true}
{"tap": "办理完成"}
"#;

/// A Luhn-valid bank card number (the form refuses any other).
const BANK_CARD: &str = "6222021601001234560";

/// The labels of the controls `line`'s screen showed.
fn controls(answers: &[Value], line: u64) -> Vec<String> {
    answer(answers, line)["screen"]["controls"]
        .as_array()
        .expect("controls")
        .iter()
        .filter_map(|c| c["label"].as_str().map(str::to_owned))
        .collect()
}

/// The value of the field labelled `label` on `line`'s screen.
fn field<'a>(answers: &'a [Value], line: u64, label: &str) -> &'a Value {
    answer(answers, line)["screen"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .find(|f| f["label"] == label)
        .unwrap_or_else(|| panic!("no field {label} on line {line}: {}", answer(answers, line)))
}

#[test]
fn a_script_fills_the_pension_enrolment_form_with_pinyin_and_handwriting() {
    let bench = bench();
    let (code, output, answers) = drive(
        &bench,
        &[],
        &[PENSION_HEAD, APPLY_WITH_CARD, PENSION_TAIL].concat(),
    );
    assert_eq!(code, Some(0), "every step is taken:\n{output}");
    // The fields below the fold are read and touched like the others; the page's one
    // unanswered required field waits for the second page's Next (the first is refused).
    assert_eq!(screen(&answers, 11), "form");
    assert_eq!(field(&answers, 11, "现居住地址")["value"], "");
    assert_eq!(field(&answers, 14, "联系电话")["value"], "•".repeat(11));
    // pinyin offers 解放 for `jiefang`; the pad offers 十 for its two strokes, in its bar.
    assert!(controls(&answers, 18).contains(&"解放".to_owned()));
    assert!(controls(&answers, 20).contains(&"删除一笔".to_owned()));
    assert!(
        controls(&answers, 21).contains(&"十".to_owned()),
        "{:?}",
        controls(&answers, 21)
    );
    // 海州区新浦街道 解放十号, masked character for character.
    assert_eq!(
        field(&answers, 25, "现居住地址")["value"],
        "•".repeat("海州区新浦街道 解放十号".chars().count())
    );
    assert_eq!(screen(&answers, 41), "receipt");

    // The application is on the platform under the receipt's number.
    let receipt = &answer(&answers, 41)["screen"]["receipt"];
    let number = receipt["application_no"].as_str().expect("number");
    assert_eq!(stored_application(&bench), number);
    // The printed receipt lists the answers, the bank card to its last 4 digits.
    let printed = std::fs::read_to_string(bench.terminal.dir.join("receipts/receipt-0001.txt"))
        .expect("printed receipt");
    for shown in ["每年500元", "中国工商银行", "****4560", "解放十号"] {
        assert!(
            printed.contains(shown),
            "{shown} not on the receipt:\n{printed}"
        );
    }
    assert!(!printed.contains(BANK_CARD), "{printed}");
    for secret in [CARD_NAME, CARD_NUMBER, PHONE, BANK_CARD, "解放十号"] {
        assert!(
            !output.contains(secret),
            "{secret} in the output:\n{output}"
        );
    }
}

/// 办件查询 with the card: the applications the platform holds for its holder.
const QUERY: &str = r#"{"wait": "home"}
{"tap": "办件查询"}
{"wait": "identify-for"}
{"card": 0}
{"wait": "errand-result"}
{"lift": true}
{"tap": "办理完成"}
"#;

#[test]
fn the_answers_given_through_kiosk_drive_are_shown_by_the_platform_in_the_record_query() {
    let bench = bench();
    let (code, output, _) = drive(
        &bench,
        &[],
        &[PENSION_HEAD, APPLY_WITH_CARD, PENSION_TAIL].concat(),
    );
    assert_eq!(code, Some(0), "{output}");

    // With --reveal, the citizen's view: every answer as the platform holds it.
    let (code, output, answers) = drive(&bench, &["--reveal"], QUERY);
    assert_eq!(code, Some(0), "{output}");
    assert_eq!(screen(&answers, 5), "errand-result");
    let texts = answer(&answers, 5)["screen"]["texts"].to_string();
    for shown in [
        "城乡居民养老保险参保登记",
        "普通居民家庭",
        "海州区新浦街道解放十号",
        "每年500元",
        "中国工商银行",
        "****4560",
        PHONE,
    ] {
        assert!(texts.contains(shown), "{shown} not in {texts}");
    }
    assert!(!texts.contains(BANK_CARD), "{texts}");
    // Without it, the answers are masked like everything personal.
    let (code, output, _) = drive(&bench, &[], QUERY);
    assert_eq!(code, Some(0), "{output}");
    for secret in ["解放十号", "中国工商银行", "****4560"] {
        assert!(
            !output.contains(secret),
            "{secret} in the output:\n{output}"
        );
    }
}
