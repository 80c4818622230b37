//! Handwriting recognition through zinnia with the tegaki simplified-Chinese model.
//!
//! A character is the strokes a finger drew on a pad, each a list of points in the pad's
//! coordinates. What arrives from a touch screen is not trusted: points off the pad or not
//! numbers are dropped, empty strokes are skipped, and the number of strokes and points is
//! capped, so a garbage stroke list costs little and yields no candidates rather than an error.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::Mutex;

use crate::ImeError;
use crate::text::from_c;
use crate::zinnia_sys::*;

/// Where Debian's tegaki-zinnia-simplified-chinese installs its model.
pub const DEBIAN_MODEL: &str = "/usr/share/tegaki/models/zinnia/handwriting-zh_CN.model";

/// One stroke: the points from finger down to finger up, in pad coordinates.
pub type Stroke = Vec<(f32, f32)>;

/// More strokes than any character has (the most complex common ones have about 30).
pub const MAX_STROKES: usize = 64;

/// Points kept per stroke: a longer stroke is thinned evenly, keeping its shape and both
/// ends. A touch screen sampling at 120 Hz gives this in four seconds of one stroke.
pub const MAX_POINTS: usize = 512;

/// Most candidates asked for at once.
pub const MAX_CANDIDATES: usize = 32;

/// Largest pad side accepted, in pad units.
const MAX_PAD_SIDE: f32 = 100_000.0;

/// zinnia's integer grid: strokes are scaled onto it, keeping sub-pixel precision of small pads.
const GRID: f32 = 1000.0;

struct Recognizer(NonNull<zinnia_recognizer_t>);

// SAFETY: the recogniser is owned by one `Handwriting` and used under its lock only.
unsafe impl Send for Recognizer {}

/// A loaded zinnia model.
pub struct Handwriting {
    recognizer: Mutex<Recognizer>,
    model: PathBuf,
}

impl std::fmt::Debug for Handwriting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handwriting")
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

impl Handwriting {
    /// Loads the model at `model` (normally [`DEBIAN_MODEL`]).
    pub fn open(model: &Path) -> Result<Self, ImeError> {
        let fail = |reason: String| ImeError::Model {
            path: model.to_path_buf(),
            reason,
        };
        // zinnia's own message for a missing file is "no such file or directory" without the
        // name; checking first says which file and why.
        std::fs::metadata(model).map_err(|e| fail(e.to_string()))?;
        let path = model
            .to_str()
            .and_then(|s| CString::new(s).ok())
            .ok_or_else(|| ImeError::Path(model.to_path_buf()))?;
        // SAFETY: a new recogniser, owned here until moved into `Handwriting`.
        let recognizer = NonNull::new(unsafe { zinnia_recognizer_new() })
            .ok_or_else(|| fail("zinnia could not allocate a recogniser".into()))?;
        let recognizer = Recognizer(recognizer);
        // SAFETY: the recogniser is live and the path NUL-terminated.
        if unsafe { zinnia_recognizer_open(recognizer.0.as_ptr(), path.as_ptr()) } == 0 {
            // SAFETY: strerror returns a string owned by the recogniser, read before dropping it.
            let reason = unsafe { from_c(zinnia_recognizer_strerror(recognizer.0.as_ptr())) };
            return Err(fail(reason));
        }
        Ok(Handwriting {
            recognizer: Mutex::new(recognizer),
            model: model.to_path_buf(),
        })
    }

