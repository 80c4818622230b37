//! Rendering screens without a display, into PNG files.
//!
//! A [`Headless`] display installs Slint's software renderer on a `MinimalSoftwareWindow` as the
//! process's platform, so any screen renders into a pixel buffer exactly as it would on the
//! device's framebuffer. The demo's `--headless` mode and the screenshot tests use it.

use std::cell::Cell;
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
    frozen: Rc<Cell<Option<Duration>>>,
}

impl Platform for HeadlessPlatform {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, PlatformError> {
        Ok(self.window.clone())
    }

    fn duration_since_start(&self) -> Duration {
        self.frozen.get().unwrap_or_else(|| self.started.elapsed())
    }
}

/// A display with no screen: renders the process's one window into memory.
pub struct Headless {
    window: Rc<MinimalSoftwareWindow>,
    frozen: Rc<Cell<Option<Duration>>>,
    width: u32,
    height: u32,
}

/// The pixels a [`Headless::render_into`] call changed: the bounding box of the repainted region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repainted {
    /// Left edge, in pixels.
    pub x: i32,
    /// Top edge, in pixels.
    pub y: i32,
    /// Width in pixels (0 when nothing needed drawing).
    pub width: u32,
    /// Height in pixels (0 when nothing needed drawing).
    pub height: u32,
}

impl Repainted {
    /// Pixels inside the repainted box.
    pub fn area(&self) -> u64 {
        u64::from(self.width) * u64::from(self.height)
    }
}

impl Headless {
    /// Installs the headless platform for this process (once, before any component exists).
    pub fn install(width: u32, height: u32) -> Result<Self, UiError> {
        Self::install_with(width, height, RepaintBufferType::NewBuffer)
    }

    /// Installs the headless platform drawing into a buffer that is kept between frames
    /// ([`RepaintBufferType::ReusedBuffer`]): [`Self::render_into`] then repaints only what
    /// changed, as the device's framebuffer does.
    pub fn install_reusing(width: u32, height: u32) -> Result<Self, UiError> {
        Self::install_with(width, height, RepaintBufferType::ReusedBuffer)
    }

    fn install_with(width: u32, height: u32, buffer: RepaintBufferType) -> Result<Self, UiError> {
        let window = MinimalSoftwareWindow::new(buffer);
        let frozen = Rc::new(Cell::new(None));
        slint::platform::set_platform(Box::new(HeadlessPlatform {
            window: window.clone(),
            started: Instant::now(),
            frozen: frozen.clone(),
        }))
        .map_err(|e| UiError::Platform(e.to_string()))?;
        window.set_size(PhysicalSize::new(width, height));
        Ok(Self {
            window,
            frozen,
            width,
            height,
        })
    }

    /// Width and height in pixels.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// Stops the clock animations read at `at` since start (`None`: the real clock again), so
    /// that a spinner or a transition renders the same in every run.
    pub fn freeze_time(&self, at: Option<Duration>) {
        self.frozen.set(at);
    }

    /// Changes the size of the display, e.g. from portrait 1080×1920 to landscape 1920×1080.
    /// The next render lays the window out again at the new size.
    pub fn resize(&mut self, width: u32, height: u32) {
        self.width = width;
        self.height = height;
        self.window.set_size(PhysicalSize::new(width, height));
    }

    /// Renders what changed since the last frame into `pixels` (`width × height`, row by row),
    /// and says which box was repainted. With [`Self::install_reusing`], `pixels` must hold the
    /// previous frame; `full` repaints the whole window regardless.
    pub fn render_into(&self, pixels: &mut [Rgb8Pixel], full: bool) -> Repainted {
        slint::platform::update_timers_and_animations();
        if full {
            self.window.request_redraw();
        }
        let mut repainted = Repainted {
            x: 0,
            y: 0,
            width: 0,
            height: 0,
        };
        self.window.draw_if_needed(|renderer| {
            let region = renderer.render(pixels, self.width as usize);
            let (origin, size) = (region.bounding_box_origin(), region.bounding_box_size());
            repainted = Repainted {
                x: origin.x,
                y: origin.y,
                width: size.width,
                height: size.height,
            };
        });
        repainted
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
    encode_png(std::io::BufWriter::new(file), width, height, pixels).map_err(fail)
}

/// Encodes RGB pixels as PNG into `out` (a file, or a pipe to another process: the console's
/// preview reads the terminal's screens from one).
pub fn encode_png(
    out: impl std::io::Write,
    width: u32,
    height: u32,
    pixels: &[Rgb8Pixel],
) -> Result<(), String> {
    let mut encoder = png::Encoder::new(out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    let bytes: Vec<u8> = pixels.iter().flat_map(|p| [p.r, p.g, p.b]).collect();
    writer.write_image_data(&bytes).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())
}
