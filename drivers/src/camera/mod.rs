//! The document camera (高拍仪): capture, preview, and turning photos of pages into a PDF.
//!
//! - [`Camera`] is what the kiosk drives: a low-resolution preview for the screen while the
//!   citizen positions the page, and a full-resolution capture when they tap "take".
//!   [`V4l2Camera`] is the real UVC device (MJPEG at its largest size, through the pure-Rust
//!   `linuxvideo` crate); [`FileCamera`] serves photos from a folder, for demos, tests and a
//!   kiosk configured without a camera attached.
//! - [`document`] finds the page in a photo, corrects the perspective, crops and encodes it
//!   (裁边纠偏): pure functions, where the real work is.
//! - [`pdf`] puts several pages into one PDF.
//! - [`geometry`]: the plane geometry underneath.

pub mod document;
pub mod file;
pub mod geometry;
pub mod pdf;
pub mod v4l2;

use std::io;
use std::path::PathBuf;

pub use image::RgbImage;

pub use document::{
    DocumentError, NoDocumentReason, PageQuad, ScannedPage, deskew, encode_jpeg, find_document,
    scan_page,
};
pub use file::FileCamera;
pub use geometry::Point;
pub use pdf::{PdfError, jpegs_to_pdf};
pub use v4l2::V4l2Camera;

/// The longest side of a preview frame: enough for the kiosk's framing view, small enough
/// to decode and draw at video rate on a modest ARM board.
pub const PREVIEW_MAX_SIDE: u32 = 640;

/// A document camera.
pub trait Camera: Send {
    /// The next preview frame, at most [`PREVIEW_MAX_SIDE`] on its longest side.
    fn preview(&mut self) -> Result<RgbImage, CameraError>;

    /// A full-resolution photo.
    fn capture(&mut self) -> Result<RgbImage, CameraError>;

    /// Which device this is, for diagnostics.
    fn describe(&self) -> String;
}

/// Why the camera gave no picture.
#[derive(Debug, thiserror::Error)]
pub enum CameraError {
    /// The device could not be opened or configured.
    #[error("could not open the camera at {}: {source}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The device is not a video capture device, or offers no MJPEG.
    #[error("the camera at {} is not usable: {reason}", path.display())]
    Unsupported { path: PathBuf, reason: String },
    /// The camera went away (unplugged, reset).
    #[error("the camera is disconnected: {0}")]
    Disconnected(String),
    /// No frame arrived in time.
    #[error("the camera sent no picture in time")]
    Timeout,
    /// Capturing failed in another way.
    #[error("camera I/O error: {0}")]
    Io(#[source] io::Error),
    /// A frame could not be decoded.
    #[error("the camera's picture could not be decoded: {0}")]
    Decode(String),
    /// A frame folder holds no JPEG or PNG files.
    #[error("no JPEG or PNG frames in {}", .0.display())]
    NoFrames(PathBuf),
}

/// Scales `image` down so its longest side is at most `max_side` (never up).
pub fn downscale(image: RgbImage, max_side: u32) -> RgbImage {
    let (w, h) = image.dimensions();
    let longest = w.max(h);
    if longest <= max_side || max_side == 0 {
        return image;
    }
    let scale = f64::from(max_side) / f64::from(longest);
    let nw = ((f64::from(w) * scale).round() as u32).max(1);
    let nh = ((f64::from(h) * scale).round() as u32).max(1);
    image::imageops::resize(&image, nw, nh, image::imageops::FilterType::Triangle)
}
