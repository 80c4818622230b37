//! Receipts as a small document model, laid out for the paper and rendered to ESC/POS.
//!
//! The session core describes *what* a receipt says (a title, key/value rows, paragraphs, a QR
//! code); this module decides *how* it fits a 58 or 80 mm roll. Layout counts display columns
//! the way the printer does — ASCII one column, every other character two — so Chinese and mixed
//! text lines up and never wraps on its own in the printer, where we could not control it.
//!
//! A laid-out receipt goes to the printer one of two ways, chosen per printer model:
//! [`ReceiptDocument::render_native`] sends text and QR commands and lets the printer draw them
//! with its own fonts; [`ReceiptDocument::render_raster`] draws the same layout into one image
//! with fonts compiled into the kiosk and sends that, for printers that have no Chinese font.
//! Both draw on the same grid, so the two look alike on paper.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::printer::escpos::encode::{
    Align, EcLevel, EncodeError, EscPos, PaperWidth, char_columns, text_columns,
};
use crate::printer::raster::{DotImage, GreyImage, Paper, TextStyle};

/// A receipt, top to bottom.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptDocument {
    pub elements: Vec<DocElement>,
}

/// One block of a receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocElement {
    /// Centred, bold, double width and height; wraps if long.
    Title(String),
    /// Key on the left, value flush right; when both do not fit one line, the key comes first
    /// and the value follows on the next line(s), flush right.
    Row { key: String, value: String },
    /// Running text, word-wrapped: Chinese may break between any two characters, ASCII words
    /// stay whole unless longer than a line. `\n` forces a break.
    Paragraph(String),
    /// A QR code (error correction M), centred and sized to the paper.
    Qr(String),
    /// A line of `-` across the paper.
    Rule,
    /// Centred small print at the end (hotline, thanks).
    Footer(String),
    /// Blank paper, in lines.
    Feed(u8),
    /// A picture (logo, photo), dithered to dots and centred; at most as wide as the paper.
    Image(GreyImage),
    /// A queue or ticket number: centred, bold, triple width and height, so it reads at arm's
    /// length and from a waiting-room seat.
    BigNumber(String),
    /// A ruler across the full print width, ticks every 8 dots (1 mm at 203 dpi), longer ones
    /// every 40 and 80: on a test page it shows the head prints every dot, edge to edge.
    Ruler,
}

/// How a document reaches the paper; see the [module documentation](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrintRoute {
    /// Text and QR commands, drawn by the printer's own fonts.
    #[default]
    Native,
    /// One `GS v 0` image drawn by the kiosk.
    Raster,
}

impl PrintRoute {
    pub const fn name(self) -> &'static str {
        match self {
            PrintRoute::Native => "native",
            PrintRoute::Raster => "raster",
        }
    }
}

impl std::fmt::Display for PrintRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for PrintRoute {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "native" => Ok(PrintRoute::Native),
            "raster" => Ok(PrintRoute::Raster),
            other => Err(format!(
                "unknown print route {other:?} (expected native or raster)"
            )),
        }
    }
}

/// Why a document cannot be printed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DocumentError {
    #[error("the QR code on the receipt has no content")]
    QrEmpty,
    #[error(
        "the QR code content is {len} bytes; on {dots}-dot paper a scannable QR code holds at most {max} bytes"
    )]
    QrTooLong { len: usize, max: usize, dots: u16 },
    #[error("the receipt could not be encoded: {0}")]
    Encode(#[from] EncodeError),
    #[error("an image {width} dots wide does not fit on {dots}-dot paper")]
    ImageTooWide { width: u32, dots: u16 },
}

impl ReceiptDocument {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn title(mut self, text: impl Into<String>) -> Self {
        self.elements.push(DocElement::Title(text.into()));
        self
    }

    pub fn row(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.elements.push(DocElement::Row {
            key: key.into(),
            value: value.into(),
        });
        self
    }

    pub fn paragraph(mut self, text: impl Into<String>) -> Self {
        self.elements.push(DocElement::Paragraph(text.into()));
        self
    }

