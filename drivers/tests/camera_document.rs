//! Crop and deskew on the shipped photos of a skewed A4 page on a desk
//! (`drivers/testdata/camera/`, made by `examples/camera_testdata.rs`, whose true page corners
//! are in `corners.json`), the refusal of a photo with no page, the multi-page PDF, and the
//! file camera.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::TempDir;
use image::RgbImage;
use kiosk_drivers::camera::document::{DEFAULT_MAX_PAGE_SIDE, PAGE_JPEG_QUALITY};
use kiosk_drivers::camera::pdf::jpeg_info;
use kiosk_drivers::camera::{
    Camera, CameraError, DocumentError, FileCamera, NoDocumentReason, PREVIEW_MAX_SIDE, Point,
    deskew, encode_jpeg, find_document, jpegs_to_pdf, scan_page,
};
use serde::Deserialize;

/// Detected corners must be this close to the truth, as a fraction of the photo's diagonal.
const CORNER_TOLERANCE: f64 = 0.015;

#[derive(Deserialize)]
struct Index {
    photos: Vec<Photo>,
    no_page: Vec<String>,
}

#[derive(Deserialize)]
struct Photo {
    file: String,
    corners: [[f64; 2]; 4],
}

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/camera")
}

fn index() -> Index {
    let json = std::fs::read_to_string(testdata().join("corners.json")).expect("corners.json");
    serde_json::from_str(&json).expect("valid corners.json")
}

fn load(file: &str) -> RgbImage {
    image::open(testdata().join(file))
        .unwrap_or_else(|e| panic!("{file}: {e}"))
        .to_rgb8()
}

/// The largest corner error, after turning the detected corners to the truth's starting
/// corner (the detector starts at the corner nearest the photo's top-left, the truth at the
/// printed page's top-left; both go clockwise).
fn corner_error(detected: &[Point; 4], truth: &[[f64; 2]; 4]) -> f64 {
    (0..4)
        .map(|shift| {
            (0..4)
                .map(|i| {
                    let t = truth[i];
                    detected[(i + shift) % 4].distance(Point::new(t[0], t[1]))
                })
                .fold(0.0, f64::max)
        })
        .fold(f64::INFINITY, f64::min)
}

#[test]
fn corners_are_found_on_every_shipped_photo() {
    let index = index();
    assert!(index.photos.len() >= 5, "several skew angles are shipped");
    for photo in &index.photos {
        let image = load(&photo.file);
        let diagonal = f64::from(image.width()).hypot(f64::from(image.height()));
        let quad = find_document(&image).unwrap_or_else(|e| panic!("{}: {e}", photo.file));
        let error = corner_error(&quad.corners, &photo.corners);
        println!(
            "{}: worst corner off by {error:.1} px ({:.2} % of the diagonal)",
            photo.file,
            100.0 * error / diagonal
        );
        assert!(
            error <= CORNER_TOLERANCE * diagonal,
            "{}: corners {:?} vs truth {:?}",
            photo.file,
            quad.corners,
            photo.corners
        );
    }
}

#[test]
fn deskewed_pages_are_a4_and_show_the_page_not_the_desk() {
    for photo in &index().photos {
        let image = load(&photo.file);
        let quad = find_document(&image).expect("page");
        let page = deskew(&image, &quad, DEFAULT_MAX_PAGE_SIDE);
        let (w, h) = page.dimensions();
        let ratio = f64::from(w.max(h)) / f64::from(w.min(h));
        assert!(
            (ratio - std::f64::consts::SQRT_2).abs() < 0.01,
            "{}: {w}×{h} is not A4",
            photo.file
        );
        // The outer 2 % all round is paper: light, not brown desk.
        let margin = (w.min(h) / 50).max(2);
        let (mut sum, mut count) = (0.0, 0u32);
        let mut brownest = 0.0f64;
        for (x, y, p) in page.enumerate_pixels() {
            if x < margin || y < margin || x >= w - margin || y >= h - margin {
                let [r, g, b] = p.0.map(f64::from);
                sum += (r + g + b) / 3.0;
                count += 1;
                brownest = brownest.max(r - b);
            }
        }
        let mean = sum / f64::from(count);
        assert!(
            mean > 170.0,
            "{}: the crop's edge is dark ({mean:.0}), desk got in",
            photo.file
        );
        // The printed frame, 6 % in from the edge, is where it should be: a dark line in the
        // middle row of the page at about 6 % of its width from either side.
        let row = h / 2;
        let darkest_near = |centre: f64| {
            let c = (centre * f64::from(w)) as i64;
            (c - 12..=c + 12)
                .filter(|x| (0..i64::from(w)).contains(x))
                .map(|x| page.get_pixel(x as u32, row).0[0])
                .min()
                .unwrap_or(255)
        };
        if h > w {
            assert!(darkest_near(0.06) < 110, "{}: left frame line", photo.file);
            assert!(darkest_near(0.94) < 110, "{}: right frame line", photo.file);
        }
    }
}

