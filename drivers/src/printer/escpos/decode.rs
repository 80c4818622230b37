//! Sans-IO ESC/POS decoder: bytes in, printed elements out.
//!
//! The virtual printer and the offline `render` tool both see the stream the way a printer does.
//! The decoder must survive anything a peer may send — other ESC/POS libraries, line noise, a
//! stream cut anywhere — so it never fails: commands it knows have their arguments consumed
//! exactly (bulk data it does not model is skipped without buffering; bit images are kept up to
//! [`MAX_IMAGE_BYTES`] so the paper can be drawn), commands it recognises but does not model are
//! reported as [`Element::Ignored`], and anything else as [`Element::Unknown`]. Input may be
//! split anywhere across [`Decoder::push`] calls.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ascii::{CAN, CR, DC4, DLE, ENQ, EOT, ESC, FF, FS, GS, HT, LF};
use super::encode::{Align, EcLevel, char_columns};
use super::qr_fn;
use crate::printer::raster::DotImage;

/// Most bytes the decoder ever holds back while waiting for the rest of a command.
///
/// The largest command it needs whole is a QR store of the longest possible payload (7089 bytes
/// plus an 8-byte header); everything longer is skipped as it streams by.
pub const MAX_BUFFERED: usize = 8192;

/// Largest bit image, in bytes of dot data, whose dots the decoder keeps (1 MiB: a 576-dot
/// wide image over 14,000 dots long, far more than any receipt sends in one command). Larger
/// images are reported with their size only and their data skipped as it streams by, so a
/// hostile or broken peer cannot make the decoder allocate without bound.
pub const MAX_IMAGE_BYTES: u64 = 1 << 20;

/// A line longer than this many characters is emitted without waiting for its LF. No paper is
/// that wide (a real printer would have wrapped long before); the bound keeps memory flat when
/// a peer sends endless text without line feeds.
pub const MAX_LINE_CHARS: usize = 1024;

/// Something the printer did, in the order it did it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum Element {
    /// `ESC @`: settings back to power-on defaults; an unfinished line is discarded.
    Init,
    /// One printed line of text, with the style of its first character.
    Text {
        line: String,
        bold: bool,
        align: Align,
        width: u8,
        height: u8,
    },
    /// A printed QR code (`GS ( k` print after a store), at the justification then in force.
    Qr {
        payload: String,
        module_size: u8,
        ec: EcLevel,
        #[serde(default)]
        align: Align,
    },
    /// A printed bit image (`GS v 0` raster or `ESC *` column format).
    ///
    /// `dots` holds the image when it was complete and no larger than [`MAX_IMAGE_BYTES`]; it
    /// is not serialised (listings show sizes, the PNG shows the dots).
    Image {
        width_dots: u32,
        height_dots: u32,
        #[serde(default)]
        align: Align,
        #[serde(skip)]
        dots: Option<DotImage>,
    },
    /// `ESC d n`: the current line printed, then `n` lines fed.
    Feed(u8),
    /// `ESC J n`: the current line printed, then `n` dots fed.
    FeedDots(u8),
    /// Paper cut (`GS V` in any of its forms, `ESC i`, `ESC m`).
    Cut,
    /// `DLE EOT n`: a real-time status request; the printer must answer it.
    StatusQuery(u8),
    /// `GS a n`: automatic status back set to the mask `n`.
    AutoStatusBack(u8),
    /// A command we recognise and whose arguments were consumed, but whose effect we do not
    /// model (underline, line spacing, cash drawer, barcodes, …).
    Ignored { name: String },
    /// Bytes that are not a command we know. Their arguments, if any, cannot be told apart from
    /// text, so only the command bytes themselves are reported here.
    Unknown { bytes: Vec<u8> },
}

impl Element {
    /// Whether this element is something that ends up on paper (or the cut that ends it), as
    /// opposed to settings and real-time traffic.
    pub fn is_printed(&self) -> bool {
        matches!(
            self,
            Element::Text { .. }
                | Element::Qr { .. }
                | Element::Image { .. }
                | Element::Feed(_)
                | Element::FeedDots(_)
                | Element::Cut
        )
    }
}

impl fmt::Display for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Element::Init => write!(f, "init"),
            Element::Text {
                line,
                bold,
                align,
                width,
                height,
            } => {
                write!(f, "text [{align:?}")?;
                if *bold {
                    write!(f, " bold")?;
                }
                if (*width, *height) != (1, 1) {
                    write!(f, " {width}x{height}")?;
                }
                write!(f, "] {line:?}")
            }
            Element::Qr {
                payload,
                module_size,
                ec,
                ..
            } => write!(f, "qr [module {module_size}, ec {ec:?}] {payload:?}"),
            Element::Image {
                width_dots,
                height_dots,
                ..
            } => write!(f, "image {width_dots}x{height_dots} dots"),
            Element::Feed(n) => write!(f, "feed {n}"),
            Element::FeedDots(n) => write!(f, "feed {n} dots"),
            Element::Cut => write!(f, "cut"),
            Element::StatusQuery(n) => write!(f, "status query {n}"),
            Element::AutoStatusBack(n) => write!(f, "auto status back {n:#04x}"),
            Element::Ignored { name } => write!(f, "ignored {name}"),
            Element::Unknown { bytes } => {
                write!(f, "unknown")?;
                for b in bytes {
                    write!(f, " {b:02x}")?;
                }
                Ok(())
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Style {
    bold: bool,
    align: Align,
    width: u8,
    height: u8,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            bold: false,
            align: Align::Left,
            width: 1,
            height: 1,
        }
    }
}

/// QR settings persist between symbols, as on the printer.
#[derive(Debug, Clone)]
struct QrSettings {
    module_size: u8,
    ec: EcLevel,
    data: Option<Vec<u8>>,
}

impl Default for QrSettings {
    fn default() -> Self {
        // Power-on defaults of `GS ( k`: module size 3, level L, nothing stored.
        QrSettings {
            module_size: 3,
            ec: EcLevel::L,
            data: None,
        }
    }
}

