//! HTML building blocks of the console: escaping, the page frame, tables and SVG bar charts.
//! Everything dynamic goes through [`esc`]; no external scripts, styles or fonts.

use std::fmt::Write as _;

use crate::store::{Role, Session};

/// Escapes text for HTML element content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

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

const STYLE: &str = "
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
.bar{display:flex;width:220px;height:14px;background:#eaeef2;border:1px solid #d0d7de}
.bar span{display:block;height:100%}.bar .c{background:#2da44e}.bar .f{background:#cf222e}.bar .p{background:#bf8700}
";

/// A whole console page.
pub fn page(title: &str, session: Option<&Session>, body: &str) -> String {
    let nav = match session {
        Some(s) => {
            let mut links = String::from(
                "<a href=\"/console\">终端 Fleet</a><a href=\"/console/tokens\">注册令牌 Tokens</a>\
                 <a href=\"/console/catalog\">事项目录 Catalog</a><a href=\"/console/config\">配置 Config</a>\
                 <a href=\"/console/stats\">统计 Statistics</a><a href=\"/console/rollouts\">升级发布 Rollouts</a>",
            );
            if s.role >= Role::Admin {
                links.push_str("<a href=\"/console/audit\">审计 Audit</a>");
            }
            format!(
                "{links}<span class=\"who\">{} ({})\
                 <form class=\"inline\" method=\"post\" action=\"/console/logout\">{}\
                 <button type=\"submit\" id=\"logout\">退出 Log out</button></form></span>",
                esc(&s.operator),
                s.role.as_str(),
                csrf_field(&s.csrf)
            )
        }
        None => String::new(),
    };
    format!(
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · 连易办终端管理</title><style>{STYLE}</style></head>\
         <body><header><strong>连易办 终端一体化管理平台</strong>{nav}</header><main><h1>{}</h1>{body}</main></body></html>",
        esc(title),
        esc(title)
    )
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(token: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(token)
    )
}

/// A table with a header row; cells are HTML already.
pub fn table(id: &str, headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!("<table id=\"{}\"><thead><tr>", esc(id));
    for h in headers {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>");
    }
    if rows.is_empty() {
        let _ = write!(
            out,
            "<tr><td colspan=\"{}\">（无 none）</td></tr>",
            headers.len()
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// A horizontal bar chart as inline SVG: one bar per (label, value).
pub fn bar_chart(id: &str, title: &str, bars: &[(String, i64)]) -> String {
    let width = 640.0_f64;
    let label_w = 150.0;
    let row_h = 24.0;
    let height = row_h * bars.len().max(1) as f64 + 30.0;
    let max = bars.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1) as f64;
    let mut out = format!(
        "<svg id=\"{}\" role=\"img\" aria-label=\"{}\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" xmlns=\"http://www.w3.org/2000/svg\" style=\"background:#fff;border:1px solid #d0d7de\"><title>{}</title>",
        esc(id),
        esc(title),
        esc(title)
    );
    for (i, (label, value)) in bars.iter().enumerate() {
        let y = 10.0 + i as f64 * row_h;
        let w = (width - label_w - 60.0) * (*value as f64) / max;
        let _ = write!(
            out,
            "<text x=\"{:.0}\" y=\"{:.0}\" font-size=\"12\" text-anchor=\"end\">{}</text>\
             <rect x=\"{label_w}\" y=\"{:.0}\" width=\"{w:.1}\" height=\"{:.0}\" fill=\"#0b4f8a\"><title>{}: {value}</title></rect>\
             <text x=\"{:.0}\" y=\"{:.0}\" font-size=\"12\">{value}</text>",
            label_w - 6.0,
            y + 15.0,
            esc(label),
            y + 3.0,
            row_h - 8.0,
            esc(label),
            label_w + w + 4.0,
            y + 15.0,
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_dynamic_is_escaped() {
        assert_eq!(
            esc("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
        assert_eq!(url_component("海州 a/b"), "%E6%B5%B7%E5%B7%9E%20a%2Fb");
        let chart = bar_chart("c", "<t>", &[("<a>".into(), 3)]);
        assert!(!chart.contains("<a>") && chart.contains("&lt;a&gt;"));
    }
}
