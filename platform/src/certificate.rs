//! Certificates a citizen prints at the terminal, generated as small PDF files.

use kiosk_protocol::{ApplicationStatus, Catalog};
use sha2::{Digest, Sha256};

use crate::pdf::{self, Page};

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

/// 办件记录证明 for `name` / `id_number` listing `applications` (matter names from `catalog`).
pub fn application_record(
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
    let mut hash = Sha256::new();
    hash.update(id_number.as_bytes());
    hash.update(issued_at.as_bytes());
    for application in applications {
        hash.update(application.application_no.as_bytes());
        hash.update(application.state.as_str().as_bytes());
    }
    let code = kiosk_protocol::auth::hex_encode(&hash.finalize()[..8]).to_ascii_uppercase();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_numbers_are_masked_on_paper() {
        assert_eq!(mask_id("320706198802020228"), "320706********0228");
        assert_eq!(mask_id("12345"), "*****");
    }
}