/// How the bytes of a bit image being collected are arranged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ImageLayout {
    /// `GS v 0`: rows of `width_bytes` bytes, leftmost dot in the top bit.
    Rows { width_bytes: u32 },
    /// `ESC *`: columns of `bytes` bytes each, topmost dot in the top bit.
    Columns { bytes: u32 },
}

/// A bit image whose data is still arriving.
#[derive(Debug, Clone)]
struct ImageInProgress {
    layout: ImageLayout,
    width_dots: u32,
    height_dots: u32,
    align: Align,
    data: Vec<u8>,
    remaining: u64,
}

impl ImageInProgress {
    fn into_element(self, complete: bool) -> Element {
        let dots = complete.then(|| match self.layout {
            ImageLayout::Rows { width_bytes } => {
                DotImage::from_packed(width_bytes, self.height_dots, &self.data)
            }
            ImageLayout::Columns { bytes } => {
                let mut image = DotImage::new(self.width_dots, self.height_dots);
                for (x, column) in self.data.chunks(bytes as usize).enumerate() {
                    for (i, byte) in column.iter().enumerate() {
                        for bit in 0..8 {
                            if byte & (0x80 >> bit) != 0 {
                                image.set(x as u32, (i * 8 + bit) as u32, true);
                            }
                        }
                    }
                }
                image
            }
        });
        Element::Image {
            width_dots: self.width_dots,
            height_dots: self.height_dots,
            align: self.align,
            dots,
        }
    }
}

/// Streaming ESC/POS decoder; see the [module documentation](self).
#[derive(Debug, Clone, Default)]
pub struct Decoder {
    /// Bytes of a command not yet complete; never longer than [`MAX_BUFFERED`].
    pending: Vec<u8>,
    /// Bulk data still to be skipped (oversized images, unmodelled 2D symbols, …).
    skip: u64,
    /// A bit image whose data is being collected.
    image: Option<ImageInProgress>,
    style: Style,
    chinese: bool,
    chinese_default: bool,
    code_page: u8,
    line: String,
    line_chars: usize,
    line_columns: usize,
    line_style: Option<Style>,
    qr: QrSettings,
}

/// Outcome of trying to decode one unit at the start of the buffer: how many bytes it used, or
/// `None` when the unit is incomplete.
type Step = Option<usize>;

impl Decoder {
    /// A decoder for a printer that powers up in single-byte mode (the ESC/POS default).
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder for a printer whose Chinese double-byte mode is on at power-up and after
    /// `ESC @`, as Chinese printers usually ship: bytes from 0x80 up are then GB18030 even
    /// without `FS &`. Use it to analyse captures from libraries that rely on that default.
    pub fn with_chinese_default(chinese: bool) -> Self {
        Decoder {
            chinese,
            chinese_default: chinese,
            ..Self::default()
        }
    }

    /// Number of bytes held back waiting for the rest of a command (at most [`MAX_BUFFERED`]).
    pub fn buffered(&self) -> usize {
        self.pending.len()
    }

    /// Decodes `input`, returning the elements it completes. Bytes that end in the middle of a
    /// command or character are kept for the next call.
    pub fn push(&mut self, mut input: &[u8]) -> Vec<Element> {
        let mut out = Vec::new();
        loop {
            if self.pending.is_empty() {
                let n = self.bulk(input, &mut out);
                input = &input[n..];
            }
            let take = (MAX_BUFFERED - self.pending.len()).min(input.len());
            self.pending.extend_from_slice(&input[..take]);
            input = &input[take..];
            self.drain(&mut out);
            if input.is_empty() {
                return out;
            }
        }
    }

    /// Ends the stream (end of a capture file): the unfinished line is emitted, and whatever
    /// incomplete command is left is reported as unknown bytes.
    pub fn finish(&mut self) -> Vec<Element> {
        let mut out = Vec::new();
        if !self.pending.is_empty() {
            out.push(Element::Unknown {
                bytes: std::mem::take(&mut self.pending),
            });
        }
        if let Some(image) = self.image.take() {
            // The printer would still be waiting for the rest; what there is cannot be drawn.
            out.push(image.into_element(false));
        }
        self.flush_line(&mut out, false);
        self.skip = 0;
        out
    }

    /// Consumes bulk data (bytes to skip, or image data being collected) from the start of
    /// `input`; returns how many bytes it used.
    fn bulk(&mut self, input: &[u8], out: &mut Vec<Element>) -> usize {
        if self.skip > 0 {
            let n = clamp_len(self.skip, input.len());
            self.skip -= n as u64;
            return n;
        }
        let Some(image) = &mut self.image else {
            return 0;
        };
        let n = clamp_len(image.remaining, input.len());
        image.data.extend_from_slice(&input[..n]);
        image.remaining -= n as u64;
        if image.remaining == 0
            && let Some(image) = self.image.take()
        {
            out.push(image.into_element(true));
        }
        n
    }

    /// Starts a bit image of `bytes` data bytes: collected when small enough, otherwise
    /// reported now and skipped.
    fn start_image(
        &mut self,
        layout: ImageLayout,
        width_dots: u32,
        height_dots: u32,
        out: &mut Vec<Element>,
    ) {
        self.flush_line(out, false);
        let bytes = match layout {
            ImageLayout::Rows { width_bytes } => u64::from(width_bytes) * u64::from(height_dots),
            ImageLayout::Columns { bytes } => u64::from(bytes) * u64::from(width_dots),
        };
        let align = self.style.align;
        if bytes > MAX_IMAGE_BYTES || bytes == 0 {
            out.push(Element::Image {
                width_dots,
                height_dots,
                align,
                dots: None,
            });
            self.skip = bytes;
            return;
        }
        self.image = Some(ImageInProgress {
            layout,
            width_dots,
            height_dots,
            align,
            // `bytes` is at most MAX_IMAGE_BYTES, so this fits any usize we run on.
            data: Vec::with_capacity(usize::try_from(bytes).unwrap_or(0)),
            remaining: bytes,
        });
    }