#[test]
fn a_photo_without_a_page_is_refused_not_cropped() {
    let index = index();
    assert!(!index.no_page.is_empty());
    for file in &index.no_page {
        match find_document(&load(file)) {
            Err(DocumentError::NoDocumentFound(reason)) => println!("{file}: {reason}"),
            other => panic!("{file}: expected NoDocumentFound, got {other:?}"),
        }
        assert!(matches!(
            scan_page(&load(file)),
            Err(DocumentError::NoDocumentFound(_))
        ));
    }
    // A page pushed half off the mat is not guessed at either.
    let photo = &index.photos[0];
    let image = load(&photo.file);
    let cut = image::imageops::crop_imm(&image, 0, 0, image.width(), image.height() / 2).to_image();
    assert_eq!(
        find_document(&cut),
        Err(DocumentError::NoDocumentFound(
            NoDocumentReason::NotWhollyInView
        ))
    );
}

/// Checks the PDF's own structure: header, cross-reference offsets, trailer, page count.
fn check_pdf_structure(pdf: &[u8], pages: usize) {
    assert!(pdf.starts_with(b"%PDF-1.4\n"));
    assert!(pdf.ends_with(b"%%EOF\n"));
    let find_last = |needle: &[u8]| pdf.windows(needle.len()).rposition(|w| w == needle);
    let startxref = find_last(b"startxref\n").expect("startxref");
    // Everything from the table on is ASCII.
    let tail = std::str::from_utf8(&pdf[startxref..]).expect("ASCII trailer");
    let xref_at: usize = tail
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .expect("xref offset");
    assert!(
        pdf[xref_at..].starts_with(b"xref\n0 "),
        "startxref points at the table"
    );
    let table = std::str::from_utf8(&pdf[xref_at..]).expect("ASCII table");
    let mut lines = table.lines().skip(1);
    let count: usize = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .expect("object count");
    assert_eq!(
        count,
        4 + 3 * pages,
        "catalog, pages, info, and 3 objects a page"
    );
    assert_eq!(lines.next(), Some("0000000000 65535 f "));
    for id in 1..count {
        let entry = lines.next().expect("entry");
        assert_eq!(entry.len(), 19, "20-byte entries: {entry:?}");
        let offset: usize = entry[..10].parse().expect("offset");
        let header = format!("{id} 0 obj\n");
        assert!(
            pdf[offset..].starts_with(header.as_bytes()),
            "object {id} is at its offset"
        );
    }
    assert!(table.contains(&format!("/Size {count}")));
    let text = String::from_utf8_lossy(pdf);
    assert!(text.contains(&format!("/Count {pages}")));
    assert_eq!(text.matches("/Type /Page ").count(), pages);
}

