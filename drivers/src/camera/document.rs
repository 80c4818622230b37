//! Auto crop and deskew (裁边纠偏): find a page in a photo, flatten it to a rectangle, JPEG it.
//!
//! All pure functions on decoded images. The approach suits how a 高拍仪 is used: a light page
//! on a darker, textured surface (the camera's mat or a desk), photographed from above with
//! some rotation and a little tilt.
//!
//! 1. Work on a small greyscale copy (longest side [`DetectOptions::work_size`]), blurred, so
//!    paper texture, text and sensor noise do not matter and the cost is fixed.
//! 2. Split bright from dark with Otsu's threshold, and require a real contrast between the
//!    two: a photo of an empty desk has none worth the name.
//! 3. Everything dark that is connected to the photo's border is background; the page is the
//!    largest connected region left, so its text, its printed frame lines and its photos,
//!    all enclosed by paper, belong to it.
//! 4. The page's outline (sub-pixel edge points between page and background) gives a convex
//!    hull, and the hull the largest quadrilateral inside it. The region must fill that
//!    quadrilateral and the hull must not stick out of it: otherwise the bright shape is not a
//!    flat sheet (a hand, a glare, a stripe of the desk), and the answer is
//!    [`DocumentError::NoDocumentFound`], never a guessed crop.
//! 5. Each side is refined by a least-squares line through the edge points along its middle,
//!    and the corners are where neighbouring lines meet.
//!
//! The corrected page gets the aspect ratio of A4 (1:√2, portrait or landscape) when the
//! measured sides are within [`A4_TOLERANCE`] of it, since nearly everything citizens hand in is
//! A4 and the measurement is slightly off under perspective; otherwise the measured ratio.

use std::fmt;

use image::imageops::{self, FilterType};
use image::{GrayImage, Rgb, RgbImage};
use serde::{Deserialize, Serialize};

use super::geometry::{
    Homography, Line, Point, convex_hull, cross, largest_inscribed_quad, polygon_area,
    simplify_closed,
};

/// How far (relative) the measured aspect ratio may be from A4's to be taken for A4.
pub const A4_TOLERANCE: f64 = 0.12;

/// The longest side of a corrected page by default: A4 at 300 dpi.
pub const DEFAULT_MAX_PAGE_SIDE: u32 = 3508;

/// Why no page could be cut out of a photo.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    /// The photo does not show one whole flat page on a darker background.
    #[error("no document found in the photo: {0}")]
    NoDocumentFound(NoDocumentReason),
    /// The photo is too small to hold a readable page.
    #[error("the photo is too small ({width}×{height})")]
    PhotoTooSmall { width: u32, height: u32 },
    /// Encoding the page as JPEG failed.
    #[error("could not encode the page as JPEG: {0}")]
    Encode(String),
}

/// What the detector saw instead of a page; for the technician's diagnostics and for telling
/// the citizen what to change ("place the page entirely on the mat").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoDocumentReason {
    /// Nothing bright stands out from the background.
    NoContrast,
    /// The brightest region is too small to be a page.
    TooSmall,
    /// The bright region touches the photo's edge: the page is not wholly in view.
    NotWhollyInView,
    /// The bright region is not a four-sided flat sheet.
    NotQuadrilateral,
}

impl fmt::Display for NoDocumentReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NoDocumentReason::NoContrast => "nothing stands out from the background",
            NoDocumentReason::TooSmall => "the only bright region is too small to be a page",
            NoDocumentReason::NotWhollyInView => "the page is not entirely within the picture",
            NoDocumentReason::NotQuadrilateral => "the bright region is not a flat sheet",
        })
    }
}

/// Tuning of the detector; the defaults suit a 高拍仪 photographing A4 from 30–40 cm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectOptions {
    /// The longest side of the working copy, in pixels.
    pub work_size: u32,
    /// The smallest page, as a fraction of the photo's area.
    pub min_area_fraction: f64,
    /// The least difference between the mean brightness of page and background (0–255).
    pub min_contrast: f64,
    /// How much of its quadrilateral the page region must cover.
    pub min_fill: f64,
    /// How much bigger than its quadrilateral the region's convex hull may be.
    pub max_hull_excess: f64,
}

