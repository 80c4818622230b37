//! The kiosk's printed documents, composed from what the session decided to print.
//!
//! Three documents leave the printer: the application receipt (受理回执), the queue ticket
//! (取号单) and the technicians' test page. Each is a [`ReceiptDocument`]; the printer
//! configuration decides whether it goes as text commands or as one image.

use kiosk_drivers::printer::document::{PrintRoute, ReceiptDocument};
use kiosk_drivers::printer::escpos::PaperWidth;
use kiosk_protocol::Language;

use crate::session::{QueueTicket, ReceiptContent};

/// The application receipt (受理回执): number, matter, masked applicant, time, terminal, the
/// form's answers under the matter (the session passes them in words with bank card, ID and
/// phone numbers masked to their last 4, since a receipt is left on counters; each wraps to
/// the paper), and the progress QR code with the progress code (查询码) printed under the
/// number. Printed in the language the citizen used.
pub fn application_receipt(content: &ReceiptContent) -> ReceiptDocument {
    let zh = content.language == Language::Zh;
    let label = |zh_text: &'static str, en_text: &'static str| if zh { zh_text } else { en_text };
    let document = ReceiptDocument::new()
        .title(label("受理回执", "Application Receipt"))
        .footer(label(
            "连云港市政务服务 · 连易办",
            "Lianyungang Government Services · LianYiBan",
        ))
        .rule()
        .row(
            if content.kept {
                label("终端参考号", "Reference no.")
            } else {
                label("受理编号", "Application no.")
            },
            content.application_no.clone(),
        );
    // The code goes right under the number it unlocks: a citizen reads both off the paper
    // into the progress page, or a phone opens the QR code, which carries both.
    let document = if content.kept || content.progress_code.is_empty() {
        document
    } else {
        document.row(
            label("查询码", "Progress code"),
            content.progress_code.clone(),
        )
    };
    let document = document
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
        .rule();
    let separator = label("：", ": ");
    let answered = !content.answers.is_empty();
    let document = content.answers.iter().fold(document, |document, line| {
        document.paragraph(format!(
            "{}{separator}{}",
            line.label.get(content.language),
            line.value.get(content.language)
        ))
    });
    let document = if answered { document.rule() } else { document };
    let document = if content.kept {
        // No platform number yet, so no progress link: the citizen follows the application by
        // ID card under 办件查询 at any terminal, or by the reference on the phone line.
        document.paragraph(label(
            "申请已保存在本终端，网络恢复后自动提交，无需重新办理。可凭身份证在“办件查询”中查看进度。",
            "Your application is saved on this terminal and will be sent automatically when the network is back; you need not apply again. Follow it with your ID card under Track applications.",
        ))
    } else {
        document
            .qr(content.progress_url.clone())
            .footer(label("扫码查询办理进度", "Scan to follow the progress"))
    };
    document
        .paragraph(label(
            "请妥善保管本回执。咨询投诉请拨打12345。",
            "Please keep this receipt. Enquiries and complaints: 12345.",
        ))
        .feed(2)
}

/// The queue ticket (取号单): the number large enough to compare with the hall's display from
/// a seat, then the matter, the window, how many are ahead, the time and the terminal. It holds
/// no personal data: tickets are left on chairs.
pub fn queue_ticket(ticket: &QueueTicket) -> ReceiptDocument {
    let zh = ticket.language == Language::Zh;
    let label = |zh_text: &'static str, en_text: &'static str| if zh { zh_text } else { en_text };
    ReceiptDocument::new()
        .title(label("取号单", "Queue Ticket"))
        .footer(label(
            "连云港市政务服务 · 连易办",
            "Lianyungang Government Services · LianYiBan",
        ))
        .rule()
        .big_number(ticket.number.clone())
        .rule()
        .paragraph(format!(
            "{}{}",
            label("办理事项：", "Service: "),
            ticket.matter_name.get(ticket.language)
        ))
        .row(label("办理窗口", "Window"), ticket.window.clone())
        .row(
            label("前面等候", "People ahead"),
            if zh {
                format!("{} 人", ticket.people_ahead)
            } else {
                ticket.people_ahead.to_string()
            },
        )
        .row(
            label("取号时间", "Issued at"),
            display_time(&ticket.issued_at),
        )
        .row(label("终端编号", "Terminal"), ticket.terminal_id.clone())
        .rule()
        .paragraph(label(
            "请留意叫号屏幕和语音提示，过号请重新取号。",
            "Please watch the display for your number; a missed number needs a new ticket.",
        ))
        .feed(2)
}

/// What the test page reports about the terminal and its printer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestPageInfo {
    /// Terminal id (or the host name on a bench).
    pub terminal_id: String,
    /// The kiosk software's version.
    pub software_version: String,
    /// How the printer is reached, e.g. `/dev/usb/lp0`, `tcp 192.0.2.7:9100`.
    pub connection: String,
    /// Paper width in use.
    pub paper: PaperWidth,
    /// Route in use.
    pub route: PrintRoute,
    /// When the page was printed (RFC 3339).
    pub printed_at: String,
}

