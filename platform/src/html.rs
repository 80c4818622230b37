//! The console's page frame and building blocks as maud templates (HTML written as Rust,
//! checked at compile time). Every `(value)` spliced into a template is escaped by
//! construction. The style sheet below is served as a file of its own; no page has a script,
//! an inline style or anything from another site.

use std::fmt::Write as _;

use maud::{DOCTYPE, Markup, html};

use crate::store::{Role, Session};

/// Percent-encodes a query or path component.
pub fn url_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Where the style sheet is served.
pub const STYLESHEET_PATH: &str = "/console/style.css";

/// The console's style sheet, served at [`STYLESHEET_PATH`] (a separate file, so the content
/// security policy need not allow inline styles).
pub const STYLE: &str = "
body{font-family:'Noto Sans CJK SC','Noto Sans',sans-serif;margin:0;color:#1b1f23;background:#f4f6f8}
header{background:#0b4f8a;color:#fff;padding:10px 20px;display:flex;gap:18px;align-items:center;flex-wrap:wrap}
header a{color:#fff;text-decoration:none;padding:4px 6px}header a:hover{text-decoration:underline}
header .who{margin-left:auto;font-size:14px}
main{padding:16px 20px;max-width:1280px}
h1{font-size:22px;margin:8px 0 16px}h2{font-size:18px;margin:22px 0 10px}
table{border-collapse:collapse;background:#fff;width:100%;font-size:14px;margin-bottom:12px}
th,td{border:1px solid #d0d7de;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#eaeef2}
.online{color:#116329;font-weight:bold}.offline{color:#a40e26;font-weight:bold}
.ok{color:#116329}.degraded{color:#7d4e00;font-weight:bold}.faulted{color:#a40e26;font-weight:bold}.absent{color:#57606a}
form.inline{display:inline}
input,select,textarea,button{font:inherit;padding:4px 6px}
textarea{width:100%;font-family:monospace;font-size:13px}
button{background:#0b4f8a;color:#fff;border:0;border-radius:4px;padding:6px 12px;cursor:pointer}
.notice{background:#dafbe1;border:1px solid #4ac26b;padding:8px 12px;margin-bottom:12px}
.error{background:#ffebe9;border:1px solid #ff8182;padding:8px 12px;margin-bottom:12px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin-bottom:12px}
.card{background:#fff;border:1px solid #d0d7de;padding:10px 16px;min-width:120px}
.card b{font-size:24px;display:block}
code{background:#eaeef2;padding:1px 4px;word-break:break-all}
.bar{display:block;background:#eaeef2;border:1px solid #d0d7de}
.bar .c{fill:#2da44e}.bar .f{fill:#cf222e}.bar .p{fill:#bf8700}
.chart{background:#fff;border:1px solid #d0d7de}
.pages{display:flex;gap:12px;margin-top:12px}
fieldset{background:#fff;border:1px solid #d0d7de;margin:0 0 12px;padding:8px 14px}
.field{margin:8px 0}.field>label{display:block;font-weight:bold;margin-bottom:2px}
.field input[type=text]{width:40%}.field li input[type=text]{width:45%}
.form-section{background:#f6f8fa}.form-field{border-left:3px solid #0b4f8a;padding:4px 10px;margin:10px 0;background:#fff}
.rules label{display:inline-block;margin:2px 10px 2px 0;font-size:13px}.rules input{width:90px}
.field-error{margin:4px 0}.draft{color:#7d4e00}
.previews{display:flex;gap:12px;flex-wrap:wrap;align-items:flex-start}
.previews figure{margin:0}img.preview{border:1px solid #d0d7de;background:#fff;height:auto}
.overdue{color:#a40e26;font-weight:bold}.case-answer label{display:block;margin:4px 0}
.case-answer textarea{box-sizing:border-box;font-family:inherit;font-size:14px}
del{color:#a40e26}ins{color:#116329;text-decoration:none}
.overdue{color:#a40e26;font-weight:bold}
#queue-filter label{display:inline-block;margin:2px 10px 6px 0}#queue-filter select{max-width:22em}
.state.approved{color:#116329}.state.rejected{color:#a40e26}.state.needs_materials{color:#7d4e00;font-weight:bold}
";

/// A whole console page; `session` adds the navigation and the logout button.
pub fn page(title: &str, session: Option<&Session>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · 连易办终端管理" }
                link rel="stylesheet" href=(STYLESHEET_PATH);
            }
            body {
                header {
                    strong { "连易办 终端一体化管理平台" }
                    @if let Some(session) = session { (navigation(session)) }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

fn navigation(session: &Session) -> Markup {
    html! {
        a href="/console" { "终端 Fleet" }
        a href="/console/tokens" { "注册令牌 Tokens" }
        a href="/console/catalog" { "事项目录 Catalog" }
        @if session.role == Role::Editor || session.role >= Role::Admin {
            a href="/console/editor" id="nav-editor" { "事项编辑 Editor" }
        }
        @if session.role == Role::Clerk {
            a href="/console/applications" id="nav-applications" { "办件 Applications" }
            a href="/console/commitments" id="nav-commitments" { "容缺承诺 Promised" }
        }
        a href="/console/config" { "配置 Config" }
        a href="/console/stats" { "统计 Statistics" }
        @if session.role == Role::Clerk || session.role >= Role::Admin {
            a href="/console/cases" id="nav-cases" { "差评整改 Cases" }
        }
        a href="/console/rollouts" { "升级发布 Rollouts" }
        a href="/console/calendar" { "工作日历 Calendar" }
        @if session.role >= Role::Operator {
            a href="/console/connectors" id="nav-connectors" { "部门连接 Connectors" }
        }
        @if session.role >= Role::Admin {
            a href="/console/audit" { "审计 Audit" }
            a href="/console/records" { "记录查询 Record queries" }
        }
        span class="who" {
            (session.operator) " (" (session.role.as_str()) ")"
            form class="inline" method="post" action="/console/logout" {
                (csrf_field(&session.csrf))
                button type="submit" id="logout" { "退出 Log out" }
            }
        }
    }
}

/// The error page: `message` inside the frame (with navigation when someone is logged in).
pub fn error_page(session: Option<&Session>, message: &str) -> Markup {
    page("出错了 Error", session, notice(Notice::Error, message))
}

/// How a notice above a page's content looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// Something was done.
    Done,
    /// Something was refused.
    Error,
}

/// A one-paragraph notice.
pub fn notice(kind: Notice, text: &str) -> Markup {
    let class = match kind {
        Notice::Done => "notice",
        Notice::Error => "error",
    };
    html! { p class=(class) { (text) } }
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// The links of a list shown a page at a time, newest first: to the newest page (when this
/// is an older one, `paged`) and, when `lines` fill a page of `page_lines`, to the next, older
/// one (`before=` the last line's id). `filters` (`&name=value…`, encoded) are kept; the
/// links' ids are `{id}-newest` and `{id}-older`.
pub fn pager<T>(
    (path, id): (&str, &str),
    filters: &str,
    paged: bool,
    (lines, page_lines): (&[T], i64),
    line_id: impl Fn(&T) -> i64,
) -> Markup {
    let older_than = lines
        .last()
        .filter(|_| i64::try_from(lines.len()).is_ok_and(|n| n == page_lines))
        .map(line_id);
    html! {
        p class="pages" {
            @if paged {
                a id={ (id) "-newest" } href={ (path) "?" (filters.trim_start_matches('&')) } { "最新 Newest" }
            }
            @if let Some(before) = older_than {
                a id={ (id) "-older" } href={ (path) "?before=" (before) (filters) } { "较早 Older →" }
            }
        }
    }
}

/// A table with a header row.
pub fn table(id: &str, headers: &[&str], rows: &[Vec<Markup>]) -> Markup {
    html! {
        table id=(id) {
            thead { tr { @for h in headers { th { (h) } } } }
            tbody {
                @for row in rows {
                    tr { @for cell in row { td { (cell) } } }
                }
                @if rows.is_empty() {
                    tr { td colspan=(headers.len()) { "（无 none）" } }
                }
            }
        }
    }
}

/// A cell (or any fragment) of plain text.
pub fn text(value: impl AsRef<str>) -> Markup {
    html! { (value.as_ref()) }
}

/// A horizontal bar chart as inline SVG: one bar per (label, value).
pub fn bar_chart(id: &str, title: &str, bars: &[(String, i64)]) -> Markup {
    let width = 640.0_f64;
    let label_w = 150.0;
    let row_h = 24.0;
    let height = row_h * bars.len().max(1) as f64 + 30.0;
    let max = bars.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1) as f64;
    html! {
        svg id=(id) role="img" aria-label=(title) width=(width) height=(height)
            viewBox=(format!("0 0 {width} {height}")) xmlns="http://www.w3.org/2000/svg"
            class="chart" {
            title { (title) }
            @for (i, (label, value)) in bars.iter().enumerate() {
                @let y = 10.0 + i as f64 * row_h;
                @let w = (width - label_w - 60.0) * (*value as f64) / max;
                text x=(format!("{:.0}", label_w - 6.0)) y=(format!("{:.0}", y + 15.0))
                    font-size="12" text-anchor="end" { (label) }
                rect x=(label_w) y=(format!("{:.0}", y + 3.0)) width=(format!("{w:.1}"))
                    height=(format!("{:.0}", row_h - 8.0)) fill="#0b4f8a" {
                    title { (label) ": " (value) }
                }
                text x=(format!("{:.0}", label_w + w + 4.0)) y=(format!("{:.0}", y + 15.0))
                    font-size="12" { (value) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_dynamic_is_escaped() {
        assert_eq!(
            text("<script>alert('x')</script>&\"").into_string(),
            "&lt;script&gt;alert('x')&lt;/script&gt;&amp;&quot;"
        );
        assert_eq!(url_component("海州 a/b"), "%E6%B5%B7%E5%B7%9E%20a%2Fb");
        let chart = bar_chart("c", "<t>", &[("<a>".into(), 3)]).into_string();
        assert!(!chart.contains("<a>") && chart.contains("&lt;a&gt;"));
    }
}
