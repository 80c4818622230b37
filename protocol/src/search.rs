//! Finding a matter by what a citizen types on the terminal: pinyin (whole syllables, initials
//! or a mix: `shebaoka`, `sbk`, `shebk`), Chinese (typed through an input method or written on
//! the handwriting pad, with the abbreviations people say: 社保 for 社会保障), or English words.
//!
//! The pinyin itself is not worked out here: the platform spells every name and alias with a
//! pinyin dictionary when a catalog is imported or published and ships the result as
//! [`SearchKey`]s, so the terminal needs no dictionary and a catalog needs no hand-written
//! pinyin. What stays here is pure: matching a query against the keys and ranking the matters,
//! fast enough to run on every keystroke.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::catalog::{Catalog, CatalogError, Matter};

/// Readings kept for one character: enough for the polyphones of matter names (参 can/shen/cen,
/// 行 xing/hang/heng) while a catalog cannot grow without bound.
pub const MAX_READINGS: usize = 4;
/// Keys one matter may carry (its name, aliases and their abbreviated forms).
pub const MAX_KEYS: usize = 32;
/// Syllables in one key: longer than any matter name.
pub const MAX_SYLLABLES: usize = 64;
/// Length of one reading: a pinyin syllable has at most 6 letters; a run of Latin letters or
/// digits inside a name (`C1`, `12345`) is kept whole as one "syllable".
pub const MAX_READING_LEN: usize = 16;
/// Aliases one matter may list.
pub const MAX_ALIASES: usize = 16;
/// Characters in one alias or abbreviation.
pub const MAX_ALIAS_CHARS: usize = 32;
/// Catalog-wide abbreviations.
pub const MAX_ABBREVIATIONS: usize = 200;
/// Query variants tried after expanding abbreviations (社保 → 社会保险, 社会保障, …).
const MAX_VARIANTS: usize = 16;

/// A catalog-wide abbreviation: what citizens say (社保) for what names spell out (社会保险,
/// 社会保障). A Chinese query is also tried with each expansion, and the platform adds the
/// abbreviated spelling of every name that contains an expansion to that matter's keys, so
/// `sbk` finds 社会保障卡申领.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Abbreviation {
    /// What citizens type, e.g. 社保.
    pub short: String,
    /// What names spell out, e.g. `["社会保险", "社会保障"]`.
    pub full: Vec<String>,
}

/// The pinyin of one name or alias of a matter, computed by the platform at import and publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SearchKey {
    /// The text spelled, e.g. 社保卡申领.
    pub text: String,
    /// One entry per character (a run of Latin letters or digits counts as one): its readings in
    /// plain pinyin, lower case, no tones, ü written `v`; the likeliest first. A polyphone whose
    /// reading the dictionary cannot decide keeps every plausible one (at most
    /// [`MAX_READINGS`]).
    pub syllables: Vec<Vec<String>>,
}

/// Where in a name the query was found; earlier is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Place {
    /// The whole name (or alias).
    Exact,
    /// Its beginning.
    Prefix,
    /// Somewhere inside.
    Inside,
}

/// How well a query matched one matter; smaller is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Rank {
    place: Place,
    /// Pinyin pieces that were only the start of their syllable (`sbk`: 2, `shebaoka`: 0); the
    /// last piece does not count, as the citizen may still be typing it.
    partial: usize,
}

/// What a search reads of each matter, worked out once per catalog rather than per keystroke:
/// the English name folded for matching, and for each key the letters its syllables may begin
/// with, kept side by side so that most keys are passed over without touching their readings.
/// Build it when a catalog arrives ([`SearchIndex::new`]) and search with that catalog.
#[derive(Debug, Default)]
pub struct SearchIndex {
    matters: Vec<MatterEntry>,
}

#[derive(Debug)]
struct MatterEntry {
    /// The English name, lower case and without spaces.
    english: String,
    keys: Vec<KeyEntry>,
}

#[derive(Debug)]
struct KeyEntry {
    /// For each syllable, a bit per byte value modulo 32 that one of its readings begins with
    /// (a superset of the truth, so it only ever skips a syllable that cannot match).
    starts: Vec<u32>,
    /// Every syllable's bits together.
    any: u32,
}

