//! Certificates a citizen prints at the terminal, generated as small PDF files: A4 pages by
//! default, or a receipt roll's width ([`Paper::Roll80`]) for the terminal's 80 mm printer.

use kiosk_protocol::{ApplicationStatus, Catalog};
use sha2::{Digest, Sha256};

use super::pdf::{self, Page};

/// The certificates the platform issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateKind {
    /// 办件记录证明: the applicant's applications on this platform and their states.
    ApplicationRecord,
}

impl CertificateKind {
    /// The kind named in `/v1/certificates/{kind}`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "application-record" => Some(CertificateKind::ApplicationRecord),
            _ => None,
        }
    }
}

/// The paper a certificate is laid out for (`?paper=` of `/v1/certificates/{kind}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Paper {
    /// A4 pages (the default).
    #[default]
    A4,
    /// An 80 mm receipt roll: 72 mm printable, one page as long as the content (split into
    /// several pages beyond [`ROLL_PAGE_MAX`] points), type of 9 points or more.
    Roll80,
}

impl Paper {
    /// The paper named in the query (`a4`, `roll80`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "a4" => Some(Paper::A4),
            "roll80" => Some(Paper::Roll80),
            _ => None,
        }
    }
}

/// Longest page of a roll certificate, in points (about 56 cm); longer content goes on.
pub const ROLL_PAGE_MAX: f32 = 1600.0;

/// Masks an ID number for print: the first 6 and the last 4 characters stay.
pub fn mask_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 10 {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars[..6].iter().collect();
    out.push_str(&"*".repeat(chars.len() - 10));
    out.extend(&chars[chars.len() - 4..]);
    out
}

/// The verification code printed on a record: a digest of what it certifies.
fn verification_code(
    id_number: &str,
    applications: &[ApplicationStatus],
    issued_at: &str,
) -> String {
    let mut hash = Sha256::new();
    hash.update(id_number.as_bytes());
    hash.update(issued_at.as_bytes());
    for application in applications {
        hash.update(application.application_no.as_bytes());
        hash.update(application.state.as_str().as_bytes());
    }
    kiosk_protocol::auth::hex_encode(&hash.finalize()[..8]).to_ascii_uppercase()
}

/// 办件记录证明 for `name` / `id_number` listing `applications` (matter names from `catalog`),
/// laid out for `paper`.
pub fn application_record(
    name: &str,
    id_number: &str,
    applications: &[ApplicationStatus],
    catalog: &Catalog,
    issued_at: &str,
    paper: Paper,
) -> Vec<u8> {
    match paper {
        Paper::A4 => application_record_a4(name, id_number, applications, catalog, issued_at),
        Paper::Roll80 => application_record_roll(name, id_number, applications, catalog, issued_at),
    }
}