    fn drain(&mut self, out: &mut Vec<Element>) {
        let mut buf = std::mem::take(&mut self.pending);
        let mut pos = 0;
        loop {
            pos += self.bulk(&buf[pos..], out);
            if pos >= buf.len() {
                break;
            }
            match self.step(&buf[pos..], out) {
                Some(used) => pos += used.max(1),
                None if buf.len() - pos >= MAX_BUFFERED => {
                    // Cannot happen (no buffered command is that long), but if it did, waiting
                    // for more would stall the decoder forever: give up on this byte instead.
                    out.push(Element::Unknown {
                        bytes: vec![buf[pos]],
                    });
                    pos += 1;
                }
                None => break,
            }
        }
        buf.drain(..pos);
        self.pending = buf;
    }

    /// Decodes one character or command at the start of `buf` (which is never empty).
    fn step(&mut self, buf: &[u8], out: &mut Vec<Element>) -> Step {
        let b = buf[0];
        match b {
            0x20..=0x7E => {
                let run = buf
                    .iter()
                    .take_while(|c| (0x20..=0x7E).contains(*c))
                    .count();
                for &c in &buf[..run] {
                    self.push_char(char::from(c), out);
                }
                Some(run)
            }
            0x80..=0xFF => self.high_byte(buf, out),
            LF => {
                self.flush_line(out, true);
                Some(1)
            }
            // With automatic line feed off (the default) printers ignore CR; libraries send
            // "\r\n" for printers where it is on.
            CR => Some(1),
            HT => {
                let spaces = 8 - self.line_columns % 8;
                for _ in 0..spaces {
                    self.push_char(' ', out);
                }
                Some(1)
            }
            FF => ignore(buf, 1, "FF (print page)", out),
            CAN => ignore(buf, 1, "CAN (cancel page data)", out),
            ESC => self.esc(buf, out),
            GS => self.gs(buf, out),
            FS => self.fs(buf, out),
            DLE => self.dle(buf, out),
            _ => unknown(buf, 1, out),
        }
    }

    /// A byte from 0x80 up: a code-page character, or part of a GB18030 character in Chinese
    /// mode.
    fn high_byte(&mut self, buf: &[u8], out: &mut Vec<Element>) -> Step {
        let b = buf[0];
        if !self.chinese {
            let c = code_page_char(self.code_page, b);
            self.push_char(c, out);
            return Some(1);
        }
        let len = match b {
            0x81..=0xFE => match *buf.get(1)? {
                0x40..=0x7E | 0x80..=0xFE => 2,
                0x30..=0x39 => {
                    let (b3, b4) = (*buf.get(2)?, *buf.get(3)?);
                    if (0x81..=0xFE).contains(&b3) && (0x30..=0x39).contains(&b4) {
                        4
                    } else {
                        0
                    }
                }
                _ => 0,
            },
            _ => 1,
        };
        if len == 0 {
            // A lead byte without a valid trail: the printer prints a substitute and goes on
            // with the next byte, which may well be a command.
            self.push_char(char::REPLACEMENT_CHARACTER, out);
            return Some(1);
        }
        let (text, _) = encoding_rs::GB18030.decode_without_bom_handling(&buf[..len]);
        for c in text.chars() {
            self.push_char(c, out);
        }
        Some(len)
    }

    fn esc(&mut self, buf: &[u8], out: &mut Vec<Element>) -> Step {
        let cmd = *buf.get(1)?;
        match cmd {
            b'@' => {
                self.reset();
                out.push(Element::Init);
                Some(2)
            }
            b'E' => {
                self.style.bold = *buf.get(2)? & 1 == 1;
                Some(3)
            }
            b'a' => {
                if let Some(align) = Align::from_code(*buf.get(2)?) {
                    self.style.align = align;
                }
                Some(3)
            }
            b'!' => {
                // Print mode: bit 3 emphasised, bit 4 double height, bit 5 double width.
                let n = *buf.get(2)?;
                self.style.bold = n & 0x08 != 0;
                self.style.height = if n & 0x10 != 0 { 2 } else { 1 };
                self.style.width = if n & 0x20 != 0 { 2 } else { 1 };
                Some(3)
            }
            b'd' => {
                let n = *buf.get(2)?;
                self.flush_line(out, false);
                out.push(Element::Feed(n));
                Some(3)
            }
            b't' => {
                self.code_page = *buf.get(2)?;
                Some(3)
            }
            b'J' => {
                let n = *buf.get(2)?;
                self.flush_line(out, false);
                out.push(Element::FeedDots(n));
                Some(3)
            }
            b'e' => self.printing_ignore(buf, 3, "ESC e (reverse feed)", out),
            b'i' | b'm' => {
                self.flush_line(out, false);
                out.push(Element::Cut);
                Some(2)
            }
            b'-' => ignore(buf, 3, "ESC - (underline)", out),
            b'2' => ignore(buf, 2, "ESC 2 (default line spacing)", out),
            b'3' => ignore(buf, 3, "ESC 3 (line spacing)", out),
            b'M' => ignore(buf, 3, "ESC M (character font)", out),
            b'G' => ignore(buf, 3, "ESC G (double-strike)", out),
            b' ' => ignore(buf, 3, "ESC SP (character spacing)", out),
            b'R' => ignore(buf, 3, "ESC R (international character set)", out),
            b'{' => ignore(buf, 3, "ESC { (upside-down)", out),
            b'V' => ignore(buf, 3, "ESC V (90-degree rotation)", out),
            b'U' => ignore(buf, 3, "ESC U (unidirectional printing)", out),
            b'r' => ignore(buf, 3, "ESC r (print colour)", out),
            b'=' => ignore(buf, 3, "ESC = (select peripheral)", out),
            b'%' => ignore(buf, 3, "ESC % (user-defined characters)", out),
            b'?' => ignore(buf, 3, "ESC ? (cancel user-defined character)", out),
            b'T' => ignore(buf, 3, "ESC T (page mode direction)", out),
            b'p' => ignore(buf, 5, "ESC p (cash drawer pulse)", out),
            b'$' => ignore(buf, 4, "ESC $ (absolute position)", out),
            b'\\' => ignore(buf, 4, "ESC \\ (relative position)", out),
            b'c' => ignore(buf, 4, "ESC c (panel and sensor settings)", out),
            b'W' => ignore(buf, 10, "ESC W (page mode area)", out),
            b'L' => ignore(buf, 2, "ESC L (page mode)", out),
            b'S' => ignore(buf, 2, "ESC S (standard mode)", out),
            b'<' => ignore(buf, 2, "ESC < (return home)", out),
            FF => ignore(buf, 2, "ESC FF (print page)", out),
            b'D' => {
                // Tab positions: up to 32 bytes, NUL-terminated.
                match nul_terminated(&buf[2..], 32) {
                    Terminated::At(i) => ignore(buf, 2 + i + 1, "ESC D (tab positions)", out),
                    Terminated::Missing => unknown(buf, 2, out),
                    Terminated::NeedMore => None,
                }
            }
            b'*' => {
                let (m, nl, nh) = (*buf.get(2)?, *buf.get(3)?, *buf.get(4)?);
                let dots = u32::from(u16::from_le_bytes([nl, nh]));
                let (height, bytes_per_column) = match m {
                    0 | 1 => (8, 1),
                    32 | 33 => (24, 3),
                    _ => return unknown(buf, 3, out),
                };
                let layout = ImageLayout::Columns {
                    bytes: bytes_per_column,
                };
                self.start_image(layout, dots, height, out);
                Some(5)
            }
            b'&' => self.user_defined_characters(buf, out),
            c if c < 0x20 => unknown(buf, 1, out),
            _ => unknown(buf, 2, out),
        }
    }

