//! [`V4l2Camera`]: a UVC document camera through V4L2, with the pure-Rust `linuxvideo` crate
//! (it issues the ioctls itself: no libv4l, no C toolchain or libclang at build time).
//!
//! 高拍仪 deliver their full resolution only as MJPEG (raw YUYV at 5–10 MP would exceed
//! USB 2.0 bandwidth), so only MJPEG is used: at the device's largest size for a capture,
//! and at the size nearest 640×480 for the preview. A UVC device streams one format at a time,
//! so a capture stops the preview, streams at full size just long enough to let exposure
//! settle and take one frame, and the preview restarts on the next request.
//!
//! Not tested here: no V4L2 device (nor the v4l2loopback module) exists on the build machines.
//! The size choice is unit-tested; opening, streaming and the MJPEG decode path are not.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use image::RgbImage;
use linuxvideo::format::{FrameSizes, PixFormat, PixelFormat};
use linuxvideo::stream::ReadStream;
use linuxvideo::{BufType, CapabilityFlags, Device};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::{Camera, CameraError, PREVIEW_MAX_SIDE, downscale};

/// The frame sizes a device offers for MJPEG, in the shape V4L2 reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfferedSizes {
    /// A list of sizes.
    Discrete(Vec<(u32, u32)>),
    /// Any size from min to max in steps (continuous devices have step 1).
    Stepwise {
        min: (u32, u32),
        max: (u32, u32),
        step: (u32, u32),
    },
}

/// The capture size (the largest by area) and preview size (the smallest at least 640 wide,
/// or the largest below that) to ask for. `None` if nothing is offered.
pub fn choose_sizes(offered: &OfferedSizes) -> Option<((u32, u32), (u32, u32))> {
    match offered {
        OfferedSizes::Discrete(sizes) => {
            let area = |s: &&(u32, u32)| u64::from(s.0) * u64::from(s.1);
            let full = *sizes.iter().max_by_key(area)?;
            let preview = sizes
                .iter()
                .filter(|s| s.0 >= 640)
                .min_by_key(area)
                .or_else(|| sizes.iter().max_by_key(area))
                .copied()?;
            Some((full, preview))
        }
        OfferedSizes::Stepwise { min, max, step } => {
            let snap = |want: u32, lo: u32, hi: u32, step: u32| {
                let step = step.max(1);
                let want = want.clamp(lo, hi);
                lo + (want - lo) / step * step
            };
            let preview = (
                snap(640, min.0, max.0, step.0),
                snap(480, min.1, max.1, step.1),
            );
            Some((*max, preview))
        }
    }
}

/// A UVC document camera at a V4L2 node (`/dev/video0`, or a stable udev link).
pub struct V4l2Camera {
    path: PathBuf,
    full: (u32, u32),
    preview_size: (u32, u32),
    preview: Option<ReadStream>,
    frame_timeout: Duration,
    settle_frames: u32,
}

impl std::fmt::Debug for V4l2Camera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V4l2Camera")
            .field("path", &self.path)
            .field("full", &self.full)
            .field("preview_size", &self.preview_size)
            .field("previewing", &self.preview.is_some())
            .finish()
    }
}

impl V4l2Camera {
    /// How long to wait for one frame. Cameras deliver 5–30 frames per second; the first frame
    /// after starting a stream can take a second.
    pub const DEFAULT_FRAME_TIMEOUT: Duration = Duration::from_secs(3);

    /// Frames thrown away after starting a full-size stream, while auto-exposure and white
    /// balance settle (the first frames are typically too dark).
    pub const DEFAULT_SETTLE_FRAMES: u32 = 3;