    pub fn qr(mut self, payload: impl Into<String>) -> Self {
        self.elements.push(DocElement::Qr(payload.into()));
        self
    }

    pub fn rule(mut self) -> Self {
        self.elements.push(DocElement::Rule);
        self
    }

    pub fn footer(mut self, text: impl Into<String>) -> Self {
        self.elements.push(DocElement::Footer(text.into()));
        self
    }

    pub fn feed(mut self, lines: u8) -> Self {
        self.elements.push(DocElement::Feed(lines));
        self
    }

    pub fn big_number(mut self, text: impl Into<String>) -> Self {
        self.elements.push(DocElement::BigNumber(text.into()));
        self
    }

    pub fn ruler(mut self) -> Self {
        self.elements.push(DocElement::Ruler);
        self
    }

    pub fn image(mut self, image: GreyImage) -> Self {
        self.elements.push(DocElement::Image(image));
        self
    }

    /// The ESC/POS bytes of this receipt by `route`; see [`render_native`](Self::render_native)
    /// and [`render_raster`](Self::render_raster).
    pub fn render(&self, width: PaperWidth, route: PrintRoute) -> Result<Vec<u8>, DocumentError> {
        match route {
            PrintRoute::Native => self.render_native(width),
            PrintRoute::Raster => self.render_raster(width),
        }
    }

    /// The ESC/POS bytes of this receipt as one raster image: `ESC @`, the picture of the
    /// whole receipt in `GS v 0` bands, then the same feed and cut as the native route.
    ///
    /// Needs nothing from the printer but dots, so Chinese prints on printers without a
    /// Chinese font. Fails, before producing anything, when a QR code or image does not fit.
    pub fn render_raster(&self, width: PaperWidth) -> Result<Vec<u8>, DocumentError> {
        let image = self.render_image(width)?;
        let mut p = EscPos::new();
        p.init();
        // Left justification after ESC @: the compact form prints the same dots.
        p.raster_compact(&image)?;
        p.feed(END_FEED_LINES).cut();
        Ok(p.into_bytes())
    }

    /// The receipt drawn as the printer would print it, `width` dots wide and as long as it
    /// needs (the final feed and cut not included).
    pub fn render_image(&self, width: PaperWidth) -> Result<DotImage, DocumentError> {
        let blocks = self.layout(width)?;
        let mut paper = Paper::new(u32::from(width.dots()));
        for block in &blocks {
            match block {
                Block::Line { text, style } => paper.text_line(
                    text,
                    TextStyle {
                        bold: style.bold,
                        width: style.magnify,
                        height: style.magnify,
                    },
                    style.align,
                ),
                Block::Qr {
                    payload,
                    module_size,
                } => {
                    if !paper.qr(payload, *module_size, QR_EC, Align::Center) {
                        // The layout checked the capacity; this would be a bug, not bad input.
                        return Err(DocumentError::QrTooLong {
                            len: payload.len(),
                            max: QR_EC.max_payload_bytes(),
                            dots: width.dots(),
                        });
                    }
                }
                Block::Feed(n) => paper.feed_lines(*n),
                Block::Image(image) => paper.image(image, Align::Center),
            }
        }
        Ok(paper.into_image())
    }

    /// The ESC/POS bytes of this receipt in the printer's native text mode: `ESC @` first, then
    /// the laid-out lines and QR codes, then a feed and a cut.
    ///
    /// Fails, before producing anything, when a QR code cannot be printed at this width.
    pub fn render_native(&self, width: PaperWidth) -> Result<Vec<u8>, DocumentError> {
        let blocks = self.layout(width)?;
        let mut p = EscPos::new();
        p.init();
        let mut current = LineStyle::PLAIN;
        for block in &blocks {
            match block {
                Block::Line { text, style } => {
                    if style.align != current.align {
                        p.align(style.align);
                    }
                    if style.bold != current.bold {
                        p.bold(style.bold);
                    }
                    if style.magnify != current.magnify {
                        p.size(style.magnify, style.magnify);
                    }
                    current = *style;
                    p.text(text).line_feed();
                }
                Block::Qr {
                    payload,
                    module_size,
                } => {
                    if current.align != Align::Center {
                        p.align(Align::Center);
                        current.align = Align::Center;
                    }
                    p.qr(payload, *module_size, QR_EC)?;
                }
                Block::Feed(n) => {
                    p.feed(*n);
                }
                Block::Image(image) => {
                    if current.align != Align::Center {
                        p.align(Align::Center);
                        current.align = Align::Center;
                    }
                    p.raster(image)?;
                }
            }
        }
        p.feed(END_FEED_LINES).cut();
        Ok(p.into_bytes())
    }