#[test]
fn three_pages_make_one_valid_pdf() {
    let index = index();
    let pages: Vec<Vec<u8>> = index.photos[..3]
        .iter()
        .map(|photo| scan_page(&load(&photo.file)).expect("page").jpeg)
        .collect();
    for jpeg in &pages {
        let info = jpeg_info(jpeg).expect("our own JPEG");
        assert_eq!(info.components, 3);
    }
    let refs: Vec<&[u8]> = pages.iter().map(Vec::as_slice).collect();
    let pdf = jpegs_to_pdf(&refs).expect("pdf");
    check_pdf_structure(&pdf, 3);

    let dir = TempDir::new("camera-pdf");
    let path = dir.join("materials.pdf");
    std::fs::write(&path, &pdf).expect("write pdf");
    match Command::new("qpdf").arg("--check").arg(&path).output() {
        Ok(out) => {
            let report = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "qpdf --check failed:\n{report}");
            assert!(
                report.contains("No syntax or stream encoding errors"),
                "{report}"
            );
        }
        Err(e) => println!("skipping qpdf --check: qpdf is not available ({e})"),
    }
    match Command::new("pdfinfo").arg(&path).output() {
        Ok(out) => {
            let info = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "pdfinfo failed: {info}");
            assert!(
                info.lines()
                    .any(|l| l.starts_with("Pages:") && l.ends_with(" 3")),
                "{info}"
            );
            assert!(info.contains("595.276 x 841.89 pts (A4)"), "{info}");
        }
        Err(e) => println!("skipping pdfinfo: poppler-utils is not available ({e})"),
    }
    match Command::new("pdftoppm")
        .args(["-r", "20", "-png", "-f", "2", "-l", "2"])
        .arg(&path)
        .arg(dir.join("page"))
        .status()
    {
        Ok(status) => {
            assert!(status.success(), "pdftoppm could not render page 2");
            let rendered = std::fs::read_dir(dir.path())
                .expect("dir")
                .filter_map(Result::ok)
                .find(|e| e.file_name().to_string_lossy().ends_with(".png"))
                .expect("a rendered page");
            let image = image::open(rendered.path()).expect("png").to_rgb8();
            let mean = image.pixels().map(|p| f64::from(p.0[1])).sum::<f64>()
                / f64::from(image.width() * image.height());
            assert!(mean > 150.0, "page 2 renders as a light page ({mean:.0})");
        }
        Err(e) => println!("skipping pdftoppm: poppler-utils is not available ({e})"),
    }
}

#[test]
fn file_camera_serves_frames_in_order_and_previews_small() {
    let dir = TempDir::new("file-camera");
    let index = index();
    for (n, photo) in index.photos[..2].iter().enumerate() {
        std::fs::copy(testdata().join(&photo.file), dir.join(&format!("{n}.JPG"))).expect("copy");
    }
    let png = RgbImage::from_pixel(50, 40, image::Rgb([1, 2, 3]));
    png.save(dir.join("2.png")).expect("png");
    std::fs::write(dir.join("notes.txt"), "not a frame").expect("txt");

    let mut camera = FileCamera::open(dir.path()).expect("frames");
    assert_eq!(camera.frames().len(), 3);
    assert!(camera.describe().contains("3 frames"));
    let preview = camera.preview().expect("preview");
    assert!(preview.width().max(preview.height()) <= PREVIEW_MAX_SIDE);
    assert_eq!(camera.capture().expect("capture").dimensions(), (1280, 960));
    assert_eq!(camera.capture().expect("capture").dimensions(), (1280, 960));
    assert_eq!(
        camera.capture().expect("capture").get_pixel(0, 0).0,
        [1, 2, 3]
    );
    assert_eq!(camera.capture().expect("round and round").width(), 1280);

    // A captured frame goes through the document pipeline like a real one.
    let page = scan_page(&camera.capture().expect("capture")).expect("page");
    assert_eq!(
        jpeg_info(&page.jpeg).map(|i| (i.width, i.height)),
        Ok((page.width, page.height))
    );
    assert!(encode_jpeg(&RgbImage::new(8, 8), PAGE_JPEG_QUALITY).is_ok());

    let empty = TempDir::new("file-camera-empty");
    assert!(matches!(
        FileCamera::open(empty.path()),
        Err(CameraError::NoFrames(_))
    ));
    assert!(matches!(
        FileCamera::open(empty.join("absent")),
        Err(CameraError::Open { .. })
    ));
}
