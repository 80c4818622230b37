//! [`DotImage`]: one bit per printer dot, packed the way `GS v 0` sends it.

use std::convert::Infallible;

use embedded_graphics::Pixel;
use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::{DrawTarget, OriginDimensions, Size};
use embedded_graphics::primitives::{PointsIter, Rectangle};

/// A monochrome picture of printed dots: `true` (ink) is a burnt dot, `false` is bare paper.
///
/// Rows are packed eight dots to a byte, most significant bit leftmost, each row padded to a
/// whole byte — byte for byte the data of the ESC/POS `GS v 0` raster command, so encoding is a
/// copy and the virtual printer can keep what it decodes without conversion.
///
/// It is an `embedded-graphics` [`DrawTarget`] in [`BinaryColor`], where `On` is ink. Drawing
/// `Off` clears dots; drawing outside the image is silently clipped, like a print head that has
/// no dots there.
#[derive(Clone, PartialEq, Eq)]
pub struct DotImage {
    width: u32,
    height: u32,
    stride: usize,
    bits: Vec<u8>,
}

impl std::fmt::Debug for DotImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The bits themselves are useless in a debug dump and can be megabytes.
        f.debug_struct("DotImage")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("ink_dots", &self.ink_dots())
            .finish()
    }
}

impl DotImage {
    /// Blank paper `width` × `height` dots.
    pub fn new(width: u32, height: u32) -> DotImage {
        let stride = width.div_ceil(8) as usize;
        DotImage {
            width,
            height,
            stride,
            bits: vec![0; stride * height as usize],
        }
    }

    /// An image from packed rows of `width_bytes` bytes each, as `GS v 0` carries them. Missing
    /// trailing bytes are blank, extra ones are ignored.
    pub fn from_packed(width_bytes: u32, height: u32, packed: &[u8]) -> DotImage {
        let mut image = DotImage::new(width_bytes * 8, height);
        let n = image.bits.len().min(packed.len());
        image.bits[..n].copy_from_slice(&packed[..n]);
        image
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// Makes the image `height` rows tall: new rows are blank paper, rows beyond are dropped.
    pub fn set_height(&mut self, height: u32) {
        self.height = height;
        self.bits.resize(self.stride * height as usize, 0);
    }

    /// Bytes per packed row: the `x` of `GS v 0`.
    pub fn width_bytes(&self) -> usize {
        self.stride
    }

    /// All rows, packed.
    pub fn packed(&self) -> &[u8] {
        &self.bits
    }

    /// Packed rows `from..to` (clamped to the image).
    pub fn packed_rows(&self, from: u32, to: u32) -> &[u8] {
        let to = to.min(self.height) as usize;
        let from = (from as usize).min(to);
        &self.bits[from * self.stride..to * self.stride]
    }

    /// Whether the dot at (`x`, `y`) is inked; dots outside the image are bare paper.
    pub fn get(&self, x: u32, y: u32) -> bool {
        if x >= self.width || y >= self.height {
            return false;
        }
        let byte = self.bits[y as usize * self.stride + (x / 8) as usize];
        byte & (0x80 >> (x % 8)) != 0
    }

    /// Inks (or clears) the dot at (`x`, `y`); outside the image nothing happens.
    pub fn set(&mut self, x: u32, y: u32, ink: bool) {
        if x >= self.width || y >= self.height {
            return;
        }
        let at = y as usize * self.stride + (x / 8) as usize;
        let mask = 0x80 >> (x % 8);
        if ink {
            self.bits[at] |= mask;
        } else {
            self.bits[at] &= !mask;
        }
    }

    /// Inks the rectangle at (`x`, `y`) of `w` × `h` dots, clipped to the image. Whole bytes are
    /// written at once, which is what makes QR modules and rules cheap.
    pub fn fill(&mut self, x: i64, y: i64, w: i64, h: i64) {
        let x0 = x.clamp(0, i64::from(self.width)) as u32;
        let x1 = (x + w).clamp(0, i64::from(self.width)) as u32;
        let y0 = y.clamp(0, i64::from(self.height)) as u32;
        let y1 = (y + h).clamp(0, i64::from(self.height)) as u32;
        if x0 >= x1 || y0 >= y1 {
            return;
        }
        for row in y0..y1 {
            let base = row as usize * self.stride;
            let mut col = x0;
            while col < x1 {
                let bit = col % 8;
                let span = (8 - bit).min(x1 - col);
                // `span` dots starting at `bit` within this byte.
                let mask = ((0xFFu16 << (8 - span)) as u8) >> bit;
                self.bits[base + (col / 8) as usize] |= mask;
                col += span;
            }
        }
    }

    /// ORs `other` onto this image with its top-left corner at (`x`, `y`).
    pub fn overlay(&mut self, other: &DotImage, x: i64, y: i64) {
        for oy in 0..other.height {
            let ty = y + i64::from(oy);
            if ty < 0 || ty >= i64::from(self.height) {
                continue;
            }
            for ox in 0..other.width {
                if other.get(ox, oy) {
                    let tx = x + i64::from(ox);
                    if tx >= 0 && tx < i64::from(self.width) {
                        self.set(tx as u32, ty as u32, true);
                    }
                }
            }
        }
    }

    /// Number of inked dots (what a thermal head actually burns).
    pub fn ink_dots(&self) -> u64 {
        self.bits.iter().map(|b| u64::from(b.count_ones())).sum()
    }

    /// The image as a PNG of the paper: white where nothing is printed, black dots, one pixel
    /// per dot, 1-bit greyscale (so a whole receipt stays a few kilobytes).
    pub fn to_png(&self) -> Result<Vec<u8>, png::EncodingError> {
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, self.width.max(1), self.height.max(1));
            encoder.set_color(png::ColorType::Grayscale);
            encoder.set_depth(png::BitDepth::One);
            let mut writer = encoder.write_header()?;
            if self.width == 0 || self.height == 0 {
                // PNG has no empty images; one white pixel stands for no paper.
                writer.write_image_data(&[0x80])?;
            } else {
                // In greyscale 1 is white, so paper (0 in our bits) must become 1.
                let inverted: Vec<u8> = self.bits.iter().map(|b| !b).collect();
                writer.write_image_data(&inverted)?;
            }
            writer.finish()?;
        }
        Ok(out)
    }

    /// Reads a PNG back into dots: any pixel darker than mid-grey is ink. Used to compare
    /// rendered paper with golden images; accepts whatever bit depth and colour type `png`
    /// decodes to 8-bit.
    pub fn from_png(bytes: &[u8]) -> Result<DotImage, png::DecodingError> {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder.read_info()?;
        let size = reader
            .output_buffer_size()
            .ok_or(png::DecodingError::LimitsExceeded)?;
        let mut buf = vec![0; size];
        let info = reader.next_frame(&mut buf)?;
        let channels = info.color_type.samples();
        let mut image = DotImage::new(info.width, info.height);
        for y in 0..info.height {
            let row = &buf[y as usize * info.line_size..][..info.line_size];
            for x in 0..info.width {
                let px = &row[x as usize * channels..][..channels];
                let grey = match info.color_type {
                    png::ColorType::Rgb | png::ColorType::Rgba => {
                        (u32::from(px[0]) + u32::from(px[1]) + u32::from(px[2])) / 3
                    }
                    _ => u32::from(px[0]),
                };
                if grey < 128 {
                    image.set(x, y, true);
                }
            }
        }
        Ok(image)
    }

    /// Dots that differ between two images (the larger size counts; the part outside the
    /// smaller one compares against bare paper).
    pub fn differing_dots(&self, other: &DotImage) -> u64 {
        let w = self.width.max(other.width);
        let h = self.height.max(other.height);
        let mut n = 0;
        for y in 0..h {
            for x in 0..w {
                if self.get(x, y) != other.get(x, y) {
                    n += 1;
                }
            }
        }
        n
    }
}