fn application_record_a4(
    name: &str,
    id_number: &str,
    applications: &[ApplicationStatus],
    catalog: &Catalog,
    issued_at: &str,
) -> Vec<u8> {
    let (width, height) = pdf::A4;
    let margin = 56.0;
    let mut pages = Vec::new();
    let mut page = Page::default();
    let title = "连云港市政务服务 办件记录证明";
    page.text(
        (width - pdf::text_width(title, 20.0)) / 2.0,
        height - 80.0,
        20.0,
        title,
    );
    let subtitle = "Record of applications";
    page.text(
        (width - pdf::text_width(subtitle, 11.0)) / 2.0,
        height - 100.0,
        11.0,
        subtitle,
    );
    page.line(
        (margin, height - 112.0),
        (width - margin, height - 112.0),
        1.0,
    );
    page.text(
        margin,
        height - 140.0,
        12.0,
        &format!("申请人 Applicant: {name}"),
    );
    page.text(
        margin,
        height - 160.0,
        12.0,
        &format!("证件号码 ID number: {}", mask_id(id_number)),
    );
    page.text(
        margin,
        height - 180.0,
        12.0,
        &format!("出具时间 Issued: {issued_at}"),
    );
    let columns = [margin, margin + 130.0, margin + 330.0, margin + 430.0];
    let mut y = height - 215.0;
    let header = |page: &mut Page, y: f32| {
        for (x, label) in columns
            .iter()
            .zip(["受理编号", "事项名称", "受理日期", "状态"])
        {
            page.text(*x, y, 11.0, label);
        }
        page.line((margin, y - 6.0), (width - margin, y - 6.0), 0.5);
    };
    header(&mut page, y);
    y -= 24.0;
    if applications.is_empty() {
        page.text(
            margin,
            y,
            11.0,
            "本平台无该申请人的办件记录。No applications on record.",
        );
        y -= 20.0;
    }
    for application in applications {
        if y < 110.0 {
            pages.push(std::mem::take(&mut page));
            y = height - 80.0;
            header(&mut page, y);
            y -= 24.0;
        }
        let matter = catalog
            .matter(&application.matter_id)
            .map(|m| m.name.zh.clone())
            .unwrap_or_else(|| application.matter_id.clone());
        let matter: String = if matter.chars().count() > 12 {
            matter.chars().take(11).chain(['…']).collect()
        } else {
            matter
        };
        page.text(columns[0], y, 10.0, &application.application_no);
        page.text(columns[1], y, 10.0, &matter);
        page.text(
            columns[2],
            y,
            10.0,
            application.accepted_at.get(..10).unwrap_or(""),
        );
        page.text(columns[3], y, 10.0, &application.state.label().zh);
        y -= 18.0;
    }
    let code = verification_code(id_number, applications, issued_at);
    page.line((margin, 90.0), (width - margin, 90.0), 0.5);
    page.text(
        margin,
        72.0,
        9.0,
        &format!("验证码 Verification code: {code}    本证明由连易办自助终端打印"),
    );
    page.rect(
        margin - 10.0,
        50.0,
        width - 2.0 * margin + 20.0,
        height - 100.0,
        0.8,
    );
    pages.push(page);
    pdf::document(title, &pages)
}