    /// The `n` most likely characters for `strokes` drawn on a pad `width` × `height`, best
    /// first, each with zinnia's score (higher is more likely). Garbage gives an empty list.
    pub fn recognize(
        &self,
        strokes: &[Stroke],
        width: f32,
        height: f32,
        n: usize,
    ) -> Vec<(String, f32)> {
        let pad_ok = |side: f32| side.is_finite() && (1.0..=MAX_PAD_SIDE).contains(&side);
        let n = n.min(MAX_CANDIDATES);
        if !pad_ok(width) || !pad_ok(height) || n == 0 {
            return Vec::new();
        }
        let strokes = clean(strokes, width, height);
        if strokes.is_empty() {
            return Vec::new();
        }
        let Some(character) = Character::new() else {
            return Vec::new();
        };
        // SAFETY: the character is live; the grid size is a small positive integer.
        unsafe {
            zinnia_character_set_width(character.0.as_ptr(), GRID as usize);
            zinnia_character_set_height(character.0.as_ptr(), GRID as usize);
        }
        for (id, stroke) in strokes.iter().enumerate() {
            for &(x, y) in stroke {
                let (gx, gy) = ((x / width * GRID) as i32, (y / height * GRID) as i32);
                // SAFETY: the character is live; ids are consecutive from 0 as zinnia needs.
                unsafe { zinnia_character_add(character.0.as_ptr(), id, gx, gy) };
            }
        }
        let recognizer = self.recognizer.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: recogniser and character are live; the result is destroyed below.
        let result =
            unsafe { zinnia_recognizer_classify(recognizer.0.as_ptr(), character.0.as_ptr(), n) };
        let Some(result) = NonNull::new(result) else {
            return Vec::new();
        };
        // SAFETY: indices below the result's size; the result is destroyed once, after reading.
        unsafe {
            let size = zinnia_result_size(result.as_ptr()).min(n);
            let found = (0..size)
                .map(|i| {
                    (
                        from_c(zinnia_result_value(result.as_ptr(), i)),
                        zinnia_result_score(result.as_ptr(), i),
                    )
                })
                .filter(|(text, _)| !text.is_empty())
                .collect();
            zinnia_result_destroy(result.as_ptr());
            found
        }
    }
}

impl Drop for Handwriting {
    fn drop(&mut self) {
        let recognizer = self.recognizer.get_mut().unwrap_or_else(|e| e.into_inner());
        // SAFETY: created in `open`, destroyed once here.
        unsafe { zinnia_recognizer_destroy(recognizer.0.as_ptr()) };
    }
}

/// A zinnia character being built, destroyed on drop.
struct Character(NonNull<zinnia_character_t>);

impl Character {
    fn new() -> Option<Self> {
        // SAFETY: a new character, owned by the returned value.
        NonNull::new(unsafe { zinnia_character_new() }).map(Character)
    }
}

impl Drop for Character {
    fn drop(&mut self) {
        // SAFETY: created in `new`, destroyed once here.
        unsafe { zinnia_character_destroy(self.0.as_ptr()) };
    }
}

/// The strokes worth recognising: points on the pad only, non-empty strokes, at most
/// [`MAX_STROKES`] strokes of at most [`MAX_POINTS`] points.
fn clean(strokes: &[Stroke], width: f32, height: f32) -> Vec<Stroke> {
    let on_pad = |&(x, y): &(f32, f32)| {
        x.is_finite() && y.is_finite() && (0.0..=width).contains(&x) && (0.0..=height).contains(&y)
    };
    strokes
        .iter()
        .map(|stroke| thin(stroke.iter().copied().filter(on_pad).collect()))
        .filter(|stroke| !stroke.is_empty())
        .take(MAX_STROKES)
        .collect()
}

/// Keeps at most [`MAX_POINTS`] of a stroke's points, evenly spaced, first and last included.
fn thin(points: Stroke) -> Stroke {
    if points.len() <= MAX_POINTS {
        return points;
    }
    let last = points.len() - 1;
    (0..MAX_POINTS)
        .map(|i| points[i * last / (MAX_POINTS - 1)])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_points_and_strokes_are_dropped() {
        let strokes = vec![
            vec![],
            vec![
                (f32::NAN, 1.0),
                (f32::INFINITY, 2.0),
                (-1.0, 5.0),
                (5.0, 101.0),
            ],
            vec![(10.0, 50.0), (f32::NAN, 50.0), (90.0, 50.0)],
        ];
        assert_eq!(
            clean(&strokes, 100.0, 100.0),
            vec![vec![(10.0, 50.0), (90.0, 50.0)]]
        );
    }

    #[test]
    fn counts_are_capped() {
        let long: Stroke = (0..10_000).map(|i| (i as f32 / 100.0, 1.0)).collect();
        let strokes = vec![long; 500];
        let cleaned = clean(&strokes, 100.0, 100.0);
        assert_eq!(cleaned.len(), MAX_STROKES);
        assert!(cleaned.iter().all(|s| s.len() == MAX_POINTS));
        // The ends of a thinned stroke are kept.
        assert_eq!(cleaned[0][0], (0.0, 1.0));
        assert_eq!(cleaned[0][MAX_POINTS - 1], (99.99, 1.0));
    }
}
