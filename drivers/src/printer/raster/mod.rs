//! Receipts as pictures: the raster print route and the virtual printer's paper.
//!
//! Some of the printers fielded have no Chinese font, and some print Chinese in a font too thin
//! to read. For those the kiosk draws the whole receipt itself — text from bitmap fonts compiled
//! into the binary, QR codes module by module, logos dithered — and sends one image with
//! `GS v 0`. The same drawing code renders what the virtual printer receives into a PNG of the
//! paper.

pub mod dither;
pub mod font;
mod image;
pub mod paper;

pub use dither::GreyImage;
pub use font::TextStyle;
pub use image::DotImage;
pub use paper::Paper;
