//! The strokes a finger writes on the handwriting pad, collected from its touch callbacks,
//! and drawn back as the pad's ink.
//!
//! The pad reports finger down, moves and up in its own coordinates; [`Ink`] keeps the strokes
//! for the recogniser and renders them as SVG path commands for the pad's `ink` property.
//! Points are clamped to the pad (a finger sliding past the edge still draws along it),
//! points closer than [`MIN_STEP`] to the previous one are skipped (a resting finger does not
//! pile up points), and strokes and points are capped, as a touch screen can report anything.

use std::fmt::Write;

/// Most strokes kept: more than any character has.
pub const MAX_STROKES: usize = 64;
/// Most points kept per stroke; a longer stroke keeps its points so far.
pub const MAX_POINTS: usize = 512;
/// Smallest move, in pad units, that adds a point.
pub const MIN_STEP: f32 = 2.0;

/// One stroke: its points from finger down to finger up.
pub type Stroke = Vec<(f32, f32)>;

/// The strokes on a pad of a given size.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ink {
    width: f32,
    height: f32,
    strokes: Vec<Stroke>,
    /// A finger is down and its stroke is the last one.
    writing: bool,
}

impl Ink {
    /// An empty pad `width` × `height` (the pad's side in logical pixels).
    pub fn new(width: f32, height: f32) -> Self {
        Self {
            width,
            height,
            ..Self::default()
        }
    }

    /// Finger down: a new stroke starts at (`x`, `y`). Ignored past [`MAX_STROKES`] or for a
    /// point that is not a number.
    pub fn begin(&mut self, x: f32, y: f32) {
        self.writing = false;
        let Some(point) = self.on_pad(x, y) else {
            return;
        };
        if self.strokes.len() < MAX_STROKES {
            self.strokes.push(vec![point]);
            self.writing = true;
        }
    }

    /// Finger moved to (`x`, `y`): extends the stroke being written, if any.
    pub fn extend(&mut self, x: f32, y: f32) {
        let Some(point) = self.on_pad(x, y) else {
            return;
        };
        if !self.writing {
            return;
        }
        let Some(stroke) = self.strokes.last_mut() else {
            return;
        };
        let far_enough = stroke
            .last()
            .is_none_or(|&(px, py)| (px - point.0).hypot(py - point.1) >= MIN_STEP);
        if far_enough && stroke.len() < MAX_POINTS {
            stroke.push(point);
        }
    }

    /// Finger up: the stroke is complete. True when a stroke was being written (time to
    /// recognise).
    pub fn end(&mut self) -> bool {
        std::mem::take(&mut self.writing)
    }

    /// Removes the last stroke; false when the pad is empty.
    pub fn erase_stroke(&mut self) -> bool {
        self.writing = false;
        self.strokes.pop().is_some()
    }

    /// Removes every stroke.
    pub fn clear(&mut self) {
        self.writing = false;
        self.strokes.clear();
    }

    /// The strokes, first written first.
    pub fn strokes(&self) -> &[Stroke] {
        &self.strokes
    }

    /// Nothing is written.
    pub fn is_empty(&self) -> bool {
        self.strokes.is_empty()
    }

    /// The strokes as SVG path commands for the pad's `ink` (empty when nothing is written).
    /// A stroke of one point (a tap) is drawn as a dot.
    pub fn path_commands(&self) -> String {
        let mut commands = String::new();
        for stroke in &self.strokes {
            let Some(&(x, y)) = stroke.first() else {
                continue;
            };
            // Writing to a String cannot fail.
            let _ = write!(commands, "M {x:.1} {y:.1} ");
            if stroke.len() == 1 {
                let _ = write!(commands, "L {:.1} {y:.1} ", x + 0.5);
            }
            for &(x, y) in &stroke[1..] {
                let _ = write!(commands, "L {x:.1} {y:.1} ");
            }
        }
        commands.truncate(commands.trim_end().len());
        commands
    }

    fn on_pad(&self, x: f32, y: f32) -> Option<(f32, f32)> {
        (x.is_finite() && y.is_finite()).then(|| {
            (
                x.clamp(0.0, self.width.max(0.0)),
                y.clamp(0.0, self.height.max(0.0)),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strokes_are_collected_and_drawn() {
        let mut ink = Ink::new(300.0, 300.0);
        ink.begin(10.0, 150.0);
        ink.extend(150.0, 150.0);
        ink.extend(290.0, 150.0);
        assert!(ink.end());
        ink.begin(150.0, 20.0);
        ink.extend(150.0, 280.0);
        assert!(ink.end());
        assert_eq!(ink.strokes().len(), 2);
        assert_eq!(
            ink.path_commands(),
            "M 10.0 150.0 L 150.0 150.0 L 290.0 150.0 M 150.0 20.0 L 150.0 280.0"
        );
        assert!(ink.erase_stroke());
        assert_eq!(ink.strokes().len(), 1);
        ink.clear();
        assert!(ink.is_empty() && ink.path_commands().is_empty());
        assert!(!ink.erase_stroke());
    }

    #[test]
    fn touch_noise_is_tamed() {
        let mut ink = Ink::new(300.0, 300.0);
        // Moves without a finger down draw nothing; nor does a finger up without a stroke.
        ink.extend(5.0, 5.0);
        assert!(!ink.end());
        // Past the edge: clamped. Not a number: ignored. A resting finger: one point.
        ink.begin(-20.0, 400.0);
        ink.extend(f32::NAN, 3.0);
        ink.extend(0.5, 299.5);
        ink.extend(1e9, 150.0);
        assert!(ink.end());
        assert_eq!(ink.strokes(), &[vec![(0.0, 300.0), (300.0, 150.0)]]);
        // A tap is a dot.
        ink.clear();
        ink.begin(100.0, 100.0);
        ink.end();
        assert_eq!(ink.path_commands(), "M 100.0 100.0 L 100.5 100.0");
        // Caps.
        ink.clear();
        for i in 0..(MAX_STROKES + 10) {
            ink.begin(1.0, 1.0);
            for j in 0..(MAX_POINTS + 100) {
                ink.extend((j % 300) as f32, (i % 300) as f32 + (j / 300) as f32 * 3.0);
            }
            ink.end();
        }
        assert_eq!(ink.strokes().len(), MAX_STROKES);
        assert!(ink.strokes().iter().all(|s| s.len() <= MAX_POINTS));
        // A finger down past the cap does not extend the last stroke.
        let last = ink.strokes()[MAX_STROKES - 1].clone();
        ink.begin(5.0, 5.0);
        ink.extend(200.0, 200.0);
        assert!(!ink.end());
        assert_eq!(ink.strokes()[MAX_STROKES - 1], last);
    }
}
