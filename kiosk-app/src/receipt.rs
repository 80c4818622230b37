//! The kiosk's printed documents, composed from what the session decided to print.

use kiosk_drivers::document::ReceiptDocument;
use kiosk_protocol::Language;

use crate::session::ReceiptContent;

/// The application receipt (受理回执): number, matter, masked applicant, time, terminal, and
/// the progress QR code. Printed in the language the citizen used.
pub fn application_receipt(content: &ReceiptContent) -> ReceiptDocument {
    let zh = content.language == Language::Zh;
    let label = |zh_text: &'static str, en_text: &'static str| if zh { zh_text } else { en_text };
    ReceiptDocument::new()
        .title(label("受理回执", "Application Receipt"))
        .footer(label(
            "连云港市政务服务 · 连易办",
            "Lianyungang Government Services · LianYiBan",
        ))
        .rule()
        .row(
            label("受理编号", "Application no."),
            content.application_no.clone(),
        )
        .paragraph(format!(
            "{}{}",
            label("办理事项：", "Service: "),
            content.matter_name.get(content.language)
        ))
        .row(
            label("申请人", "Applicant"),
            content.applicant_masked.clone(),
        )
        .row(
            label("证件号码", "ID number"),
            content.id_number_masked.clone(),
        )
        .row(
            label("受理时间", "Accepted at"),
            display_time(&content.accepted_at),
        )
        .row(
            label("办理时限", "Time limit"),
            content.time_limit.get(content.language).to_owned(),
        )
        .row(label("终端编号", "Terminal"), content.terminal_id.clone())
        .rule()
        .qr(content.progress_url.clone())
        .footer(label("扫码查询办理进度", "Scan to follow the progress"))
        .paragraph(label(
            "请妥善保管本回执。咨询投诉请拨打12345。",
            "Please keep this receipt. Enquiries and complaints: 12345.",
        ))
        .feed(2)
}

fn display_time(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..19)) {
        (Some(date), Some(time)) => format!("{date} {time}"),
        _ => rfc3339.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiosk_drivers::escpos::PaperWidth;
    use kiosk_protocol::LocalizedText;

    fn content(language: Language) -> ReceiptContent {
        ReceiptContent {
            application_no: "LY20261122000001".into(),
            matter_name: LocalizedText::new(
                "城乡居民养老保险参保登记",
                "Urban and rural residents' pension enrolment",
            ),
            applicant_masked: "张*".into(),
            id_number_masked: "3207**********1234".into(),
            accepted_at: "2026-11-22T14:52:56+08:00".into(),
            terminal_id: "LYG-HZ-0001".into(),
            progress_url: "http://127.0.0.1:8080/progress/LY20261122000001".into(),
            time_limit: LocalizedText::new("即办", "On the spot"),
            language,
        }
    }

    #[test]
    fn the_receipt_says_what_a_citizen_needs_and_nothing_unmasked() {
        let lines = application_receipt(&content(Language::Zh))
            .lines(PaperWidth::Dots576)
            .expect("lays out");
        let text = lines.join("\n");
        for needle in [
            "受理回执",
            "LY20261122000001",
            "城乡居民养老保险参保登记",
            "张*",
            "3207**********1234",
            "2026-11-22 14:52:56",
            "LYG-HZ-0001",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
        let en = application_receipt(&content(Language::En))
            .lines(PaperWidth::Dots384)
            .expect("lays out")
            // The double-size title wraps on 58 mm paper; words, not lines, are what count.
            .join(" ");
        assert!(en.contains("Application Receipt"), "{en}");
    }
}