fn letter_bit(byte: u8) -> u32 {
    1 << (byte % 32)
}

impl SearchIndex {
    /// The index of `catalog`'s matters, in catalog order.
    pub fn new(catalog: &Catalog) -> Self {
        let matters = catalog
            .matters
            .iter()
            .map(|m| MatterEntry {
                english: m
                    .name
                    .en
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .flat_map(char::to_lowercase)
                    .collect(),
                keys: m
                    .search_keys
                    .iter()
                    .map(|key| {
                        let starts: Vec<u32> = key
                            .syllables
                            .iter()
                            .map(|readings| {
                                readings
                                    .iter()
                                    .filter_map(|r| r.as_bytes().first())
                                    .fold(0, |bits, &b| bits | letter_bit(b))
                            })
                            .collect();
                        let any = starts.iter().fold(0, |all, bits| all | bits);
                        KeyEntry { starts, any }
                    })
                    .collect(),
            })
            .collect();
        Self { matters }
    }

    /// Matters of `catalog` (the catalog this index was built from) matching what a citizen
    /// typed, best first: the whole name before its beginning before its inside, whole pinyin
    /// syllables before initials, shorter names first, then catalog order. Spaces, apostrophes
    /// (`xi'an`) and case are ignored. An empty query finds nothing.
    pub fn search<'c>(&self, catalog: &'c Catalog, query: &str) -> Vec<&'c Matter> {
        let query: String = query
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '\'')
            .flat_map(char::to_lowercase)
            .collect();
        if query.is_empty() {
            return Vec::new();
        }
        let matters = catalog.matters.iter().zip(&self.matters).enumerate();
        let mut found: Vec<(Rank, usize, usize, &Matter)> = if query.is_ascii() {
            let mut scratch = Scratch::default();
            matters
                .filter_map(|(order, (m, entry))| {
                    let rank = latin_rank(m, entry, query.as_bytes(), &mut scratch)?;
                    Some((rank, m.name.zh.chars().count(), order, m))
                })
                .collect()
        } else {
            let variants = expand(&query, &catalog.abbreviations);
            matters
                .filter_map(|(order, (m, _))| {
                    let rank = chinese_rank(m, &variants)?;
                    Some((rank, m.name.zh.chars().count(), order, m))
                })
                .collect()
        };
        found.sort_by_key(|&(rank, len, order, _)| (rank, len, order));
        found.into_iter().map(|(.., m)| m).collect()
    }
}

/// A query of Latin letters and digits: pinyin against the keys and the catalog's own initials,
/// or words of the English name.
fn latin_rank(
    m: &Matter,
    entry: &MatterEntry,
    query: &[u8],
    scratch: &mut Scratch,
) -> Option<Rank> {
    let first = letter_bit(*query.first()?);
    let keys = m
        .search_keys
        .iter()
        .zip(&entry.keys)
        .filter(|(_, index)| index.any & first != 0)
        .filter_map(|(key, index)| pinyin_rank(query, &key.syllables, &index.starts, scratch));
    let best = keys.chain(initials_rank(query, &m.pinyin_initials)).min();
    let english = text_rank(
        &entry.english,
        std::str::from_utf8(query).unwrap_or_default(),
    );
    best.into_iter().chain(english).min()
}

/// Chinese, typed or written: inside the name, an alias or a key's text (the abbreviated
/// spellings), with the abbreviations expanded.
fn chinese_rank(m: &Matter, variants: &[String]) -> Option<Rank> {
    let texts = std::iter::once(m.name.zh.as_str())
        .chain(m.aliases.iter().map(String::as_str))
        .chain(m.search_keys.iter().map(|k| k.text.as_str()));
    texts
        .flat_map(|text| variants.iter().filter_map(move |v| text_rank(text, v)))
        .min()
}

fn text_rank(text: &str, query: &str) -> Option<Rank> {
    let place = if text == query {
        Place::Exact
    } else if text.starts_with(query) {
        Place::Prefix
    } else if text.contains(query) {
        Place::Inside
    } else {
        return None;
    };
    Some(Rank { place, partial: 0 })
}