    /// The text lines this receipt prints at `width`, in order, blank lines included — what a
    /// citizen reads on the paper (QR codes and feeds aside). Previews and tests use it.
    pub fn lines(&self, width: PaperWidth) -> Result<Vec<String>, DocumentError> {
        Ok(self
            .layout(width)?
            .into_iter()
            .filter_map(|b| match b {
                Block::Line { text, .. } => Some(text),
                _ => None,
            })
            .collect())
    }

    fn layout(&self, width: PaperWidth) -> Result<Vec<Block>, DocumentError> {
        let cols = width.columns();
        let mut blocks = Vec::new();
        let lines = |texts: Vec<String>, style: LineStyle, blocks: &mut Vec<Block>| {
            blocks.extend(texts.into_iter().map(|text| Block::Line { text, style }));
        };
        for element in &self.elements {
            match element {
                DocElement::Title(text) => {
                    let style = LineStyle {
                        align: Align::Center,
                        bold: true,
                        magnify: TITLE_MAGNIFY,
                    };
                    lines(
                        wrap(text, cols / usize::from(TITLE_MAGNIFY)),
                        style,
                        &mut blocks,
                    );
                }
                DocElement::Row { key, value } => {
                    lines(row(key, value, cols), LineStyle::PLAIN, &mut blocks)
                }
                DocElement::Paragraph(text) => {
                    lines(wrap(text, cols), LineStyle::PLAIN, &mut blocks)
                }
                DocElement::Qr(payload) => {
                    let module_size = qr_module_size(payload, width)?;
                    blocks.push(Block::Qr {
                        payload: payload.clone(),
                        module_size,
                    });
                    // A blank line below keeps the next text out of the code's quiet zone.
                    blocks.push(Block::Line {
                        text: String::new(),
                        style: LineStyle::PLAIN,
                    });
                }
                DocElement::Rule => lines(vec!["-".repeat(cols)], LineStyle::PLAIN, &mut blocks),
                DocElement::Footer(text) => {
                    let style = LineStyle {
                        align: Align::Center,
                        ..LineStyle::PLAIN
                    };
                    lines(wrap(text, cols), style, &mut blocks);
                }
                DocElement::Feed(n) => blocks.push(Block::Feed(*n)),
                DocElement::BigNumber(text) => {
                    let style = LineStyle {
                        align: Align::Center,
                        bold: true,
                        magnify: BIG_MAGNIFY,
                    };
                    lines(
                        wrap(text, cols / usize::from(BIG_MAGNIFY)),
                        style,
                        &mut blocks,
                    );
                }
                DocElement::Ruler => blocks.push(Block::Image(ruler(width))),
                DocElement::Image(image) => {
                    if image.width > u32::from(width.dots()) {
                        return Err(DocumentError::ImageTooWide {
                            width: image.width,
                            dots: width.dots(),
                        });
                    }
                    blocks.push(Block::Image(image.dither()));
                }
            }
        }
        Ok(blocks)
    }
}

/// Title magnification: double width and height, so half as many columns.
const TITLE_MAGNIFY: u8 = 2;
/// Ticket number magnification.
const BIG_MAGNIFY: u8 = 3;
/// Height of the test page's ruler, in dots.
const RULER_DOTS: u32 = 24;