impl Default for DetectOptions {
    fn default() -> Self {
        DetectOptions {
            work_size: 512,
            min_area_fraction: 0.08,
            min_contrast: 40.0,
            min_fill: 0.9,
            max_hull_excess: 1.06,
        }
    }
}

/// A page's corners in the photo, clockwise from the one nearest the photo's top-left:
/// top-left, top-right, bottom-right, bottom-left as the page lies.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PageQuad {
    pub corners: [Point; 4],
}

impl PageQuad {
    /// The lengths of the top, right, bottom and left sides.
    pub fn sides(&self) -> [f64; 4] {
        let c = &self.corners;
        [0, 1, 2, 3].map(|i| c[i].distance(c[(i + 1) % 4]))
    }

    /// The size of the flattened page: measured, then snapped to A4's ratio when close, and
    /// scaled down so its longest side is at most `max_side`.
    pub fn output_size(&self, max_side: u32) -> (u32, u32) {
        let [top, right, bottom, left] = self.sides();
        let (w, h) = (top.max(bottom), left.max(right));
        let ratio = w / h;
        let sqrt2 = std::f64::consts::SQRT_2;
        let near = |target: f64| ((ratio - target) / target).abs() <= A4_TOLERANCE;
        let (w, h) = if near(1.0 / sqrt2) {
            (h / sqrt2, h)
        } else if near(sqrt2) {
            (w, w / sqrt2)
        } else {
            (w, h)
        };
        let shrink = (f64::from(max_side.max(1)) / w.max(h)).min(1.0);
        let px = |v: f64| ((v * shrink).round() as u32).max(1);
        (px(w), px(h))
    }
}

/// Finds the page with the default options.
pub fn find_document(photo: &RgbImage) -> Result<PageQuad, DocumentError> {
    find_document_with(photo, &DetectOptions::default())
}

/// Finds the page in `photo`; see the module docs for how, and [`NoDocumentReason`] for why
/// it may not.
pub fn find_document_with(
    photo: &RgbImage,
    options: &DetectOptions,
) -> Result<PageQuad, DocumentError> {
    let (width, height) = photo.dimensions();
    if width < 32 || height < 32 {
        return Err(DocumentError::PhotoTooSmall { width, height });
    }
    let work = options.work_size.max(64);
    let scale = (f64::from(width.max(height)) / f64::from(work)).max(1.0);
    let sw = ((f64::from(width) / scale).round() as u32).max(1);
    let sh = ((f64::from(height) / scale).round() as u32).max(1);
    let grey = imageops::grayscale(photo);
    let small = imageops::resize(&grey, sw, sh, FilterType::Triangle);
    let small = imageops::blur(&small, 1.2);

    let Some((threshold, dark_mean, bright_mean)) = otsu(&small) else {
        return Err(no_document(NoDocumentReason::NoContrast));
    };
    if bright_mean - dark_mean < options.min_contrast {
        return Err(no_document(NoDocumentReason::NoContrast));
    }
    let mask = Mask::threshold(&small, threshold).opened();
    let region = mask
        .page_region()
        .ok_or(no_document(NoDocumentReason::TooSmall))?;

    let image_area = f64::from(sw) * f64::from(sh);
    if (region.pixels as f64) < options.min_area_fraction * image_area {
        return Err(no_document(NoDocumentReason::TooSmall));
    }
    if region.touches_border {
        return Err(no_document(NoDocumentReason::NotWhollyInView));
    }
    let hull = convex_hull(&region.edge_points);
    let mut simple = simplify_closed(&hull, 0.75);
    let mut tolerance = 0.75;
    while simple.len() > 120 {
        tolerance *= 2.0;
        simple = simplify_closed(&simple, tolerance);
    }
    let quad =
        largest_inscribed_quad(&simple).ok_or(no_document(NoDocumentReason::NotQuadrilateral))?;
    let quad_area = polygon_area(&quad);
    let hull_area = polygon_area(&hull);
    if quad_area <= 0.0
        || (region.pixels as f64) < options.min_fill * quad_area
        || hull_area > options.max_hull_excess * quad_area
        || !angles_plausible(&quad)
    {
        return Err(no_document(NoDocumentReason::NotQuadrilateral));
    }
    let refined = refine(&quad, &region.edge_points).unwrap_or(quad);

    let (fx, fy) = (
        f64::from(width) / f64::from(sw),
        f64::from(height) / f64::from(sh),
    );
    let corners = refined.map(|p| Point::new((p.x + 0.5) * fx - 0.5, (p.y + 0.5) * fy - 0.5));
    Ok(PageQuad {
        corners: order_corners(corners),
    })
}

