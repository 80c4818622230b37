//! Matching and ranking, on keys spelt the way the platform spells them.

use super::*;
use crate::catalog::{Department, MaterialForm, ThemeGroup, TimeLimit};
use crate::text::LocalizedText;

/// A key from `"she hui bao zhang ka|qia"`: syllables by spaces, readings by bars.
fn key(text: &str, spelt: &str) -> SearchKey {
    SearchKey {
        text: text.into(),
        syllables: spelt
            .split(' ')
            .map(|s| s.split('|').map(str::to_owned).collect())
            .collect(),
    }
}

fn matter(id: &str, zh: &str, en: &str, keys: Vec<SearchKey>) -> Matter {
    let t = |s: &str| LocalizedText::new(s, s);
    Matter {
        id: id.into(),
        name: LocalizedText::new(zh, en),
        pinyin_initials: String::new(),
        aliases: Vec::new(),
        search_keys: keys,
        theme: "si".into(),
        department: "d".into(),
        applicant: t("自然人"),
        handling_office: t("窗口"),
        conditions: vec![t("条件")],
        materials: vec![crate::catalog::Material {
            name: t("身份证"),
            form: MaterialForm::Original,
            copies: 1,
            waivable: false,
            supply: Default::default(),
        }],
        procedure: vec![t("申请")],
        time_limit: TimeLimit::Immediate,
        fees: t("不收费"),
        place_and_hours: t("市民中心"),
        enquiry_phone: "12345".into(),
        complaint_phone: "12345".into(),
        kiosk_application: false,
        form: None,
    }
}

fn catalog() -> Catalog {
    let mut card = matter(
        "card",
        "社会保障卡申领",
        "Social security card application",
        vec![
            key("社会保障卡申领", "she hui bao zhang ka|qia shen ling"),
            key("社保卡", "she bao ka|qia"),
            key("社保卡申领", "she bao ka|qia shen ling"),
        ],
    );
    card.aliases = vec!["社保卡".into()];
    Catalog {
        version: "t".into(),
        themes: vec![ThemeGroup {
            id: "si".into(),
            name: LocalizedText::new("社保", "Social insurance"),
        }],
        departments: vec![Department {
            id: "d".into(),
            name: LocalizedText::new("人社局", "HRSS"),
        }],
        regions: Vec::new(),
        notes: Vec::new(),
        matters: vec![
            matter(
                "pension",
                "城乡居民养老保险参保登记",
                "Residents' pension enrolment",
                vec![key(
                    "城乡居民养老保险参保登记",
                    "cheng xiang ju min yang lao bao xian can|shen|cen bao deng ji",
                )],
            ),
            card,
            matter(
                "bank",
                "银行卡变更",
                "Change of bank card",
                vec![key("银行卡变更", "yin xing|hang ka|qia bian geng")],
            ),
            matter(
                "disabled",
                "重度残疾人护理补贴",
                "Care allowance for the severely disabled",
                vec![key(
                    "重度残疾人护理补贴",
                    "zhong|chong du can ji ren hu li bu tie",
                )],
            ),
            matter(
                "card-loss",
                "社会保障卡挂失",
                "Reporting a lost social security card",
                vec![key("社会保障卡挂失", "she hui bao zhang ka|qia gua shi")],
            ),
        ],
        abbreviations: vec![Abbreviation {
            short: "社保".into(),
            full: vec!["社会保险".into(), "社会保障".into()],
        }],
    }
}

fn ids(c: &Catalog, query: &str) -> Vec<String> {
    SearchIndex::new(c)
        .search(c, query)
        .into_iter()
        .map(|m| m.id.clone())
        .collect()
}

#[test]
fn initials_whole_syllables_and_a_mix_find_the_social_security_card() {
    let c = catalog();
    c.validate().expect("valid");
    for query in [
        "sbk",
        "shebaoka",
        "shebk",
        "SHE BAO KA",
        "shbk",
        "shehuibaozhangka",
    ] {
        assert_eq!(
            ids(&c, query).first().map(String::as_str),
            Some("card"),
            "{query}"
        );
    }
    // Only the start of consecutive syllables: letters out of order find nothing.
    assert!(ids(&c, "kbs").is_empty());
    assert!(ids(&c, "shebaokx").is_empty());
}

#[test]
fn chinese_finds_names_aliases_and_what_abbreviations_stand_for() {
    let c = catalog();
    // 社保 stands for 社会保障: both cards, the application first (catalog order, same length).
    assert_eq!(ids(&c, "社保"), vec!["card", "card-loss"]);
    assert_eq!(ids(&c, "社保卡"), vec!["card", "card-loss"]);
    assert_eq!(ids(&c, "社会保障卡挂失"), vec!["card-loss"]);
    // The spelt-out form of an alias finds it too.
    assert_eq!(ids(&c, "护理补贴"), vec!["disabled"]);
    assert!(ids(&c, "公积金").is_empty());
}