/// The ruler of [`DocElement::Ruler`]: a baseline across every dot, ticks every 8 dots, longer
/// every 40, full height every 80 and at both edges.
fn ruler(width: PaperWidth) -> DotImage {
    let dots = u32::from(width.dots());
    let mut image = DotImage::new(dots, RULER_DOTS);
    let bottom = i64::from(RULER_DOTS);
    image.fill(0, bottom - 2, i64::from(dots), 2);
    for x in (0..dots).step_by(8).chain([dots - 1]) {
        let tick = if x % 80 == 0 || x == dots - 1 {
            RULER_DOTS
        } else if x % 40 == 0 {
            RULER_DOTS * 2 / 3
        } else {
            RULER_DOTS / 3
        };
        image.fill(i64::from(x), bottom - i64::from(tick), 1, i64::from(tick));
    }
    image
}
/// Lines fed after the last line, before the cut, so the text does not end on the blade.
const END_FEED_LINES: u8 = 3;
/// Receipts survive smudging and creases better with 15 % error correction than with 7 %.
const QR_EC: EcLevel = EcLevel::M;
/// A module of 3 dots (0.375 mm at 203 dpi) is the smallest kiosk and phone cameras read
/// reliably off thermal paper; 6 dots is large enough that bigger only wastes paper.
const QR_MIN_MODULE: u8 = 3;
const QR_MAX_MODULE: u8 = 6;
/// Quiet zone the symbol needs on each side, in modules.
const QR_QUIET_MODULES: usize = 4;

/// Byte-mode capacity of QR versions 1–40 at error correction M.
const QR_CAPACITY_M: [usize; 40] = [
    14, 26, 42, 62, 84, 106, 122, 152, 180, 213, 251, 287, 331, 362, 412, 450, 504, 560, 624, 666,
    711, 779, 857, 911, 997, 1059, 1125, 1190, 1264, 1370, 1452, 1538, 1628, 1722, 1809, 1911,
    1989, 2099, 2213, 2331,
];

/// Modules across a version's symbol, quiet zone included.
const fn qr_span_modules(version: usize) -> usize {
    17 + 4 * version + 2 * QR_QUIET_MODULES
}

/// The module size (dots) that makes the QR code for `payload` as large as is useful while
/// still fitting the paper, or an error if even the smallest readable size does not fit.
fn qr_module_size(payload: &str, width: PaperWidth) -> Result<u8, DocumentError> {
    let len = payload.len();
    if len == 0 {
        return Err(DocumentError::QrEmpty);
    }
    let dots = usize::from(width.dots());
    let fits = |version: usize| dots / qr_span_modules(version) >= usize::from(QR_MIN_MODULE);
    let largest_fitting = (1..=QR_CAPACITY_M.len()).rev().find(|v| fits(*v));
    let max = largest_fitting.map_or(0, |v| QR_CAPACITY_M[v - 1]);
    let version = (1..=QR_CAPACITY_M.len())
        .find(|v| QR_CAPACITY_M[v - 1] >= len)
        .filter(|v| fits(*v));
    let Some(version) = version else {
        return Err(DocumentError::QrTooLong {
            len,
            max,
            dots: width.dots(),
        });
    };
    let module = (dots / qr_span_modules(version)).min(usize::from(QR_MAX_MODULE));
    // `module` lies between QR_MIN_MODULE and QR_MAX_MODULE here, so it fits a u8.
    Ok(u8::try_from(module).unwrap_or(QR_MIN_MODULE))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LineStyle {
    align: Align,
    bold: bool,
    magnify: u8,
}

impl LineStyle {
    const PLAIN: LineStyle = LineStyle {
        align: Align::Left,
        bold: false,
        magnify: 1,
    };
}

/// The document after layout: what goes to the printer, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Block {
    Line { text: String, style: LineStyle },
    Qr { payload: String, module_size: u8 },
    Feed(u8),
    Image(DotImage),
}