    /// `ESC & y c1 c2 [x d1…d(y×x)]…`: downloadable characters, consumed whole so their bitmap
    /// is not printed as text.
    fn user_defined_characters(&mut self, buf: &[u8], out: &mut Vec<Element>) -> Step {
        let (y, c1, c2) = (*buf.get(2)?, *buf.get(3)?, *buf.get(4)?);
        // Character codes 32–126, at most 3 bytes high and 12 dots wide (font A).
        if !(1..=3).contains(&y) || !(32..=126).contains(&c1) || !(c1..=126).contains(&c2) {
            return unknown(buf, 2, out);
        }
        let mut pos = 5;
        for _ in c1..=c2 {
            let x = *buf.get(pos)?;
            if x > 12 {
                return unknown(buf, 2, out);
            }
            pos += 1 + usize::from(y) * usize::from(x);
        }
        ignore(buf, pos, "ESC & (define user characters)", out)
    }

    fn gs(&mut self, buf: &[u8], out: &mut Vec<Element>) -> Step {
        let cmd = *buf.get(1)?;
        match cmd {
            b'!' => {
                let n = *buf.get(2)?;
                self.style.width = ((n >> 4) & 0x07) + 1;
                self.style.height = (n & 0x07) + 1;
                Some(3)
            }
            b'V' => {
                let used = match *buf.get(2)? {
                    0 | 1 | 48 | 49 => 3,
                    65 | 66 | 97 | 98 | 103 | 104 => {
                        buf.get(3)?;
                        4
                    }
                    _ => return unknown(buf, 3, out),
                };
                self.flush_line(out, false);
                out.push(Element::Cut);
                Some(used)
            }
            b'v' => {
                if *buf.get(2)? != b'0' {
                    return unknown(buf, 2, out);
                }
                let header = buf.get(..8)?;
                let x_bytes = u32::from(u16::from_le_bytes([header[4], header[5]]));
                let y_dots = u32::from(u16::from_le_bytes([header[6], header[7]]));
                let layout = ImageLayout::Rows {
                    width_bytes: x_bytes,
                };
                self.start_image(layout, x_bytes * 8, y_dots, out);
                Some(8)
            }
            b'a' => {
                out.push(Element::AutoStatusBack(*buf.get(2)?));
                Some(3)
            }
            b'(' => self.gs_paren(buf, out),
            b'k' => self.barcode(buf, out),
            b'8' => {
                if *buf.get(2)? != b'L' {
                    return unknown(buf, 2, out);
                }
                let header = buf.get(..7)?;
                let len = u32::from_le_bytes([header[3], header[4], header[5], header[6]]);
                out.push(Element::Ignored {
                    name: "GS 8 L (graphics)".into(),
                });
                self.skip = u64::from(len);
                Some(7)
            }
            b'*' => {
                let (x, y) = (*buf.get(2)?, *buf.get(3)?);
                out.push(Element::Ignored {
                    name: "GS * (define downloaded image)".into(),
                });
                self.skip = u64::from(x) * u64::from(y) * 8;
                Some(4)
            }
            b'B' => ignore(buf, 3, "GS B (reverse printing)", out),
            b'L' => ignore(buf, 4, "GS L (left margin)", out),
            b'W' => ignore(buf, 4, "GS W (print area width)", out),
            b'H' => ignore(buf, 3, "GS H (barcode text position)", out),
            b'f' => ignore(buf, 3, "GS f (barcode text font)", out),
            b'h' => ignore(buf, 3, "GS h (barcode height)", out),
            b'w' => ignore(buf, 3, "GS w (barcode module width)", out),
            b'/' => self.printing_ignore(buf, 3, "GS / (print downloaded image)", out),
            b'P' => ignore(buf, 4, "GS P (motion units)", out),
            b'r' => ignore(buf, 3, "GS r (transmit status)", out),
            b'I' => ignore(buf, 3, "GS I (transmit printer ID)", out),
            b'b' => ignore(buf, 3, "GS b (smoothing)", out),
            b'T' => ignore(buf, 3, "GS T (print position to line start)", out),
            b'$' => ignore(buf, 4, "GS $ (page mode vertical position)", out),
            b'\\' => ignore(buf, 4, "GS \\ (page mode relative vertical position)", out),
            b'^' => ignore(buf, 5, "GS ^ (execute macro)", out),
            b':' => ignore(buf, 2, "GS : (macro definition)", out),
            c if c < 0x20 => unknown(buf, 1, out),
            _ => unknown(buf, 2, out),
        }
    }

