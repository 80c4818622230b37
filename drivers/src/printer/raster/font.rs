//! Text drawn dot for dot the way a Chinese receipt printer draws its own font A.
//!
//! Printers lay text out in a grid: every ASCII character takes one 12 × 24-dot cell, every
//! other character (Chinese above all) two cells. The document layout counts columns on that
//! grid, so drawing the same grid here makes a raster receipt line up exactly like a native one,
//! and lets the virtual printer draw what a real printer would.
//!
//! The glyphs come from bitmap fonts compiled into the binary (the `u8g2-fonts` crate): GNU
//! Unifont for ASCII, because it is strictly monospaced (8 × 16), and WenQuanYi Bitmap Song
//! 16 px for GB2312 Chinese, because it reads better than Unifont's ideographs. A printer
//! without a Chinese font still prints Chinese this way. The 16-dot glyphs are scaled by 1.5 to
//! the 24-dot cell with a rule that turns every source pixel into a 2 × 2 block while keeping
//! one-pixel gaps open, so strokes come out evenly two dots wide — thin single-dot strokes fade
//! on thermal paper.

use std::convert::Infallible;

use embedded_graphics::Pixel;
use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::{DrawTarget, Drawable, OriginDimensions, Point, Primitive, Size};
use embedded_graphics::primitives::{PrimitiveStyle, Rectangle};
use u8g2_fonts::types::{FontColor, VerticalPosition};
use u8g2_fonts::{FontRenderer, fonts};

use super::DotImage;
use crate::printer::escpos::encode::char_columns;

/// Width of one text column in dots (font A).
pub const CELL_WIDTH: u32 = 12;
/// Height of a line of text in dots (font A), before magnification.
pub const CELL_HEIGHT: u32 = 24;
/// Blank dots between lines: the printers' default line spacing is 30 dots for a 24-dot font.
pub const LINE_GAP: u32 = 6;
/// Advance of one unmagnified line (and of each line of `ESC d n`).
pub const LINE_PITCH: u32 = CELL_HEIGHT + LINE_GAP;

/// Source glyph cell: 8 × 16 for a column, 16 × 16 for a double-width character.
const SOURCE_COLUMN: u32 = 8;
const SOURCE_HEIGHT: u32 = 16;
/// Baseline row inside the 16-row source cell, shared by both fonts.
const SOURCE_BASELINE: i32 = 14;

static ASCII: FontRenderer = FontRenderer::new::<fonts::u8g2_font_unifont_tf>();
static CHINESE: FontRenderer = FontRenderer::new::<fonts::u8g2_font_wqy16_t_gb2312>();
static CHINESE_FALLBACK: FontRenderer = FontRenderer::new::<fonts::u8g2_font_unifont_t_gb2312>();
static SYMBOLS: FontRenderer = FontRenderer::new::<fonts::u8g2_font_unifont_t_symbols>();

/// How a line of text is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextStyle {
    /// Emphasised: drawn twice, one dot apart, as printers do.
    pub bold: bool,
    /// Magnification across (1–8), as `GS !` sets it.
    pub width: u8,
    /// Magnification down (1–8).
    pub height: u8,
}

impl TextStyle {
    pub const PLAIN: TextStyle = TextStyle {
        bold: false,
        width: 1,
        height: 1,
    };

    fn width_mul(self) -> u32 {
        u32::from(self.width.clamp(1, 8))
    }

    fn height_mul(self) -> u32 {
        u32::from(self.height.clamp(1, 8))
    }

    /// Dots across one column at this magnification.
    pub fn column_dots(self) -> u32 {
        CELL_WIDTH * self.width_mul()
    }

    /// Dots down one line of glyphs at this magnification (without the line gap).
    pub fn line_dots(self) -> u32 {
        CELL_HEIGHT * self.height_mul()
    }
}

/// Width of `text` in dots, on the printer's grid.
pub fn text_dots(text: &str, style: TextStyle) -> u32 {
    let columns: usize = text.chars().map(char_columns).sum();
    u32::try_from(columns)
        .unwrap_or(u32::MAX)
        .saturating_mul(style.column_dots())
}

/// Draws `text` with the top-left corner of its first cell at (`x`, `y`).
pub fn draw_text(image: &mut DotImage, x: i64, y: i64, text: &str, style: TextStyle) {
    let mut cell_x = x;
    for c in text.chars() {
        let columns = char_columns(c) as u32;
        if c != ' ' {
            draw_char(image, cell_x, y, c, columns, style);
        }
        cell_x += i64::from(columns * style.column_dots());
    }
}

fn draw_char(image: &mut DotImage, x: i64, y: i64, c: char, columns: u32, style: TextStyle) {
    let source_width = columns * SOURCE_COLUMN;
    let passes: &[i64] = if style.bold { &[0, 1] } else { &[0] };
    for &shift in passes {
        let mut target = ScaledCell {
            image: &mut *image,
            x: x + shift,
            y,
            source: Size::new(source_width, SOURCE_HEIGHT),
            cell: Size::new(columns * style.column_dots(), style.line_dots()),
        };
        if !render_glyph(c, source_width, &mut target) {
            // No font has it: an empty box, so the substitution is visible rather than silent.
            let _ = Rectangle::new(
                Point::new(1, 1),
                Size::new(source_width - 2, SOURCE_HEIGHT - 3),
            )
            .into_styled(PrimitiveStyle::with_stroke(BinaryColor::On, 1))
            .draw(&mut target);
        }
    }
}