/// Lays out a key/value row in `cols` columns.
fn row(key: &str, value: &str, cols: usize) -> Vec<String> {
    let key = clean(key);
    let value = clean(value);
    let (kw, vw) = (text_columns(&key), text_columns(&value));
    if kw + 1 + vw <= cols {
        return vec![format!("{key}{}{value}", " ".repeat(cols - kw - vw))];
    }
    let mut out = wrap(&key, cols);
    out.extend(wrap(&value, cols).into_iter().map(|line| {
        let pad = cols.saturating_sub(text_columns(&line));
        format!("{}{line}", " ".repeat(pad))
    }));
    out
}

/// Control characters (line breaks included) as spaces: rows are single logical lines.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Closing punctuation that must not begin a line (the common part of the Chinese line-breaking
/// rules); when it would, the character before it moves down with it.
fn is_closing_punctuation(c: char) -> bool {
    matches!(
        c,
        '，' | '。'
            | '、'
            | '；'
            | '：'
            | '？'
            | '！'
            | '）'
            | '》'
            | '〉'
            | '」'
            | '』'
            | '】'
            | '〕'
            | '”'
            | '’'
            | '…'
    )
}

/// Word-wraps `text` into lines of at most `cols` display columns.
///
/// Runs of ASCII non-space characters are words and stay whole when they fit a line; every other
/// character is a unit of its own, so Chinese breaks anywhere. Spaces separate words and are
/// dropped at line breaks; `\n` starts a new line (an empty paragraph gives one blank line).
fn wrap(text: &str, cols: usize) -> Vec<String> {
    let cols = cols.max(2);
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut w = Wrapper {
            cols,
            lines: &mut lines,
            line: String::new(),
            width: 0,
            space: false,
        };
        let mut word = String::new();
        for c in paragraph
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
        {
            if c.is_ascii() && c != ' ' {
                word.push(c);
                continue;
            }
            w.word(&std::mem::take(&mut word));
            if c == ' ' {
                w.space = w.width > 0;
            } else {
                w.wide(c);
            }
        }
        w.word(&word);
        w.finish();
    }
    lines
}

struct Wrapper<'a> {
    cols: usize,
    lines: &'a mut Vec<String>,
    line: String,
    width: usize,
    /// A space separates the next unit from the line so far.
    space: bool,
}

