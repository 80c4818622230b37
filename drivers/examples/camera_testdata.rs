//! Generates the document-camera test photos in `drivers/testdata/camera/`:
//!
//! ```text
//! cargo run -p kiosk-drivers --release --example camera_testdata [OUT_DIR]
//! ```
//!
//! Each photo is a synthetic A4 page (a printed frame, a title, lines of text-like marks and a
//! red seal) projected by a known homography onto a wood-grain desk, with a vignette and
//! sensor noise, as a 高拍仪 sees a page laid down a little crooked. The page's corners in
//! the photo are written to `corners.json`, in the page's own order (top-left, top-right,
//! bottom-right, bottom-left of the printed page), so the detector's answer can be checked
//! against the truth. `desk-empty.jpg` is the same desk with no page on it.
//!
//! Everything is computed from fixed parameters and a hash-based noise function, so running
//! it again reproduces the same pictures (up to the JPEG encoder's version).

use std::path::PathBuf;

use image::{Rgb, RgbImage};
use kiosk_drivers::camera::document::encode_jpeg;
use kiosk_drivers::camera::geometry::{Homography, Point};
use serde_json::json;

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 960;
const SQRT2: f64 = std::f64::consts::SQRT_2;

/// One photo: where the page lies and how it is tilted.
struct Pose {
    file: &'static str,
    centre: (f64, f64),
    /// The page's long side, in photo pixels.
    height: f64,
    /// Clockwise rotation on screen, in degrees.
    rotation: f64,
    /// How much narrower the page's top edge looks than its bottom edge (camera tilt), in
    /// pixels; negative for a wider top.
    keystone: f64,
}

const POSES: [Pose; 6] = [
    Pose {
        file: "page-01-straight.jpg",
        centre: (640.0, 480.0),
        height: 800.0,
        rotation: 0.0,
        keystone: 0.0,
    },
    Pose {
        file: "page-02-left-7.jpg",
        centre: (610.0, 490.0),
        height: 760.0,
        rotation: -7.0,
        keystone: 30.0,
    },
    Pose {
        file: "page-03-right-12.jpg",
        centre: (560.0, 470.0),
        height: 720.0,
        rotation: 12.0,
        keystone: -20.0,
    },
    Pose {
        file: "page-04-left-18-tilted.jpg",
        centre: (700.0, 480.0),
        height: 700.0,
        rotation: -18.0,
        keystone: 50.0,
    },
    Pose {
        file: "page-05-right-25.jpg",
        centre: (650.0, 485.0),
        height: 640.0,
        rotation: 25.0,
        keystone: 15.0,
    },
    Pose {
        file: "page-06-sideways-84.jpg",
        centre: (640.0, 480.0),
        height: 760.0,
        rotation: 84.0,
        keystone: 25.0,
    },
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/camera"),
        PathBuf::from,
    );
    std::fs::create_dir_all(&out)?;
    let mut photos = Vec::new();
    for (index, pose) in POSES.iter().enumerate() {
        let corners = corners(pose);
        let page_rect = [
            Point::new(0.0, 0.0),
            Point::new(1.0, 0.0),
            Point::new(1.0, SQRT2),
            Point::new(0.0, SQRT2),
        ];
        let to_page = Homography::from_points(&corners, &page_rect).ok_or("degenerate pose")?;
        let photo = render(Some(&to_page), index as u64 + 1);
        std::fs::write(out.join(pose.file), encode_jpeg(&photo, 88)?)?;
        photos.push(json!({
            "file": pose.file,
            "rotation_degrees": pose.rotation,
            "keystone_px": pose.keystone,
            "corners": corners.iter().map(|p| [round2(p.x), round2(p.y)]).collect::<Vec<_>>(),
        }));
        println!("wrote {}", pose.file);
    }
    let empty = render(None, 99);
    std::fs::write(out.join("desk-empty.jpg"), encode_jpeg(&empty, 88)?)?;
    println!("wrote desk-empty.jpg");
    let index = json!({
        "generator": "cargo run -p kiosk-drivers --release --example camera_testdata",
        "size": [WIDTH, HEIGHT],
        "corner_order": "the printed page's top-left, top-right, bottom-right, bottom-left; pixel centres at integer coordinates",
        "page": "A4 portrait, aspect 1:sqrt(2)",
        "photos": photos,
        "no_page": ["desk-empty.jpg"],
    });
    std::fs::write(
        out.join("corners.json"),
        serde_json::to_string_pretty(&index)? + "\n",
    )?;
    println!("wrote corners.json");
    Ok(())
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// The page's corners in the photo: a rotated rectangle, its top edge shortened by the
/// keystone.
fn corners(pose: &Pose) -> [Point; 4] {
    let (h, w) = (pose.height, pose.height / SQRT2);
    let k = pose.keystone / 2.0;
    let local = [
        (-w / 2.0 + k, -h / 2.0),
        (w / 2.0 - k, -h / 2.0),
        (w / 2.0, h / 2.0),
        (-w / 2.0, h / 2.0),
    ];
    let (sin, cos) = pose.rotation.to_radians().sin_cos();
    local.map(|(x, y)| {
        Point::new(
            pose.centre.0 + x * cos - y * sin,
            pose.centre.1 + x * sin + y * cos,
        )
    })
}