/// Flattens the page inside `quad` to a rectangle of [`PageQuad::output_size`], with
/// bilinear sampling.
pub fn deskew(photo: &RgbImage, quad: &PageQuad, max_side: u32) -> RgbImage {
    let (w, h) = quad.output_size(max_side);
    let (fw, fh) = (f64::from(w), f64::from(h));
    let rect = [
        Point::new(0.0, 0.0),
        Point::new(fw, 0.0),
        Point::new(fw, fh),
        Point::new(0.0, fh),
    ];
    let mut out = RgbImage::from_pixel(w, h, Rgb([255, 255, 255]));
    if photo.width() == 0 || photo.height() == 0 {
        return out;
    }
    let Some(map) = Homography::from_points(&rect, &quad.corners) else {
        // Degenerate corners cannot come out of `find_document`; a blank page is the
        // honest result for hand-made ones.
        return out;
    };
    for (x, y, pixel) in out.enumerate_pixels_mut() {
        let target = Point::new(f64::from(x) + 0.5, f64::from(y) + 0.5);
        if let Some(source) = map.apply(target) {
            *pixel = sample_bilinear(photo, source);
        }
    }
    out
}

/// Encodes an image as baseline JPEG at `quality` (1–100).
pub fn encode_jpeg(image: &RgbImage, quality: u8) -> Result<Vec<u8>, DocumentError> {
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality.clamp(1, 100))
        .encode_image(image)
        .map_err(|e| DocumentError::Encode(e.to_string()))?;
    Ok(bytes)
}

/// A page cut out of a photo, ready to upload or to put in a PDF.
#[derive(Clone, PartialEq)]
pub struct ScannedPage {
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// Where the page was found in the photo.
    pub quad: PageQuad,
}

impl fmt::Debug for ScannedPage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScannedPage")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("jpeg_bytes", &self.jpeg.len())
            .field("quad", &self.quad)
            .finish()
    }
}

/// JPEG quality of scanned pages: text stays crisp, an A4 page stays around half a megabyte.
pub const PAGE_JPEG_QUALITY: u8 = 85;

/// Find, flatten, encode: what the kiosk does with each captured photo.
pub fn scan_page(photo: &RgbImage) -> Result<ScannedPage, DocumentError> {
    let quad = find_document(photo)?;
    let page = deskew(photo, &quad, DEFAULT_MAX_PAGE_SIDE);
    Ok(ScannedPage {
        jpeg: encode_jpeg(&page, PAGE_JPEG_QUALITY)?,
        width: page.width(),
        height: page.height(),
        quad,
    })
}

fn no_document(reason: NoDocumentReason) -> DocumentError {
    DocumentError::NoDocumentFound(reason)
}

/// Otsu's threshold and the mean grey level of each side of it; `None` for an image of one
/// grey level, which has no two sides.
fn otsu(image: &GrayImage) -> Option<(u8, f64, f64)> {
    let mut histogram = [0u64; 256];
    for p in image.pixels() {
        histogram[usize::from(p.0[0])] += 1;
    }
    let total: u64 = histogram.iter().sum();
    let sum_all: f64 = histogram
        .iter()
        .enumerate()
        .map(|(v, &n)| v as f64 * n as f64)
        .sum();
    let (mut best, mut best_t) = (-1.0, 0u8);
    let (mut weight_dark, mut sum_dark) = (0u64, 0.0);
    for (t, &n) in histogram.iter().enumerate() {
        weight_dark += n;
        sum_dark += t as f64 * n as f64;
        let weight_bright = total - weight_dark;
        if weight_dark == 0 || weight_bright == 0 {
            continue;
        }
        let mean_dark = sum_dark / weight_dark as f64;
        let mean_bright = (sum_all - sum_dark) / weight_bright as f64;
        let between = weight_dark as f64 * weight_bright as f64 * (mean_dark - mean_bright).powi(2);
        if between > best {
            best = between;
            best_t = t as u8;
        }
    }
    let (mut wd, mut sd, mut wb, mut sb) = (0u64, 0.0, 0u64, 0.0);
    for (v, &n) in histogram.iter().enumerate() {
        if v <= usize::from(best_t) {
            wd += n;
            sd += v as f64 * n as f64;
        } else {
            wb += n;
            sb += v as f64 * n as f64;
        }
    }
    if best < 0.0 || wd == 0 || wb == 0 {
        return None;
    }
    Some((best_t, sd / wd as f64, sb / wb as f64))
}

