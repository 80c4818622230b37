//! Handwriting through the real zinnia with Debian's tegaki simplified-Chinese model, on the
//! characters of `common/mod.rs` drawn from stroke coordinates.

use std::path::Path;

use kiosk_ime::ImeError;
use kiosk_ime::handwriting::{DEBIAN_MODEL, Handwriting, Stroke};

mod common;

use common::{PAD, characters};

fn recognizer() -> Handwriting {
    Handwriting::open(Path::new(DEBIAN_MODEL))
        .expect("tegaki-zinnia-simplified-chinese is installed")
}

#[test]
fn written_characters_are_among_the_first_five() {
    let hw = recognizer();
    for (expected, strokes) in characters() {
        let found = hw.recognize(&strokes, PAD, PAD, 5);
        let texts: Vec<&str> = found.iter().map(|(t, _)| t.as_str()).collect();
        assert!(
            texts.contains(&expected),
            "{expected} not in the top 5: {texts:?}"
        );
        assert!(
            found.windows(2).all(|w| w[0].1 >= w[1].1),
            "best first: {found:?}"
        );
    }
}

#[test]
fn the_pad_size_is_what_the_strokes_are_measured_in() {
    let hw = recognizer();
    // 十 drawn on a pad twice as large, with every coordinate doubled, reads the same.
    let (_, strokes) = characters().swap_remove(1);
    let doubled: Vec<Stroke> = strokes
        .iter()
        .map(|s| s.iter().map(|&(x, y)| (x * 2.0, y * 2.0)).collect())
        .collect();
    let found = hw.recognize(&doubled, PAD * 2.0, PAD * 2.0, 5);
    assert!(found.iter().any(|(t, _)| t == "十"), "{found:?}");
}

#[test]
fn garbage_strokes_are_ignored() {
    let hw = recognizer();
    let nothing: Vec<Stroke> = Vec::new();
    assert!(hw.recognize(&nothing, PAD, PAD, 5).is_empty());
    assert!(hw.recognize(&[vec![], vec![]], PAD, PAD, 5).is_empty());
    let off_pad = vec![vec![
        (f32::NAN, 1.0),
        (-5.0, 10.0),
        (10.0, 1e9),
        (f32::INFINITY, 0.0),
    ]];
    assert!(hw.recognize(&off_pad, PAD, PAD, 5).is_empty());
    // Absurd pads and counts give nothing, not an error or a panic.
    let (_, one) = characters().swap_remove(0);
    for (w, h) in [(0.0, PAD), (PAD, f32::NAN), (-1.0, -1.0), (1e12, PAD)] {
        assert!(hw.recognize(&one, w, h, 5).is_empty(), "pad {w}×{h}");
    }
    assert!(hw.recognize(&one, PAD, PAD, 0).is_empty());
    assert!(
        hw.recognize(&one, PAD, PAD, usize::MAX).len() <= kiosk_ime::handwriting::MAX_CANDIDATES
    );
    // A tap (a stroke of one point) and a stroke standing still are strokes like any other.
    let taps = vec![vec![(150.0, 150.0)], vec![(100.0, 100.0); 50]];
    assert!(hw.recognize(&taps, PAD, PAD, 5).len() <= 5);
    // Garbage mixed into a real character is dropped and the character still reads.
    let (_, mut ten) = characters().swap_remove(1);
    ten.insert(0, vec![(f32::NAN, f32::NAN)]);
    ten.push(vec![(-1.0, -1.0)]);
    ten[1].push((f32::NEG_INFINITY, 3.0));
    let found = hw.recognize(&ten, PAD, PAD, 5);
    assert!(found.iter().any(|(t, _)| t == "十"), "{found:?}");
    // A flood of strokes and points is capped and answers quickly.
    let scribble: Vec<Stroke> = (0..1000)
        .map(|i| {
            (0..5000)
                .map(|j| ((i + j) as f32 % PAD, j as f32 % PAD))
                .collect()
        })
        .collect();
    let started = std::time::Instant::now();
    hw.recognize(&scribble, PAD, PAD, 5);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_missing_model_is_a_clear_error_at_open() {
    let missing = Path::new("/nonexistent/handwriting-zh_CN.model");
    match Handwriting::open(missing) {
        Err(ImeError::Model { path, reason }) => {
            assert_eq!(path, missing);
            assert!(!reason.is_empty());
        }
        other => panic!("expected a model error, got {other:?}"),
    }
    // A file that is not a model is refused by zinnia, with its reason.
    let not_a_model = tempfile::NamedTempFile::new().expect("temporary file");
    std::fs::write(not_a_model.path(), b"not a zinnia model").expect("written");
    assert!(matches!(
        Handwriting::open(not_a_model.path()),
        Err(ImeError::Model { .. })
    ));
}

#[test]
fn results_are_plain_text() {
    let hw = recognizer();
    for (_, strokes) in characters() {
        for (text, score) in hw.recognize(&strokes, PAD, PAD, 10) {
            assert!(!text.is_empty() && !text.chars().any(char::is_control));
            assert!(score.is_finite());
        }
    }
}
