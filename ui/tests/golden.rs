//! Golden screenshots: every screen of [`common::SCREENS`] in zh, en and 长辈版, portrait
//! 1080×1920 and landscape 1920×1080, rendered with the software renderer and compared with the
//! reference PNGs checked in under `ui/golden/`.
//!
//! References are stored at half resolution (each pixel the mean of a 2×2 block) as 8-bit
//! palette PNGs (about 20–40 kB a screen): small enough to keep in git, sharp enough to catch a
//! moved, missing or clipped element.
//! A pixel differs when one of its channels is off by more than [`CHANNEL_TOLERANCE`]; a screen
//! fails when more than [`MAX_DIFFERING`] of its pixels differ. Every rendered screen is written
//! to `<target>/tmp/golden-review/`, with a `-diff.png` beside each that failed (differing
//! pixels in red over a faded copy of the screen).
//!
//! Regenerate the references after an intended change of the screens:
//!
//! ```text
//! UPDATE_GOLDEN=1 cargo test -p kiosk-ui --test golden
//! ```

mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Mode, SCREENS};
use kiosk_ui::KioskWindow;
use kiosk_ui::headless::Headless;
use slint::{ComponentHandle, Rgb8Pixel};

/// A channel may differ by this much (anti-aliasing, rounding) before the pixel counts as changed.
const CHANNEL_TOLERANCE: u8 = 40;
/// Share of changed pixels above which a screen no longer matches its reference.
const MAX_DIFFERING: f64 = 0.005;
/// Palette entries of a golden are at least this far apart in some channel.
const PALETTE_STEP: u8 = 6;

struct Image {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("golden")
}

/// Halves the image: each output pixel is the rounded mean of a 2×2 block.
fn half(width: u32, height: u32, pixels: &[Rgb8Pixel]) -> Image {
    let (w, h) = (width / 2, height / 2);
    let mut rgb = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h as usize {
        for x in 0..w as usize {
            let at = |dx: usize, dy: usize| pixels[(2 * y + dy) * width as usize + 2 * x + dx];
            let block = [at(0, 0), at(1, 0), at(0, 1), at(1, 1)];
            let mean = |c: fn(&Rgb8Pixel) -> u8| -> u8 {
                let sum: u32 = block.iter().map(|p| u32::from(c(p))).sum();
                ((sum + 2) / 4) as u8
            };
            rgb.extend([mean(|p| p.r), mean(|p| p.g), mean(|p| p.b)]);
        }
    }
    Image {
        width: w,
        height: h,
        rgb,
    }
}

/// At most 256 colours for `image`, and each pixel's index among them.
///
/// Screens are mostly flat colour; what varies is the anti-aliased edge of text. The palette
/// takes the most frequent colours, skipping any within [`PALETTE_STEP`] of one already taken,
/// and every pixel gets the nearest entry: an error far below [`CHANNEL_TOLERANCE`] on the few
/// pixels whose colour is not in the palette.
fn palette(image: &Image) -> (Vec<[u8; 3]>, Vec<u8>) {
    let mut counts: HashMap<[u8; 3], u32> = HashMap::new();
    for p in image.rgb.chunks(3) {
        *counts.entry([p[0], p[1], p[2]]).or_default() += 1;
    }
    let mut by_count: Vec<([u8; 3], u32)> = counts.into_iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let distance = |a: &[u8; 3], b: &[u8; 3]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap_or(0)
    };
    let mut entries: Vec<[u8; 3]> = Vec::with_capacity(256);
    let step = if by_count.len() <= 256 {
        0
    } else {
        PALETTE_STEP
    };
    for (colour, _) in &by_count {
        if entries.len() == 256 {
            break;
        }
        if entries.iter().all(|e| distance(e, colour) > step) {
            entries.push(*colour);
        }
    }
    let mut nearest: HashMap<[u8; 3], u8> = HashMap::new();
    let indices = image
        .rgb
        .chunks(3)
        .map(|p| {
            let colour = [p[0], p[1], p[2]];
            *nearest.entry(colour).or_insert_with(|| {
                let best = (0..entries.len())
                    .min_by_key(|&i| distance(&entries[i], &colour))
                    .unwrap_or(0);
                best as u8
            })
        })
        .collect();
    (entries, indices)
}

/// Writes a golden: an 8-bit palette PNG, a third of the size of the same screen in RGB.
fn write_golden(path: &Path, image: &Image) {
    let (entries, indices) = palette(image);
    let file = std::fs::File::create(path)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), image.width, image.height);
    encoder.set_color(png::ColorType::Indexed);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_palette(entries.iter().flatten().copied().collect::<Vec<u8>>());
    encoder.set_compression(png::Compression::High);
    let mut writer = encoder
        .write_header()
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    writer
        .write_image_data(&indices)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    writer
        .finish()
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

fn write(path: &Path, image: &Image) {
    let file = std::fs::File::create(path)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), image.width, image.height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder
        .write_header()
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    writer
        .write_image_data(&image.rgb)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    writer
        .finish()
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

