//! [`Paper`]: a receipt drawn top to bottom, the way a printer feeds it out.
//!
//! Both the raster print route (a document becomes one image) and the virtual printer (decoded
//! ESC/POS becomes a picture of the paper) draw through this one type, with the same font grid,
//! line pitch and QR geometry. So a receipt sent as native text and the same receipt sent as a
//! raster image come out of the virtual printer as the same picture — which is what a real
//! printer with a Chinese font would do, and what the tests check.

use qrcodegen::{QrCode, QrCodeEcc, QrSegment, Version};

use super::DotImage;
use super::font::{self, LINE_GAP, LINE_PITCH, TextStyle};
use crate::printer::escpos::decode::Element;
use crate::printer::escpos::encode::{Align, EcLevel};

/// Longest paper drawn for one receipt, in dots: about 12 m at 203 dpi. A peer that never cuts
/// must not make the virtual printer allocate without bound; what lies beyond is not drawn
/// (see [`Paper::truncated`]).
pub const MAX_PAPER_DOTS: u32 = 100_000;

/// A strip of paper being printed, as wide as the print head.
#[derive(Debug, Clone)]
pub struct Paper {
    image: DotImage,
    /// Where the next line starts.
    y: u32,
    truncated: bool,
}

impl Paper {
    /// Blank paper `width` dots wide (384, 512, 576, or whatever a capture needs).
    pub fn new(width: u32) -> Paper {
        Paper {
            image: DotImage::new(width, 0),
            y: 0,
            truncated: false,
        }
    }

    pub fn width(&self) -> u32 {
        self.image.width()
    }

    /// How far the paper has been fed, in dots.
    pub fn fed(&self) -> u32 {
        self.y
    }

    /// Whether something was not drawn because the paper exceeded [`MAX_PAPER_DOTS`].
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// Reserves `dots` of paper below the current position and returns where they start, or
    /// `None` when that would exceed the limit.
    fn advance(&mut self, dots: u32) -> Option<u32> {
        let start = self.y;
        let end = start.checked_add(dots).filter(|e| *e <= MAX_PAPER_DOTS);
        let Some(end) = end else {
            self.truncated = true;
            return None;
        };
        if end > self.image.height() {
            self.image.set_height(end);
        }
        self.y = end;
        Some(start)
    }

    fn x_for(&self, width: u32, align: Align) -> i64 {
        let room = i64::from(self.width()) - i64::from(width);
        match align {
            Align::Left => 0,
            Align::Center => room.max(0) / 2,
            Align::Right => room.max(0),
        }
    }

    /// One line of text (an empty one is a blank line), then the line gap.
    pub fn text_line(&mut self, text: &str, style: TextStyle, align: Align) {
        let Some(top) = self.advance(style.line_dots() + LINE_GAP) else {
            return;
        };
        let x = self.x_for(font::text_dots(text, style), align);
        font::draw_text(&mut self.image, x, i64::from(top), text, style);
    }

    /// Feeds `lines` blank lines (`ESC d n`).
    pub fn feed_lines(&mut self, lines: u8) {
        self.advance(u32::from(lines) * LINE_PITCH);
    }

    /// Feeds `dots` of blank paper.
    pub fn feed_dots(&mut self, dots: u32) {
        self.advance(dots);
    }

    /// Draws a QR code of `payload` with modules `module` dots square, as a printer does for
    /// `GS ( k`: the smallest version that holds the data at `ec`, no quiet zone of its own.
    /// Returns false (and draws nothing) when no QR code can hold the payload.
    pub fn qr(&mut self, payload: &str, module: u8, ec: EcLevel, align: Align) -> bool {
        let Some(code) = qr_code(payload, ec) else {
            return false;
        };
        let module = u32::from(module.max(1));
        let modules = code.size().unsigned_abs();
        let side = modules * module;
        let Some(top) = self.advance(side) else {
            return true;
        };
        let left = self.x_for(side, align);
        let module_i = i64::from(module);
        for my in 0..code.size() {
            for mx in 0..code.size() {
                if code.get_module(mx, my) {
                    self.image.fill(
                        left + i64::from(mx) * module_i,
                        i64::from(top) + i64::from(my) * module_i,
                        module_i,
                        module_i,
                    );
                }
            }
        }
        true
    }

    /// Prints a bit image (a raster band, a logo) at the current position.
    pub fn image(&mut self, image: &DotImage, align: Align) {
        let Some(top) = self.advance(image.height()) else {
            return;
        };
        let x = self.x_for(image.width(), align);
        self.image.overlay(image, x, i64::from(top));
    }

    /// An outlined box where an image was printed whose dots are unknown (data dropped or not
    /// kept); the paper still shows how much space it took.
    pub fn placeholder(&mut self, width: u32, height: u32, align: Align) {
        let Some(top) = self.advance(height) else {
            return;
        };
        let x = self.x_for(width, align);
        let (top, w, h) = (i64::from(top), i64::from(width), i64::from(height));
        self.image.fill(x, top, w, 1);
        self.image.fill(x, top + h - 1, w, 1);
        self.image.fill(x, top, 1, h);
        self.image.fill(x + w - 1, top, 1, h);
    }

