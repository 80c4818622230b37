//! The progress page's templates: the look-up form, one application's progress, the rating
//! form, and the one "not found" answer. One column, large type, no script; Chinese or English.

use kiosk_protocol::{Catalog, LocalizedText, RatingReason, level_name};
use maud::{DOCTYPE, Markup, html};

use crate::html::url_component;
use crate::store::PublicProgress;

/// Where the page's style sheet is served.
pub const STYLESHEET_PATH: &str = "/progress.css";

/// The page's style sheet (a file of its own: the content security policy allows no inline
/// style).
pub const STYLE: &str = "
body{font-family:'Noto Sans CJK SC','Noto Sans',sans-serif;margin:0;color:#1b1f23;background:#f4f6f8;font-size:18px;line-height:1.6}
header{background:#0b4f8a;color:#fff;padding:12px 16px;display:flex;gap:12px;align-items:center;flex-wrap:wrap}
header strong{font-size:20px}header a{color:#fff;margin-left:auto}
main{padding:12px 16px;max-width:640px;margin:0 auto}
h1{font-size:24px;margin:12px 0}h2{font-size:20px;margin:20px 0 8px}
dl{background:#fff;border:1px solid #d0d7de;padding:10px 14px;margin:0}
dt{color:#57606a;font-size:15px}dd{margin:0 0 8px;font-weight:bold}
ol{background:#fff;border:1px solid #d0d7de;padding:10px 14px 10px 36px;margin:0}
li{margin:4px 0}li small{color:#57606a;display:block}
.box{padding:12px 14px;margin:12px 0;border-radius:4px}
.ask{background:#fff8c5;border:1px solid #d4a72c}.error{background:#ffebe9;border:1px solid #ff8182}
.done{background:#dafbe1;border:1px solid #4ac26b}.reply{background:#fff;border:1px solid #d0d7de}
form{background:#fff;border:1px solid #d0d7de;padding:12px 14px}
label{display:block;margin:10px 0 4px;font-weight:bold}
input[type=text],select{font:inherit;width:100%;box-sizing:border-box;padding:10px;border:1px solid #8c959f;border-radius:4px}
fieldset{border:0;padding:0;margin:8px 0}legend{font-weight:bold}
fieldset label{display:block;font-weight:normal;margin:0;padding:6px 0}
button{font:inherit;width:100%;margin-top:14px;padding:12px;background:#0b4f8a;color:#fff;border:0;border-radius:4px}
p.note{color:#57606a;font-size:15px}
";

/// The language a page is shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Simplified Chinese (the default).
    Zh,
    /// English.
    En,
}

impl Lang {
    /// `en` for English, anything else Chinese.
    pub fn parse(value: Option<&str>) -> Lang {
        match value {
            Some("en") => Lang::En,
            _ => Lang::Zh,
        }
    }

    /// The text in this language.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// A catalog text in this language.
    pub fn of(self, text: &LocalizedText) -> &str {
        self.pick(&text.zh, &text.en)
    }

    fn code(self) -> &'static str {
        self.pick("zh", "en")
    }

    /// The language the page's switch link leads to.
    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }
}

/// A notice above a page's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Something was done.
    Done(String),
    /// Something was refused, in words a citizen reads.
    Error(String),
}

/// The whole page: `switch` is the address of the same page in the other language.
pub fn frame(lang: Lang, switch: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.pick("zh-CN", "en")) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (lang.pick("办件进度 · 连易办", "Application progress · Lianyiban")) }
                link rel="stylesheet" href=(STYLESHEET_PATH);
            }
            body {
                header {
                    strong { (lang.pick("连易办 · 办件进度查询", "Lianyiban · Application progress")) }
                    a id="language" href=(switch) lang=(lang.other().pick("zh-CN", "en")) {
                        (lang.pick("English", "中文"))
                    }
                }
                main { (body) }
            }
        }
    }
}

/// The address of the look-up form or of one application's page, in `lang`.
pub fn address(lang: Lang, number_and_code: Option<(&str, &str)>) -> String {
    match number_and_code {
        Some((no, code)) => format!(
            "/progress/{}?c={}&lang={}",
            url_component(no),
            url_component(code),
            lang.code()
        ),
        None => format!("/progress?lang={}", lang.code()),
    }
}

/// The look-up form, with `notice` above it.
pub fn lookup_form(lang: Lang, notice: Option<&Notice>) -> Markup {
    html! {
        h1 { (lang.pick("查询办件进度", "Follow your application")) }
        @if let Some(notice) = notice { (notice_box(notice)) }
        form method="get" action="/progress" id="lookup" {
            input type="hidden" name="lang" value=(lang.code());
            label for="no" { (lang.pick("受理编号", "Application number")) }
            input type="text" id="no" name="no" autocapitalize="characters" autocomplete="off" maxlength="32" required;
            label for="c" { (lang.pick("查询码", "Progress code")) }
            input type="text" id="c" name="c" autocomplete="off" maxlength="16" autocapitalize="characters" required;
            button type="submit" { (lang.pick("查询", "Look up")) }
        }
        p.note {
            (lang.pick(
                "受理编号和查询码都印在受理回执上；扫描回执上的二维码可直接打开本页。",
                "Both are printed on your receipt; scanning its QR code opens this page directly.",
            ))
        }
    }
}

/// The one answer to an unknown number, a wrong code and a missing code alike.
pub fn not_found(lang: Lang) -> Markup {
    lookup_form(
        lang,
        Some(&Notice::Error(
            lang.pick(
                "未找到：请核对受理编号和查询码是否与回执上的一致。",
                "Not found: check the application number and the code against your receipt.",
            )
            .to_owned(),
        )),
    )
}

/// The answer once a client or a number has had too many wrong codes.
pub fn try_later(lang: Lang) -> Markup {
    lookup_form(
        lang,
        Some(&Notice::Error(
            lang.pick(
                "查询次数过多，请一小时后再试，或到任一连易办终端刷身份证查询。",
                "Too many tries: please try again in an hour, or look it up at any Lianyiban terminal with your ID card.",
            )
            .to_owned(),
        )),
    )
}

/// The answer when the platform cannot be read.
pub fn unavailable(lang: Lang) -> Markup {
    lookup_form(
        lang,
        Some(&Notice::Error(
            lang.pick(
                "暂时无法查询，请稍后再试。",
                "Progress cannot be looked up right now; please try again later.",
            )
            .to_owned(),
        )),
    )
}

fn notice_box(notice: &Notice) -> Markup {
    match notice {
        Notice::Done(text) => html! { p class="box done" id="notice" { (text) } },
        Notice::Error(text) => html! { p class="box error" id="notice" role="alert" { (text) } },
    }
}

/// "2026-12-08 10:00" of an RFC 3339 time.
fn minute(at: &str) -> String {
    at.get(..16).unwrap_or(at).replace('T', " ")
}

/// One application's progress: what, where, its state and steps, an open 补正, and its rating.
pub fn progress(
    lang: Lang,
    (no, code): (&str, &str),
    found: &PublicProgress,
    catalog: Option<&Catalog>,
    notice: Option<&Notice>,
) -> Markup {
    let status = &found.status;
    let matter = catalog.and_then(|c| c.matter(&status.matter_id));
    let department = catalog.and_then(|c| c.department(&found.department));
    html! {
        h1 { (lang.pick("办件进度", "Application progress")) }
        @if let Some(notice) = notice { (notice_box(notice)) }
        dl id="application" {
            dt { (lang.pick("受理编号", "Application number")) } dd { (no) }
            dt { (lang.pick("事项", "Matter")) }
            dd { (matter.map_or(status.matter_id.as_str(), |m| lang.of(&m.name))) }
            dt { (lang.pick("办理部门", "Department")) }
            dd { (department.map_or(found.department.as_str(), |d| lang.of(&d.name))) }
            dt { (lang.pick("受理日期", "Accepted on")) } dd { (status.accepted_at.get(..10).unwrap_or("")) }
            dt { (lang.pick("当前状态", "State")) } dd id="state" { (lang.of(&status.state.label())) }
            @if let Some(due) = &status.due_on {
                dt { (lang.pick("承诺办结日期", "Due by")) } dd id="due" { (due) }
            }
        }
        @if let Some(asked) = &found.correction {
            (correction(lang, asked, matter))
        }
        h2 { (lang.pick("办理过程", "Steps")) }
        ol id="history" {
            @for event in &status.history {
                li { (lang.of(&event.what)) small { (minute(&event.at)) } }
            }
        }
        (rating_part(lang, (no, code), found))
    }
}

fn correction(
    lang: Lang,
    asked: &kiosk_protocol::CorrectionAsked,
    matter: Option<&kiosk_protocol::Matter>,
) -> Markup {
    let material_name = |index: u16| {
        matter
            .and_then(|m| m.materials.get(usize::from(index)))
            .map(|m| lang.of(&m.name).to_owned())
            .unwrap_or_else(|| format!("{} {}", lang.pick("材料", "Material"), index + 1))
    };
    html! {
        div class="box ask" id="correction" {
            strong { (lang.pick("需要补正", "More is needed from you")) }
            @if !asked.materials.is_empty() {
                p { (lang.pick("请补交以下材料：", "Please hand in these materials again:")) }
                ul { @for index in &asked.materials { li { (material_name(*index)) } } }
            }
            @if !asked.fields.is_empty() {
                p {
                    (lang.pick("申请表中需更正的内容：", "Answers of the form to correct: "))
                    (asked.fields.len())
                }
            }
            @if let Some(by) = &asked.answer_by {
                p { (lang.pick("请于此日期前补正：", "Please do so by ")) strong { (by) } }
            }
            p {
                (lang.pick(
                    "可在任一连易办终端刷身份证后拍照提交。",
                    "You can hand them in at any Lianyiban terminal: insert your ID card and photograph them.",
                ))
            }
        }
    }
}

fn rating_part(lang: Lang, (no, code): (&str, &str), found: &PublicProgress) -> Markup {
    html! {
        @if let Some(given) = &found.rating {
            h2 { (lang.pick("您的评价", "Your rating")) }
            p id="rated" {
                (lang.pick("您已于 ", "You rated it on ")) (given.rated_at.get(..10).unwrap_or(""))
                (lang.pick(" 评价：", ": ")) "★" (given.level) " "
                (level_name(given.level).map(|n| lang.of(&n).to_owned()).unwrap_or_default())
            }
            @if let Some(reply) = &given.reply {
                div class="box reply" id="reply" {
                    strong { (lang.pick("办理部门的答复", "The department's reply")) }
                    p { (reply) }
                }
            }
        } @else if found.status.rateable {
            (rating_form(lang, no, code))
        }
    }
}

/// The 好差评 form of a finished application.
fn rating_form(lang: Lang, no: &str, code: &str) -> Markup {
    let indicators: [(&str, LocalizedText); 4] = [
        (
            "overall",
            LocalizedText::new("整体满意度", "Overall satisfaction"),
        ),
        ("efficiency", LocalizedText::new("服务效率", "Efficiency")),
        ("competence", LocalizedText::new("服务水平", "Competence")),
        ("attitude", LocalizedText::new("服务态度", "Attitude")),
    ];
    html! {
        h2 { (lang.pick("评价本次办理（好差评）", "Rate this service")) }
        form method="post" action={ "/progress/" (url_component(no)) "/rating" } id="rating" {
            input type="hidden" name="c" value=(code);
            input type="hidden" name="lang" value=(lang.code());
            (level_choice(lang, "level", &LocalizedText::new("总体评价", "Your rating")))
            @for (name, label) in &indicators { (level_choice(lang, name, label)) }
            label for="reason" { (lang.pick("不满意的原因（★1–2 必填）", "Why dissatisfied (needed for ★1–2)")) }
            select id="reason" name="reason" {
                option value="" { "—" }
                @for reason in RatingReason::ALL {
                    option value=(reason_name(reason)) { (lang.of(&reason.label())) }
                }
            }
            button type="submit" { (lang.pick("提交评价", "Send rating")) }
        }
        p.note { (lang.pick("评价是匿名的：办理部门看不到评价人。", "Ratings are anonymous: the department never sees who rated.")) }
    }
}

/// Five radio buttons named `name`, 5 down to 1.
fn level_choice(lang: Lang, name: &str, label: &LocalizedText) -> Markup {
    html! {
        fieldset {
            legend { (lang.of(label)) }
            @for level in (1..=5u8).rev() {
                label {
                    input type="radio" name=(name) value=(level) required;
                    " ★" (level) " " (level_name(level).map(|n| lang.of(&n).to_owned()).unwrap_or_default())
                }
            }
        }
    }
}

/// The stored name of a reason (`took_too_long`), as the form sends it: its wire spelling.
pub fn reason_name(reason: RatingReason) -> String {
    serde_json::to_value(reason)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
