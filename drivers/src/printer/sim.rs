//! The virtual receipt printer: a sans-IO core ([`VirtualPrinter`]) and the same core served on
//! a pty ([`VirtualPrinterPty`]) for tests and `kiosk-sim printer`.
//!
//! It is a peer, not a mock: it decodes the real ESC/POS bytes with the same
//! [`Decoder`] offline analysis uses, answers `DLE EOT` from the same
//! status table the driver decodes, and behaves like a stopped printer when told to (paper out,
//! cover open), so the driver's decisions are tested against the wire, not against our hopes.

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::printer::escpos::decode::{Decoder, Element};
use crate::printer::escpos::status::{PrinterState, StatusRequest};
use crate::printer::raster::{DotImage, Paper};

pub use super::sim_host::{HostConfig, VirtualPrinterHost, VirtualPrinterPty};

/// A condition injected into the virtual printer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SimCondition {
    #[default]
    Ready,
    PaperNearEnd,
    PaperOut,
    CoverOpen,
    /// Powered, answering status with the offline bit set, not printing.
    Offline,
    /// Switched off: receives nothing, answers nothing, prints nothing.
    Off,
}

impl SimCondition {
    pub const ALL: [SimCondition; 6] = [
        SimCondition::Ready,
        SimCondition::PaperNearEnd,
        SimCondition::PaperOut,
        SimCondition::CoverOpen,
        SimCondition::Offline,
        SimCondition::Off,
    ];

    /// The state the printer reports in this condition; `None` when it reports nothing.
    pub const fn state(self) -> Option<PrinterState> {
        match self {
            SimCondition::Ready => Some(PrinterState::Ready),
            SimCondition::PaperNearEnd => Some(PrinterState::PaperNearEnd),
            SimCondition::PaperOut => Some(PrinterState::PaperOut),
            SimCondition::CoverOpen => Some(PrinterState::CoverOpen),
            SimCondition::Offline => Some(PrinterState::Offline),
            SimCondition::Off => None,
        }
    }

    /// Whether paper comes out in this condition. A stopped printer discards what it is sent
    /// rather than printing it later, as real ones do.
    pub const fn prints(self) -> bool {
        matches!(self, SimCondition::Ready | SimCondition::PaperNearEnd)
    }

    /// The word used on the simulator's control channel.
    pub const fn name(self) -> &'static str {
        match self {
            SimCondition::Ready => "ready",
            SimCondition::PaperNearEnd => "near-end",
            SimCondition::PaperOut => "paper-out",
            SimCondition::CoverOpen => "cover-open",
            SimCondition::Offline => "offline",
            SimCondition::Off => "off",
        }
    }
}

impl fmt::Display for SimCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A word that names no [`SimCondition`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown printer state {0:?} (expected ready, near-end, paper-out, cover-open, offline or off)"
)]
pub struct UnknownCondition(pub String);

impl FromStr for SimCondition {
    type Err = UnknownCondition;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SimCondition::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| UnknownCondition(s.to_owned()))
    }
}

/// One receipt as it came out of the printer: everything decoded since the previous cut, the
/// cut included (real-time status traffic excluded, it is not on the paper).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrintedReceipt {
    pub elements: Vec<Element>,
}