fn read(path: &Path) -> Image {
    let file =
        std::fs::File::open(path).unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder
        .read_info()
        .unwrap_or_else(|e| panic!("{} is not a PNG: {e}", path.display()));
    let mut buf = vec![
        0;
        reader
            .output_buffer_size()
            .expect("PNG size fits in memory")
    ];
    let info = reader
        .next_frame(&mut buf)
        .unwrap_or_else(|e| panic!("cannot decode {}: {e}", path.display()));
    buf.truncate(info.buffer_size());
    let rgb = match info.color_type {
        png::ColorType::Rgb => buf,
        png::ColorType::Rgba => buf.chunks(4).flat_map(|p| [p[0], p[1], p[2]]).collect(),
        png::ColorType::Grayscale => buf.iter().flat_map(|&g| [g, g, g]).collect(),
        other => panic!("{}: unexpected PNG colour type {other:?}", path.display()),
    };
    Image {
        width: info.width,
        height: info.height,
        rgb,
    }
}

/// How many pixels differ beyond the tolerance, and a picture of where.
fn compare(actual: &Image, golden: &Image) -> (usize, Image) {
    let mut differing = 0;
    let mut diff = Vec::with_capacity(actual.rgb.len());
    for (a, g) in actual.rgb.chunks(3).zip(golden.rgb.chunks(3)) {
        let changed = a
            .iter()
            .zip(g)
            .any(|(x, y)| x.abs_diff(*y) > CHANNEL_TOLERANCE);
        if changed {
            differing += 1;
            diff.extend([255, 0, 0]);
        } else {
            let grey = ((u32::from(a[0]) + u32::from(a[1]) + u32::from(a[2])) / 3) as u8;
            let faded = 192 + grey / 4;
            diff.extend([faded, faded, faded]);
        }
    }
    (
        differing,
        Image {
            width: actual.width,
            height: actual.height,
            rgb: diff,
        },
    )
}

#[test]
fn every_screen_matches_its_golden_image() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v != "0" && !v.is_empty());
    let review = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("golden-review");
    // A fresh folder, so that it shows this run only.
    let _ = std::fs::remove_dir_all(&review);
    std::fs::create_dir_all(&review).expect("review folder");
    let golden = golden_dir();
    if update {
        std::fs::create_dir_all(&golden).expect("golden folder");
    }

    let mut display = Headless::install(1080, 1920).expect("headless platform");
    // Spinners and transitions at a fixed moment, so that every run draws the same frame.
    display.freeze_time(Some(Duration::from_millis(400)));
    let window = KioskWindow::new().expect("window");
    window.show().expect("show");

    let mut failures = Vec::new();
    let mut expected = BTreeSet::new();
    for mode in Mode::ALL {
        mode.apply(&mut display, &window);
        for screen in SCREENS {
            common::show(&window, screen);
            let (width, height) = display.size();
            let actual = half(width, height, &display.render());
            let file = format!("{}-{}.png", screen.name, mode.label());
            expected.insert(file.clone());
            write(&review.join(&file), &actual);
            let reference = golden.join(&file);
            if update {
                write_golden(&reference, &actual);
                let (differing, _) = compare(&actual, &read(&reference));
                assert!(
                    differing == 0,
                    "{file}: the palette of the golden loses {differing} pixels"
                );
                continue;
            }
            if !reference.exists() {
                failures.push(format!(
                    "{file}: no golden image for screen {} in mode {}; check {} and create it with \
                     UPDATE_GOLDEN=1 cargo test -p kiosk-ui --test golden",
                    screen.name,
                    mode.label(),
                    review.join(&file).display()
                ));
                continue;
            }
            let expected_image = read(&reference);
            if (expected_image.width, expected_image.height) != (actual.width, actual.height) {
                failures.push(format!(
                    "{file}: golden is {}×{}, the screen renders {}×{} at half size",
                    expected_image.width, expected_image.height, actual.width, actual.height
                ));
                continue;
            }
            let (differing, diff) = compare(&actual, &expected_image);
            let share = differing as f64 / (actual.width * actual.height) as f64;
            if share > MAX_DIFFERING {
                let diff_file = review.join(format!("{}-{}-diff.png", screen.name, mode.label()));
                write(&diff_file, &diff);
                failures.push(format!(
                    "{file}: screen {} in mode {} differs from its golden in {:.2} % of pixels \
                     (limit {:.1} %); see {} and {}",
                    screen.name,
                    mode.label(),
                    share * 100.0,
                    MAX_DIFFERING * 100.0,
                    review.join(&file).display(),
                    diff_file.display()
                ));
            }
        }
    }

    // A golden with no screen left behind it is stale: a renamed or removed screen.
    let present: BTreeSet<String> = std::fs::read_dir(&golden)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".png"))
                .collect()
        })
        .unwrap_or_default();
    for stale in present.difference(&expected) {
        if update {
            std::fs::remove_file(golden.join(stale)).expect("remove a stale golden");
        } else {
            failures.push(format!(
                "{stale}: a golden image no screen renders; delete it, or regenerate with \
                 UPDATE_GOLDEN=1 cargo test -p kiosk-ui --test golden"
            ));
        }
    }

    assert!(
        failures.is_empty(),
        "{} golden screenshot(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
