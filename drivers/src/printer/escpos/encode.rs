//! Sans-IO ESC/POS encoder: a builder that appends commands to a byte buffer.
//!
//! Only commands every ESC/POS printer we field understands are offered. Text outside ASCII is
//! sent as GB18030 inside Chinese double-byte mode (`FS &` … `FS .`), which is what Chinese
//! printers expect; ASCII text is sent as-is so it also prints on printers without a Chinese
//! font.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::ascii::{DLE, EOT, ESC, FS, GS, LF};
use super::qr_fn;
use super::status::StatusRequest;
use crate::printer::raster::DotImage;

/// Horizontal justification of a line (`ESC a n`).
///
/// Printers apply it to whole lines, so it is only meaningful at the start of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Align {
    #[default]
    Left,
    Center,
    Right,
}

impl Align {
    /// The `n` of `ESC a n`.
    pub const fn code(self) -> u8 {
        match self {
            Align::Left => 0,
            Align::Center => 1,
            Align::Right => 2,
        }
    }

    /// Reads the `n` of `ESC a n`; printers accept both the binary (0–2) and the ASCII digit
    /// (48–50) forms, and other libraries send either.
    pub const fn from_code(n: u8) -> Option<Align> {
        match n {
            0 | 48 => Some(Align::Left),
            1 | 49 => Some(Align::Center),
            2 | 50 => Some(Align::Right),
            _ => None,
        }
    }
}

/// QR Code error-correction level (`GS ( k` function 69, `n` = 48–51).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum EcLevel {
    /// About 7 % of the symbol can be restored; the printers' power-on default.
    #[default]
    L,
    /// About 15 %; what receipts use, since thermal paper smudges.
    M,
    /// About 25 %.
    Q,
    /// About 30 %.
    H,
}

impl EcLevel {
    /// The `n` of `GS ( k` function 69.
    pub const fn code(self) -> u8 {
        match self {
            EcLevel::L => 48,
            EcLevel::M => 49,
            EcLevel::Q => 50,
            EcLevel::H => 51,
        }
    }

    /// Reads the `n` of `GS ( k` function 69.
    pub const fn from_code(n: u8) -> Option<EcLevel> {
        match n {
            48 => Some(EcLevel::L),
            49 => Some(EcLevel::M),
            50 => Some(EcLevel::Q),
            51 => Some(EcLevel::H),
            _ => None,
        }
    }

    /// Largest payload, in bytes, that a model 2 symbol (version 40) holds at this level when
    /// the data is arbitrary bytes. We store UTF-8, so this — not the larger numeric-mode
    /// figure — is the limit that matters.
    pub const fn max_payload_bytes(self) -> usize {
        match self {
            EcLevel::L => 2953,
            EcLevel::M => 2331,
            EcLevel::Q => 1663,
            EcLevel::H => 1273,
        }
    }
}

/// Printable width of the paper roll, in dots.
///
/// 58 mm rolls give 384 dots and 80 mm rolls 576 dots at 203 dpi; Epson TM-T88-class printers
/// print 512 dots at 180 dpi on 80 mm paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PaperWidth {
    Dots384,
    Dots512,
    Dots576,
}

impl PaperWidth {
    /// Width of font A's single-byte glyph; a CJK glyph is twice as wide.
    pub const FONT_A_DOTS: u16 = 12;

    /// Printable dots per line.
    pub const fn dots(self) -> u16 {
        match self {
            PaperWidth::Dots384 => 384,
            PaperWidth::Dots512 => 512,
            PaperWidth::Dots576 => 576,
        }
    }

    /// Characters per line in font A at normal size: 32, 42 or 48. A CJK character takes two
    /// of these columns.
    pub const fn columns(self) -> usize {
        (self.dots() / Self::FONT_A_DOTS) as usize
    }
}

/// How many font-A columns `text` takes once printed by [`EscPos::text`].
///
/// Printable ASCII is single-byte and single-width; everything else is sent as a GB18030
/// character in Chinese mode, where the printer draws every multi-byte character as one
/// double-width glyph — so any non-ASCII character counts two, not only the CJK ideographs.
pub fn text_columns(text: &str) -> usize {
    text.chars().map(char_columns).sum()
}

/// Columns of one character; see [`text_columns`].
pub(crate) fn char_columns(c: char) -> usize {
    if c.is_ascii() { 1 } else { 2 }
}

