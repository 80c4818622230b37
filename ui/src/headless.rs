//! Rendering screens without a display, into PNG files.
//!
//! A [`Headless`] display installs Slint's software renderer on a `MinimalSoftwareWindow` as the
//! process's platform, so any screen renders into a pixel buffer exactly as it would on the
//! device's framebuffer. The demo's `--headless` mode and the screenshot tests use it.

use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{Platform, WindowAdapter};
use slint::{PhysicalSize, PlatformError, Rgb8Pixel};

use crate::UiError;

struct HeadlessPlatform {
    window: Rc<MinimalSoftwareWindow>,
    started: Instant,
}

impl Platform for HeadlessPlatform {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, PlatformError> {
        Ok(self.window.clone())
    }

    fn duration_since_start(&self) -> Duration {
        self.started.elapsed()
    }
}

/// A display with no screen: renders the process's one window into memory.
pub struct Headless {
    window: Rc<MinimalSoftwareWindow>,
    width: u32,
    height: u32,
}

impl Headless {
    /// Installs the headless platform for this process (once, before any component exists).
    pub fn install(width: u32, height: u32) -> Result<Self, UiError> {
        let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
        slint::platform::set_platform(Box::new(HeadlessPlatform {
            window: window.clone(),
            started: Instant::now(),
        }))
        .map_err(|e| UiError::Platform(e.to_string()))?;
        window.set_size(PhysicalSize::new(width, height));
        Ok(Self {
            window,
            width,
            height,
        })
    }

    /// Width and height in pixels.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// Renders the window as it is now into RGB pixels, row by row.
    pub fn render(&self) -> Vec<Rgb8Pixel> {
        self.window
            .set_size(PhysicalSize::new(self.width, self.height));
        slint::platform::update_timers_and_animations();
        let mut pixels = vec![Rgb8Pixel { r: 0, g: 0, b: 0 }; (self.width * self.height) as usize];
        self.window.request_redraw();
        self.window.draw_if_needed(|renderer| {
            renderer.render(&mut pixels, self.width as usize);
        });
        pixels
    }

    /// Renders the window and writes it as a PNG file.
    pub fn write_png(&self, path: &Path) -> Result<(), UiError> {
        let pixels = self.render();
        write_png(path, self.width, self.height, &pixels)
    }
}

/// Writes RGB pixels as a PNG file.
pub fn write_png(
    path: &Path,
    width: u32,
    height: u32,
    pixels: &[Rgb8Pixel],
) -> Result<(), UiError> {
    let fail = |detail: String| UiError::Screenshot {
        path: path.to_owned(),
        detail,
    };
    let file = std::fs::File::create(path).map_err(|e| fail(e.to_string()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| fail(e.to_string()))?;
    let bytes: Vec<u8> = pixels.iter().flat_map(|p| [p.r, p.g, p.b]).collect();
    writer
        .write_image_data(&bytes)
        .map_err(|e| fail(e.to_string()))?;
    writer.finish().map_err(|e| fail(e.to_string()))
}