impl OriginDimensions for DotImage {
    fn size(&self) -> Size {
        Size::new(self.width, self.height)
    }
}

impl DrawTarget for DotImage {
    type Color = BinaryColor;
    type Error = Infallible;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Pixel<Self::Color>>,
    {
        for Pixel(point, color) in pixels {
            if let (Ok(x), Ok(y)) = (u32::try_from(point.x), u32::try_from(point.y)) {
                self.set(x, y, color.is_on());
            }
        }
        Ok(())
    }

    fn fill_solid(&mut self, area: &Rectangle, color: Self::Color) -> Result<(), Self::Error> {
        if color.is_on() {
            self.fill(
                i64::from(area.top_left.x),
                i64::from(area.top_left.y),
                i64::from(area.size.width),
                i64::from(area.size.height),
            );
            Ok(())
        } else {
            self.draw_iter(area.points().map(|p| Pixel(p, color)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_graphics::prelude::*;
    use embedded_graphics::primitives::{Line, PrimitiveStyle};

    #[test]
    fn bits_are_packed_like_gs_v_0() {
        let mut image = DotImage::new(10, 2);
        assert_eq!(image.width_bytes(), 2);
        image.set(0, 0, true);
        image.set(9, 1, true);
        assert_eq!(image.packed(), &[0x80, 0x00, 0x00, 0x40]);
        assert!(image.get(9, 1) && !image.get(8, 1) && !image.get(99, 0));
        image.set(0, 0, false);
        assert_eq!(image.ink_dots(), 1);
    }

    #[test]
    fn fill_handles_partial_bytes_and_clips() {
        let mut image = DotImage::new(24, 1);
        image.fill(3, 0, 10, 1);
        assert_eq!(image.packed(), &[0b0001_1111, 0b1111_1000, 0]);
        image.fill(-5, -5, 100, 100);
        assert_eq!(image.packed(), &[0xFF, 0xFF, 0xFF]);
    }

    #[test]
    fn embedded_graphics_draws_on_it() {
        let mut image = DotImage::new(16, 16);
        Line::new(Point::new(0, 0), Point::new(15, 15))
            .into_styled(PrimitiveStyle::with_stroke(BinaryColor::On, 1))
            .draw(&mut image)
            .expect("infallible");
        assert_eq!(image.ink_dots(), 16);
        assert!(image.get(7, 7));
    }

    #[test]
    fn png_round_trip_keeps_every_dot() {
        let mut image = DotImage::new(13, 7);
        for (x, y) in [(0, 0), (12, 6), (5, 3), (8, 0)] {
            image.set(x, y, true);
        }
        let png = image.to_png().expect("encode");
        let back = DotImage::from_png(&png).expect("decode");
        assert_eq!(back.width(), 13);
        assert_eq!(back.differing_dots(&image), 0);
    }
}