#[test]
fn every_reading_of_a_polyphone_matches() {
    let c = catalog();
    for (query, id) in [
        ("yinhang", "bank"),
        ("yinhangka", "bank"),
        ("zhongducanji", "disabled"),
        ("canbao", "pension"),
        ("cbdj", "pension"),
        ("shebaoqia", "card"),
    ] {
        assert!(ids(&c, query).contains(&id.to_owned()), "{query} → {id}");
    }
}

#[test]
fn english_words_match_the_english_name() {
    let c = catalog();
    assert_eq!(ids(&c, "pension"), vec!["pension"]);
    assert_eq!(ids(&c, "bank card"), vec!["bank"]);
    assert!(ids(&c, "Lost").contains(&"card-loss".to_owned()));
}

#[test]
fn the_name_s_start_ranks_before_its_inside_and_syllables_before_initials() {
    let mut c = catalog();
    c.matters.push(matter(
        "ka",
        "卡片补办",
        "Card reissue",
        vec![key("卡片补办", "ka|qia pian bu ban")],
    ));
    // `ka` starts 卡片补办, and is inside the others.
    assert_eq!(ids(&c, "ka").first().map(String::as_str), Some("ka"));
    // The exact alias 社保卡 beats the inside of 社会保障卡挂失 (no alias there).
    assert_eq!(ids(&c, "shebaoka"), vec!["card"]);
    // Whole syllables rank before initials: `sh` + `hui` is partial once, 社会保障 spelt in
    // full is not; both cards match, the application first on catalog order.
    assert_eq!(ids(&c, "shehuibaozhang"), vec!["card", "card-loss"]);
}

#[test]
fn an_empty_query_finds_nothing_and_hand_written_initials_still_work() {
    let mut c = catalog();
    assert!(ids(&c, "").is_empty());
    assert!(ids(&c, "  ").is_empty());
    c.matters[2].search_keys.clear();
    c.matters[2].pinyin_initials = "yhkbg".into();
    assert_eq!(ids(&c, "yhk"), vec!["bank"]);
}

#[test]
fn a_hostile_query_stays_cheap() {
    let mut c = catalog();
    c.matters[0].search_keys = vec![key("是是", &["shi"; 64].join(" "))];
    let query = "shi".repeat(8);
    let started = std::time::Instant::now();
    assert_eq!(ids(&c, &query), vec!["pension"]);
    assert!(started.elapsed() < std::time::Duration::from_millis(50));
}

#[test]
fn bad_keys_and_abbreviations_are_refused_with_the_field_named() {
    let base = catalog();
    let refused = |c: &Catalog| c.validate().expect_err("refused").to_string();

    let mut c = base.clone();
    c.matters[1].search_keys[0].syllables[1] = vec!["Hui".into()];
    let why = refused(&c);
    assert!(
        why.contains("`card`") && why.contains("search_keys"),
        "{why}"
    );
    assert!(why.contains("syllable 1") && why.contains("`Hui`"), "{why}");

    let mut c = base.clone();
    c.matters[1].search_keys[0].syllables[0] = vec!["a".into(); MAX_READINGS + 1];
    assert!(refused(&c).contains("readings"));

    let mut c = base.clone();
    c.matters[1].search_keys[0].syllables.clear();
    assert!(refused(&c).contains("syllables"));

    let mut c = base.clone();
    c.matters[1].aliases.push(" ".into());
    let why = refused(&c);
    assert!(why.contains("aliases") && why.contains("alias 1"), "{why}");

    let mut c = base.clone();
    c.matters[1].pinyin_initials = "SBK".into();
    assert!(refused(&c).contains("pinyin_initials"));

    let mut c = base.clone();
    c.abbreviations[0].full.clear();
    let why = refused(&c);
    assert!(
        why.contains("abbreviations") && why.contains("entry 0"),
        "{why}"
    );

    let mut c = base;
    c.abbreviations[0].full.push("社保".into());
    assert!(refused(&c).contains("repeats"));
}

#[test]
fn a_catalog_without_initials_aliases_or_keys_parses() {
    let mut json = serde_json::to_value(catalog()).expect("json");
    for m in json["matters"].as_array_mut().expect("matters") {
        let m = m.as_object_mut().expect("object");
        m.remove("pinyin_initials");
        m.remove("aliases");
        m.remove("search_keys");
    }
    json.as_object_mut()
        .expect("object")
        .remove("abbreviations");
    let c: Catalog = serde_json::from_value(json).expect("parses");
    c.validate().expect("valid");
    assert_eq!(ids(&c, "社会保障卡"), vec!["card", "card-loss"]);
}