    /// `GS ( x pL pH …`: the extended commands, all of which declare their own length.
    fn gs_paren(&mut self, buf: &[u8], out: &mut Vec<Element>) -> Step {
        let name = match *buf.get(2)? {
            b'k' => "",
            b'A' => "GS ( A (test print)",
            b'C' => "GS ( C (NV user memory)",
            b'D' => "GS ( D (real-time command switches)",
            b'E' => "GS ( E (user setup)",
            b'H' => "GS ( H (response request)",
            b'K' => "GS ( K (print control)",
            b'L' => "GS ( L (graphics)",
            b'M' => "GS ( M (customise)",
            b'N' => "GS ( N (character style)",
            b'P' => "GS ( P (page mode)",
            b'Q' => "GS ( Q (shapes)",
            b'z' => "GS ( z (options)",
            _ => return unknown(buf, 2, out),
        };
        let header = buf.get(..5)?;
        let len = usize::from(u16::from_le_bytes([header[3], header[4]]));
        if header[2] == b'k' {
            return self.two_dimensional_code(buf, len, out);
        }
        out.push(Element::Ignored { name: name.into() });
        self.skip = len as u64;
        Some(5)
    }

    /// `GS ( k pL pH cn fn …`; `len` counts the bytes after `pH`.
    fn two_dimensional_code(&mut self, buf: &[u8], len: usize, out: &mut Vec<Element>) -> Step {
        let total = 5 + len;
        if len < 2 {
            let whole = buf.get(..total)?;
            out.push(Element::Unknown {
                bytes: whole.to_vec(),
            });
            return Some(total);
        }
        if *buf.get(5)? != qr_fn::CN_QR {
            out.push(Element::Ignored {
                name: "GS ( k (2D code other than QR)".into(),
            });
            self.skip = len as u64;
            return Some(5);
        }
        let function = *buf.get(6)?;
        if function == qr_fn::STORE {
            if len > qr_fn::MAX_STORE_LEN + 3 {
                out.push(Element::Ignored {
                    name: "GS ( k (QR store longer than any QR code)".into(),
                });
                self.skip = len as u64;
                return Some(5);
            }
            let whole = buf.get(..total)?;
            // Data follows cn, fn and m; a store without even `m` holds nothing.
            self.qr.data = Some(whole.get(8..).unwrap_or_default().to_vec());
            return Some(total);
        }
        if len > 16 {
            // No other QR function has more than a couple of parameters.
            out.push(Element::Ignored {
                name: "GS ( k (QR function with unexpected length)".into(),
            });
            self.skip = len as u64;
            return Some(5);
        }
        let whole = buf.get(..total)?;
        let param = whole.get(7).copied();
        match function {
            qr_fn::SELECT_MODEL => {}
            qr_fn::MODULE_SIZE => {
                if let Some(n @ 1..=16) = param {
                    self.qr.module_size = n;
                }
            }
            qr_fn::ERROR_LEVEL => {
                if let Some(ec) = param.and_then(EcLevel::from_code) {
                    self.qr.ec = ec;
                }
            }
            qr_fn::PRINT => {
                self.flush_line(out, false);
                match &self.qr.data {
                    Some(data) if !data.is_empty() => out.push(Element::Qr {
                        payload: String::from_utf8_lossy(data).into_owned(),
                        module_size: self.qr.module_size,
                        ec: self.qr.ec,
                        align: self.style.align,
                    }),
                    _ => out.push(Element::Ignored {
                        name: "GS ( k (QR print with nothing stored)".into(),
                    }),
                }
            }
            qr_fn::REPORT_SIZE => out.push(Element::Ignored {
                name: "GS ( k (QR size report)".into(),
            }),
            _ => out.push(Element::Unknown {
                bytes: whole.to_vec(),
            }),
        }
        Some(total)
    }

    /// `GS k m …`: a one-dimensional barcode, in either of its two argument forms.
    fn barcode(&mut self, buf: &[u8], out: &mut Vec<Element>) -> Step {
        let m = *buf.get(2)?;
        let used = match m {
            // Form A: data terminated by NUL.
            0..=6 => match nul_terminated(&buf[3..], 255) {
                Terminated::At(i) => 3 + i + 1,
                Terminated::Missing => return unknown(buf, 3, out),
                Terminated::NeedMore => return None,
            },
            // Form B: a length byte, then the data.
            65..=79 => 4 + usize::from(*buf.get(3)?),
            _ => return unknown(buf, 3, out),
        };
        self.printing_ignore(buf, used, "GS k (barcode)", out)
    }

    fn fs(&mut self, buf: &[u8], out: &mut Vec<Element>) -> Step {
        match *buf.get(1)? {
            b'&' => {
                self.chinese = true;
                Some(2)
            }
            b'.' => {
                self.chinese = false;
                Some(2)
            }
            b'!' => ignore(buf, 3, "FS ! (Chinese print mode)", out),
            b'-' => ignore(buf, 3, "FS - (Chinese underline)", out),
            b'S' => ignore(buf, 4, "FS S (Chinese character spacing)", out),
            b'W' => ignore(buf, 3, "FS W (Chinese quadruple size)", out),
            b'C' => ignore(buf, 3, "FS C (Chinese code system)", out),
            b'2' => ignore(buf, 4 + 72, "FS 2 (define Chinese user character)", out),
            b'p' => self.printing_ignore(buf, 4, "FS p (print NV image)", out),
            c if c < 0x20 => unknown(buf, 1, out),
            _ => unknown(buf, 2, out),
        }
    }

