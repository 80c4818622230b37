//! [`FileCamera`]: a camera that serves photos from a folder.
//!
//! The kiosk selects it by configuration when it should run without a real 高拍仪 (demos,
//! end-to-end tests, a terminal whose camera is being replaced). Each capture takes the next
//! photo, in file-name order, round and round; the preview shows the photo the next capture
//! will take, scaled down, as a live camera pointed at that page would.

use std::path::{Path, PathBuf};

use image::RgbImage;

use super::{Camera, CameraError, PREVIEW_MAX_SIDE, downscale};

/// The largest frame file read, as a bound on memory for a misplaced file.
const MAX_FRAME_BYTES: u64 = 64 << 20;

/// Serves JPEG and PNG frames from a folder.
#[derive(Debug, Clone)]
pub struct FileCamera {
    dir: PathBuf,
    frames: Vec<PathBuf>,
    next: usize,
}

impl FileCamera {
    /// Lists the `.jpg`, `.jpeg` and `.png` files in `dir` (not its subfolders).
    pub fn open(dir: impl AsRef<Path>) -> Result<FileCamera, CameraError> {
        let dir = dir.as_ref().to_path_buf();
        let entries = std::fs::read_dir(&dir).map_err(|source| CameraError::Open {
            path: dir.clone(),
            source,
        })?;
        let mut frames: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| {
                path.is_file()
                    && path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                        ["jpg", "jpeg", "png"]
                            .iter()
                            .any(|known| e.eq_ignore_ascii_case(known))
                    })
            })
            .collect();
        if frames.is_empty() {
            return Err(CameraError::NoFrames(dir));
        }
        frames.sort();
        Ok(FileCamera {
            dir,
            frames,
            next: 0,
        })
    }

    /// The frame files, in the order they are served.
    pub fn frames(&self) -> &[PathBuf] {
        &self.frames
    }

    fn load(&self, index: usize) -> Result<RgbImage, CameraError> {
        let path = &self.frames[index % self.frames.len()];
        let size = std::fs::metadata(path)
            .map_err(|e| CameraError::Disconnected(format!("{}: {e}", path.display())))?
            .len();
        if size > MAX_FRAME_BYTES {
            return Err(CameraError::Decode(format!(
                "{} is larger than {MAX_FRAME_BYTES} bytes",
                path.display()
            )));
        }
        let bytes = std::fs::read(path)
            .map_err(|e| CameraError::Disconnected(format!("{}: {e}", path.display())))?;
        let image = image::load_from_memory(&bytes)
            .map_err(|e| CameraError::Decode(format!("{}: {e}", path.display())))?;
        Ok(image.to_rgb8())
    }
}

impl Camera for FileCamera {
    fn preview(&mut self) -> Result<RgbImage, CameraError> {
        Ok(downscale(self.load(self.next)?, PREVIEW_MAX_SIDE))
    }

    fn capture(&mut self) -> Result<RgbImage, CameraError> {
        let frame = self.load(self.next)?;
        self.next = (self.next + 1) % self.frames.len();
        Ok(frame)
    }

    fn describe(&self) -> String {
        format!(
            "photos from {} ({} frames)",
            self.dir.display(),
            self.frames.len()
        )
    }
}