    /// Prints decoded elements the way the printer would: text lines in the grid font at their
    /// size, emphasis and justification, QR codes from their payloads, images from their dots
    /// (an outline where the dots were not kept), feeds as blank paper. Stops at a cut: one
    /// piece of paper is one receipt.
    pub fn print_elements<'a>(&mut self, elements: impl IntoIterator<Item = &'a Element>) {
        for element in elements {
            match element {
                Element::Text {
                    line,
                    bold,
                    align,
                    width,
                    height,
                } => {
                    let style = TextStyle {
                        bold: *bold,
                        width: *width,
                        height: *height,
                    };
                    self.text_line(line, style, *align);
                }
                Element::Qr {
                    payload,
                    module_size,
                    ec,
                    align,
                } => {
                    self.qr(payload, *module_size, *ec, *align);
                }
                Element::Image {
                    width_dots,
                    height_dots,
                    align,
                    dots,
                } => match dots {
                    Some(dots) => self.image(dots, *align),
                    None => self.placeholder(*width_dots, *height_dots, *align),
                },
                Element::Feed(n) => self.feed_lines(*n),
                Element::FeedDots(n) => self.feed_dots(u32::from(*n)),
                Element::Cut => return,
                Element::Init
                | Element::StatusQuery(_)
                | Element::AutoStatusBack(_)
                | Element::Ignored { .. }
                | Element::Unknown { .. } => {}
            }
        }
    }

    /// The printed paper, as long as it was fed.
    pub fn into_image(mut self) -> DotImage {
        self.image.set_height(self.y);
        self.image
    }
}

/// The symbol a printer would print for `payload`: automatic mode selection (numeric,
/// alphanumeric or bytes), smallest version, the requested level without boosting it.
pub fn qr_code(payload: &str, ec: EcLevel) -> Option<QrCode> {
    if payload.is_empty() {
        return None;
    }
    let segments = QrSegment::make_segments(payload);
    let ecl = match ec {
        EcLevel::L => QrCodeEcc::Low,
        EcLevel::M => QrCodeEcc::Medium,
        EcLevel::Q => QrCodeEcc::Quartile,
        EcLevel::H => QrCodeEcc::High,
    };
    QrCode::encode_segments_advanced(&segments, ecl, Version::MIN, Version::MAX, None, false).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_advance_by_the_printer_pitch() {
        let mut paper = Paper::new(384);
        paper.text_line("受理回执", TextStyle::PLAIN, Align::Center);
        assert_eq!(paper.fed(), 30);
        paper.text_line(
            "",
            TextStyle {
                bold: true,
                width: 2,
                height: 2,
            },
            Align::Left,
        );
        assert_eq!(paper.fed(), 30 + 54);
        paper.feed_lines(2);
        assert_eq!(paper.fed(), 144);
        let image = paper.into_image();
        assert_eq!((image.width(), image.height()), (384, 144));
        // Centred: 4 characters = 96 dots, so nothing in the first 144 columns.
        for x in 0..140 {
            for y in 0..30 {
                assert!(!image.get(x, y));
            }
        }
    }

    #[test]
    fn qr_modules_are_square_blocks() {
        let mut paper = Paper::new(576);
        assert!(paper.qr("https://zwfw.lyg.gov.cn/q/1", 6, EcLevel::M, Align::Center));
        let code = qr_code("https://zwfw.lyg.gov.cn/q/1", EcLevel::M).expect("fits");
        let side = code.size() as u32 * 6;
        assert_eq!(paper.fed(), side);
        let image = paper.into_image();
        let left = (576 - side) / 2;
        // The finder pattern's top-left module is dark, the one after the separator light.
        assert!(image.get(left, 0) && image.get(left + 5, 5));
        assert!(!image.get(left + 7 * 6, 0));
        assert!(!Paper::new(576).qr("", 3, EcLevel::L, Align::Left));
    }

    #[test]
    fn native_and_raster_receipts_make_the_same_paper() {
        use crate::printer::document::ReceiptDocument;
        use crate::printer::escpos::decode::Decoder;
        use crate::printer::escpos::encode::PaperWidth;
        let doc = ReceiptDocument::new()
            .title("受理回执")
            .row("受理编号", "LY-0001")
            .paragraph("请妥善保管本回执。Keep this receipt.")
            .qr("https://zwfw.lyg.gov.cn/p/LY-0001")
            .footer("12345");
        for width in [PaperWidth::Dots384, PaperWidth::Dots576] {
            let papers: Vec<DotImage> = [doc.render_native(width), doc.render_raster(width)]
                .into_iter()
                .map(|bytes| {
                    let elements = Decoder::new().push(&bytes.expect("printable"));
                    let mut paper = Paper::new(u32::from(width.dots()));
                    paper.print_elements(&elements);
                    paper.into_image()
                })
                .collect();
            assert_eq!(papers[0].height(), papers[1].height());
            assert_eq!(papers[0].differing_dots(&papers[1]), 0, "{width:?}");
            assert!(papers[0].ink_dots() > 1000);
        }
    }

    #[test]
    fn endless_paper_is_cut_short() {
        let mut paper = Paper::new(8);
        for _ in 0..(MAX_PAPER_DOTS / LINE_PITCH + 10) {
            paper.feed_lines(1);
        }
        assert!(paper.truncated());
        assert!(paper.fed() <= MAX_PAPER_DOTS);
    }
}