    fn dle(&mut self, buf: &[u8], out: &mut Vec<Element>) -> Step {
        match *buf.get(1)? {
            EOT => match *buf.get(2)? {
                n @ 1..=4 => {
                    out.push(Element::StatusQuery(n));
                    Some(3)
                }
                7 | 8 => ignore(buf, 4, "DLE EOT (extended status)", out),
                _ => unknown(buf, 3, out),
            },
            ENQ => ignore(buf, 3, "DLE ENQ (real-time request)", out),
            DC4 => {
                let used = match *buf.get(2)? {
                    1 | 2 => 5,
                    3 => 8,
                    7 => 4,
                    8 => 10,
                    _ => return unknown(buf, 3, out),
                };
                ignore(buf, used, "DLE DC4 (real-time command)", out)
            }
            // DLE only introduces real-time commands; what follows it is left to be decoded.
            _ => unknown(buf, 1, out),
        }
    }

    /// Like [`ignore`], for commands that print something: the pending line goes out first.
    fn printing_ignore(
        &mut self,
        buf: &[u8],
        len: usize,
        name: &str,
        out: &mut Vec<Element>,
    ) -> Step {
        if buf.len() < len {
            return None;
        }
        self.flush_line(out, false);
        ignore(buf, len, name, out)
    }

    fn push_char(&mut self, c: char, out: &mut Vec<Element>) {
        if self.line_style.is_none() {
            self.line_style = Some(self.style);
        }
        self.line.push(c);
        self.line_chars += 1;
        self.line_columns += char_columns(c);
        if self.line_chars >= MAX_LINE_CHARS {
            self.flush_line(out, false);
        }
    }

    /// Emits the line being assembled; `blank_too` also emits an empty one (an LF on an empty
    /// line prints a blank line, a feed command does not).
    fn flush_line(&mut self, out: &mut Vec<Element>, blank_too: bool) {
        if self.line.is_empty() && !blank_too {
            return;
        }
        let style = self.line_style.take().unwrap_or(self.style);
        out.push(Element::Text {
            line: std::mem::take(&mut self.line),
            bold: style.bold,
            align: style.align,
            width: style.width,
            height: style.height,
        });
        self.line_chars = 0;
        self.line_columns = 0;
    }

    fn reset(&mut self) {
        self.style = Style::default();
        self.chinese = self.chinese_default;
        self.code_page = 0;
        self.qr = QrSettings::default();
        self.line.clear();
        self.line_chars = 0;
        self.line_columns = 0;
        self.line_style = None;
    }
}

fn clamp_len(skip: u64, available: usize) -> usize {
    usize::try_from(skip).map_or(available, |s| s.min(available))
}

/// Reports a recognised command of `len` bytes, once all of them are there.
fn ignore(buf: &[u8], len: usize, name: &str, out: &mut Vec<Element>) -> Step {
    if buf.len() < len {
        return None;
    }
    out.push(Element::Ignored { name: name.into() });
    Some(len)
}

/// Reports the first `len` bytes as unknown, once they are there.
fn unknown(buf: &[u8], len: usize, out: &mut Vec<Element>) -> Step {
    let bytes = buf.get(..len)?;
    out.push(Element::Unknown {
        bytes: bytes.to_vec(),
    });
    Some(len)
}

enum Terminated {
    At(usize),
    Missing,
    NeedMore,
}

/// Finds the NUL ending a field of at most `max` bytes.
fn nul_terminated(field: &[u8], max: usize) -> Terminated {
    match field.iter().take(max + 1).position(|b| *b == 0) {
        Some(i) => Terminated::At(i),
        None if field.len() > max => Terminated::Missing,
        None => Terminated::NeedMore,
    }
}

/// A byte from 0x80 up outside Chinese mode, in the code page chosen by `ESC t`.
fn code_page_char(code_page: u8, byte: u8) -> char {
    match code_page {
        0 => PC437_HIGH[usize::from(byte - 0x80)],
        16 => {
            let single = [byte];
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(&single);
            text.chars().next().unwrap_or(char::REPLACEMENT_CHARACTER)
        }
        _ => char::REPLACEMENT_CHARACTER,
    }
}

