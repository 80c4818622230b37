//! The pinyin of every matter's name and aliases, worked out when a catalog is imported or
//! published so that terminals need no dictionary and catalogs no hand-written pinyin.
//!
//! Spelling is per character with the `pinyin` crate (the pinyin-data tables). A character with
//! several readings (行 xing/hang, 重 zhong/chong, 参 can/shen) keeps every reading the table
//! lists, up to [`MAX_READINGS`]: terminals accept any of them, so 银行 is found by `yinhang`
//! without a phrase dictionary having to decide.

use kiosk_protocol::search::{MAX_KEYS, MAX_READING_LEN, MAX_READINGS, MAX_SYLLABLES};
use kiosk_protocol::{Abbreviation, Catalog, Matter, SearchKey};
use pinyin::ToPinyinMulti;

/// Fills in every matter's [`SearchKey`]s (replacing any the catalog brought, which are only
/// ever this function's output) and, where a catalog has none, its `pinyin_initials`, so that
/// terminals of an earlier release, which need them, keep searching.
pub fn fill(catalog: &mut Catalog) {
    let abbreviations = catalog.abbreviations.clone();
    for matter in &mut catalog.matters {
        matter.search_keys = keys(matter, &abbreviations);
        if matter.pinyin_initials.is_empty() {
            matter.pinyin_initials = initials(&matter.name.zh);
        }
    }
}

/// The texts a matter is searched by: its name, its aliases, and each of them with a spelt-out
/// form abbreviated (社会保障卡申领 → 社保卡申领), each spelt.
fn keys(matter: &Matter, abbreviations: &[Abbreviation]) -> Vec<SearchKey> {
    let mut texts: Vec<String> = Vec::new();
    let mut add = |text: String| {
        if !text.trim().is_empty() && !texts.contains(&text) {
            texts.push(text);
        }
    };
    let names = std::iter::once(&matter.name.zh).chain(&matter.aliases);
    for name in names {
        add(name.clone());
        for a in abbreviations {
            for full in a.full.iter().filter(|f| name.contains(f.as_str())) {
                add(name.replace(full.as_str(), &a.short));
            }
        }
    }
    texts
        .into_iter()
        .filter_map(|text| {
            let syllables = spell(&text);
            (!syllables.is_empty()).then_some(SearchKey { text, syllables })
        })
        .take(MAX_KEYS)
        .collect()
}

/// One entry per Chinese character (its readings, likeliest first) and per run of Latin letters
/// or digits (lower case); punctuation and characters without pinyin are skipped.
pub fn spell(text: &str) -> Vec<Vec<String>> {
    let mut syllables: Vec<Vec<String>> = Vec::new();
    let mut latin = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            if latin.len() < MAX_READING_LEN {
                latin.push(c.to_ascii_lowercase());
            }
            continue;
        }
        if !latin.is_empty() {
            syllables.push(vec![std::mem::take(&mut latin)]);
        }
        let Some(multi) = c.to_pinyin_multi() else {
            continue;
        };
        let mut readings: Vec<String> = Vec::new();
        for reading in multi {
            let plain = reading.plain().replace('ü', "v");
            if readings.len() < MAX_READINGS && !readings.contains(&plain) {
                readings.push(plain);
            }
        }
        if !readings.is_empty() {
            syllables.push(readings);
        }
    }
    if !latin.is_empty() {
        syllables.push(vec![latin]);
    }
    syllables.truncate(MAX_SYLLABLES);
    syllables
}

/// The first letter of each syllable's likeliest reading: 社保缴费 → `sbjf`.
fn initials(name: &str) -> String {
    spell(name)
        .iter()
        .filter_map(|readings| readings.first()?.bytes().find(u8::is_ascii_lowercase))
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(text: &str) -> Vec<Vec<String>> {
        spell(text)
    }

    #[test]
    fn polyphones_keep_every_reading_and_letters_stay_whole() {
        let bank = plain("银行");
        assert_eq!(bank[0], vec!["yin"]);
        assert!(bank[1].contains(&"hang".to_owned()) && bank[1].contains(&"xing".to_owned()));
        assert!(plain("重度")[0].contains(&"zhong".to_owned()));
        assert!(plain("重度")[0].contains(&"chong".to_owned()));
        assert!(plain("长辈")[0].contains(&"zhang".to_owned()));
        assert!(plain("延长")[1].contains(&"chang".to_owned()));
        assert!(plain("参保")[0].contains(&"can".to_owned()));
        assert_eq!(plain("绿色")[0][0], "lv");
        assert_eq!(
            plain("C1驾照（补办）"),
            vec![
                vec!["c1".to_owned()],
                vec!["jia".to_owned()],
                vec!["zhao".to_owned()],
                vec!["bu".to_owned()],
                vec!["ban".to_owned()]
            ]
        );
        assert_eq!(initials("社保缴费"), "sbjf");
    }

    #[test]
    fn abbreviated_spellings_join_the_keys_and_missing_initials_are_filled() {
        let mut catalog = crate::seed::seed_catalog().expect("seed");
        catalog.abbreviations = vec![Abbreviation {
            short: "社保".into(),
            full: vec!["社会保障".into()],
        }];
        let card = catalog
            .matters
            .iter_mut()
            .find(|m| m.name.zh == "社会保障卡申领")
            .expect("card");
        card.pinyin_initials.clear();
        card.aliases.clear();
        fill(&mut catalog);
        catalog.validate().expect("valid");
        let card = catalog
            .matters
            .iter()
            .find(|m| m.name.zh == "社会保障卡申领")
            .expect("card");
        let texts: Vec<&str> = card.search_keys.iter().map(|k| k.text.as_str()).collect();
        assert_eq!(texts, vec!["社会保障卡申领", "社保卡申领"]);
        assert!(card.pinyin_initials.starts_with("shbzk"));
    }
}