/// The hand-written initials of older catalogs (`sbjf`): each letter is the start of a syllable.
fn initials_rank(query: &[u8], initials: &str) -> Option<Rank> {
    let at = initials
        .as_bytes()
        .windows(query.len())
        .position(|w| w == query)?;
    let place = match (at, initials.len() == query.len()) {
        (0, true) => Place::Exact,
        (0, false) => Place::Prefix,
        _ => Place::Inside,
    };
    Some(Rank {
        place,
        partial: query.len() - 1,
    })
}

/// The query, and the query with each abbreviation it contains spelt out (社保卡 → 社会保障卡)
/// and each spelt-out form it contains abbreviated (社会保险 → 社保).
fn expand(query: &str, abbreviations: &[Abbreviation]) -> Vec<String> {
    let mut variants = vec![query.to_owned()];
    for a in abbreviations {
        for full in &a.full {
            let swapped = if !a.short.is_empty() && query.contains(a.short.as_str()) {
                query.replacen(a.short.as_str(), full, 1)
            } else if !full.is_empty() && query.contains(full.as_str()) {
                query.replacen(full.as_str(), &a.short, 1)
            } else {
                continue;
            };
            if variants.len() < MAX_VARIANTS && !variants.contains(&swapped) {
                variants.push(swapped);
            }
        }
    }
    variants
}

/// Buffers reused across the keys of one search, so a keystroke allocates almost nothing.
#[derive(Default)]
struct Scratch {
    /// For each position in the query: the fewest partial pieces that reach it, if any.
    now: Vec<Option<usize>>,
    next: Vec<Option<usize>>,
}

/// Whether `query` splits into pieces that are non-empty prefixes of consecutive syllables of
/// the key, and how well. A dynamic programme over (syllable, position in the query), so no
/// query can make it slow: at most syllables × query length × readings steps for each start.
fn pinyin_rank(
    query: &[u8],
    syllables: &[Vec<String>],
    starts: &[u32],
    scratch: &mut Scratch,
) -> Option<Rank> {
    let first = *query.first()?;
    let mut best: Option<Rank> = None;
    for start in 0..syllables.len() {
        if starts
            .get(start)
            .is_some_and(|bits| bits & letter_bit(first) == 0)
            || !syllables[start]
                .iter()
                .any(|r| r.as_bytes().first() == Some(&first))
        {
            continue;
        }
        let Some((partial, end)) = split(query, &syllables[start..], scratch) else {
            continue;
        };
        let place = match (start, start + end == syllables.len()) {
            (0, true) => Place::Exact,
            (0, false) => Place::Prefix,
            _ => Place::Inside,
        };
        let rank = Rank { place, partial };
        best = Some(best.map_or(rank, |b| b.min(rank)));
        // A match at the start beats any inside; inside, none beats one without partial pieces.
        if start == 0 || partial == 0 {
            break;
        }
    }
    best
}

/// The best way to consume the whole query from the first of `syllables` on: (partial pieces,
/// syllables used), preferring using them all (an exact match), then fewer partial pieces.
fn split(query: &[u8], syllables: &[Vec<String>], s: &mut Scratch) -> Option<(usize, usize)> {
    let len = query.len();
    s.now.clear();
    s.now.resize(len + 1, None);
    s.now[0] = Some(0);
    let mut best: Option<(usize, usize)> = None;
    let mut exact: Option<usize> = None;
    for (used, readings) in syllables.iter().enumerate() {
        s.next.clear();
        s.next.resize(len + 1, None);
        let mut alive = false;
        for pos in 0..len {
            let Some(partial) = s.now[pos] else { continue };
            for reading in readings {
                let reading = reading.as_bytes();
                let common = query[pos..]
                    .iter()
                    .zip(reading)
                    .take_while(|(a, b)| a == b)
                    .count();
                for take in 1..=common {
                    let end = pos + take;
                    let cost = partial + usize::from(take < reading.len() && end < len);
                    if end == len {
                        let candidate = (cost, used + 1);
                        best = Some(best.map_or(candidate, |b| b.min(candidate)));
                        if used + 1 == syllables.len() {
                            exact = Some(exact.map_or(cost, |c| c.min(cost)));
                        }
                    } else if s.next[end].is_none_or(|c| cost < c) {
                        s.next[end] = Some(cost);
                        alive = true;
                    }
                }
            }
        }
        std::mem::swap(&mut s.now, &mut s.next);
        if !alive {
            break;
        }
    }
    // An exact match (every syllable used) beats a prefix whatever its partial pieces.
    exact.map(|cost| (cost, syllables.len())).or(best)
}