/// Renders `c` into the source cell through `target`; false when no font has it.
fn render_glyph(c: char, source_width: u32, target: &mut ScaledCell<'_>) -> bool {
    let fonts: &[&FontRenderer] = if c.is_ascii() {
        &[&ASCII]
    } else {
        &[&CHINESE, &CHINESE_FALLBACK, &SYMBOLS, &ASCII]
    };
    for font in fonts {
        // Centre glyphs narrower than their cell (a Latin letter in a double-width cell).
        let advance = font
            .get_rendered_dimensions(c, Point::zero(), VerticalPosition::Baseline)
            .map(|d| d.advance.x);
        let Ok(advance) = advance else { continue };
        let offset = (i32::try_from(source_width).unwrap_or(16) - advance).max(0) / 2;
        let drawn = font.render(
            c,
            Point::new(offset, SOURCE_BASELINE),
            VerticalPosition::Baseline,
            FontColor::Transparent(BinaryColor::On),
            target,
        );
        if drawn.is_ok() {
            return true;
        }
    }
    false
}

/// A draw target in glyph-source pixels that lands, scaled, in one cell of the dot image.
///
/// Source pixel `k` covers destination dots `⌊k·s⌋ .. ⌈(k+1)·s⌉` for the scale `s`, so at 1.5
/// every pixel becomes two dots and neighbouring pixels share one: strokes thicken evenly and
/// one-pixel gaps survive. Source pixels outside the cell are clipped (a wide glyph in a
/// proportional font must not spill into the next character).
struct ScaledCell<'a> {
    image: &'a mut DotImage,
    x: i64,
    y: i64,
    source: Size,
    cell: Size,
}

impl ScaledCell<'_> {
    fn span(k: u32, source: u32, cell: u32) -> (i64, i64) {
        let start = u64::from(k) * u64::from(cell) / u64::from(source);
        let end = (u64::from(k + 1) * u64::from(cell)).div_ceil(u64::from(source));
        (start as i64, end as i64)
    }
}

impl OriginDimensions for ScaledCell<'_> {
    fn size(&self) -> Size {
        self.source
    }
}

impl DrawTarget for ScaledCell<'_> {
    type Color = BinaryColor;
    type Error = Infallible;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Pixel<Self::Color>>,
    {
        for Pixel(p, color) in pixels {
            let (Ok(px), Ok(py)) = (u32::try_from(p.x), u32::try_from(p.y)) else {
                continue;
            };
            if !color.is_on() || px >= self.source.width || py >= self.source.height {
                continue;
            }
            let (x0, x1) = Self::span(px, self.source.width, self.cell.width);
            let (y0, y1) = Self::span(py, self.source.height, self.cell.height);
            self.image.fill(self.x + x0, self.y + y0, x1 - x0, y1 - y0);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ink_in(image: &DotImage, x0: u32, x1: u32) -> u64 {
        let mut n = 0;
        for y in 0..image.height() {
            for x in x0..x1 {
                n += u64::from(image.get(x, y));
            }
        }
        n
    }

    #[test]
    fn characters_stay_in_their_cells() {
        let mut image = DotImage::new(120, 24);
        draw_text(&mut image, 0, 0, "连W", TextStyle::PLAIN);
        assert!(
            ink_in(&image, 0, 24) > 40,
            "the Chinese glyph fills its double cell"
        );
        assert!(ink_in(&image, 24, 36) > 10, "W drawn in the third column");
        assert_eq!(ink_in(&image, 36, 120), 0, "nothing beyond the text");
        assert_eq!(text_dots("连W", TextStyle::PLAIN), 36);
    }

    #[test]
    fn strokes_are_two_dots_and_gaps_survive() {
        // The scale rule on its own: pixel k of 16 → dots of 24.
        let spans: Vec<(i64, i64)> = (0..4).map(|k| ScaledCell::span(k, 16, 24)).collect();
        assert_eq!(spans, vec![(0, 2), (1, 3), (3, 5), (4, 6)]);
    }

    #[test]
    fn bold_and_magnified_text_is_bigger() {
        let mut plain = DotImage::new(200, 48);
        draw_text(&mut plain, 0, 0, "受理", TextStyle::PLAIN);
        let mut bold = DotImage::new(200, 48);
        draw_text(
            &mut bold,
            0,
            0,
            "受理",
            TextStyle {
                bold: true,
                ..TextStyle::PLAIN
            },
        );
        let mut big = DotImage::new(200, 48);
        let double = TextStyle {
            bold: false,
            width: 2,
            height: 2,
        };
        draw_text(&mut big, 0, 0, "受理", double);
        assert!(
            bold.ink_dots() > plain.ink_dots(),
            "{} vs {}",
            bold.ink_dots(),
            plain.ink_dots()
        );
        assert!(
            big.ink_dots() > 2 * plain.ink_dots(),
            "{} vs {}",
            big.ink_dots(),
            plain.ink_dots()
        );
        assert_eq!(text_dots("受理", double), 96);
    }

    #[test]
    fn unknown_characters_become_a_visible_box() {
        let mut image = DotImage::new(24, 24);
        draw_text(&mut image, 0, 0, "\u{10FFFD}", TextStyle::PLAIN);
        assert!(image.ink_dots() > 20);
    }
}