/// Renders one photo, 2×2 supersampled.
fn render(to_page: Option<&Homography>, seed: u64) -> RgbImage {
    RgbImage::from_fn(WIDTH, HEIGHT, |x, y| {
        let mut sum = [0.0f64; 3];
        for (sx, sy) in [(0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)] {
            let p = Point::new(f64::from(x) + sx - 0.5, f64::from(y) + sy - 0.5);
            let colour = to_page
                .and_then(|h| h.apply(p))
                .filter(|q| (0.0..=1.0).contains(&q.x) && (0.0..=SQRT2).contains(&q.y))
                .map_or_else(|| desk(p), |q| page(q.x, q.y));
            for k in 0..3 {
                sum[k] += colour[k] / 4.0;
            }
        }
        // Vignette: the lamp lights the middle best.
        let (dx, dy) = (
            f64::from(x) / f64::from(WIDTH) - 0.5,
            f64::from(y) / f64::from(HEIGHT) - 0.5,
        );
        let light = 1.0 - 0.35 * (dx * dx + dy * dy);
        let noise = |k: u64| (hash(u64::from(x), u64::from(y), seed * 4 + k) - 0.5) * 12.0;
        Rgb([0, 1, 2].map(|k| (sum[k] * light + noise(k as u64)).round().clamp(0.0, 255.0) as u8))
    })
}

/// Wood grain: brown, with wavy darker stripes and fine fibres.
fn desk(p: Point) -> [f64; 3] {
    let wave = (p.y * 0.045 + 2.5 * (p.x * 0.004).sin() + 0.8 * (p.x * 0.013).sin()).sin();
    let fibre = hash((p.x * 0.5) as u64, (p.y * 0.08) as u64, 7) - 0.5;
    let shade = 1.0 + 0.16 * wave + 0.10 * fibre;
    [128.0 * shade, 88.0 * shade, 56.0 * shade]
}

/// The printed page at page coordinates (0–1 across, 0–√2 down).
fn page(u: f64, v: f64) -> [f64; 3] {
    let paper = [238.0, 236.0, 230.0];
    let ink = [45.0, 45.0, 50.0];
    let red = [200.0, 40.0, 45.0];
    // Printed frame, 6 % in from the edge.
    let frame = |t: f64, lo: f64, hi: f64| (t - lo).abs() < 0.004 || (t - hi).abs() < 0.004;
    if (frame(u, 0.06, 0.94) && (0.06 * SQRT2..=0.94 * SQRT2).contains(&v))
        || (frame(v, 0.06 * SQRT2, 0.94 * SQRT2) && (0.06..=0.94).contains(&u))
    {
        return ink;
    }
    // Red seal, bottom right: a ring.
    let r = (u - 0.74).hypot(v - 1.18);
    if (0.075..0.085).contains(&r) {
        return red;
    }
    // Title: big glyph-like blocks.
    if (0.13..0.17).contains(&v) && (0.28..0.72).contains(&u) {
        let glyph = (u - 0.28) / 0.044;
        return if glyph.fract() < 0.78 && glyph.fract() > 0.08 {
            ink
        } else {
            paper
        };
    }
    // Body text: lines of words of small glyphs.
    if (0.22..1.05).contains(&v) && (0.11..0.89).contains(&u) {
        let line = ((v - 0.22) / 0.034).floor();
        let within = (v - 0.22) / 0.034 - line;
        if within < 0.38 {
            let glyph = (u - 0.11) / 0.0125;
            let word_break = hash(glyph.floor() as u64, line as u64, 3) < 0.12;
            let line_end = 0.89 - 0.25 * hash(line as u64, 0, 5);
            if !word_break && u < line_end && glyph.fract() < 0.8 {
                return ink;
            }
        }
    }
    paper
}

/// A deterministic hash of three integers to [0, 1).
fn hash(a: u64, b: u64, c: u64) -> f64 {
    let mut z = a
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F))
        .wrapping_add(c.wrapping_mul(0x1656_67B1_9E37_79F9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}