/// A binary image: `true` for bright (paper-like) pixels.
struct Mask {
    width: usize,
    height: usize,
    bright: Vec<bool>,
}

/// The page candidate: the largest region not connected to the border through background.
struct Region {
    pixels: usize,
    touches_border: bool,
    /// Points halfway between a region pixel and a neighbouring background pixel.
    edge_points: Vec<Point>,
}

impl Mask {
    fn threshold(image: &GrayImage, threshold: u8) -> Mask {
        Mask {
            width: image.width() as usize,
            height: image.height() as usize,
            bright: image.pixels().map(|p| p.0[0] > threshold).collect(),
        }
    }

    /// Morphological opening (3×3 erosion, then dilation): removes specks of bright texture
    /// that would otherwise stick to the page's outline.
    fn opened(self) -> Mask {
        let eroded = self.filter3(true);
        eroded.filter3(false)
    }

    /// 3×3 erosion (`all`) or dilation (any); the border counts as background.
    fn filter3(&self, all: bool) -> Mask {
        let (w, h) = (self.width, self.height);
        let mut out = vec![false; w * h];
        for y in 0..h {
            for x in 0..w {
                let mut acc = all;
                for dy in -1i64..=1 {
                    for dx in -1i64..=1 {
                        let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                        let v = nx >= 0
                            && ny >= 0
                            && (nx as usize) < w
                            && (ny as usize) < h
                            && self.bright[ny as usize * w + nx as usize];
                        acc = if all { acc && v } else { acc || v };
                    }
                }
                out[y * w + x] = acc;
            }
        }
        Mask {
            width: w,
            height: h,
            bright: out,
        }
    }

    fn neighbours(&self, i: usize) -> impl Iterator<Item = (usize, i64, i64)> + '_ {
        let (x, y) = ((i % self.width) as i64, (i / self.width) as i64);
        [(1i64, 0i64), (-1, 0), (0, 1), (0, -1)]
            .into_iter()
            .filter_map(move |(dx, dy)| {
                let (nx, ny) = (x + dx, y + dy);
                (nx >= 0 && ny >= 0 && (nx as usize) < self.width && (ny as usize) < self.height)
                    .then(|| (ny as usize * self.width + nx as usize, dx, dy))
            })
    }

    fn page_region(&self) -> Option<Region> {
        let (w, h) = (self.width, self.height);
        // Background: dark pixels reachable from the border through dark pixels.
        let mut background = vec![false; w * h];
        let mut queue: Vec<usize> = (0..w * h)
            .filter(|&i| {
                let (x, y) = (i % w, i / w);
                (x == 0 || y == 0 || x == w - 1 || y == h - 1) && !self.bright[i]
            })
            .collect();
        for &i in &queue {
            background[i] = true;
        }
        while let Some(i) = queue.pop() {
            for (n, _, _) in self.neighbours(i) {
                if !background[n] && !self.bright[n] {
                    background[n] = true;
                    queue.push(n);
                }
            }
        }
        // The largest connected region of everything else.
        let mut label = vec![0u32; w * h];
        let mut best: Option<(u32, usize)> = None;
        let mut next = 0u32;
        for start in 0..w * h {
            if background[start] || label[start] != 0 {
                continue;
            }
            next += 1;
            label[start] = next;
            let mut stack = vec![start];
            let mut count = 0usize;
            while let Some(i) = stack.pop() {
                count += 1;
                for (n, _, _) in self.neighbours(i) {
                    if !background[n] && label[n] == 0 {
                        label[n] = next;
                        stack.push(n);
                    }
                }
            }
            if best.is_none_or(|(_, c)| count > c) {
                best = Some((next, count));
            }
        }
        let (id, pixels) = best?;
        let mut edge_points = Vec::new();
        let mut touches_border = false;
        for i in (0..w * h).filter(|&i| label[i] == id) {
            let (x, y) = (i % w, i / w);
            if x == 0 || y == 0 || x == w - 1 || y == h - 1 {
                touches_border = true;
            }
            for (n, dx, dy) in self.neighbours(i) {
                if label[n] != id {
                    edge_points.push(Point::new(
                        x as f64 + dx as f64 / 2.0,
                        y as f64 + dy as f64 / 2.0,
                    ));
                }
            }
        }
        Some(Region {
            pixels,
            touches_border,
            edge_points,
        })
    }
}