/// Errors of commands whose arguments the printer cannot accept.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    #[error("the QR payload is empty")]
    QrEmpty,
    #[error(
        "the QR payload is {len} bytes; a QR code at this error-correction level holds at most {max}"
    )]
    QrTooLong { len: usize, max: usize },
    #[error("QR module size {0} is outside the printer's range 1–16 dots")]
    QrModuleSize(u8),
    #[error("a raster image {0} bytes wide is wider than GS v 0 can describe")]
    RasterTooWide(usize),
}

/// Rows per `GS v 0` command when an image is sent in bands.
///
/// Printers buffer a whole raster command before printing it, and the cheap ones have small
/// buffers: 128 rows of an 80 mm line (72 bytes) is 9 KiB, which every printer we field takes,
/// while the 8-byte header per band costs nothing worth measuring.
pub const RASTER_BAND_ROWS: u32 = 128;

/// Blank rows that [`EscPos::raster_compact`] sends as a paper feed (3 bytes) instead of as
/// image data (a row of an 80 mm line is 72 bytes, plus a new band's 8-byte header).
pub const BLANK_RUN_ROWS: u32 = 2;

/// Builder of an ESC/POS byte stream.
///
/// Methods append one command each and return `&mut Self` so a receipt reads top to bottom.
/// The builder never talks to a device; send [`EscPos::bytes`] over any transport.
#[derive(Debug, Clone, Default)]
pub struct EscPos {
    buf: Vec<u8>,
}

impl EscPos {
    pub fn new() -> Self {
        Self::default()
    }

    /// The bytes built so far.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// `ESC @`: back to power-on settings, so a receipt never inherits the previous one's bold,
    /// size or alignment.
    pub fn init(&mut self) -> &mut Self {
        self.buf.extend_from_slice(&[ESC, b'@']);
        self
    }

