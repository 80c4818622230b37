//! How fast the input methods answer a citizen, against a 60 Hz frame: the candidates after
//! each pinyin keystroke (budget 16 ms) and the candidates for one handwritten character
//! (budget 50 ms), median and p99; and the resident memory (RSS) each engine adds once loaded
//! and used, which the kiosk carries beside its UI.
//!
//! Run: `cargo bench -p kiosk-ime --bench ime` (`-- --rounds N` for more or fewer rounds).
//! The engines are the real librime (Debian's `pinyin_simp`) and zinnia (tegaki zh_CN); the
//! pinyin engine starts on a fresh directory, so its start includes the first deployment.
//!
//! It prints a table and, last, one JSON line on stdout, which `bench/run` reads.

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use kiosk_ime::handwriting::{DEBIAN_MODEL, Handwriting};
use kiosk_ime::pinyin::{DEBIAN_SHARED_DATA, PinyinEngine};

const KEYSTROKE_BUDGET_MS: f64 = 16.0;
const CHARACTER_BUDGET_MS: f64 = 50.0;

/// What citizens type into forms: places of Lianyungang, services, a name, a long phrase.
const WORDS: [&str; 8] = [
    "lianyungang",
    "haizhouqu",
    "ganyuxian",
    "shebaoka",
    "yanglaobaoxian",
    "zhangxiaoming",
    "jiefanglu",
    "zhonghuarenmingongheguo",
];

fn rounds() -> usize {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--rounds" {
            match args.next().and_then(|n| n.parse().ok()).filter(|&n| n > 0) {
                Some(n) => return n,
                None => {
                    eprintln!("ime: --rounds needs a positive number");
                    std::process::exit(2);
                }
            }
        }
    }
    30
}

/// Resident memory of this process from /proc, in KiB: all of it, and the part that is file
/// pages (mapped dictionaries and models: shared and reclaimable, unlike the heap).
#[derive(Clone, Copy)]
struct Rss {
    total: u64,
    file: u64,
}

fn rss() -> Rss {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    Rss {
        total: field("VmRSS:"),
        file: field("RssFile:"),
    }
}

/// MiB added between two readings: (total, of which file pages).
fn added(from: Rss, to: Rss) -> (f64, f64) {
    let mib = |kib: u64| kib as f64 / 1024.0;
    (
        mib(to.total.saturating_sub(from.total)),
        mib(to.file.saturating_sub(from.file)),
    )
}

struct Summary {
    median_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    samples: usize,
}

fn summarise(mut samples: Vec<Duration>) -> Summary {
    samples.sort();
    let at = |q: f64| {
        let i = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[i].as_secs_f64() * 1e3
    };
    Summary {
        median_ms: at(0.5),
        p99_ms: at(0.99),
        max_ms: at(1.0),
        samples: samples.len(),
    }
}

fn json(s: &Summary, budget_ms: f64) -> String {
    format!(
        "{{\"median_ms\": {:.3}, \"p99_ms\": {:.3}, \"max_ms\": {:.3}, \"samples\": {}, \"budget_ms\": {budget_ms}}}",
        s.median_ms, s.p99_ms, s.max_ms, s.samples
    )
}

fn main() {
    let rounds = rounds();
    let state = tempfile::tempdir().expect("a temporary directory");
    let before = rss();

    let started = Instant::now();
    let engine = PinyinEngine::start(Path::new(DEBIAN_SHARED_DATA), state.path())
        .expect("librime with rime-data-pinyin-simp (scripts/install-deps)");
    let start_ms = started.elapsed().as_secs_f64() * 1e3;
    let mut keystrokes = Vec::new();
    for _ in 0..rounds {
        for word in WORDS {
            let mut composer = engine.composer().expect("a session");
            for key in word.chars() {
                let t = Instant::now();
                composer.type_key(key).expect("a pinyin key");
                black_box(composer.candidates());
                keystrokes.push(t.elapsed());
            }
        }
    }
    let with_pinyin = rss();

    let hw = Handwriting::open(Path::new(DEBIAN_MODEL))
        .expect("zinnia with tegaki-zinnia-simplified-chinese (scripts/install-deps)");
    let characters = common::characters();
    let mut recognitions = Vec::new();
    for _ in 0..rounds {
        for (_, strokes) in &characters {
            let t = Instant::now();
            black_box(hw.recognize(strokes, common::PAD, common::PAD, 8));
            recognitions.push(t.elapsed());
        }
    }
    let with_both = rss();

    let key = summarise(keystrokes);
    let character = summarise(recognitions);
    let (pinyin_mib, pinyin_file_mib) = added(before, with_pinyin);
    let (handwriting_mib, handwriting_file_mib) = added(with_pinyin, with_both);
    println!(
        "{:<48} {:>9} {:>9} {:>9} {:>8}",
        "", "median", "p99", "max", "budget"
    );
    for (name, s, budget) in [
        (
            "pinyin: type a key + read the candidates",
            &key,
            KEYSTROKE_BUDGET_MS,
        ),
        (
            "handwriting: recognise one character (8 best)",
            &character,
            CHARACTER_BUDGET_MS,
        ),
    ] {
        println!(
            "{name:<48} {:>6.3} ms {:>6.3} ms {:>6.3} ms {budget:>5} ms  ({} samples)",
            s.median_ms, s.p99_ms, s.max_ms, s.samples
        );
    }
    println!("pinyin engine start on a fresh directory (deploys): {start_ms:.0} ms");
    println!(
        "RSS added: pinyin {pinyin_mib:.1} MiB ({pinyin_file_mib:.1} MiB mapped files), \
         handwriting {handwriting_mib:.1} MiB ({handwriting_file_mib:.1} MiB mapped model); \
         process {:.1} MiB before, {:.1} MiB after",
        before.total as f64 / 1024.0,
        with_both.total as f64 / 1024.0
    );
    println!(
        "{{\"rounds\": {rounds}, \"keystroke\": {}, \"character\": {}, \"start_ms\": {start_ms:.1}, \
         \"rss_pinyin_mib\": {pinyin_mib:.2}, \"rss_pinyin_file_mib\": {pinyin_file_mib:.2}, \
         \"rss_handwriting_mib\": {handwriting_mib:.2}, \"rss_handwriting_file_mib\": {handwriting_file_mib:.2}}}",
        json(&key, KEYSTROKE_BUDGET_MS),
        json(&character, CHARACTER_BUDGET_MS)
    );
}