/// Splits `text` into lines no wider than `width` points in `size`-point type.
fn wrap(text: &str, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for c in text.chars() {
        let mut candidate = line.clone();
        candidate.push(c);
        if !line.is_empty() && pdf::text_width(&candidate, size) > width {
            lines.push(std::mem::take(&mut line).trim_end().to_owned());
            if c != ' ' {
                line.push(c);
            }
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// What a roll certificate holds, top to bottom, before it is cut into pages.
enum RollLine {
    /// Text at `size` points, centred or from the left margin.
    Text {
        size: f32,
        text: String,
        centred: bool,
    },
    /// A rule across the page.
    Rule(f32),
    /// Space, in points.
    Gap(f32),
}

impl RollLine {
    fn height(&self) -> f32 {
        match self {
            // 1.3 line spacing.
            RollLine::Text { size, .. } => size * 1.3,
            RollLine::Rule(_) => 6.0,
            RollLine::Gap(points) => *points,
        }
    }
}

/// The left and right margin of a roll certificate, in points.
const ROLL_MARGIN: f32 = 6.0;

/// The record on a 72 mm-wide roll: the same content as the A4 page, one column, type of 9
/// points or more (9 pt is 25 dots high at 203 dpi).
fn application_record_roll(
    name: &str,
    id_number: &str,
    applications: &[ApplicationStatus],
    catalog: &Catalog,
    issued_at: &str,
) -> Vec<u8> {
    let lines = roll_lines(name, id_number, applications, catalog, issued_at);
    roll_document(&lines)
}

/// The roll certificate's content, top to bottom, wrapped to the roll's width.
fn roll_lines(
    name: &str,
    id_number: &str,
    applications: &[ApplicationStatus],
    catalog: &Catalog,
    issued_at: &str,
) -> Vec<RollLine> {
    let text_width = pdf::ROLL80_WIDTH - 2.0 * ROLL_MARGIN;
    let mut lines: Vec<RollLine> = Vec::new();
    let text = |lines: &mut Vec<RollLine>, size: f32, content: &str, centred: bool| {
        for line in wrap(content, size, text_width) {
            lines.push(RollLine::Text {
                size,
                text: line,
                centred,
            });
        }
    };
    text(&mut lines, 12.0, "连云港市政务服务", true);
    text(&mut lines, 16.0, "办件记录证明", true);
    text(&mut lines, 9.0, "Record of applications", true);
    lines.push(RollLine::Rule(1.0));
    text(
        &mut lines,
        10.0,
        &format!("申请人 Applicant: {name}"),
        false,
    );
    text(&mut lines, 10.0, "证件号码 ID number:", false);
    text(&mut lines, 10.0, &mask_id(id_number), false);
    text(&mut lines, 10.0, "出具时间 Issued:", false);
    text(&mut lines, 10.0, issued_at, false);
    lines.push(RollLine::Rule(0.5));
    if applications.is_empty() {
        text(&mut lines, 10.0, "本平台无该申请人的办件记录。", false);
        text(&mut lines, 9.0, "No applications on record.", false);
    }
    for (i, application) in applications.iter().enumerate() {
        if i > 0 {
            lines.push(RollLine::Gap(4.0));
        }
        let matter = catalog
            .matter(&application.matter_id)
            .map(|m| m.name.zh.clone())
            .unwrap_or_else(|| application.matter_id.clone());
        text(
            &mut lines,
            10.0,
            &format!("受理编号 {}", application.application_no),
            false,
        );
        text(&mut lines, 10.0, &format!("事项名称 {matter}"), false);
        text(
            &mut lines,
            10.0,
            &format!(
                "受理日期 {}  状态 {}",
                application.accepted_at.get(..10).unwrap_or(""),
                application.state.label().zh
            ),
            false,
        );
    }
    lines.push(RollLine::Rule(0.5));
    text(&mut lines, 9.0, "验证码 Verification code:", false);
    text(
        &mut lines,
        10.0,
        &verification_code(id_number, applications, issued_at),
        false,
    );
    text(&mut lines, 9.0, "本证明由连易办自助终端打印", false);
    lines
}

/// `lines` cut into pages no longer than [`ROLL_PAGE_MAX`], all as long as the longest.
fn roll_document(lines: &[RollLine]) -> Vec<u8> {
    let width = pdf::ROLL80_WIDTH;
    let margin = ROLL_MARGIN;
    let top = 10.0;
    let bottom = 10.0;
    let mut pages: Vec<(f32, Vec<&RollLine>)> = vec![(top + bottom, Vec::new())];
    for line in lines {
        let Some(last) = pages.last_mut() else {
            break;
        };
        if last.0 + line.height() > ROLL_PAGE_MAX && !last.1.is_empty() {
            pages.push((top + bottom, Vec::new()));
        }
        if let Some(last) = pages.last_mut() {
            last.0 += line.height();
            last.1.push(line);
        }
    }
    let height = pages.iter().map(|(h, _)| *h).fold(0.0_f32, f32::max).ceil();
    let mut out = Vec::new();
    for (_, lines) in &pages {
        let mut page = Page::default();
        let mut y = height - top;
        for line in lines {
            match line {
                RollLine::Text {
                    size,
                    text,
                    centred,
                } => {
                    let x = if *centred {
                        ((width - pdf::text_width(text, *size)) / 2.0).max(margin)
                    } else {
                        margin
                    };
                    // The baseline sits below the line's top by the font's ascent.
                    page.text(x, y - size * 1.0, *size, text);
                }
                RollLine::Rule(thickness) => {
                    page.line((margin, y - 3.0), (width - margin, y - 3.0), *thickness);
                }
                RollLine::Gap(_) => {}
            }
            y -= line.height();
        }
        out.push(page);
    }
    pdf::document_sized("连云港市政务服务 办件记录证明", &out, (width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_numbers_are_masked_on_paper() {
        assert_eq!(mask_id("320706198802020228"), "320706********0228");
        assert_eq!(mask_id("12345"), "*****");
    }

    #[test]
    fn lines_wrap_within_the_roll() {
        let lines = wrap(
            "事项名称 城乡居民基本养老保险参保登记及待遇申领",
            10.0,
            180.0,
        );
        assert!(lines.len() >= 2, "{lines:?}");
        assert!(lines.iter().all(|l| pdf::text_width(l, 10.0) <= 180.0));
        assert_eq!(
            lines.concat().replace(' ', ""),
            "事项名称城乡居民基本养老保险参保登记及待遇申领"
        );
        assert_eq!(wrap("", 10.0, 100.0), vec![String::new()]);
    }
}
