//! Photos and logos for a printer that only burns dots: 8-bit greyscale → 1 bit.

use serde::{Deserialize, Serialize};

use super::DotImage;

/// An 8-bit greyscale picture, 0 black … 255 white, row by row.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GreyImage {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

impl std::fmt::Debug for GreyImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GreyImage")
            .field("width", &self.width)
            .field("height", &self.height)
            .finish_non_exhaustive()
    }
}

impl GreyImage {
    /// A picture from its pixels; `None` unless there are exactly `width × height` of them.
    pub fn new(width: u32, height: u32, pixels: Vec<u8>) -> Option<GreyImage> {
        (u64::from(width) * u64::from(height) == pixels.len() as u64).then_some(GreyImage {
            width,
            height,
            pixels,
        })
    }

    /// Floyd–Steinberg error diffusion: each pixel becomes ink or paper, and the difference is
    /// passed on to its unvisited neighbours (7/16 right, 3/16 below-left, 5/16 below,
    /// 1/16 below-right), so areas keep their average grey. Rows are scanned alternately left
    /// to right and right to left (serpentine), which avoids the diagonal "worms" plain scanning
    /// leaves in flat areas — thermal paper shows them clearly.
    pub fn dither(&self) -> DotImage {
        let (w, h) = (self.width as usize, self.height as usize);
        let mut out = DotImage::new(self.width, self.height);
        // Errors for the current and the next row, with a pixel of margin on each side.
        let mut current = vec![0i32; w + 2];
        let mut next = vec![0i32; w + 2];
        for y in 0..h {
            let leftwards = y % 2 == 1;
            for i in 0..w {
                let x = if leftwards { w - 1 - i } else { i };
                let e = x + 1;
                let value = i32::from(self.pixels[y * w + x]) + current[e] / 16;
                let ink = value < 128;
                if ink {
                    out.set(x as u32, y as u32, true);
                }
                let error = value - if ink { 0 } else { 255 };
                let (ahead, behind) = if leftwards {
                    (e - 1, e + 1)
                } else {
                    (e + 1, e - 1)
                };
                current[ahead] += error * 7;
                next[behind] += error * 3;
                next[e] += error * 5;
                next[ahead] += error;
            }
            std::mem::swap(&mut current, &mut next);
            next.iter_mut().for_each(|v| *v = 0);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_greys_keep_their_average() {
        for (grey, expected) in [(0u8, 1.0f64), (255, 0.0), (128, 0.5), (64, 0.75)] {
            let image = GreyImage::new(64, 64, vec![grey; 64 * 64]).expect("sized");
            let ink = image.dither().ink_dots() as f64 / (64.0 * 64.0);
            assert!((ink - expected).abs() < 0.03, "grey {grey}: ink {ink}");
        }
    }

    #[test]
    fn a_gradient_darkens_to_the_left() {
        let pixels: Vec<u8> = (0..32 * 256).map(|i| (i % 256) as u8).collect();
        let dots = GreyImage::new(256, 32, pixels).expect("sized").dither();
        let ink = |x0: u32, x1: u32| {
            (0..32)
                .flat_map(|y| (x0..x1).map(move |x| (x, y)))
                .filter(|(x, y)| dots.get(*x, *y))
                .count()
        };
        assert!(ink(0, 64) > 3 * ink(192, 256));
    }

    #[test]
    fn size_must_match_the_pixels() {
        assert!(GreyImage::new(2, 2, vec![0; 3]).is_none());
    }
}