/// Upper half of code page 437, the ESC/POS power-on code page.
const PC437_HIGH: [char; 128] = [
    'Ç', 'ü', 'é', 'â', 'ä', 'à', 'å', 'ç', 'ê', 'ë', 'è', 'ï', 'î', 'ì', 'Ä', 'Å', //
    'É', 'æ', 'Æ', 'ô', 'ö', 'ò', 'û', 'ù', 'ÿ', 'Ö', 'Ü', '¢', '£', '¥', '₧', 'ƒ', //
    'á', 'í', 'ó', 'ú', 'ñ', 'Ñ', 'ª', 'º', '¿', '⌐', '¬', '½', '¼', '¡', '«', '»', //
    '░', '▒', '▓', '│', '┤', '╡', '╢', '╖', '╕', '╣', '║', '╗', '╝', '╜', '╛', '┐', //
    '└', '┴', '┬', '├', '─', '┼', '╞', '╟', '╚', '╔', '╩', '╦', '╠', '═', '╬', '╧', //
    '╨', '╤', '╥', '╙', '╘', '╒', '╓', '╫', '╪', '┘', '┌', '█', '▄', '▌', '▐', '▀', //
    'α', 'ß', 'Γ', 'π', 'Σ', 'σ', 'µ', 'τ', 'Φ', 'Θ', 'Ω', 'δ', '∞', 'φ', 'ε', '∩', //
    '≡', '±', '≥', '≤', '⌠', '⌡', '÷', '≈', '°', '∙', '·', '√', 'ⁿ', '²', '■', '\u{A0}',
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::printer::escpos::encode::EscPos;

    fn text(line: &str) -> Element {
        Element::Text {
            line: line.into(),
            bold: false,
            align: Align::Left,
            width: 1,
            height: 1,
        }
    }

    fn decode(bytes: &[u8]) -> Vec<Element> {
        Decoder::new().push(bytes)
    }

    #[test]
    fn lines_end_at_lf_and_keep_their_style() {
        let mut p = EscPos::new();
        p.init()
            .align(Align::Center)
            .bold(true)
            .size(2, 2)
            .text("受理回执")
            .line_feed();
        p.bold(false)
            .size(1, 1)
            .align(Align::Left)
            .text("No. 1")
            .line_feed()
            .line_feed();
        let els = decode(p.bytes());
        assert_eq!(
            els,
            vec![
                Element::Init,
                Element::Text {
                    line: "受理回执".into(),
                    bold: true,
                    align: Align::Center,
                    width: 2,
                    height: 2
                },
                text("No. 1"),
                text(""),
            ]
        );
    }

    #[test]
    fn feed_prints_the_pending_line_first() {
        assert_eq!(decode(b"abc\x1bd\x03"), vec![text("abc"), Element::Feed(3)]);
        assert_eq!(decode(b"\x1bd\x02"), vec![Element::Feed(2)]);
    }

    #[test]
    fn every_cut_form_is_a_cut() {
        for cut in [
            &b"\x1dV\x00"[..],
            b"\x1dV\x01",
            b"\x1dV0",
            b"\x1dV1",
            b"\x1dVA\x05",
            b"\x1dVB\x00",
            b"\x1bi",
            b"\x1bm",
        ] {
            let mut bytes = cut.to_vec();
            bytes.extend_from_slice(b"x\n");
            assert_eq!(decode(&bytes), vec![Element::Cut, text("x")], "{cut:02x?}");
        }
    }

    #[test]
    fn qr_is_reported_with_its_settings() {
        let mut p = EscPos::new();
        p.qr("https://zwfw.lyg.gov.cn/q?id=42", 6, EcLevel::Q)
            .expect("fits");
        assert_eq!(
            decode(p.bytes()),
            vec![Element::Qr {
                payload: "https://zwfw.lyg.gov.cn/q?id=42".into(),
                module_size: 6,
                ec: EcLevel::Q,
                align: Align::Left,
            }]
        );
    }

    #[test]
    fn raster_image_data_is_skipped_even_when_it_looks_like_commands() {
        // 2 bytes wide (16 dots), 3 dots high: 6 data bytes full of command bytes.
        let mut bytes = vec![0x1D, b'v', b'0', 0, 2, 0, 3, 0];
        bytes.extend_from_slice(&[0x1B, b'@', 0x1D, b'V', 0x0A, 0x1B]);
        bytes.extend_from_slice(b"after\n");
        assert_eq!(
            decode(&bytes),
            vec![
                Element::Image {
                    width_dots: 16,
                    height_dots: 3,
                    align: Align::Left,
                    dots: Some(DotImage::from_packed(
                        2,
                        3,
                        &[0x1B, b'@', 0x1D, b'V', 0x0A, 0x1B]
                    )),
                },
                text("after")
            ]
        );
    }

    #[test]
    fn image_dots_are_kept_across_pushes_and_column_images_are_turned_upright() {
        let mut d = Decoder::new();
        assert!(
            d.push(&[0x1B, b'a', 1, 0x1D, b'v', b'0', 0, 1, 0, 2, 0, 0x80])
                .is_empty()
        );
        let els = d.push(&[0x01]);
        let Some(Element::Image {
            dots: Some(dots),
            align,
            ..
        }) = els.first()
        else {
            panic!("image with dots expected, got {els:?}");
        };
        assert_eq!(*align, Align::Center);
        assert!(dots.get(0, 0) && dots.get(7, 1) && dots.ink_dots() == 2);

        // ESC * 0: 8-dot columns; column 0 = top dot, column 2 = bottom dot.
        let els = decode(&[0x1B, b'*', 0, 3, 0, 0x80, 0x00, 0x01]);
        let Some(Element::Image {
            dots: Some(dots),
            width_dots: 3,
            height_dots: 8,
            ..
        }) = els.first()
        else {
            panic!("column image expected, got {els:?}");
        };
        assert!(dots.get(0, 0) && dots.get(2, 7) && dots.ink_dots() == 2);
    }

    #[test]
    fn an_image_cut_short_by_the_end_of_the_capture_has_no_dots() {
        let mut d = Decoder::new();
        assert!(d.push(&[0x1D, b'v', b'0', 0, 1, 0, 4, 0, 0xFF]).is_empty());
        assert!(matches!(
            d.finish().as_slice(),
            [Element::Image {
                height_dots: 4,
                dots: None,
                ..
            }]
        ));
    }

    #[test]
    fn huge_images_are_skipped_without_buffering() {
        let mut d = Decoder::new();
        let els = d.push(&[0x1D, b'v', b'0', 0, 0xFF, 0xFF, 0xFF, 0xFF]);
        assert_eq!(
            els,
            vec![Element::Image {
                width_dots: 65535 * 8,
                height_dots: 65535,
                align: Align::Left,
                dots: None,
            }]
        );
        let chunk = vec![0x1Bu8; 64 * 1024];
        for _ in 0..16 {
            assert!(d.push(&chunk).is_empty());
            assert_eq!(d.buffered(), 0);
        }
    }

    #[test]
    fn commands_split_anywhere_decode_the_same() {
        let mut p = EscPos::new();
        p.init().bold(true).text("办事指南 Guide").line_feed();
        p.qr("二维码 payload", 4, EcLevel::M).expect("fits");
        p.feed(2).cut();
        let whole = decode(p.bytes());
        let mut d = Decoder::new();
        let mut split = Vec::new();
        for b in p.bytes() {
            split.extend(d.push(&[*b]));
        }
        assert_eq!(split, whole);
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn pc437_outside_chinese_mode_and_gb18030_inside() {
        assert_eq!(decode(b"caf\x82 \x9c5\n"), vec![text("café £5")]);
        // The same bytes inside FS & are GB18030: B2 E2 = 测.
        assert_eq!(decode(b"\x1c&\xb2\xe2\x1c.\xb2\n"), vec![text("测▓")]);
        // Four-byte GB18030: 81 30 81 30 = U+0080; 95 32 82 36 = U+20000.
        assert_eq!(
            decode(b"\x1c&\x81\x30\x81\x30\x95\x32\x82\x36\n"),
            vec![text("\u{80}\u{20000}")]
        );
    }

    #[test]
    fn chinese_default_applies_without_fs_ampersand() {
        let mut d = Decoder::with_chinese_default(true);
        assert_eq!(d.push(b"\x1b@\xb2\xe2\n"), vec![Element::Init, text("测")]);
    }

    #[test]
    fn broken_gb18030_does_not_eat_commands() {
        // A lead byte followed by LF: one replacement character, then the LF still ends the line.
        assert_eq!(
            decode(b"\x1c&\xb2\nok\n"),
            vec![text("\u{FFFD}"), text("ok")]
        );
    }

    #[test]
    fn esc_t_selects_the_code_page() {
        assert_eq!(decode(b"\x1bt\x10\x80\n"), vec![text("€")]);
        assert_eq!(decode(b"\x1bt\x05\x80\n"), vec![text("\u{FFFD}")]);
    }

    #[test]
    fn tabs_advance_to_multiples_of_eight() {
        assert_eq!(decode(b"ab\tc\n"), vec![text("ab      c")]);
    }

    #[test]
    fn status_commands_are_reported() {
        assert_eq!(
            decode(&[
                0x10, 0x04, 1, 0x10, 0x04, 4, 0x1D, b'a', 0xFF, 0x10, 0x04, 9
            ]),
            vec![
                Element::StatusQuery(1),
                Element::StatusQuery(4),
                Element::AutoStatusBack(0xFF),
                Element::Unknown {
                    bytes: vec![0x10, 0x04, 9]
                },
            ]
        );
    }

    #[test]
    fn other_libraries_commands_are_consumed_and_named() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(b"\x1b-\x01\x1bt\x00\x1b2\x1b3\x30\x1dB\x01\x1bM\x01\x1bJ\x10");
        bytes.extend_from_slice(b"\x1dL\x10\x00\x1dW\x00\x02\x1bp\x00\x19\xfa");
        bytes.extend_from_slice(b"\x1dk\x04A123\x00\x1dkI\x03ABC");
        bytes.extend_from_slice(b"x\n");
        let names: Vec<String> = decode(&bytes)
            .into_iter()
            .map(|e| match e {
                Element::Ignored { name } => name,
                other => other.to_string(),
            })
            .collect();
        assert_eq!(
            names,
            vec![
                "ESC - (underline)",
                "ESC 2 (default line spacing)",
                "ESC 3 (line spacing)",
                "GS B (reverse printing)",
                "ESC M (character font)",
                "feed 16 dots",
                "GS L (left margin)",
                "GS W (print area width)",
                "ESC p (cash drawer pulse)",
                "GS k (barcode)",
                "GS k (barcode)",
                "text [Left] \"x\"",
            ]
        );
    }

    #[test]
    fn esc_bang_sets_bold_and_size() {
        assert_eq!(
            decode(b"\x1b!\x38Big\n\x1b!\x00small\n"),
            vec![
                Element::Text {
                    line: "Big".into(),
                    bold: true,
                    align: Align::Left,
                    width: 2,
                    height: 2
                },
                text("small"),
            ]
        );
    }

    #[test]
    fn unknown_commands_are_reported_not_fatal() {
        assert_eq!(
            decode(b"\x1b\x7fA\x1d\xf0B\x01\n"),
            vec![
                Element::Unknown {
                    bytes: vec![0x1B, 0x7F]
                },
                Element::Unknown {
                    bytes: vec![0x1D, 0xF0]
                },
                Element::Unknown { bytes: vec![0x01] },
                text("AB"),
            ]
        );
        // ESC followed by a control byte leaves that byte to be decoded on its own.
        assert_eq!(
            decode(b"\x1b\x1b@"),
            vec![Element::Unknown { bytes: vec![0x1B] }, Element::Init]
        );
    }

    #[test]
    fn other_2d_codes_and_oversized_stores_are_skipped() {
        // PDF417 store (cn 48) with 4 data bytes that look like ESC @.
        let bytes = [
            0x1D, b'(', b'k', 7, 0, 48, 80, 48, 0x1B, b'@', 0x1B, b'@', b'z', b'\n',
        ];
        assert_eq!(
            decode(&bytes),
            vec![
                Element::Ignored {
                    name: "GS ( k (2D code other than QR)".into()
                },
                text("z")
            ]
        );
        let mut big = vec![0x1D, b'(', b'k', 0xFF, 0xFF, 49, 80, 48];
        big.resize(5 + 0xFFFF, b'@');
        big.extend_from_slice(b"ok\n");
        let mut d = Decoder::new();
        let els = d.push(&big);
        assert_eq!(
            els,
            vec![
                Element::Ignored {
                    name: "GS ( k (QR store longer than any QR code)".into()
                },
                text("ok")
            ]
        );
    }

    #[test]
    fn finish_reports_what_is_left() {
        let mut d = Decoder::new();
        assert!(d.push(b"tail\x1d(k\x05").is_empty());
        assert_eq!(
            d.finish(),
            vec![
                Element::Unknown {
                    bytes: vec![0x1D, b'(', b'k', 0x05]
                },
                text("tail")
            ]
        );
    }

    #[test]
    fn endless_text_is_emitted_in_bounded_lines() {
        let mut d = Decoder::new();
        let els = d.push(&vec![b'a'; MAX_LINE_CHARS * 3]);
        assert_eq!(els.len(), 3);
        assert!(d.buffered() == 0);
    }

    #[test]
    fn elements_serialise_with_a_kind_tag() {
        let json = serde_json::to_string(&vec![Element::Cut, Element::Feed(2), text("a")])
            .expect("serialisable");
        assert_eq!(
            json,
            r#"[{"kind":"cut"},{"kind":"feed","data":2},{"kind":"text","data":{"line":"a","bold":false,"align":"left","width":1,"height":1}}]"#
        );
        let back: Vec<Element> = serde_json::from_str(&json).expect("deserialisable");
        assert_eq!(back, vec![Element::Cut, Element::Feed(2), text("a")]);
    }
}