impl PrintedReceipt {
    /// The printed text lines, in order.
    pub fn text_lines(&self) -> Vec<&str> {
        self.elements
            .iter()
            .filter_map(|e| match e {
                Element::Text { line, .. } => Some(line.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The paper as it came out of a printer `width_dots` wide: see
    /// [`Paper::print_elements`].
    pub fn paper(&self, width_dots: u32) -> DotImage {
        let mut paper = Paper::new(width_dots);
        paper.print_elements(&self.elements);
        paper.into_image()
    }

    /// The payloads of the printed QR codes, in order.
    pub fn qr_payloads(&self) -> Vec<&str> {
        self.elements
            .iter()
            .filter_map(|e| match e {
                Element::Qr { payload, .. } => Some(payload.as_str()),
                _ => None,
            })
            .collect()
    }
}

/// Elements after which an uncut receipt is torn off anyway, so a peer that never cuts cannot
/// grow the simulator without bound.
pub const MAX_RECEIPT_ELEMENTS: usize = 100_000;

/// Image dots, in bytes, one receipt keeps for drawing its paper (16 MiB, some 230,000 rows of
/// 80 mm paper). Images beyond it keep their size but lose their dots, so a peer streaming
/// images without ever cutting cannot exhaust memory.
pub const MAX_RECEIPT_IMAGE_BYTES: usize = 16 << 20;

/// The printer's behaviour with no I/O: bytes in, reply bytes out, receipts collected.
#[derive(Debug, Clone, Default)]
pub struct VirtualPrinter {
    decoder: Decoder,
    condition: SimCondition,
    auto_status_mask: u8,
    current: Vec<Element>,
    /// Bytes of image dots kept in `current`.
    current_image_bytes: usize,
    completed: VecDeque<PrintedReceipt>,
}

impl VirtualPrinter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn condition(&self) -> SimCondition {
        self.condition
    }

    /// Takes bytes from the host and returns the bytes the printer sends back: one status byte
    /// per `DLE EOT n`, and the four status bytes when `GS a` enables automatic status back.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut reply = Vec::new();
        let Some(state) = self.condition.state() else {
            return reply;
        };
        for element in self.decoder.push(bytes) {
            match element {
                Element::StatusQuery(n) => {
                    if let Some(request) = StatusRequest::from_code(n) {
                        reply.push(state.status_reply(request));
                    }
                }
                Element::AutoStatusBack(mask) => {
                    self.auto_status_mask = mask;
                    // Enabling automatic status back sends the current status right away.
                    if mask != 0 {
                        reply.extend_from_slice(&state.status_replies());
                    }
                }
                printed if self.condition.prints() => self.record(printed),
                _ => {}
            }
        }
        reply
    }

    /// Changes the injected condition; returns what the printer pushes to the host because of
    /// it (the four status bytes, if automatic status back is on and the state changed).
    ///
    /// Leaving [`SimCondition::Off`] is a power-up: the decoder, automatic status back and the
    /// unfinished receipt are reset, as a power cycle clears a real printer's buffers.
    ///
    /// Our pushes reuse the `DLE EOT` byte layout rather than Epson's separate ASB layout; the
    /// driver does not rely on pushes (it discards them before every status query).
    pub fn set_condition(&mut self, condition: SimCondition) -> Vec<u8> {
        let previous = std::mem::replace(&mut self.condition, condition);
        if previous == SimCondition::Off && condition != SimCondition::Off {
            self.decoder = Decoder::new();
            self.auto_status_mask = 0;
            self.current.clear();
            self.current_image_bytes = 0;
        }
        match condition.state() {
            Some(state) if previous != condition && self.auto_status_mask != 0 => {
                state.status_replies().to_vec()
            }
            _ => Vec::new(),
        }
    }

    /// Receipts cut since the last call, oldest first.
    pub fn take_receipts(&mut self) -> Vec<PrintedReceipt> {
        self.completed.drain(..).collect()
    }

    /// Elements printed since the last cut.
    pub fn uncut(&self) -> &[Element] {
        &self.current
    }

    fn record(&mut self, mut element: Element) {
        if let Element::Image { dots, .. } = &mut element {
            let bytes = dots.as_ref().map_or(0, |d| d.packed().len());
            if self.current_image_bytes + bytes > MAX_RECEIPT_IMAGE_BYTES {
                *dots = None;
            } else {
                self.current_image_bytes += bytes;
            }
        }
        let cut = element == Element::Cut;
        self.current.push(element);
        if cut || self.current.len() >= MAX_RECEIPT_ELEMENTS {
            self.current_image_bytes = 0;
            self.completed.push_back(PrintedReceipt {
                elements: std::mem::take(&mut self.current),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::printer::document::ReceiptDocument;
    use crate::printer::escpos::encode::{EscPos, PaperWidth};
    use crate::printer::escpos::status::PrinterStatus;

    fn doc() -> ReceiptDocument {
        ReceiptDocument::new()
            .title("受理回执")
            .row("编号", "A-001")
            .qr("https://example.invalid/a")
            .footer("谢谢")
    }

    fn query_all() -> Vec<u8> {
        let mut q = EscPos::new();
        for r in StatusRequest::ALL {
            q.status_query(r);
        }
        q.into_bytes()
    }

    #[test]
    fn prints_and_cuts_receipts() {
        let mut p = VirtualPrinter::new();
        let bytes = doc().render_native(PaperWidth::Dots384).expect("printable");
        assert!(p.feed(&bytes).is_empty());
        let receipts = p.take_receipts();
        assert_eq!(receipts.len(), 1);
        assert_eq!(
            receipts[0].text_lines(),
            doc().lines(PaperWidth::Dots384).expect("printable")
        );
        assert_eq!(receipts[0].qr_payloads(), vec!["https://example.invalid/a"]);
        assert_eq!(receipts[0].elements.last(), Some(&Element::Cut));
        assert!(p.uncut().is_empty());
    }

    #[test]
    fn image_dots_kept_per_receipt_are_bounded() {
        let mut p = VirtualPrinter::new();
        // 1 MiB images (the decoder's limit): 16 keep their dots, the rest only their size.
        let band = vec![0u8; 1 << 20];
        for _ in 0..20 {
            p.feed(&[0x1D, b'v', b'0', 0, 0x00, 0x04, 0x00, 0x04]);
            p.feed(&band);
        }
        let kept = p
            .uncut()
            .iter()
            .filter(|e| matches!(e, Element::Image { dots: Some(_), .. }))
            .count();
        assert_eq!(p.uncut().len(), 20);
        assert_eq!(kept, 16);
        p.feed(&[0x1D, b'V', 66, 0]);
        let receipt = p.take_receipts().remove(0);
        // The paper is still drawn, outlines standing in for the dropped images.
        assert_eq!(receipt.paper(8192).height(), 20 * 1024);
    }

    #[test]
    fn answers_status_for_every_condition() {
        for condition in SimCondition::ALL {
            let mut p = VirtualPrinter::new();
            p.set_condition(condition);
            let reply = p.feed(&query_all());
            match condition.state() {
                None => assert!(reply.is_empty()),
                Some(state) => {
                    let replies: [u8; 4] = reply.try_into().expect("four replies");
                    assert_eq!(
                        PrinterStatus::from_replies(replies).expect("valid").state,
                        state
                    );
                }
            }
        }
    }

    #[test]
    fn stopped_printer_discards_data_but_answers() {
        let bytes = doc().render_native(PaperWidth::Dots576).expect("printable");
        for condition in [
            SimCondition::PaperOut,
            SimCondition::CoverOpen,
            SimCondition::Offline,
            SimCondition::Off,
        ] {
            let mut p = VirtualPrinter::new();
            p.set_condition(condition);
            p.feed(&bytes);
            assert!(p.take_receipts().is_empty(), "{condition}");
            assert_eq!(
                p.feed(&query_all()).len(),
                if condition == SimCondition::Off { 0 } else { 4 }
            );
            // Back to ready, the discarded receipt does not come out late.
            p.set_condition(SimCondition::Ready);
            assert!(p.take_receipts().is_empty());
            assert!(p.uncut().is_empty());
        }
    }

    #[test]
    fn automatic_status_back_pushes_on_change_only_when_enabled() {
        let mut p = VirtualPrinter::new();
        assert!(p.set_condition(SimCondition::PaperOut).is_empty());
        let pushed = p.feed(&[0x1D, b'a', 0x0F]);
        assert_eq!(pushed, PrinterState::PaperOut.status_replies());
        assert_eq!(
            p.set_condition(SimCondition::CoverOpen),
            PrinterState::CoverOpen.status_replies()
        );
        assert!(
            p.set_condition(SimCondition::CoverOpen).is_empty(),
            "no change, no push"
        );
        assert!(p.feed(&[0x1D, b'a', 0x00]).is_empty());
        assert!(p.set_condition(SimCondition::Ready).is_empty());
    }

    #[test]
    fn power_up_resets_the_printer() {
        let mut p = VirtualPrinter::new();
        p.feed(&[0x1D, b'a', 0x0F]);
        p.feed(b"half a line\n");
        p.set_condition(SimCondition::Off);
        p.set_condition(SimCondition::Ready);
        assert!(p.uncut().is_empty());
        assert!(
            p.set_condition(SimCondition::PaperOut).is_empty(),
            "ASB is off after power-up"
        );
    }

    #[test]
    fn conditions_parse_from_their_names() {
        for c in SimCondition::ALL {
            assert_eq!(c.name().parse::<SimCondition>(), Ok(c));
        }
        assert!("jammed".parse::<SimCondition>().is_err());
    }
}