    /// Appends text to the current line (it prints at the next [`line_feed`](Self::line_feed)
    /// or [`feed`](Self::feed)).
    ///
    /// Control characters, line breaks included, become spaces: text often comes from citizens
    /// or the platform, and a stray ESC or GS in it must never turn into a printer command.
    /// Non-ASCII text is wrapped in `FS &` … `FS .` and encoded as GB18030, whose multi-byte
    /// sequences never contain a byte below 0x30, so they cannot be mistaken for commands.
    pub fn text(&mut self, text: &str) -> &mut Self {
        let clean: std::borrow::Cow<'_, str> = if text.chars().any(char::is_control) {
            text.chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect::<String>()
                .into()
        } else {
            text.into()
        };
        if clean.is_ascii() {
            self.buf.extend_from_slice(clean.as_bytes());
        } else {
            // GB18030 maps every Unicode scalar value, so this encoding cannot be lossy.
            let (bytes, _, _) = encoding_rs::GB18030.encode(&clean);
            self.buf.extend_from_slice(&[FS, b'&']);
            self.buf.extend_from_slice(&bytes);
            self.buf.extend_from_slice(&[FS, b'.']);
        }
        self
    }

    /// `ESC E n`: emphasised (bold) printing on or off.
    pub fn bold(&mut self, on: bool) -> &mut Self {
        self.buf.extend_from_slice(&[ESC, b'E', u8::from(on)]);
        self
    }

    /// `ESC a n`: justification of the lines that start after this command.
    pub fn align(&mut self, align: Align) -> &mut Self {
        self.buf.extend_from_slice(&[ESC, b'a', align.code()]);
        self
    }

    /// `GS ! n`: character magnification, 1–8 times in each direction.
    ///
    /// Values outside 1–8 are clamped: the command has no way to express them and a slightly
    /// different size is better than a refused receipt.
    pub fn size(&mut self, width_mul: u8, height_mul: u8) -> &mut Self {
        let w = width_mul.clamp(1, 8) - 1;
        let h = height_mul.clamp(1, 8) - 1;
        self.buf.extend_from_slice(&[GS, b'!', (w << 4) | h]);
        self
    }

    /// `LF`: prints the current line and moves to the next.
    pub fn line_feed(&mut self) -> &mut Self {
        self.buf.push(LF);
        self
    }

    /// `ESC d n`: prints the current line and feeds `lines` more lines.
    pub fn feed(&mut self, lines: u8) -> &mut Self {
        self.buf.extend_from_slice(&[ESC, b'd', lines]);
        self
    }

    /// `GS V 66 0`: feeds the paper up to the cutter, then cuts partially.
    ///
    /// Function B (66) is chosen over `GS V 0`/`GS V 1` because those cut where the paper
    /// stands: the print head sits 10–20 mm before the blade, so the last lines would still be
    /// inside the printer and end up on the next receipt. A partial cut leaves a small hinge,
    /// so the receipt hangs in the kiosk's slot until the citizen takes it instead of falling
    /// inside the cabinet.
    pub fn cut(&mut self) -> &mut Self {
        self.buf.extend_from_slice(&[GS, b'V', 66, 0]);
        self
    }

    /// Prints `payload` as a model 2 QR code via `GS ( k`: select model, module size, error
    /// level, store the data, print it.
    ///
    /// `module_size` is the width of one module in dots (1–16). The payload is stored as its
    /// UTF-8 bytes; it is rejected, with nothing appended, when empty or longer than a QR code
    /// at `ec` can hold — a printer would otherwise silently print nothing.
    pub fn qr(
        &mut self,
        payload: &str,
        module_size: u8,
        ec: EcLevel,
    ) -> Result<&mut Self, EncodeError> {
        let data = payload.as_bytes();
        if data.is_empty() {
            return Err(EncodeError::QrEmpty);
        }
        if data.len() > ec.max_payload_bytes() {
            return Err(EncodeError::QrTooLong {
                len: data.len(),
                max: ec.max_payload_bytes(),
            });
        }
        if !(1..=16).contains(&module_size) {
            return Err(EncodeError::QrModuleSize(module_size));
        }
        self.qr_function(qr_fn::SELECT_MODEL, &[qr_fn::MODEL_2, 0]);
        self.qr_function(qr_fn::MODULE_SIZE, &[module_size]);
        self.qr_function(qr_fn::ERROR_LEVEL, &[ec.code()]);
        // Store: `m` = 48, then the data.
        let mut store = Vec::with_capacity(data.len() + 1);
        store.push(48);
        store.extend_from_slice(data);
        self.qr_function(qr_fn::STORE, &store);
        self.qr_function(qr_fn::PRINT, &[48]);
        Ok(self)
    }

    /// One `GS ( k pL pH cn fn params` command; `pL pH` count `cn`, `fn` and the parameters.
    fn qr_function(&mut self, function: u8, params: &[u8]) {
        // The callers bound `params` to 7090 bytes, so the length always fits in 16 bits.
        let len = u16::try_from(params.len() + 2).unwrap_or(u16::MAX);
        let [pl, ph] = len.to_le_bytes();
        self.buf
            .extend_from_slice(&[GS, b'(', b'k', pl, ph, qr_fn::CN_QR, function]);
        self.buf.extend_from_slice(params);
    }

    /// Prints `image` with `GS v 0` (normal density), in bands of [`RASTER_BAND_ROWS`] rows.
    ///
    /// The image is printed at the current justification; its width is rounded up to whole
    /// bytes, as the command requires.
    pub fn raster(&mut self, image: &DotImage) -> Result<&mut Self, EncodeError> {
        let width_bytes = image.width_bytes();
        let x = u16::try_from(width_bytes).map_err(|_| EncodeError::RasterTooWide(width_bytes))?;
        let mut top = 0;
        while top < image.height() {
            let rows = RASTER_BAND_ROWS.min(image.height() - top);
            let [xl, xh] = x.to_le_bytes();
            // `rows` is at most RASTER_BAND_ROWS, far below u16::MAX.
            let [yl, yh] = u16::try_from(rows).unwrap_or(u16::MAX).to_le_bytes();
            self.buf
                .extend_from_slice(&[GS, b'v', b'0', 0, xl, xh, yl, yh]);
            self.buf
                .extend_from_slice(image.packed_rows(top, top + rows));
            top += rows;
        }
        Ok(self)
    }

    /// Prints `image` like [`raster`](Self::raster), sending less: runs of at least
    /// [`BLANK_RUN_ROWS`] blank rows become `ESC J` paper feeds, and each band is only as wide
    /// as its rightmost ink. For images printed at the left margin (left justification, as a
    /// whole receipt drawn as one image is) the paper comes out the same.
    pub fn raster_compact(&mut self, image: &DotImage) -> Result<&mut Self, EncodeError> {
        let width_bytes = image.width_bytes();
        u16::try_from(width_bytes).map_err(|_| EncodeError::RasterTooWide(width_bytes))?;
        let blank = |y: u32| image.packed_rows(y, y + 1).iter().all(|b| *b == 0);
        let mut y = 0;
        while y < image.height() {
            let run = (y..image.height()).take_while(|r| blank(*r)).count() as u32;
            if run >= BLANK_RUN_ROWS {
                let mut rest = run;
                while rest > 0 {
                    let step = rest.min(255);
                    // `step` is at most 255.
                    self.buf.extend_from_slice(&[ESC, b'J', step as u8]);
                    rest -= step;
                }
                y += run;
                continue;
            }
            // A band: up to RASTER_BAND_ROWS rows, ending early where a long blank run starts.
            let mut end = y;
            while end < image.height() && end - y < RASTER_BAND_ROWS {
                let run = (end..image.height()).take_while(|r| blank(*r)).count() as u32;
                if run >= BLANK_RUN_ROWS {
                    break;
                }
                end += run.max(1);
            }
            let end = end.min(y + RASTER_BAND_ROWS).min(image.height());
            let rows = image.packed_rows(y, end);
            let used = rows
                .chunks(width_bytes.max(1))
                .map(|row| row.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1))
                .max()
                .unwrap_or(0)
                .max(1);
            let [xl, xh] = u16::try_from(used).unwrap_or(u16::MAX).to_le_bytes();
            let [yl, yh] = u16::try_from(end - y).unwrap_or(u16::MAX).to_le_bytes();
            self.buf
                .extend_from_slice(&[GS, b'v', b'0', 0, xl, xh, yl, yh]);
            for row in rows.chunks(width_bytes.max(1)) {
                self.buf.extend_from_slice(&row[..used]);
            }
            y = end;
        }
        Ok(self)
    }

    /// `DLE EOT n`: asks for one real-time status byte. Printers answer it even while stopped
    /// (paper out, cover open), which is why the driver relies on it.
    pub fn status_query(&mut self, request: StatusRequest) -> &mut Self {
        self.buf.extend_from_slice(&[DLE, EOT, request.code()]);
        self
    }

    /// `GS a n`: enables automatic status back for the conditions in `mask` (0 disables it).
    pub fn auto_status_back(&mut self, mask: u8) -> &mut Self {
        self.buf.extend_from_slice(&[GS, b'a', mask]);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_text_goes_out_verbatim() {
        let mut p = EscPos::new();
        p.init().text("No. 12").line_feed();
        assert_eq!(p.bytes(), b"\x1b@No. 12\n");
    }

    #[test]
    fn chinese_text_is_gb18030_inside_chinese_mode() {
        let mut p = EscPos::new();
        p.text("连云港 A1");
        // 连 = C1 AC, 云 = D4 C6, 港 = B8 DB in GB2312/GB18030.
        assert_eq!(
            p.bytes(),
            &[
                0x1C, b'&', 0xC1, 0xAC, 0xD4, 0xC6, 0xB8, 0xDB, b' ', b'A', b'1', 0x1C, b'.'
            ]
        );
    }

    #[test]
    fn control_characters_cannot_become_commands() {
        let mut p = EscPos::new();
        p.text("a\x1bVb\nc\x1d");
        assert_eq!(p.bytes(), b"a Vb c ");
    }

    #[test]
    fn styles_and_feeds() {
        let mut p = EscPos::new();
        p.bold(true)
            .align(Align::Center)
            .size(2, 3)
            .feed(4)
            .cut()
            .bold(false);
        assert_eq!(
            p.bytes(),
            &[
                0x1B, b'E', 1, 0x1B, b'a', 1, 0x1D, b'!', 0x12, 0x1B, b'd', 4, 0x1D, b'V', 66, 0,
                0x1B, b'E', 0
            ]
        );
    }

    #[test]
    fn size_is_clamped_to_the_commands_range() {
        let mut p = EscPos::new();
        p.size(0, 9);
        assert_eq!(p.bytes(), &[0x1D, b'!', 0x07]);
    }

    #[test]
    fn qr_sequence_and_lengths() {
        let mut p = EscPos::new();
        p.qr("AB", 6, EcLevel::M).expect("short payload");
        let expected: Vec<u8> = [
            &[0x1D, b'(', b'k', 4, 0, 49, 65, 50, 0][..],
            &[0x1D, b'(', b'k', 3, 0, 49, 67, 6],
            &[0x1D, b'(', b'k', 3, 0, 49, 69, 49],
            &[0x1D, b'(', b'k', 5, 0, 49, 80, 48, b'A', b'B'],
            &[0x1D, b'(', b'k', 3, 0, 49, 81, 48],
        ]
        .concat();
        assert_eq!(p.bytes(), expected.as_slice());
    }

    #[test]
    fn qr_store_length_uses_both_length_bytes() {
        let payload = "x".repeat(300);
        let mut p = EscPos::new();
        p.qr(&payload, 3, EcLevel::L).expect("fits");
        let store = p
            .bytes()
            .windows(7)
            .position(|w| w[..3] == [0x1D, b'(', b'k'] && w[6] == 80);
        let at = store.expect("store command present");
        // 300 data bytes + cn + fn + m = 303 = 0x012F.
        assert_eq!(&p.bytes()[at + 3..at + 5], &[0x2F, 0x01]);
    }

    #[test]
    fn qr_rejects_what_no_symbol_can_hold() {
        let mut p = EscPos::new();
        assert_eq!(
            p.qr("", 3, EcLevel::L).map(|_| ()),
            Err(EncodeError::QrEmpty)
        );
        let long = "x".repeat(1274);
        assert_eq!(
            p.qr(&long, 3, EcLevel::H).map(|_| ()),
            Err(EncodeError::QrTooLong {
                len: 1274,
                max: 1273
            })
        );
        assert_eq!(
            p.qr("a", 0, EcLevel::H).map(|_| ()),
            Err(EncodeError::QrModuleSize(0))
        );
        assert!(
            p.bytes().is_empty(),
            "a refused QR must leave no partial command behind"
        );
        assert!(p.qr(&long, 3, EcLevel::L).is_ok());
    }

    #[test]
    fn raster_goes_out_in_bands() {
        let mut image = DotImage::new(16, RASTER_BAND_ROWS + 2);
        image.set(0, 0, true);
        image.set(15, RASTER_BAND_ROWS + 1, true);
        let mut p = EscPos::new();
        p.raster(&image).expect("narrow enough");
        let bytes = p.bytes();
        assert_eq!(
            &bytes[..8],
            &[0x1D, b'v', b'0', 0, 2, 0, RASTER_BAND_ROWS as u8, 0]
        );
        assert_eq!(bytes[8], 0x80);
        let second = 8 + 2 * RASTER_BAND_ROWS as usize;
        assert_eq!(
            &bytes[second..second + 8],
            &[0x1D, b'v', b'0', 0, 2, 0, 2, 0]
        );
        assert_eq!(&bytes[second + 8..], &[0, 0, 0, 0x01]);
        let mut empty = EscPos::new();
        empty.raster(&DotImage::new(8, 0)).expect("empty");
        assert!(empty.bytes().is_empty());
    }

    #[test]
    fn compact_raster_feeds_over_blank_rows_and_trims_the_right() {
        let mut image = DotImage::new(64, 12);
        image.set(0, 0, true);
        image.set(9, 1, true); // second byte: bands are 2 bytes wide, not 8
        image.set(3, 9, true); // after 7 blank rows
        let mut p = EscPos::new();
        p.raster_compact(&image).expect("narrow enough");
        assert_eq!(
            p.bytes(),
            &[
                0x1D, b'v', b'0', 0, 2, 0, 2, 0, 0x80, 0x00, 0x00, 0x40, // rows 0-1
                0x1B, b'J', 7, // rows 2-8
                0x1D, b'v', b'0', 0, 1, 0, 1, 0, 0x10, // row 9
                0x1B, b'J', 2, // rows 10-11
            ]
        );
    }

    #[test]
    fn status_commands() {
        let mut p = EscPos::new();
        p.status_query(StatusRequest::Paper).auto_status_back(0x0F);
        assert_eq!(p.bytes(), &[0x10, 0x04, 4, 0x1D, b'a', 0x0F]);
    }

    #[test]
    fn columns_per_paper_width() {
        assert_eq!(PaperWidth::Dots384.columns(), 32);
        assert_eq!(PaperWidth::Dots512.columns(), 42);
        assert_eq!(PaperWidth::Dots576.columns(), 48);
        assert_eq!(text_columns("受理 No.1"), 4 + 1 + 4);
    }
}
