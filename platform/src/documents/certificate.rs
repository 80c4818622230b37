//! Certificates a citizen prints at the terminal, generated as small PDF files: A4 pages by
//! default, or a receipt roll's width ([`Paper::Roll80`]) for the terminal's 80 mm printer.

use kiosk_protocol::{ApplicationStatus, Catalog};

use super::pdf::{self, Page};
use super::verification::{CertifiedApplication, CertifiedRecord, VerificationCode, mask_name};

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

    /// The kind's name, as in the route and the certificate records.
    pub fn name(self) -> &'static str {
        match self {
            CertificateKind::ApplicationRecord => "application-record",
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

/// What a 办件记录证明 for `name` / `id_number` listing `applications` certifies, as it will be
/// printed (matter names from `catalog`, the ID number masked) and recorded.
pub fn certified_record(
    name: &str,
    id_number: &str,
    applications: &[ApplicationStatus],
    catalog: &Catalog,
    issued_at: &str,
) -> CertifiedRecord {
    CertifiedRecord {
        issued_at: issued_at.to_owned(),
        applicant: mask_name(name),
        id_number: mask_id(id_number),
        applications: applications
            .iter()
            .map(|application| CertifiedApplication {
                application_no: application.application_no.clone(),
                matter: catalog
                    .matter(&application.matter_id)
                    .map(|m| m.name.zh.clone())
                    .unwrap_or_else(|| application.matter_id.clone()),
                accepted_on: application.accepted_at.get(..10).unwrap_or("").to_owned(),
                state: application.state,
            })
            .collect(),
    }
}

/// How a printed certificate is checked: its verification code and the page that checks it.
#[derive(Debug, Clone)]
pub struct Seal {
    /// The code, printed in groups.
    pub code: VerificationCode,
    /// The verification page's address (`{public base}/verify/{code}`), printed and as a QR
    /// code.
    pub url: String,
}

impl Seal {
    /// The seal of `code` on a platform reachable at `public_base`.
    pub fn new(code: VerificationCode, public_base: &str) -> Self {
        let url = format!(
            "{}/verify/{}",
            public_base.trim_end_matches('/'),
            code.grouped()
        );
        Seal { code, url }
    }
}

/// 办件记录证明 for the applicant `name` (printed in full) certifying `record`, checked by
/// `seal`, laid out for `paper`.
pub fn application_record(
    name: &str,
    record: &CertifiedRecord,
    seal: &Seal,
    paper: Paper,
) -> Vec<u8> {
    match paper {
        Paper::A4 => application_record_a4(name, record, seal),
        Paper::Roll80 => roll_document(&roll_lines(name, record, seal)),
    }
}

fn application_record_a4(name: &str, record: &CertifiedRecord, seal: &Seal) -> Vec<u8> {
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
        &format!("证件号码 ID number: {}", record.id_number),
    );
    page.text(
        margin,
        height - 180.0,
        12.0,
        &format!("出具时间 Issued: {}", record.issued_at),
    );
    // The verification page's QR code, right of the applicant's lines.
    page.qr(width - margin - 76.0, height - 192.0, 76.0, &seal.url);
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
    if record.applications.is_empty() {
        page.text(
            margin,
            y,
            11.0,
            "本平台无该申请人的办件记录。No applications on record.",
        );
        y -= 20.0;
    }
    for application in &record.applications {
        if y < 110.0 {
            pages.push(std::mem::take(&mut page));
            y = height - 80.0;
            header(&mut page, y);
            y -= 24.0;
        }
        let matter: String = if application.matter.chars().count() > 12 {
            application.matter.chars().take(11).chain(['…']).collect()
        } else {
            application.matter.clone()
        };
        page.text(columns[0], y, 10.0, &application.application_no);
        page.text(columns[1], y, 10.0, &matter);
        page.text(columns[2], y, 10.0, &application.accepted_on);
        page.text(columns[3], y, 10.0, &application.state.label().zh);
        y -= 18.0;
    }
    page.line((margin, 90.0), (width - margin, 90.0), 0.5);
    page.text(
        margin,
        76.0,
        9.0,
        &format!(
            "验证码 Verification code: {}    本证明由连易办自助终端打印",
            seal.code.grouped()
        ),
    );
    page.text(margin, 62.0, 9.0, &format!("验证 Verify at: {}", seal.url));
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
    /// A QR code of this text, centred, [`ROLL_QR_SIDE`] square.
    Qr(String),
}

/// The side of a roll certificate's QR code, in points (about 35 mm).
const ROLL_QR_SIDE: f32 = 100.0;

impl RollLine {
    fn height(&self) -> f32 {
        match self {
            // 1.3 line spacing.
            RollLine::Text { size, .. } => size * 1.3,
            RollLine::Rule(_) => 6.0,
            RollLine::Gap(points) => *points,
            RollLine::Qr(_) => ROLL_QR_SIDE,
        }
    }
}

/// The left and right margin of a roll certificate, in points.
const ROLL_MARGIN: f32 = 6.0;

/// The record on a 72 mm-wide roll, top to bottom, wrapped to the roll's width: the same
/// content as the A4 page, one column, type of 9 points or more (9 pt is 25 dots high at
/// 203 dpi).
fn roll_lines(name: &str, record: &CertifiedRecord, seal: &Seal) -> Vec<RollLine> {
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
    text(&mut lines, 10.0, &record.id_number, false);
    text(&mut lines, 10.0, "出具时间 Issued:", false);
    text(&mut lines, 10.0, &record.issued_at, false);
    lines.push(RollLine::Rule(0.5));
    if record.applications.is_empty() {
        text(&mut lines, 10.0, "本平台无该申请人的办件记录。", false);
        text(&mut lines, 9.0, "No applications on record.", false);
    }
    for (i, application) in record.applications.iter().enumerate() {
        if i > 0 {
            lines.push(RollLine::Gap(4.0));
        }
        text(
            &mut lines,
            10.0,
            &format!("受理编号 {}", application.application_no),
            false,
        );
        text(
            &mut lines,
            10.0,
            &format!("事项名称 {}", application.matter),
            false,
        );
        text(
            &mut lines,
            10.0,
            &format!(
                "受理日期 {}  状态 {}",
                application.accepted_on,
                application.state.label().zh
            ),
            false,
        );
    }
    lines.push(RollLine::Rule(0.5));
    text(&mut lines, 9.0, "验证码 Verification code:", false);
    text(&mut lines, 10.0, &seal.code.grouped(), false);
    text(&mut lines, 9.0, "验证 Verify at:", false);
    // The address too long for one line breaks before the code, never inside it.
    match seal.url.rsplit_once('/') {
        Some((base, code)) => {
            text(&mut lines, 9.0, &format!("{base}/"), false);
            text(&mut lines, 9.0, code, false);
        }
        None => text(&mut lines, 9.0, &seal.url, false),
    }
    lines.push(RollLine::Qr(seal.url.clone()));
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
                RollLine::Qr(text) => {
                    let side = ROLL_QR_SIDE;
                    page.qr((width - side) / 2.0, y - side, side, text);
                }
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
