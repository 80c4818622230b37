//! How long the terminal's search takes per keystroke over a catalog of 2 000 matters (the
//! issue's bound: 5 ms), with the keys the platform spells at publish.
//!
//! The catalog is the shipped seed catalog's matters, each repeated with a district's name
//! (海州区社会保障卡申领 …) until there are 2 000, spelt by [`search_keys::fill`] as a publish
//! would. Each query is typed one character at a time, as on the terminal's keyboard (or
//! committed a character at a time by the pinyin input method or the handwriting pad), and
//! every prefix is searched `--rounds` times; the figures are per keystroke, with the index the
//! terminal builds once when the catalog arrives.
//! Run: `cargo bench -p kiosk-platform --bench search [-- --matters N --rounds R]`. It prints a
//! summary and, last, one JSON line on stdout. It measures, it does not judge.

use std::hint::black_box;
use std::time::Instant;

use kiosk_platform::{search_keys, seed};
use kiosk_protocol::SearchIndex;

/// The catalog size.
const DEFAULT_MATTERS: usize = 2_000;
/// Times each prefix is searched.
const DEFAULT_ROUNDS: usize = 20;
/// Lianyungang's districts and counties, to make names that differ.
const PLACES: [&str; 7] = [
    "海州区",
    "连云区",
    "赣榆区",
    "东海县",
    "灌云县",
    "灌南县",
    "开发区",
];
/// What citizens type: initials, whole syllables, a mix, Chinese, English, and nothing found.
const QUERIES: [&str; 7] = [
    "sbk",
    "shebaoka",
    "shebk",
    "zhufanggongjijin",
    "社保卡",
    "social security card",
    "qqqqqq",
];

fn arg(name: &str, default: usize) -> anyhow::Result<usize> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name) {
        Some(i) => Ok(args.get(i + 1).map_or("", String::as_str).parse()?),
        None => Ok(default),
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

fn main() -> anyhow::Result<()> {
    let size = arg("--matters", DEFAULT_MATTERS)?;
    let rounds = arg("--rounds", DEFAULT_ROUNDS)?.max(1);
    let mut catalog = seed::seed_catalog()?;
    let originals = catalog.matters.clone();
    catalog.matters = (0..size)
        .map(|i| {
            let mut m = originals[i % originals.len()].clone();
            let place = PLACES[(i / originals.len()) % PLACES.len()];
            m.id = format!("{}-{i}", m.id);
            m.name.zh = format!("{place}{}", m.name.zh);
            m.name.en = format!("{} ({place})", m.name.en);
            m
        })
        .collect();
    let spelt = Instant::now();
    search_keys::fill(&mut catalog);
    let spell_ms = spelt.elapsed().as_secs_f64() * 1e3;
    catalog.validate()?;
    let indexed = Instant::now();
    let index = SearchIndex::new(&catalog);
    let index_ms = indexed.elapsed().as_secs_f64() * 1e3;

    let mut times = Vec::new();
    let mut found = Vec::new();
    for query in QUERIES {
        let typed: Vec<char> = query.chars().collect();
        for n in 1..=typed.len() {
            let prefix: String = typed[..n].iter().collect();
            for _ in 0..rounds {
                let started = Instant::now();
                let hits = black_box(index.search(&catalog, black_box(&prefix))).len();
                times.push(started.elapsed().as_secs_f64() * 1e3);
                if n == typed.len() {
                    found.push((query, hits));
                }
            }
        }
    }
    times.sort_by(f64::total_cmp);
    let (p50, p99, max) = (
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times[times.len() - 1],
    );
    found.dedup();
    eprintln!(
        "search over {size} matters: per keystroke p50 {p50:.3} ms, p99 {p99:.3} ms, max {max:.3} ms \
         ({} searches); spelling the catalog {spell_ms:.0} ms, indexing it on the terminal \
         {index_ms:.1} ms",
        times.len()
    );
    for (query, hits) in &found {
        eprintln!("  {query:>24} → {hits} matters");
    }
    println!(
        "{}",
        serde_json::json!({
            "matters": size,
            "searches": times.len(),
            "p50_ms": p50,
            "p99_ms": p99,
            "max_ms": max,
            "spell_catalog_ms": spell_ms,
            "index_catalog_ms": index_ms,
            "target_ms": 5.0,
        })
    );
    Ok(())
}