/// Checks one matter's aliases and keys (the catalog's gate calls this).
pub(crate) fn check_matter(m: &Matter) -> Result<(), CatalogError> {
    let owner = &m.id;
    if !m.pinyin_initials.is_empty() && !m.pinyin_initials.bytes().all(|b| b.is_ascii_lowercase()) {
        return invalid(
            owner,
            "pinyin_initials",
            "must be lower-case ASCII letters".into(),
        );
    }
    if m.aliases.len() > MAX_ALIASES {
        return invalid(owner, "aliases", format!("more than {MAX_ALIASES} aliases"));
    }
    for (i, alias) in m.aliases.iter().enumerate() {
        if let Some(why) = bad_phrase(alias) {
            return invalid(owner, "aliases", format!("alias {i}: {why}"));
        }
    }
    if m.search_keys.len() > MAX_KEYS {
        return invalid(owner, "search_keys", format!("more than {MAX_KEYS} keys"));
    }
    for (i, key) in m.search_keys.iter().enumerate() {
        if let Some(why) = bad_key(key) {
            return invalid(
                owner,
                "search_keys",
                format!("key {i} ({}): {why}", key.text),
            );
        }
    }
    Ok(())
}

/// Checks the catalog-wide abbreviations.
pub(crate) fn check_abbreviations(list: &[Abbreviation]) -> Result<(), CatalogError> {
    if list.len() > MAX_ABBREVIATIONS {
        let why = format!("more than {MAX_ABBREVIATIONS} abbreviations");
        return invalid("catalog", "abbreviations", why);
    }
    for (i, a) in list.iter().enumerate() {
        let why = bad_phrase(&a.short)
            .map(|why| format!("`short` {why}"))
            .or_else(|| a.full.is_empty().then(|| "`full` lists nothing".to_owned()))
            .or_else(|| {
                a.full.iter().find_map(|f| {
                    bad_phrase(f)
                        .map(|why| format!("`full` {why}"))
                        .or_else(|| (*f == a.short).then(|| "`full` repeats `short`".into()))
                })
            });
        if let Some(why) = why {
            return invalid("catalog", "abbreviations", format!("entry {i}: {why}"));
        }
    }
    Ok(())
}

/// Why an alias or abbreviation cannot be published, if it cannot.
fn bad_phrase(text: &str) -> Option<String> {
    if text.trim().is_empty() {
        Some("is empty".into())
    } else if text.chars().count() > MAX_ALIAS_CHARS {
        Some(format!("is longer than {MAX_ALIAS_CHARS} characters"))
    } else if text.chars().any(char::is_control) {
        Some("holds a control character".into())
    } else {
        None
    }
}

/// Why a search key cannot be published, if it cannot.
fn bad_key(key: &SearchKey) -> Option<String> {
    if key.text.trim().is_empty() || key.text.chars().any(char::is_control) {
        return Some("its text is empty or holds a control character".into());
    }
    if key.syllables.is_empty() || key.syllables.len() > MAX_SYLLABLES {
        return Some(format!("needs 1 to {MAX_SYLLABLES} syllables"));
    }
    for (n, readings) in key.syllables.iter().enumerate() {
        if readings.is_empty() || readings.len() > MAX_READINGS {
            return Some(format!("syllable {n} needs 1 to {MAX_READINGS} readings"));
        }
        let bad = readings.iter().find(|r| {
            r.is_empty()
                || r.len() > MAX_READING_LEN
                || !r
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
        if let Some(r) = bad {
            return Some(format!(
                "syllable {n}: reading `{r}` is not 1 to {MAX_READING_LEN} lower-case letters or digits"
            ));
        }
    }
    None
}

fn invalid(owner: &str, field: &'static str, reason: String) -> Result<(), CatalogError> {
    Err(CatalogError::Invalid {
        owner: owner.to_owned(),
        field,
        reason,
    })
}

#[cfg(test)]
mod tests;