    /// Opens the device, checks it can stream video, and picks the MJPEG sizes.
    pub fn open(path: impl AsRef<Path>) -> Result<V4l2Camera, CameraError> {
        let path = path.as_ref().to_path_buf();
        let device = open_device(&path)?;
        let caps = device.capabilities().map_err(|source| CameraError::Open {
            path: path.clone(),
            source,
        })?;
        let flags = caps.device_capabilities();
        if !flags.contains(CapabilityFlags::VIDEO_CAPTURE | CapabilityFlags::STREAMING) {
            return Err(unsupported(
                &path,
                "it is not a streaming video capture device",
            ));
        }
        let has_mjpeg = device
            .formats(BufType::VIDEO_CAPTURE)
            .filter_map(Result::ok)
            .any(|desc| desc.pixel_format() == PixelFormat::MJPG);
        if !has_mjpeg {
            return Err(unsupported(&path, "it offers no MJPEG format"));
        }
        // linuxvideo asserts on frame-size answers it does not expect (a size type it does not
        // know, a list mixing types); a confused driver must not take the kiosk down with it.
        let sizes = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            device.frame_sizes(PixelFormat::MJPG)
        }))
        .map_err(|_| unsupported(&path, "its frame sizes could not be understood"))?
        .map_err(|source| CameraError::Open {
            path: path.clone(),
            source,
        })?;
        let offered = match sizes {
            FrameSizes::Discrete(list) => {
                OfferedSizes::Discrete(list.iter().map(|s| (s.width(), s.height())).collect())
            }
            FrameSizes::Stepwise(s) | FrameSizes::Continuous(s) => OfferedSizes::Stepwise {
                min: (s.min_width(), s.min_height()),
                max: (s.max_width(), s.max_height()),
                step: (s.step_width(), s.step_height()),
            },
        };
        let (full, preview_size) = choose_sizes(&offered)
            .ok_or_else(|| unsupported(&path, "it offers no MJPEG frame size"))?;
        tracing::info!(path = %path.display(), ?full, ?preview_size, card = caps.card(), "document camera opened");
        Ok(V4l2Camera {
            path,
            full,
            preview_size,
            preview: None,
            frame_timeout: Self::DEFAULT_FRAME_TIMEOUT,
            settle_frames: Self::DEFAULT_SETTLE_FRAMES,
        })
    }

    pub fn with_frame_timeout(mut self, timeout: Duration) -> V4l2Camera {
        self.frame_timeout = timeout;
        self
    }

    pub fn with_settle_frames(mut self, frames: u32) -> V4l2Camera {
        self.settle_frames = frames;
        self
    }

    /// The full-resolution size in use.
    pub fn capture_size(&self) -> (u32, u32) {
        self.full
    }

    /// Starts an MJPEG stream at `size` on a fresh descriptor.
    fn start(&self, size: (u32, u32)) -> Result<ReadStream, CameraError> {
        let device = open_device(&self.path)?;
        let capture = device
            .video_capture(PixFormat::new(size.0, size.1, PixelFormat::MJPG))
            .map_err(|e| self.io_error(e))?;
        if capture.format().pixel_format() != PixelFormat::MJPG {
            return Err(unsupported(&self.path, "the driver refused MJPEG"));
        }
        capture.into_stream().map_err(|e| self.io_error(e))
    }

    /// Waits for and copies out one frame's JPEG bytes.
    fn grab(&self, stream: &mut ReadStream) -> Result<Vec<u8>, CameraError> {
        let mut fds = [PollFd::new(stream.as_fd(), PollFlags::POLLIN)];
        let timeout = PollTimeout::try_from(self.frame_timeout).unwrap_or(PollTimeout::MAX);
        match poll(&mut fds, timeout) {
            Ok(0) => return Err(CameraError::Timeout),
            Ok(_) => {}
            Err(e) => return Err(self.io_error(e.into())),
        }
        stream
            .dequeue(|view| {
                if view.is_error() {
                    return Err(std::io::Error::other("the frame was marked corrupt"));
                }
                Ok(view.to_vec())
            })
            .map_err(|e| self.io_error(e))
    }

    fn io_error(&self, e: std::io::Error) -> CameraError {
        if matches!(e.raw_os_error(), Some(nix::libc::ENODEV | nix::libc::ENXIO)) {
            CameraError::Disconnected(format!("{}: {e}", self.path.display()))
        } else {
            CameraError::Io(e)
        }
    }
}

fn open_device(path: &Path) -> Result<Device, CameraError> {
    Device::open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            CameraError::Disconnected(format!("{} is absent", path.display()))
        } else {
            CameraError::Open {
                path: path.to_path_buf(),
                source,
            }
        }
    })
}

fn unsupported(path: &Path, reason: &str) -> CameraError {
    CameraError::Unsupported {
        path: path.to_path_buf(),
        reason: reason.to_owned(),
    }
}

/// Decodes an MJPEG frame (JPEG, possibly without Huffman tables, which the decoder supplies).
fn decode(jpeg: &[u8]) -> Result<RgbImage, CameraError> {
    image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)
        .map(|image| image.to_rgb8())
        .map_err(|e| CameraError::Decode(e.to_string()))
}

impl Camera for V4l2Camera {
    fn preview(&mut self) -> Result<RgbImage, CameraError> {
        let mut stream = match self.preview.take() {
            Some(stream) => stream,
            None => self.start(self.preview_size)?,
        };
        // On failure the stream is dropped, and the next request starts a fresh one rather
        // than reuse a broken one.
        let jpeg = self.grab(&mut stream)?;
        self.preview = Some(stream);
        Ok(downscale(decode(&jpeg)?, PREVIEW_MAX_SIDE))
    }

    fn capture(&mut self) -> Result<RgbImage, CameraError> {
        // One stream at a time: the preview must stop before the device can change size.
        self.preview = None;
        let mut stream = self.start(self.full)?;
        for _ in 0..self.settle_frames {
            self.grab(&mut stream)?;
        }
        let jpeg = self.grab(&mut stream)?;
        drop(stream);
        decode(&jpeg)
    }

    fn describe(&self) -> String {
        format!(
            "V4L2 camera at {} (MJPEG {}×{}, preview {}×{})",
            self.path.display(),
            self.full.0,
            self.full.1,
            self.preview_size.0,
            self.preview_size.1
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_chosen_from_discrete_lists() {
        let offered = OfferedSizes::Discrete(vec![
            (640, 480),
            (3264, 2448),
            (320, 240),
            (1920, 1080),
            (2592, 1944),
        ]);
        assert_eq!(choose_sizes(&offered), Some(((3264, 2448), (640, 480))));
        let small = OfferedSizes::Discrete(vec![(320, 240), (352, 288)]);
        assert_eq!(choose_sizes(&small), Some(((352, 288), (352, 288))));
        assert_eq!(choose_sizes(&OfferedSizes::Discrete(Vec::new())), None);
    }

    #[test]
    fn sizes_are_chosen_from_stepwise_ranges() {
        let offered = OfferedSizes::Stepwise {
            min: (160, 120),
            max: (4208, 3120),
            step: (16, 8),
        };
        assert_eq!(choose_sizes(&offered), Some(((4208, 3120), (640, 480))));
        let coarse = OfferedSizes::Stepwise {
            min: (100, 100),
            max: (800, 600),
            step: (300, 300),
        };
        assert_eq!(choose_sizes(&coarse), Some(((800, 600), (400, 400))));
    }

    #[test]
    fn a_missing_device_reads_as_disconnected() {
        match V4l2Camera::open("/dev/kiosk-test-no-such-video") {
            Err(CameraError::Disconnected(_)) => {}
            other => panic!("expected Disconnected, got {other:?}"),
        }
    }
}
