//! Plane geometry for page detection: points, convex hulls, quadrilaterals, line fits and the
//! homography that maps a photographed page onto a flat rectangle.

use serde::{Deserialize, Serialize};

/// A point in image coordinates: x to the right, y down, in pixels (pixel centres at
/// integer coordinates).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

impl Point {
    pub const fn new(x: f64, y: f64) -> Point {
        Point { x, y }
    }

    pub fn distance(self, other: Point) -> f64 {
        (self.x - other.x).hypot(self.y - other.y)
    }
}

/// `(b - a) × (c - a)`: positive when a → b → c turns clockwise on screen (y down).
pub fn cross(a: Point, b: Point, c: Point) -> f64 {
    (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x)
}

/// The area of a simple polygon (shoelace formula), whatever its orientation.
pub fn polygon_area(points: &[Point]) -> f64 {
    let n = points.len();
    if n < 3 {
        return 0.0;
    }
    let twice: f64 = (0..n)
        .map(|i| {
            let (a, b) = (points[i], points[(i + 1) % n]);
            a.x * b.y - b.x * a.y
        })
        .sum();
    twice.abs() / 2.0
}

/// The convex hull (Andrew's monotone chain), in clockwise screen order, without collinear
/// points. Fewer than three distinct points give what there is.
pub fn convex_hull(points: &[Point]) -> Vec<Point> {
    let mut sorted = points.to_vec();
    sorted.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
    sorted.dedup();
    if sorted.len() < 3 {
        return sorted;
    }
    let mut hull: Vec<Point> = Vec::with_capacity(sorted.len() * 2);
    for pass in [false, true] {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &Point>> = if pass {
            Box::new(sorted.iter().rev())
        } else {
            Box::new(sorted.iter())
        };
        for &p in iter {
            while hull.len() >= start + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0
            {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    hull
}

/// The quadrilateral of largest area with its corners among the vertices of a convex
/// polygon, in the polygon's order. `None` for fewer than four vertices.
///
/// For each pair of opposite corners the best third and fourth corners are found
/// independently on either side, which is exact; the cost is cubic in the number of
/// vertices, so callers simplify big hulls first.
pub fn largest_inscribed_quad(hull: &[Point]) -> Option<[Point; 4]> {
    let n = hull.len();
    if n < 4 {
        return None;
    }
    let mut best: Option<(f64, [usize; 4])> = None;
    for i in 0..n {
        for k in i + 2..n {
            let (a, c) = (hull[i], hull[k]);
            let best_side = |range: &mut dyn Iterator<Item = usize>| {
                range
                    .map(|j| (cross(a, c, hull[j]).abs(), j))
                    .max_by(|x, y| x.0.total_cmp(&y.0))
            };
            let Some((left, j)) = best_side(&mut (i + 1..k)) else {
                continue;
            };
            let Some((right, l)) = best_side(&mut (k + 1..n).chain(0..i)) else {
                continue;
            };
            let area = (left + right) / 2.0;
            if best.is_none_or(|(b, _)| area > b) {
                best = Some((area, [i, j, k, l]));
            }
        }
    }
    best.map(|(_, idx)| idx.map(|i| hull[i]))
}

/// Drops hull vertices that deviate less than `tolerance` from the line through their
/// neighbours, until no more can go; keeps the shape, shrinks the count.
pub fn simplify_closed(points: &[Point], tolerance: f64) -> Vec<Point> {
    let mut pts = points.to_vec();
    loop {
        let n = pts.len();
        if n <= 4 {
            return pts;
        }
        let flattest = (0..n)
            .map(|i| {
                let (prev, p, next) = (pts[(i + n - 1) % n], pts[i], pts[(i + 1) % n]);
                let base = prev.distance(next).max(f64::EPSILON);
                (cross(prev, next, p).abs() / base, i)
            })
            .min_by(|a, b| a.0.total_cmp(&b.0));
        match flattest {
            Some((deviation, i)) if deviation < tolerance => {
                pts.remove(i);
            }
            _ => return pts,
        }
    }
}

/// A line `n · p = d` with unit normal `n`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Line {
    pub nx: f64,
    pub ny: f64,
    pub d: f64,
}

impl Line {
    /// The least-squares line through `points` (total least squares, so vertical lines are
    /// fine). `None` for fewer than two distinct points.
    pub fn fit(points: &[Point]) -> Option<Line> {
        if points.len() < 2 {
            return None;
        }
        let count = points.len() as f64;
        let (sx, sy) = points
            .iter()
            .fold((0.0, 0.0), |(sx, sy), p| (sx + p.x, sy + p.y));
        let (mx, my) = (sx / count, sy / count);
        let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
        for p in points {
            let (dx, dy) = (p.x - mx, p.y - my);
            sxx += dx * dx;
            sxy += dx * dy;
            syy += dy * dy;
        }
        if sxx + syy <= f64::EPSILON {
            return None;
        }
        // The direction of least variance is the normal.
        let angle = 0.5 * (2.0 * sxy).atan2(sxx - syy);
        let (nx, ny) = (-angle.sin(), angle.cos());
        Some(Line {
            nx,
            ny,
            d: nx * mx + ny * my,
        })
    }

    /// The line through two points.
    pub fn through(a: Point, b: Point) -> Option<Line> {
        let (dx, dy) = (b.x - a.x, b.y - a.y);
        let len = dx.hypot(dy);
        if len <= f64::EPSILON {
            return None;
        }
        let (nx, ny) = (-dy / len, dx / len);
        Some(Line {
            nx,
            ny,
            d: nx * a.x + ny * a.y,
        })
    }

    pub fn distance(&self, p: Point) -> f64 {
        (self.nx * p.x + self.ny * p.y - self.d).abs()
    }

    /// Where two lines cross; `None` when they are (nearly) parallel.
    pub fn intersect(&self, other: &Line) -> Option<Point> {
        let det = self.nx * other.ny - self.ny * other.nx;
        if det.abs() < 1e-9 {
            return None;
        }
        Some(Point::new(
            (self.d * other.ny - self.ny * other.d) / det,
            (self.nx * other.d - self.d * other.nx) / det,
        ))
    }
}

/// A projective transform of the plane, as a 3×3 matrix with `h[8]` normalised to 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Homography {
    h: [f64; 9],
}

impl Homography {
    /// The transform taking each `from[i]` to `to[i]`. `None` when the points are degenerate
    /// (three of them on a line).
    pub fn from_points(from: &[Point; 4], to: &[Point; 4]) -> Option<Homography> {
        // Two equations per correspondence in the eight unknowns h0..h7 (h8 = 1).
        let mut m = [[0.0f64; 9]; 8];
        for (i, (p, q)) in from.iter().zip(to).enumerate() {
            m[2 * i] = [p.x, p.y, 1.0, 0.0, 0.0, 0.0, -q.x * p.x, -q.x * p.y, q.x];
            m[2 * i + 1] = [0.0, 0.0, 0.0, p.x, p.y, 1.0, -q.y * p.x, -q.y * p.y, q.y];
        }
        let solution = solve_8x8(m)?;
        let mut h = [1.0; 9];
        h[..8].copy_from_slice(&solution);
        Some(Homography { h })
    }

    pub fn apply(&self, p: Point) -> Option<Point> {
        let h = &self.h;
        let w = h[6] * p.x + h[7] * p.y + h[8];
        if w.abs() < 1e-12 {
            return None;
        }
        Some(Point::new(
            (h[0] * p.x + h[1] * p.y + h[2]) / w,
            (h[3] * p.x + h[4] * p.y + h[5]) / w,
        ))
    }
}

/// Gaussian elimination with partial pivoting on an augmented 8×9 system.
fn solve_8x8(mut m: [[f64; 9]; 8]) -> Option<[f64; 8]> {
    for col in 0..8 {
        let pivot = (col..8).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))?;
        if m[pivot][col].abs() < 1e-12 {
            return None;
        }
        m.swap(col, pivot);
        let pivot_row = m[col];
        for (row, values) in m.iter_mut().enumerate() {
            if row != col {
                let factor = values[col] / pivot_row[col];
                if factor != 0.0 {
                    for (value, p) in values[col..].iter_mut().zip(&pivot_row[col..]) {
                        *value -= factor * p;
                    }
                }
            }
        }
    }
    let mut x = [0.0; 8];
    for (i, xi) in x.iter_mut().enumerate() {
        *xi = m[i][8] / m[i][i];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Point, b: Point) -> bool {
        a.distance(b) < 1e-6
    }

    #[test]
    fn homography_maps_the_four_points_and_keeps_lines_straight() {
        let from = [
            Point::new(0.0, 0.0),
            Point::new(100.0, 0.0),
            Point::new(100.0, 141.0),
            Point::new(0.0, 141.0),
        ];
        let to = [
            Point::new(210.0, 95.0),
            Point::new(640.0, 130.0),
            Point::new(600.0, 720.0),
            Point::new(180.0, 690.0),
        ];
        let h = Homography::from_points(&from, &to).expect("not degenerate");
        for (p, q) in from.iter().zip(&to) {
            assert!(close(h.apply(*p).expect("finite"), *q));
        }
        let mid = h.apply(Point::new(50.0, 0.0)).expect("finite");
        let line = Line::through(to[0], to[1]).expect("line");
        assert!(line.distance(mid) < 1e-6, "a line maps to a line");
        let collinear = [from[0], from[1], Point::new(200.0, 0.0), from[3]];
        assert!(Homography::from_points(&collinear, &to).is_none());
    }

    #[test]
    fn hull_and_largest_quad_of_a_noisy_rectangle() {
        let mut points = Vec::new();
        for i in 0..=40 {
            let t = f64::from(i);
            points.extend([
                Point::new(t * 2.0, 0.3 * (t * 0.7).sin()),
                Point::new(t * 2.0, 50.0 + 0.3 * t.cos()),
                Point::new(0.3 * t.sin(), t * 1.25),
                Point::new(80.0 + 0.3 * t.cos(), t * 1.25),
                Point::new(40.0, 25.0),
            ]);
        }
        let hull = convex_hull(&points);
        assert!(hull.len() >= 4);
        for w in 0..hull.len() {
            let (a, b, c) = (
                hull[w],
                hull[(w + 1) % hull.len()],
                hull[(w + 2) % hull.len()],
            );
            assert!(cross(a, b, c) > 0.0, "clockwise and strictly convex");
        }
        let simple = simplify_closed(&hull, 1.0);
        let quad = largest_inscribed_quad(&simple).expect("quad");
        for corner in [(0.0, 0.0), (80.0, 0.0), (80.0, 50.0), (0.0, 50.0)] {
            let corner = Point::new(corner.0, corner.1);
            assert!(
                quad.iter().any(|q| q.distance(corner) < 1.5),
                "{corner:?} in {quad:?}"
            );
        }
        assert!((polygon_area(&quad) - 4000.0).abs() < 100.0);
    }

    #[test]
    fn line_fit_and_intersection() {
        let vertical: Vec<Point> = (0..10).map(|i| Point::new(5.0, f64::from(i))).collect();
        let horizontal: Vec<Point> = (0..10).map(|i| Point::new(f64::from(i), -3.0)).collect();
        let (v, h) = (
            Line::fit(&vertical).expect("fit"),
            Line::fit(&horizontal).expect("fit"),
        );
        assert!(close(
            v.intersect(&h).expect("cross"),
            Point::new(5.0, -3.0)
        ));
        assert!(v.intersect(&v).is_none());
        assert!(Line::fit(&[Point::new(1.0, 1.0), Point::new(1.0, 1.0)]).is_none());
    }
}