/// Every interior angle between 40° and 140°: a photographed sheet, not a sliver.
fn angles_plausible(quad: &[Point; 4]) -> bool {
    (0..4).all(|i| {
        let (prev, p, next) = (quad[(i + 3) % 4], quad[i], quad[(i + 1) % 4]);
        let (ax, ay) = (prev.x - p.x, prev.y - p.y);
        let (bx, by) = (next.x - p.x, next.y - p.y);
        let cos = (ax * bx + ay * by) / (ax.hypot(ay) * bx.hypot(by)).max(f64::EPSILON);
        let degrees = cos.clamp(-1.0, 1.0).acos().to_degrees();
        (40.0..=140.0).contains(&degrees)
    }) && (0..4).all(|i| cross(quad[i], quad[(i + 1) % 4], quad[(i + 2) % 4]) > 0.0)
}

/// Refits each side through the edge points along its middle 80 %, and intersects the lines.
fn refine(quad: &[Point; 4], edge_points: &[Point]) -> Option<[Point; 4]> {
    let mut lines = Vec::with_capacity(4);
    for i in 0..4 {
        let (a, b) = (quad[i], quad[(i + 1) % 4]);
        let side = Line::through(a, b)?;
        let length = a.distance(b);
        let near: Vec<Point> = edge_points
            .iter()
            .copied()
            .filter(|p| {
                let t = ((p.x - a.x) * (b.x - a.x) + (p.y - a.y) * (b.y - a.y)) / (length * length);
                (0.1..=0.9).contains(&t) && side.distance(*p) <= 2.5
            })
            .collect();
        lines.push(if near.len() >= 8 {
            Line::fit(&near).unwrap_or(side)
        } else {
            side
        });
    }
    let mut corners = [Point::default(); 4];
    for (i, corner) in corners.iter_mut().enumerate() {
        *corner = lines[(i + 3) % 4].intersect(&lines[i])?;
        // A refinement that moves a corner far has fitted something else: keep the original.
        if corner.distance(quad[i]) > 4.0 {
            return None;
        }
    }
    Some(corners)
}

/// Clockwise on screen, starting at the corner nearest the photo's top-left.
fn order_corners(corners: [Point; 4]) -> [Point; 4] {
    let mut c = corners;
    // Make the order clockwise on screen (y down).
    if cross(c[0], c[1], c[2]) < 0.0 {
        c.reverse();
    }
    let start = (0..4)
        .min_by(|&a, &b| (c[a].x + c[a].y).total_cmp(&(c[b].x + c[b].y)))
        .unwrap_or(0);
    [0, 1, 2, 3].map(|i| c[(start + i) % 4])
}