/// The test page a technician prints after fitting a printer or a paper roll: what is
/// configured, a QR code to try with a phone, Chinese and ASCII text in every style, and a
/// ruler across the whole print width (any white gap in it is a dead heating dot).
pub fn test_page(info: &TestPageInfo) -> ReceiptDocument {
    ReceiptDocument::new()
        .title("打印机测试页")
        .footer("Printer test page")
        .rule()
        .row("终端 Terminal", info.terminal_id.clone())
        .row("软件 Software", info.software_version.clone())
        .row("连接 Link", info.connection.clone())
        .row(
            "纸宽 Paper",
            format!(
                "{} dots / {} mm",
                info.paper.dots(),
                if info.paper == PaperWidth::Dots384 {
                    58
                } else {
                    80
                }
            ),
        )
        .row("方式 Route", info.route.name())
        .row("时间 Time", display_time(&info.printed_at))
        .rule()
        .paragraph("中文：连云港市政务服务 连易办 一网通办。")
        .paragraph("ASCII: 0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz")
        .big_number("A015")
        .qr(format!("LYB-TEST {} {}", info.terminal_id, info.printed_at))
        .footer("扫码应显示终端编号 · The QR code reads the terminal id")
        .ruler()
        .feed(1)
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
    use crate::session::AnswerLine;
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
            progress_url: "http://127.0.0.1:8080/progress/LY20261122000001?c=7KQ2M9XD".into(),
            progress_code: "7KQ2M9XD".into(),
            time_limit: LocalizedText::new("即办", "On the spot"),
            language,
            kept: false,
            answers: vec![AnswerLine {
                field: "level".into(),
                label: LocalizedText::new("缴费档次", "Contribution level"),
                value: LocalizedText::new("每年500元", "500 yuan a year"),
            }],
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
            "查询码",
            "7KQ2M9XD",
            "城乡居民养老保险参保登记",
            "张*",
            "3207**********1234",
            "2026-11-22 14:52:56",
            "LYG-HZ-0001",
            "缴费档次：每年500元",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
        let en = application_receipt(&content(Language::En))
            .lines(PaperWidth::Dots576)
            .expect("lays out")
            .join("\n");
        assert!(
            en.contains("Application Receipt")
                && en.contains("3207**********1234")
                && en.contains("Contribution level: 500 yuan a year"),
            "{en}"
        );
        // On 58 mm paper the double-size title wraps rather than being cut off.
        let narrow = application_receipt(&content(Language::En))
            .lines(PaperWidth::Dots384)
            .expect("lays out");
        assert_eq!(&narrow[..2], ["Application", "Receipt"]);
    }

    #[test]
    fn a_long_answer_wraps_to_the_paper_and_loses_nothing() {
        let address = "海州区新浦街道朝阳东路88号幸福家园小区12幢3单元502室";
        let mut receipt = content(Language::Zh);
        receipt.answers.push(AnswerLine {
            field: "mail_to".into(),
            label: LocalizedText::new("邮寄地址", "Mailing address"),
            value: LocalizedText::new(address, address),
        });
        let lines = application_receipt(&receipt)
            .lines(PaperWidth::Dots384)
            .expect("lays out");
        let start = (lines.iter().position(|l| l.starts_with("邮寄地址")))
            .unwrap_or_else(|| panic!("no address in {lines:?}"));
        assert!(!lines[start].contains(address), "not wrapped: {lines:?}");
        assert!(lines[start..].concat().contains(address), "{lines:?}");
    }

    #[test]
    fn the_ticket_shows_its_number_big_and_no_personal_data() {
        let ticket = QueueTicket {
            number: "A015".into(),
            matter_name: LocalizedText::new("不动产登记", "Real estate registration"),
            window: "B区 12号窗口".into(),
            people_ahead: 3,
            issued_at: "2026-11-22T09:05:00+08:00".into(),
            terminal_id: "LYG-HZ-0001".into(),
            language: Language::Zh,
        };
        let doc = queue_ticket(&ticket);
        assert!(
            doc.elements
                .contains(&kiosk_drivers::printer::document::DocElement::BigNumber(
                    "A015".into()
                ))
        );
        let text = doc.lines(PaperWidth::Dots384).expect("lays out").join("\n");
        for needle in [
            "取号单",
            "不动产登记",
            "B区 12号窗口",
            "3 人",
            "2026-11-22 09:05:00",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
    }

    #[test]
    fn the_test_page_fits_every_paper() {
        for paper in [
            PaperWidth::Dots384,
            PaperWidth::Dots512,
            PaperWidth::Dots576,
        ] {
            let info = TestPageInfo {
                terminal_id: "LYG-HZ-0001".into(),
                software_version: "0.1.0".into(),
                connection: "/dev/usb/lp0".into(),
                paper,
                route: PrintRoute::Raster,
                printed_at: "2026-11-22T09:05:00+08:00".into(),
            };
            let doc = test_page(&info);
            doc.render_native(paper).expect("native");
            let image = doc.render_image(paper).expect("raster");
            assert_eq!(image.width(), u32::from(paper.dots()));
        }
    }
}
