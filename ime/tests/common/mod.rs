//! Characters written down as stroke coordinates, as a finger draws them on a 300 × 300 pad
//! (y grows downwards), sampled along each stroke like a touch screen does. Shared by the
//! handwriting tests and the benchmark.

use kiosk_ime::handwriting::Stroke;

pub const PAD: f32 = 300.0;

/// A stroke through `corners`, with points every few pixels between them.
pub fn stroke(corners: &[(f32, f32)]) -> Stroke {
    let mut points = vec![corners[0]];
    for pair in corners.windows(2) {
        let ((x0, y0), (x1, y1)) = (pair[0], pair[1]);
        for i in 1..=12 {
            let t = i as f32 / 12.0;
            points.push((x0 + (x1 - x0) * t, y0 + (y1 - y0) * t));
        }
    }
    points
}

pub fn characters() -> Vec<(&'static str, Vec<Stroke>)> {
    vec![
        ("一", vec![stroke(&[(40.0, 150.0), (260.0, 148.0)])]),
        (
            "十",
            vec![
                stroke(&[(40.0, 140.0), (260.0, 138.0)]),
                stroke(&[(150.0, 40.0), (150.0, 270.0)]),
            ],
        ),
        (
            "人",
            vec![
                stroke(&[(150.0, 40.0), (140.0, 150.0), (60.0, 260.0)]),
                stroke(&[(148.0, 130.0), (200.0, 210.0), (260.0, 260.0)]),
            ],
        ),
        (
            "口",
            vec![
                stroke(&[(80.0, 80.0), (80.0, 230.0)]),
                stroke(&[(80.0, 80.0), (220.0, 80.0), (220.0, 230.0)]),
                stroke(&[(80.0, 225.0), (220.0, 225.0)]),
            ],
        ),
        (
            "中",
            vec![
                stroke(&[(70.0, 100.0), (70.0, 200.0)]),
                stroke(&[(70.0, 100.0), (230.0, 100.0), (230.0, 200.0)]),
                stroke(&[(70.0, 195.0), (230.0, 195.0)]),
                stroke(&[(150.0, 30.0), (150.0, 280.0)]),
            ],
        ),
        (
            "大",
            vec![
                stroke(&[(40.0, 110.0), (260.0, 108.0)]),
                stroke(&[(150.0, 30.0), (145.0, 150.0), (50.0, 270.0)]),
                stroke(&[(150.0, 140.0), (210.0, 220.0), (265.0, 265.0)]),
            ],
        ),
    ]
}