fn sample_bilinear(image: &RgbImage, p: Point) -> Rgb<u8> {
    let (w, h) = (image.width() as f64, image.height() as f64);
    // Photo coordinates put pixel centres on integers, as the detector's corners do.
    let x = p.x.clamp(0.0, w - 1.0);
    let y = p.y.clamp(0.0, h - 1.0);
    let (x0, y0) = (x.floor(), y.floor());
    let (tx, ty) = (x - x0, y - y0);
    let (x0, y0) = (x0 as u32, y0 as u32);
    let (x1, y1) = (
        (x0 + 1).min(image.width() - 1),
        (y0 + 1).min(image.height() - 1),
    );
    let px = |x, y| image.get_pixel(x, y).0.map(f64::from);
    let (a, b, c, d) = (px(x0, y0), px(x1, y0), px(x0, y1), px(x1, y1));
    Rgb([0, 1, 2].map(|k| {
        let top = a[k] + (b[k] - a[k]) * tx;
        let bottom = c[k] + (d[k] - c[k]) * tx;
        (top + (bottom - top) * ty).round().clamp(0.0, 255.0) as u8
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A white rectangle on grey: the simplest page there is.
    fn rectangle_photo(x0: u32, y0: u32, x1: u32, y1: u32) -> RgbImage {
        RgbImage::from_fn(400, 300, |x, y| {
            if (x0..x1).contains(&x) && (y0..y1).contains(&y) {
                Rgb([240, 240, 235])
            } else {
                Rgb([70, 60, 50])
            }
        })
    }

    #[test]
    fn an_axis_aligned_page_is_found_exactly() {
        let quad = find_document(&rectangle_photo(100, 40, 241, 240)).expect("page");
        let expected = [(99.5, 39.5), (240.5, 39.5), (240.5, 239.5), (99.5, 239.5)];
        for (corner, (x, y)) in quad.corners.iter().zip(expected) {
            assert!(
                corner.distance(Point::new(x, y)) < 1.5,
                "{corner:?} vs ({x}, {y})"
            );
        }
        assert_eq!(quad.output_size(10_000), (141, 200));
    }

    #[test]
    fn refusals_say_why() {
        let blank = RgbImage::from_pixel(400, 300, Rgb([128, 128, 128]));
        assert_eq!(
            find_document(&blank),
            Err(DocumentError::NoDocumentFound(NoDocumentReason::NoContrast))
        );
        assert_eq!(
            find_document(&rectangle_photo(190, 140, 210, 160)),
            Err(DocumentError::NoDocumentFound(NoDocumentReason::TooSmall))
        );
        assert_eq!(
            find_document(&rectangle_photo(0, 40, 200, 240)),
            Err(DocumentError::NoDocumentFound(
                NoDocumentReason::NotWhollyInView
            ))
        );
        // A bright disc is no sheet of paper.
        let disc = RgbImage::from_fn(400, 300, |x, y| {
            let (dx, dy) = (f64::from(x) - 200.0, f64::from(y) - 150.0);
            if dx.hypot(dy) < 100.0 {
                Rgb([240, 240, 240])
            } else {
                Rgb([60, 60, 60])
            }
        });
        assert_eq!(
            find_document(&disc),
            Err(DocumentError::NoDocumentFound(
                NoDocumentReason::NotQuadrilateral
            ))
        );
        assert_eq!(
            find_document(&RgbImage::new(16, 16)),
            Err(DocumentError::PhotoTooSmall {
                width: 16,
                height: 16
            })
        );
    }

    #[test]
    fn output_size_snaps_to_a4_only_when_close() {
        let quad = |w: f64, h: f64| PageQuad {
            corners: [
                Point::new(0.0, 0.0),
                Point::new(w, 0.0),
                Point::new(w, h),
                Point::new(0.0, h),
            ],
        };
        assert_eq!(quad(1000.0, 1400.0).output_size(10_000), (990, 1400));
        assert_eq!(quad(1400.0, 1000.0).output_size(10_000), (1400, 990));
        assert_eq!(quad(1000.0, 1000.0).output_size(10_000), (1000, 1000));
        let (w, h) = quad(3000.0, 4200.0).output_size(DEFAULT_MAX_PAGE_SIDE);
        assert_eq!(h, DEFAULT_MAX_PAGE_SIDE);
        assert!((f64::from(h) / f64::from(w) - std::f64::consts::SQRT_2).abs() < 0.001);
    }

    #[test]
    fn deskew_of_an_empty_photo_is_blank_not_a_panic() {
        let quad = PageQuad {
            corners: [
                Point::new(0.0, 0.0),
                Point::new(70.0, 0.0),
                Point::new(70.0, 99.0),
                Point::new(0.0, 99.0),
            ],
        };
        let page = deskew(&RgbImage::new(0, 0), &quad, 1000);
        assert_eq!(page.dimensions(), (70, 99));
        assert!(page.pixels().all(|p| p.0 == [255, 255, 255]));
    }

    #[test]
    fn deskew_of_a_rectangle_is_the_rectangle() {
        let photo = rectangle_photo(100, 40, 241, 240);
        let quad = find_document(&photo).expect("page");
        let page = deskew(&photo, &quad, 10_000);
        assert_eq!(page.dimensions(), (141, 200));
        let dark = page.pixels().filter(|p| p.0[0] < 150).count();
        assert!(dark < 200, "almost no background inside the crop: {dark}");
        let jpeg = encode_jpeg(&page, 80).expect("jpeg");
        assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
    }
}