impl Wrapper<'_> {
    /// Ends the paragraph; its last line is kept even when empty (a blank line).
    fn finish(self) {
        self.lines.push(self.line);
    }

    fn break_line(&mut self) {
        self.lines.push(std::mem::take(&mut self.line));
        self.width = 0;
        self.space = false;
    }

    fn push(&mut self, s: &str, width: usize) {
        if self.space && self.width > 0 {
            self.line.push(' ');
            self.width += 1;
        }
        self.space = false;
        self.line.push_str(s);
        self.width += width;
    }

    fn fits(&self, width: usize) -> bool {
        let sep = usize::from(self.space && self.width > 0);
        self.width + sep + width <= self.cols
    }

    /// An ASCII word (all single-width).
    fn word(&mut self, word: &str) {
        if word.is_empty() {
            return;
        }
        let len = word.len();
        if self.fits(len) {
            self.push(word, len);
            return;
        }
        if len <= self.cols {
            self.break_line();
            self.push(word, len);
            return;
        }
        // Longer than a whole line (a URL, a long number): cut it where the lines end.
        if !self.fits(1) {
            self.break_line();
        }
        for c in word.chars() {
            if !self.fits(1) {
                self.break_line();
            }
            let mut buf = [0u8; 4];
            self.push(c.encode_utf8(&mut buf), 1);
        }
    }

    /// A non-ASCII character (double-width).
    fn wide(&mut self, c: char) {
        let width = char_columns(c);
        let mut buf = [0u8; 4];
        if self.fits(width) {
            self.push(c.encode_utf8(&mut buf), width);
            return;
        }
        let carried = if is_closing_punctuation(c) && 2 * width <= self.cols {
            self.take_last_wide()
        } else {
            None
        };
        self.break_line();
        if let Some(prev) = carried {
            self.push(prev.encode_utf8(&mut buf), char_columns(prev));
        }
        self.push(c.encode_utf8(&mut buf), width);
    }

    /// Removes the line's last character if it is a non-ASCII one and not the line's only
    /// character, so it can move down together with closing punctuation.
    fn take_last_wide(&mut self) -> Option<char> {
        let last = self.line.chars().next_back()?;
        if last.is_ascii() || self.line.chars().count() < 2 {
            return None;
        }
        self.line.pop();
        self.width -= char_columns(last);
        Some(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::printer::escpos::decode::{Decoder, Element};

    fn sample() -> ReceiptDocument {
        ReceiptDocument::new()
            .title("连云港市政务服务受理回执")
            .row("事项", "居民身份证换领")
            .row("受理编号", "LYG-2024-000123")
            .row("办理地点", "连云港市海州区朝阳东路1号市民中心二楼B区12号窗口")
            .rule()
            .paragraph("请于5个工作日后凭本回执到窗口领取证件。Please bring this receipt to window 12 after 5 working days.")
            .qr("https://zwfw.lyg.gov.cn/progress?no=LYG-2024-000123")
            .footer("服务热线 12345 · 谢谢您的评价")
            .feed(1)
    }

    #[test]
    fn wrap_keeps_ascii_words_and_breaks_chinese_anywhere() {
        assert_eq!(wrap("hello big world", 10), vec!["hello big", "world"]);
        assert_eq!(wrap("一二三四五六", 8), vec!["一二三四", "五六"]);
        assert_eq!(wrap("abcdefghijkl", 5), vec!["abcde", "fghij", "kl"]);
        assert_eq!(wrap("a\n\nb", 5), vec!["a", "", "b"]);
        assert_eq!(wrap("", 5), vec![""]);
    }

    #[test]
    fn wrap_moves_a_word_that_does_not_fit_and_never_overflows() {
        // "窗口" (4) + "No.12" (5) = 9 > 8: the ASCII word moves down whole.
        assert_eq!(wrap("窗口No.12号", 8), vec!["窗口", "No.12号"]);
        assert_eq!(wrap("办理 ABC", 6), vec!["办理", "ABC"]);
    }

    #[test]
    fn closing_punctuation_never_starts_a_line() {
        // Four columns: "一二" fills the line; "，" would start the next one, so "二" comes along.
        assert_eq!(wrap("一二，三", 4), vec!["一", "二，", "三"]);
    }

    #[test]
    fn rows_align_or_wrap() {
        assert_eq!(row("事项", "换领", 16), vec!["事项        换领"]);
        assert_eq!(row("Fee", "0.00", 10), vec!["Fee   0.00"]);
        assert_eq!(
            row("办理地点", "海州区朝阳东路1号", 16),
            // "海州区朝阳东路1" is 15 columns, so it gets one space; "号" alone gets 14.
            vec![
                "办理地点".to_owned(),
                format!(" 海州区朝阳东路1"),
                format!("{}号", " ".repeat(14))
            ]
        );
    }

    #[test]
    fn layout_at_384_dots() {
        let lines = sample().lines(PaperWidth::Dots384).expect("printable");
        let expected = vec![
            "连云港市政务服务",
            "受理回执",
            "事项              居民身份证换领",
            "受理编号         LYG-2024-000123",
            "办理地点",
            " 连云港市海州区朝阳东路1号市民中",
            "               心二楼B区12号窗口",
            "--------------------------------",
            "请于5个工作日后凭本回执到窗口领",
            "取证件。Please bring this",
            "receipt to window 12 after 5",
            "working days.",
            "",
            "服务热线 12345 · 谢谢您的评价",
        ];
        assert_eq!(lines, expected);
        for line in &lines {
            assert!(text_columns(line) <= 32, "{line:?}");
        }
    }

    #[test]
    fn rendering_starts_with_init_and_ends_with_feed_and_cut() {
        let bytes = sample()
            .render_native(PaperWidth::Dots576)
            .expect("printable");
        assert_eq!(&bytes[..2], b"\x1b@");
        assert!(bytes.ends_with(&[0x1B, b'd', 3, 0x1D, b'V', 66, 0]));
    }

    #[test]
    fn rendered_receipts_decode_back_to_their_layout() {
        for width in [
            PaperWidth::Dots384,
            PaperWidth::Dots512,
            PaperWidth::Dots576,
        ] {
            let doc = sample();
            let bytes = doc.render_native(width).expect("printable");
            let elements = Decoder::new().push(&bytes);
            let printed: Vec<(String, Align, bool, u8)> = elements
                .iter()
                .filter_map(|e| match e {
                    Element::Text {
                        line,
                        align,
                        bold,
                        width,
                        ..
                    } => Some((line.clone(), *align, *bold, *width)),
                    _ => None,
                })
                .collect();
            let laid: Vec<(String, Align, bool, u8)> = doc
                .layout(width)
                .expect("printable")
                .into_iter()
                .filter_map(|b| match b {
                    Block::Line { text, style } => {
                        Some((text, style.align, style.bold, style.magnify))
                    }
                    _ => None,
                })
                .collect();
            assert_eq!(printed, laid, "{width:?}");
            let qrs: Vec<&Element> = elements
                .iter()
                .filter(|e| matches!(e, Element::Qr { .. }))
                .collect();
            assert_eq!(qrs.len(), 1);
            let Element::Qr { payload, ec, .. } = qrs[0] else {
                unreachable!("filtered to QR codes")
            };
            assert_eq!(
                payload,
                "https://zwfw.lyg.gov.cn/progress?no=LYG-2024-000123"
            );
            assert_eq!(*ec, EcLevel::M);
            assert_eq!(elements.iter().filter(|e| **e == Element::Cut).count(), 1);
            assert_eq!(elements.last(), Some(&Element::Cut));
            assert_eq!(elements.first(), Some(&Element::Init));
        }
    }

    #[test]
    fn raster_route_sends_one_image_then_feed_and_cut() {
        for width in [
            PaperWidth::Dots384,
            PaperWidth::Dots512,
            PaperWidth::Dots576,
        ] {
            let doc = sample();
            let image = doc.render_image(width).expect("printable");
            assert_eq!(image.width(), u32::from(width.dots()));
            let bytes = doc.render_raster(width).expect("printable");
            assert_eq!(&bytes[..2], b"\x1b@");
            assert!(bytes.ends_with(&[0x1B, b'd', 3, 0x1D, b'V', 66, 0]));
            let elements = Decoder::new().push(&bytes);
            let rows: u32 = elements
                .iter()
                .map(|e| match e {
                    Element::Image {
                        width_dots,
                        height_dots,
                        ..
                    } => {
                        assert!(*width_dots <= u32::from(width.dots()));
                        *height_dots
                    }
                    Element::FeedDots(n) => u32::from(*n),
                    _ => 0,
                })
                .sum();
            assert_eq!(rows, image.height(), "{width:?}");
            assert!(
                !elements.iter().any(|e| matches!(e, Element::Text { .. })),
                "no text commands: the printer needs no font"
            );
        }
    }

    #[test]
    fn raster_image_is_as_tall_as_the_native_layout() {
        // Lines of 30 dots, the title 54, the QR its modules, feeds 30 per line.
        let doc = ReceiptDocument::new()
            .title("回执")
            .row("编号", "1")
            .feed(2);
        let image = doc.render_image(PaperWidth::Dots384).expect("printable");
        assert_eq!(image.height(), 54 + 30 + 60);
        assert!(image.ink_dots() > 100);
    }

    #[test]
    fn images_are_dithered_and_must_fit() {
        let logo = GreyImage::new(64, 8, vec![0; 64 * 8]).expect("sized");
        let doc = ReceiptDocument::new().image(logo);
        let native = Decoder::new().push(&doc.render_native(PaperWidth::Dots384).expect("fits"));
        assert!(native.iter().any(|e| matches!(
            e,
            Element::Image {
                width_dots: 64,
                height_dots: 8,
                ..
            }
        )));
        let wide = GreyImage::new(400, 1, vec![255; 400]).expect("sized");
        assert_eq!(
            ReceiptDocument::new()
                .image(wide)
                .render_raster(PaperWidth::Dots384),
            Err(DocumentError::ImageTooWide {
                width: 400,
                dots: 384
            })
        );
    }

    #[test]
    fn big_numbers_are_triple_size_and_the_ruler_spans_every_dot() {
        let doc = ReceiptDocument::new().big_number("A015").ruler();
        let elements = Decoder::new().push(&doc.render_native(PaperWidth::Dots576).expect("ok"));
        assert!(elements.contains(&Element::Text {
            line: "A015".into(),
            bold: true,
            align: Align::Center,
            width: 3,
            height: 3,
        }));
        let ruler = elements
            .iter()
            .find_map(|e| match e {
                Element::Image { dots: Some(d), .. } => Some(d.clone()),
                _ => None,
            })
            .expect("the ruler is an image");
        assert_eq!(ruler.width(), 576);
        assert!(ruler.get(0, 0) && ruler.get(575, 0) && ruler.get(575, 23));
        assert!(
            (0..576).all(|x| ruler.get(x, 23)),
            "baseline across every dot"
        );
    }

    #[test]
    fn routes_parse_from_their_names() {
        assert_eq!("native".parse::<PrintRoute>(), Ok(PrintRoute::Native));
        assert_eq!("raster".parse::<PrintRoute>(), Ok(PrintRoute::Raster));
        assert!("laser".parse::<PrintRoute>().is_err());
    }

    #[test]
    fn qr_size_follows_the_paper() {
        let short = "https://zwfw.lyg.gov.cn/q/1";
        assert_eq!(qr_module_size(short, PaperWidth::Dots384), Ok(6));
        let long = "x".repeat(900);
        // Version 24 at M holds 911 bytes: 17 + 96 + 8 = 121 modules; 384 / 121 = 3 dots.
        assert_eq!(qr_module_size(&long, PaperWidth::Dots384), Ok(3));
        let longer = "x".repeat(1000);
        assert_eq!(
            qr_module_size(&longer, PaperWidth::Dots384),
            Err(DocumentError::QrTooLong {
                len: 1000,
                max: 997,
                dots: 384
            })
        );
        // Version 26 (1059 bytes): 129 modules; 576 / 129 = 4 dots.
        assert_eq!(qr_module_size(&longer, PaperWidth::Dots576), Ok(4));
        assert_eq!(
            qr_module_size("", PaperWidth::Dots576),
            Err(DocumentError::QrEmpty)
        );
    }

    #[test]
    fn too_long_qr_is_a_clear_error() {
        let doc = ReceiptDocument::new().title("x").qr("y".repeat(2400));
        let err = doc
            .render_native(PaperWidth::Dots576)
            .expect_err("too long for any QR code at M");
        assert_eq!(
            err,
            DocumentError::QrTooLong {
                len: 2400,
                max: 2331,
                dots: 576
            }
        );
        assert!(err.to_string().contains("2400 bytes"));
    }

    proptest::proptest! {
        #[test]
        fn wrapped_lines_fit_and_lose_nothing(text in "[a-zA-Z0-9.: 一二三连云港，。（）]{0,120}", cols in 2usize..50) {
            let lines = wrap(&text, cols);
            for line in &lines {
                proptest::prop_assert!(text_columns(line) <= cols, "{:?} is wider than {}", line, cols);
            }
            let squash = |s: &str| s.chars().filter(|c| *c != ' ').collect::<String>();
            proptest::prop_assert_eq!(squash(&lines.concat()), squash(&text));
        }

        #[test]
        fn rows_fit_the_paper(key in "[a-z 事项受理]{0,30}", value in "[A-Z0-9- 连云港]{0,60}") {
            for width in [PaperWidth::Dots384, PaperWidth::Dots512, PaperWidth::Dots576] {
                for line in row(&key, &value, width.columns()) {
                    proptest::prop_assert!(text_columns(&line) <= width.columns());
                }
            }
        }
    }
}
