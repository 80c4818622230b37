//! The card data a `30 01` read returns, parsed, validated and kept out of logs.
//!
//! The reply payload is `text length (BE u16) | photo length (BE u16) | text | photo`. The text
//! block is 256 bytes of UCS-2LE in fixed fields padded with spaces; which layout applies is
//! told by the type flag at text offset 248 (blank for the resident card).
//!
//! Everything here is personal data. The types that hold it ([`PersonalText`], [`IdNumber`],
//! [`Photo`], the birth date) print nothing of it through `Debug`/`Display` (the ID number shows
//! its masked form only) and wipe their memory on drop, so a card dropped at session end
//! leaves nothing behind. (Sex, nation, validity dates and a foreigner card's version and
//! authority code are plain `Copy` values or non-identifying codes and are not wiped.)
//! Validation errors name the field, never its value.
//!
//! Layouts (byte offset/length in the text block):
//! - resident: name 0/30, sex 30/2, nation 32/4, birth 36/16, address 52/70, ID number 122/36,
//!   issuer 158/30, valid-from 188/16, valid-to 204/16, reserved 220/36;
//! - `J` (Hong Kong/Macau/Taiwan residence permit): the resident layout with a blank nation,
//!   plus pass number 220/18 and issue count 238/4;
//! - `I` (foreigner permanent residence card, 2017): English name 0/120, sex 120/2, permit
//!   number 122/30, nationality 152/6, Chinese name 158/30, valid-from 188/16, valid-to 204/16,
//!   birth 220/16, version 236/4, issuing authority 240/8;
//! - `Y` (foreigner permanent residence card, 2023): the reader documentation we build on only
//!   says it has "its own layout" without giving it. Until a reader's specification for it is
//!   in hand we read it with the `I` offsets for every common field (the type flag also sits at
//!   248), so a `Y` card is parsed exactly like an `I` card and labelled `Y`. This is the one
//!   place to change when the real offsets are confirmed.

use std::fmt;

use serde_json::{Map, Value, json};
use time::{Date, Month};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Size of the text block in every layout.
pub const TEXT_LEN: usize = 256;

/// Size of the photo block real readers return (WLT-compressed, opaque to us).
pub const PHOTO_LEN: usize = 1024;

const TYPE_FLAG: Field = Field::new("type", 248, 2);

// Resident layout (J shares it).
const R_NAME: Field = Field::new("name", 0, 30);
const R_SEX: Field = Field::new("sex", 30, 2);
const R_NATION: Field = Field::new("nation", 32, 4);
const R_BIRTH: Field = Field::new("birth", 36, 16);
const R_ADDRESS: Field = Field::new("address", 52, 70);
const R_ID: Field = Field::new("id_number", 122, 36);
const R_ISSUER: Field = Field::new("issuer", 158, 30);
const R_FROM: Field = Field::new("valid_from", 188, 16);
const R_TO: Field = Field::new("valid_to", 204, 16);
const J_PASS: Field = Field::new("pass_number", 220, 18);
const J_ISSUES: Field = Field::new("issue_count", 238, 4);

// Foreigner layout (`I`, and `Y` until its own offsets are known; see the module docs).
const F_EN_NAME: Field = Field::new("english_name", 0, 120);
const F_SEX: Field = Field::new("sex", 120, 2);
const F_PERMIT: Field = Field::new("permit_number", 122, 30);
const F_NATIONALITY: Field = Field::new("nationality", 152, 6);
const F_CN_NAME: Field = Field::new("name", 158, 30);
const F_FROM: Field = Field::new("valid_from", 188, 16);
const F_TO: Field = Field::new("valid_to", 204, 16);
const F_BIRTH: Field = Field::new("birth", 220, 16);
const F_VERSION: Field = Field::new("card_version", 236, 4);
const F_AUTHORITY: Field = Field::new("issuer", 240, 8);

/// What the validity end field holds on a card that never expires.
const LONG_TERM: &str = "长期";

/// A fixed field of the text block.
#[derive(Clone, Copy)]
struct Field {
    name: &'static str,
    offset: usize,
    len: usize,
}

impl Field {
    const fn new(name: &'static str, offset: usize, len: usize) -> Field {
        Field { name, offset, len }
    }

    /// The field's text, trailing spaces and NULs trimmed. Wiped on drop.
    fn read(self, text: &[u8; TEXT_LEN]) -> Result<Zeroizing<String>, CardError> {
        let raw = &text[self.offset..self.offset + self.len];
        let units = raw
            .chunks_exact(2)
            .map(|p| u16::from_le_bytes([p[0], p[1]]));
        // UTF-8 needs at most 3 bytes per UCS-2 unit (2 bytes): with this capacity the string
        // never reallocates, which would leave an unwiped copy behind.
        let mut out = Zeroizing::new(String::with_capacity(self.len / 2 * 3));
        for c in char::decode_utf16(units) {
            out.push(c.map_err(|_| CardError::BadText(self.name))?);
        }
        let trimmed = out.trim_end_matches([' ', '\0']).len();
        out.truncate(trimmed);
        Ok(out)
    }

    /// Like [`Field::read`], but an empty field is an error.
    fn read_required(self, text: &[u8; TEXT_LEN]) -> Result<Zeroizing<String>, CardError> {
        let value = self.read(text)?;
        if value.is_empty() {
            return Err(CardError::MissingField(self.name));
        }
        Ok(value)
    }

    /// Writes `value` as UCS-2LE; the block is pre-filled with spaces, which pad the rest.
    fn write(self, text: &mut [u8; TEXT_LEN], value: &str) -> Result<(), CardError> {
        let mut pos = self.offset;
        for unit in value.encode_utf16() {
            if pos + 2 > self.offset + self.len {
                return Err(CardError::FieldTooLong(self.name));
            }
            text[pos..pos + 2].copy_from_slice(&unit.to_le_bytes());
            pos += 2;
        }
        Ok(())
    }
}

/// Why card data was refused. Names the field at fault, never its content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    /// The reply is shorter than its own length header.
    #[error("the card reply is {0} bytes, too short for its length header")]
    ReplyTooShort(usize),
    /// The reply's text and photo lengths do not add up to its size.
    #[error(
        "the card reply's lengths (text {text}, photo {photo}) do not match its {actual} bytes"
    )]
    ReplyLengthMismatch {
        /// Declared text length.
        text: usize,
        /// Declared photo length.
        photo: usize,
        /// Bytes actually received after the two length fields.
        actual: usize,
    },
    /// The text block is not the 256 bytes every layout has.
    #[error("the card text block is {0} bytes; every card layout has {TEXT_LEN}")]
    TextLength(usize),
    /// A field is not valid UCS-2.
    #[error("field {0} is not valid UCS-2 text")]
    BadText(&'static str),
    /// A mandatory field is blank.
    #[error("field {0} is empty")]
    MissingField(&'static str),
    /// A value does not fit its field (only when building a card from test data).
    #[error("field {0} is too long for the card layout")]
    FieldTooLong(&'static str),
    /// A field holds characters its format does not allow.
    #[error("field {0} holds characters its format does not allow")]
    BadCharacters(&'static str),
    /// The sex code is not one of GB/T 2261.1's 0, 1, 2, 9.
    #[error("the sex code is not one of 0, 1, 2, 9")]
    InvalidSex,
    /// The nation code is not in GB 3304.
    #[error("the nation code is not in GB 3304")]
    InvalidNation,
    /// A date field is not a real `YYYYMMDD` date.
    #[error("field {0} is not a valid date")]
    InvalidDate(&'static str),
    /// The validity period ends before it starts.
    #[error("the validity period ends before it starts")]
    InvalidValidity,
    /// The citizen ID number fails GB 11643.
    #[error("the ID number is invalid: {0}")]
    InvalidIdNumber(#[from] IdNumberError),
    /// The birth date field disagrees with the one inside the ID number.
    #[error("the birth date does not match the ID number")]
    BirthMismatch,
    /// The sex field disagrees with the ID number's sequence parity.
    #[error("the sex does not match the ID number")]
    SexMismatch,
    /// The type flag at offset 248 names no layout we know; we do not guess.
    #[error("unknown card type flag {0:#04x}")]
    UnknownCardType(u8),
}

/// Why a string is not a GB 11643-1999 citizen identity number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    /// Not 18 characters.
    #[error("it has {0} characters instead of 18")]
    Length(usize),
    /// Something other than 17 digits and a digit or `X`.
    #[error("it holds characters other than digits and a final X")]
    Characters,
    /// The ISO 7064 MOD 11-2 check character is wrong.
    #[error("its check digit is wrong")]
    CheckDigit,
    /// Characters 7–14 are not a real date.
    #[error("its birth date is not a real date")]
    BirthDate,
}

/// The kind of card, told by the type flag at text offset 248.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardKind {
    /// 居民身份证, the resident identity card (blank flag).
    Resident,
    /// `J`: 港澳台居民居住证, Hong Kong/Macau/Taiwan residence permit.
    PermitJ,
    /// `I`: 外国人永久居留身份证 (2017).
    ForeignerI,
    /// `Y`: 外国人永久居留身份证 (2023).
    ForeignerY,
}

impl CardKind {
    /// The name used in JSON (`type`) and in test decks.
    pub fn as_str(self) -> &'static str {
        match self {
            CardKind::Resident => "resident",
            CardKind::PermitJ => "permit_j",
            CardKind::ForeignerI => "foreigner_i",
            CardKind::ForeignerY => "foreigner_y",
        }
    }

    /// The UCS-2 character at offset 248 (a space for resident cards).
    fn flag(self) -> char {
        match self {
            CardKind::Resident => ' ',
            CardKind::PermitJ => 'J',
            CardKind::ForeignerI => 'I',
            CardKind::ForeignerY => 'Y',
        }
    }
}

/// Sex as coded by GB/T 2261.1 on the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    /// `0`: not known.
    Unknown,
    /// `1`.
    Male,
    /// `2`.
    Female,
    /// `9`: not stated.
    Unstated,
}

impl Sex {
    /// The card's code for this sex.
    pub fn code(self) -> u8 {
        match self {
            Sex::Unknown => 0,
            Sex::Male => 1,
            Sex::Female => 2,
            Sex::Unstated => 9,
        }
    }

    /// The sex for a card code.
    pub fn from_code(code: u8) -> Option<Sex> {
        match code {
            0 => Some(Sex::Unknown),
            1 => Some(Sex::Male),
            2 => Some(Sex::Female),
            9 => Some(Sex::Unstated),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Sex::Unknown => "unknown",
            Sex::Male => "male",
            Sex::Female => "female",
            Sex::Unstated => "unstated",
        }
    }

    fn parse(field: &str) -> Result<Sex, CardError> {
        let code = match field.as_bytes() {
            [d @ b'0'..=b'9'] => d - b'0',
            _ => return Err(CardError::InvalidSex),
        };
        Sex::from_code(code).ok_or(CardError::InvalidSex)
    }
}

/// GB 3304 nation codes with their Chinese and romanised names.
const NATIONS: [(u8, &str, &str); 58] = [
    (1, "汉", "Han"),
    (2, "蒙古", "Mongol"),
    (3, "回", "Hui"),
    (4, "藏", "Zang"),
    (5, "维吾尔", "Uygur"),
    (6, "苗", "Miao"),
    (7, "彝", "Yi"),
    (8, "壮", "Zhuang"),
    (9, "布依", "Buyei"),
    (10, "朝鲜", "Chosen"),
    (11, "满", "Man"),
    (12, "侗", "Dong"),
    (13, "瑶", "Yao"),
    (14, "白", "Bai"),
    (15, "土家", "Tujia"),
    (16, "哈尼", "Hani"),
    (17, "哈萨克", "Kazak"),
    (18, "傣", "Dai"),
    (19, "黎", "Li"),
    (20, "傈僳", "Lisu"),
    (21, "佤", "Va"),
    (22, "畲", "She"),
    (23, "高山", "Gaoshan"),
    (24, "拉祜", "Lahu"),
    (25, "水", "Sui"),
    (26, "东乡", "Dongxiang"),
    (27, "纳西", "Naxi"),
    (28, "景颇", "Jingpo"),
    (29, "柯尔克孜", "Kirgiz"),
    (30, "土", "Tu"),
    (31, "达斡尔", "Daur"),
    (32, "仫佬", "Mulao"),
    (33, "羌", "Qiang"),
    (34, "布朗", "Blang"),
    (35, "撒拉", "Salar"),
    (36, "毛南", "Maonan"),
    (37, "仡佬", "Gelao"),
    (38, "锡伯", "Xibe"),
    (39, "阿昌", "Achang"),
    (40, "普米", "Pumi"),
    (41, "塔吉克", "Tajik"),
    (42, "怒", "Nu"),
    (43, "乌孜别克", "Uzbek"),
    (44, "俄罗斯", "Russ"),
    (45, "鄂温克", "Ewenki"),
    (46, "德昂", "Deang"),
    (47, "保安", "Bonan"),
    (48, "裕固", "Yugur"),
    (49, "京", "Gin"),
    (50, "塔塔尔", "Tatar"),
    (51, "独龙", "Derung"),
    (52, "鄂伦春", "Oroqen"),
    (53, "赫哲", "Hezhen"),
    (54, "门巴", "Monba"),
    (55, "珞巴", "Lhoba"),
    (56, "基诺", "Jino"),
    (97, "其他", "Other"),
    (98, "外国血统中国籍人士", "Foreign-born Chinese citizen"),
];

/// A nation (民族) by its GB 3304 code: 01–56, 97 (other), 98 (foreign-born Chinese citizen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Nation(u8);

impl Nation {
    /// The nation with this code, if GB 3304 has it.
    pub fn from_code(code: u8) -> Option<Nation> {
        NATIONS.iter().any(|n| n.0 == code).then_some(Nation(code))
    }

    /// The numeric code.
    pub fn code(self) -> u8 {
        self.0
    }

    /// The Chinese name as printed on the card (without 族).
    pub fn name_zh(self) -> &'static str {
        self.entry().1
    }

    /// The romanised name of GB 3304.
    pub fn name_en(self) -> &'static str {
        self.entry().2
    }

    fn entry(self) -> (u8, &'static str, &'static str) {
        // A `Nation` only exists for codes in the table; "Other" is a safe answer regardless.
        NATIONS
            .iter()
            .copied()
            .find(|n| n.0 == self.0)
            .unwrap_or(NATIONS[56])
    }

    fn parse(field: &str) -> Result<Nation, CardError> {
        let code = match field.as_bytes() {
            [a @ b'0'..=b'9', b @ b'0'..=b'9'] => (a - b'0') * 10 + (b - b'0'),
            _ => return Err(CardError::InvalidNation),
        };
        Nation::from_code(code).ok_or(CardError::InvalidNation)
    }
}

/// Text from the card (a name, an address…): readable by code that needs it, never printed by
/// `Debug`, wiped on drop. Deliberately has no `Display`.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct PersonalText(String);

impl PersonalText {
    /// The text itself, for the screen or the application form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn from_field(value: &Zeroizing<String>) -> PersonalText {
        PersonalText(String::from(value.as_str()))
    }
}

impl fmt::Debug for PersonalText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The card's photo block: WLT-compressed data that only a licensed vendor library decodes.
/// We keep it opaque, never store it, and wipe it on drop.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Photo(Vec<u8>);

impl Photo {
    /// The raw block, for handing to a decoder in memory.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Its size in bytes (1024 on real cards).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the card had no photo block at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Photo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Photo({} bytes)", self.0.len())
    }
}

/// A birth date, held as a Julian day number so that it can be wiped on drop.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
struct PersonalDate(i32);

impl PersonalDate {
    fn new(date: Date) -> PersonalDate {
        PersonalDate(date.to_julian_day())
    }

    fn get(&self) -> Date {
        // Built from a valid `Date`, so the conversion back cannot fail.
        Date::from_julian_day(self.0).unwrap_or(Date::MIN)
    }
}

/// An identity number: a GB 11643 citizen number, or a foreigner's permit number.
///
/// `Debug` and `Display` print only the masked form (first 4 and last 4 characters kept, e.g.
/// `3207**********1234`); [`IdNumber::expose`] is for the one path that must submit it.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct IdNumber(String);

/// The GB 11643 check character: one implementation, shared with the forms that ask for
/// another person's ID number.
pub use kiosk_protocol::form::numbers::gb11643_check_digit;

impl IdNumber {
    /// A GB 11643-1999 citizen identity number: 6-digit area, 8-digit birth date, 3-digit
    /// sequence, check character. A lowercase `x` is accepted and stored uppercase.
    pub fn parse_citizen(value: &str) -> Result<IdNumber, IdNumberError> {
        let chars = value.chars().count();
        if chars != 18 {
            return Err(IdNumberError::Length(chars));
        }
        let upper = Zeroizing::new(value.to_ascii_uppercase());
        let bytes = upper.as_bytes();
        if !bytes[..17].iter().all(u8::is_ascii_digit)
            || !(bytes[17].is_ascii_digit() || bytes[17] == b'X')
        {
            return Err(IdNumberError::Characters);
        }
        if parse_yyyymmdd(&upper[6..14]).is_none() {
            return Err(IdNumberError::BirthDate);
        }
        if gb11643_check_digit(&upper[..17]) != Some(char::from(bytes[17])) {
            return Err(IdNumberError::CheckDigit);
        }
        Ok(IdNumber(String::from(upper.as_str())))
    }

    /// A foreigner's permanent residence permit number: uppercase ASCII letters and digits.
    /// Its internal structure is not checked; the reader documentation gives none.
    pub fn parse_permit(value: &str) -> Result<IdNumber, CardError> {
        if value.is_empty() {
            return Err(CardError::MissingField("permit_number"));
        }
        if !value
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return Err(CardError::BadCharacters("permit_number"));
        }
        Ok(IdNumber(value.to_owned()))
    }

    /// The number itself. Only for the path that must submit it (sealed) to the platform.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// First 4 and last 4 characters kept, the rest starred; all starred when 8 or shorter.
    pub fn masked(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        let n = chars.len();
        if n <= 8 {
            return "*".repeat(n);
        }
        let mut out = String::with_capacity(n);
        out.extend(&chars[..4]);
        out.extend(std::iter::repeat_n('*', n - 8));
        out.extend(&chars[n - 4..]);
        out
    }

    /// The birth date inside a citizen number (characters 7–14).
    fn citizen_birth(&self) -> Option<Date> {
        self.0.get(6..14).and_then(parse_yyyymmdd)
    }

    /// The sex a citizen number's sequence implies: odd is male.
    fn citizen_sex(&self) -> Option<Sex> {
        let digit = self.0.as_bytes().get(16)?;
        Some(if (digit - b'0') % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        })
    }
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

impl fmt::Display for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// When a card stops being valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidUntil {
    /// The last day of validity.
    Date(Date),
    /// 长期: never expires.
    LongTerm,
}

/// The card's period of validity, both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    /// First day of validity.
    pub from: Date,
    /// Last day of validity, or long-term.
    pub to: ValidUntil,
}

impl Validity {
    /// Whether the card is past its last valid day on `today`.
    pub fn is_expired(&self, today: Date) -> bool {
        match self.to {
            ValidUntil::Date(last) => today > last,
            ValidUntil::LongTerm => false,
        }
    }

    fn parse(from: &str, to: &str, from_field: Field, to_field: Field) -> Result<Self, CardError> {
        let from = parse_yyyymmdd(from).ok_or(CardError::InvalidDate(from_field.name))?;
        let to = if to == LONG_TERM {
            ValidUntil::LongTerm
        } else {
            let last = parse_yyyymmdd(to).ok_or(CardError::InvalidDate(to_field.name))?;
            if last < from {
                return Err(CardError::InvalidValidity);
            }
            ValidUntil::Date(last)
        };
        Ok(Validity { from, to })
    }

    fn to_json(self) -> (Value, Value) {
        let to = match self.to {
            ValidUntil::Date(d) => Value::String(iso_date(d)),
            ValidUntil::LongTerm => Value::String("long_term".into()),
        };
        (Value::String(iso_date(self.from)), to)
    }

    fn card_text(self) -> (String, String) {
        let to = match self.to {
            ValidUntil::Date(d) => yyyymmdd(d),
            ValidUntil::LongTerm => LONG_TERM.to_owned(),
        };
        (yyyymmdd(self.from), to)
    }
}

/// 居民身份证.
#[derive(Clone, PartialEq, Eq)]
pub struct ResidentCard {
    name: PersonalText,
    sex: Sex,
    nation: Nation,
    birth: PersonalDate,
    address: PersonalText,
    id_number: IdNumber,
    issuer: PersonalText,
    validity: Validity,
    photo: Photo,
}

impl ResidentCard {
    /// The nation (民族).
    pub fn nation(&self) -> Nation {
        self.nation
    }
}

/// 港澳台居民居住证 (`J`).
#[derive(Clone, PartialEq, Eq)]
pub struct PermitCard {
    name: PersonalText,
    sex: Sex,
    birth: PersonalDate,
    address: PersonalText,
    id_number: IdNumber,
    issuer: PersonalText,
    validity: Validity,
    pass_number: IdNumber,
    issue_count: u8,
    photo: Photo,
}

impl PermitCard {
    /// The holder's Hong Kong/Macau/Taiwan travel pass number (masked in `Debug`).
    pub fn pass_number(&self) -> &IdNumber {
        &self.pass_number
    }

    /// How many times this permit has been issued.
    pub fn issue_count(&self) -> u8 {
        self.issue_count
    }
}

/// 外国人永久居留身份证 (`I`, 2017; `Y`, 2023).
#[derive(Clone, PartialEq, Eq)]
pub struct ForeignerCard {
    english_name: PersonalText,
    chinese_name: Option<PersonalText>,
    sex: Sex,
    permit_number: IdNumber,
    nationality: PersonalText,
    birth: PersonalDate,
    validity: Validity,
    version: String,
    authority: String,
    photo: Photo,
}

impl ForeignerCard {
    /// The English name as on the card.
    pub fn english_name(&self) -> &str {
        self.english_name.as_str()
    }

    /// The Chinese name, when the card has one.
    pub fn chinese_name(&self) -> Option<&str> {
        self.chinese_name.as_ref().map(PersonalText::as_str)
    }

    /// The ISO 3166-1 alpha-3 nationality code.
    pub fn nationality(&self) -> &str {
        self.nationality.as_str()
    }

    /// The card version field.
    pub fn version(&self) -> &str {
        &self.version
    }
}

/// A card read from the reader. See the module docs for layouts and hygiene.
#[derive(Clone, PartialEq, Eq)]
pub enum IdCard {
    /// 居民身份证.
    Resident(ResidentCard),
    /// 港澳台居民居住证.
    PermitJ(PermitCard),
    /// 外国人永久居留身份证, 2017.
    ForeignerI(ForeignerCard),
    /// 外国人永久居留身份证, 2023.
    ForeignerY(ForeignerCard),
}

impl IdCard {
    /// Parses the payload of a read reply (after `SW3`). A `30 01` reply is text length (BE
    /// u16), photo length (BE u16), text, photo. A `30 10` reply has a third length, the
    /// fingerprint block's, before the text, and the fingerprint after the photo: it is
    /// accepted too (a capture from a reader set up for fingerprints decodes), and the
    /// fingerprint is dropped unread: the kiosk has no use for it and must not hold it.
    ///
    /// The two shapes cannot be confused: a `30 10` reply is always at least two bytes longer
    /// than the `30 01` reading of its header allows.
    pub fn from_read_reply(data: &[u8]) -> Result<IdCard, CardError> {
        let length = |at: usize| {
            data.get(at..at + 2)
                .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
        };
        let (Some(text_len), Some(photo_len)) = (length(0), length(2)) else {
            return Err(CardError::ReplyTooShort(data.len()));
        };
        let rest = &data[4..];
        let (text, photo) = if rest.len() == text_len + photo_len {
            (&rest[..text_len], &rest[text_len..])
        } else if let Some(fingerprint_len) =
            length(4).filter(|&f| data.len() - 6 == text_len + photo_len + f)
        {
            let blocks = &data[6..data.len() - fingerprint_len];
            (&blocks[..text_len], &blocks[text_len..])
        } else {
            return Err(CardError::ReplyLengthMismatch {
                text: text_len,
                photo: photo_len,
                actual: rest.len(),
            });
        };
        let text: &[u8; TEXT_LEN] = text
            .try_into()
            .map_err(|_| CardError::TextLength(text_len))?;
        IdCard::from_text(text, photo)
    }

    /// Parses a text block and keeps `photo` as the opaque photo.
    pub fn from_text(text: &[u8; TEXT_LEN], photo: &[u8]) -> Result<IdCard, CardError> {
        let flag = TYPE_FLAG.read(text)?;
        let kind = match flag.as_str() {
            "" => CardKind::Resident,
            "J" => CardKind::PermitJ,
            "I" => CardKind::ForeignerI,
            "Y" => CardKind::ForeignerY,
            _ => return Err(CardError::UnknownCardType(text[TYPE_FLAG.offset])),
        };
        let photo = Photo(photo.to_vec());
        match kind {
            CardKind::Resident => parse_resident(text, photo).map(IdCard::Resident),
            CardKind::PermitJ => parse_permit(text, photo).map(IdCard::PermitJ),
            CardKind::ForeignerI => parse_foreigner(text, photo).map(IdCard::ForeignerI),
            CardKind::ForeignerY => parse_foreigner(text, photo).map(IdCard::ForeignerY),
        }
    }

    /// The `30 01` reply payload for this card: what a reader would send. Wiped on drop.
    pub fn encode_read_reply(&self) -> Zeroizing<Vec<u8>> {
        let text = Zeroizing::new(encode_text(self));
        let photo = self.photo().as_bytes();
        let mut out = Zeroizing::new(Vec::with_capacity(4 + TEXT_LEN + photo.len()));
        out.extend_from_slice(&(TEXT_LEN as u16).to_be_bytes());
        // Photos come from a reply (whose length field is a u16) or a checked test deck.
        out.extend_from_slice(&u16::try_from(photo.len()).unwrap_or(u16::MAX).to_be_bytes());
        out.extend_from_slice(text.as_slice());
        out.extend_from_slice(photo);
        out
    }

    /// Which kind of card this is.
    pub fn kind(&self) -> CardKind {
        match self {
            IdCard::Resident(_) => CardKind::Resident,
            IdCard::PermitJ(_) => CardKind::PermitJ,
            IdCard::ForeignerI(_) => CardKind::ForeignerI,
            IdCard::ForeignerY(_) => CardKind::ForeignerY,
        }
    }

    /// The holder's name: the Chinese name, or for a foreigner without one the English name.
    pub fn name(&self) -> &str {
        match self {
            IdCard::Resident(c) => c.name.as_str(),
            IdCard::PermitJ(c) => c.name.as_str(),
            IdCard::ForeignerI(c) | IdCard::ForeignerY(c) => {
                c.chinese_name.as_ref().unwrap_or(&c.english_name).as_str()
            }
        }
    }

    /// The identity number; for foreigner cards, the permit number.
    pub fn id_number(&self) -> &IdNumber {
        match self {
            IdCard::Resident(c) => &c.id_number,
            IdCard::PermitJ(c) => &c.id_number,
            IdCard::ForeignerI(c) | IdCard::ForeignerY(c) => &c.permit_number,
        }
    }

    /// The holder's sex.
    pub fn sex(&self) -> Sex {
        match self {
            IdCard::Resident(c) => c.sex,
            IdCard::PermitJ(c) => c.sex,
            IdCard::ForeignerI(c) | IdCard::ForeignerY(c) => c.sex,
        }
    }

    /// The holder's birth date.
    pub fn birth(&self) -> Date {
        match self {
            IdCard::Resident(c) => c.birth.get(),
            IdCard::PermitJ(c) => c.birth.get(),
            IdCard::ForeignerI(c) | IdCard::ForeignerY(c) => c.birth.get(),
        }
    }

    /// The address; foreigner cards have none.
    pub fn address(&self) -> Option<&str> {
        match self {
            IdCard::Resident(c) => Some(c.address.as_str()),
            IdCard::PermitJ(c) => Some(c.address.as_str()),
            IdCard::ForeignerI(_) | IdCard::ForeignerY(_) => None,
        }
    }

    /// The issuing authority (a police office's name, or a foreigner card's authority code).
    pub fn issuer(&self) -> &str {
        match self {
            IdCard::Resident(c) => c.issuer.as_str(),
            IdCard::PermitJ(c) => c.issuer.as_str(),
            IdCard::ForeignerI(c) | IdCard::ForeignerY(c) => &c.authority,
        }
    }

    /// The nation, which only the resident card records.
    pub fn nation(&self) -> Option<Nation> {
        match self {
            IdCard::Resident(c) => Some(c.nation),
            _ => None,
        }
    }

    /// The period of validity.
    pub fn validity(&self) -> &Validity {
        match self {
            IdCard::Resident(c) => &c.validity,
            IdCard::PermitJ(c) => &c.validity,
            IdCard::ForeignerI(c) | IdCard::ForeignerY(c) => &c.validity,
        }
    }

    /// Whether the card is past its last valid day on `today`.
    pub fn is_expired(&self, today: Date) -> bool {
        self.validity().is_expired(today)
    }

    /// The opaque photo block.
    pub fn photo(&self) -> &Photo {
        match self {
            IdCard::Resident(c) => &c.photo,
            IdCard::PermitJ(c) => &c.photo,
            IdCard::ForeignerI(c) | IdCard::ForeignerY(c) => &c.photo,
        }
    }

    /// The card as JSON for the platform: `type`, `name`, `sex`, `nation`, `birth`, `address`,
    /// `id_number`, `issuer`, `valid_from`, `valid_to` and the type's own fields. Identifying
    /// numbers (ID, permit and pass numbers) are masked unless `reveal` is set. The photo is
    /// never included. The returned value is not wiped: drop it as soon as it is sent.
    pub fn to_json(&self, reveal: bool) -> Value {
        let number = |n: &IdNumber| {
            Value::String(if reveal {
                n.expose().to_owned()
            } else {
                n.masked()
            })
        };
        let mut m = Map::new();
        m.insert("type".into(), self.kind().as_str().into());
        m.insert("name".into(), self.name().into());
        m.insert("sex".into(), self.sex().as_str().into());
        m.insert(
            "nation".into(),
            match self.nation() {
                Some(n) => json!({
                    "code": format!("{:02}", n.code()),
                    "zh": n.name_zh(),
                    "en": n.name_en(),
                }),
                None => Value::Null,
            },
        );
        m.insert("birth".into(), iso_date(self.birth()).into());
        m.insert(
            "address".into(),
            self.address().map_or(Value::Null, Value::from),
        );
        m.insert("id_number".into(), number(self.id_number()));
        m.insert("issuer".into(), self.issuer().into());
        let (from, to) = self.validity().to_json();
        m.insert("valid_from".into(), from);
        m.insert("valid_to".into(), to);
        match self {
            IdCard::Resident(_) => {}
            IdCard::PermitJ(c) => {
                m.insert("pass_number".into(), number(&c.pass_number));
                m.insert("issue_count".into(), c.issue_count.into());
            }
            IdCard::ForeignerI(c) | IdCard::ForeignerY(c) => {
                m.insert("permit_number".into(), number(&c.permit_number));
                m.insert("english_name".into(), c.english_name.as_str().into());
                m.insert(
                    "chinese_name".into(),
                    c.chinese_name().map_or(Value::Null, Value::from),
                );
                m.insert("nationality".into(), c.nationality.as_str().into());
                m.insert("card_version".into(), c.version.as_str().into());
            }
        }
        Value::Object(m)
    }
}

/// Serialises the masked form ([`IdCard::to_json`] with `reveal = false`): the safe default
/// for anything that serialises a card without thinking about it.
impl serde::Serialize for IdCard {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json(false).serialize(serializer)
    }
}

impl fmt::Debug for IdCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdCard")
            .field("kind", &self.kind())
            .field("id_number", self.id_number())
            .finish_non_exhaustive()
    }
}

/// The 256-byte text block for `card`, in its kind's layout: the inverse of parsing, used by
/// the simulator. Wipe the result when done with it (e.g. through `Zeroizing`).
pub fn encode_text(card: &IdCard) -> [u8; TEXT_LEN] {
    let mut fields = TextFields::new(card.kind());
    match card {
        IdCard::Resident(c) => {
            fields.set(R_NAME, c.name.as_str());
            fields.set(R_SEX, &c.sex.code().to_string());
            fields.set(R_NATION, &format!("{:02}", c.nation.code()));
            fields.set(R_BIRTH, &yyyymmdd(c.birth.get()));
            fields.set(R_ADDRESS, c.address.as_str());
            fields.set(R_ID, c.id_number.expose());
            fields.set(R_ISSUER, c.issuer.as_str());
            fields.set_validity(c.validity, R_FROM, R_TO);
        }
        IdCard::PermitJ(c) => {
            fields.set(R_NAME, c.name.as_str());
            fields.set(R_SEX, &c.sex.code().to_string());
            fields.set(R_BIRTH, &yyyymmdd(c.birth.get()));
            fields.set(R_ADDRESS, c.address.as_str());
            fields.set(R_ID, c.id_number.expose());
            fields.set(R_ISSUER, c.issuer.as_str());
            fields.set_validity(c.validity, R_FROM, R_TO);
            fields.set(J_PASS, c.pass_number.expose());
            fields.set(J_ISSUES, &format!("{:02}", c.issue_count));
        }
        IdCard::ForeignerI(c) | IdCard::ForeignerY(c) => {
            fields.set(F_EN_NAME, c.english_name.as_str());
            fields.set(F_SEX, &c.sex.code().to_string());
            fields.set(F_PERMIT, c.permit_number.expose());
            fields.set(F_NATIONALITY, c.nationality.as_str());
            if let Some(name) = &c.chinese_name {
                fields.set(F_CN_NAME, name.as_str());
            }
            fields.set_validity(c.validity, F_FROM, F_TO);
            fields.set(F_BIRTH, &yyyymmdd(c.birth.get()));
            fields.set(F_VERSION, &c.version);
            fields.set(F_AUTHORITY, &c.authority);
        }
    }
    fields.finish()
}

/// Lays out a text block field by field. A parsed card's values always fit (they came out of
/// the same layout), so `encode_text` ignores overflow; [`CardSpec`] reports it.
struct TextFields {
    text: [u8; TEXT_LEN],
    overflow: Option<&'static str>,
}

impl TextFields {
    fn new(kind: CardKind) -> TextFields {
        let mut text = [0u8; TEXT_LEN];
        for pair in text.chunks_exact_mut(2) {
            pair.copy_from_slice(&u16::from(b' ').to_le_bytes());
        }
        let mut fields = TextFields {
            text,
            overflow: None,
        };
        fields.set(TYPE_FLAG, &kind.flag().to_string());
        fields
    }

    fn set(&mut self, field: Field, value: &str) {
        if let Err(CardError::FieldTooLong(name)) = field.write(&mut self.text, value) {
            self.overflow.get_or_insert(name);
        }
    }

    fn set_validity(&mut self, validity: Validity, from: Field, to: Field) {
        let (a, b) = validity.card_text();
        self.set(from, &a);
        self.set(to, &b);
    }

    fn finish(self) -> [u8; TEXT_LEN] {
        self.text
    }
}

/// Plain card values from which a text block is laid out; used to build simulator decks.
/// The built block is then parsed like a real one, so a deck can only hold valid cards.
pub(crate) struct CardSpec<'a> {
    pub kind: CardKind,
    pub name: Option<&'a str>,
    pub english_name: Option<&'a str>,
    pub sex: u8,
    pub nation: Option<u8>,
    pub birth: Date,
    pub address: Option<&'a str>,
    pub id_number: &'a str,
    pub issuer: &'a str,
    pub valid_from: Date,
    pub valid_to: ValidUntil,
    pub pass_number: Option<&'a str>,
    pub issue_count: Option<u8>,
    pub nationality: Option<&'a str>,
    pub card_version: Option<&'a str>,
    pub photo: &'a [u8],
}

impl CardSpec<'_> {
    /// Lays the values out and parses the result, so every check of a real read applies.
    pub fn build(&self) -> Result<IdCard, CardError> {
        let mut f = TextFields::new(self.kind);
        let validity = Validity {
            from: self.valid_from,
            to: self.valid_to,
        };
        let sex = self.sex.to_string();
        let birth = yyyymmdd(self.birth);
        match self.kind {
            CardKind::Resident | CardKind::PermitJ => {
                f.set(R_NAME, self.name.unwrap_or(""));
                f.set(R_SEX, &sex);
                if let Some(n) = self.nation {
                    f.set(R_NATION, &format!("{n:02}"));
                }
                f.set(R_BIRTH, &birth);
                f.set(R_ADDRESS, self.address.unwrap_or(""));
                f.set(R_ID, self.id_number);
                f.set(R_ISSUER, self.issuer);
                f.set_validity(validity, R_FROM, R_TO);
                if self.kind == CardKind::PermitJ {
                    f.set(J_PASS, self.pass_number.unwrap_or(""));
                    let count = self.issue_count.map(|c| format!("{c:02}"));
                    f.set(J_ISSUES, count.as_deref().unwrap_or(""));
                }
            }
            CardKind::ForeignerI | CardKind::ForeignerY => {
                f.set(F_EN_NAME, self.english_name.unwrap_or(""));
                f.set(F_SEX, &sex);
                f.set(F_PERMIT, self.id_number);
                f.set(F_NATIONALITY, self.nationality.unwrap_or(""));
                f.set(F_CN_NAME, self.name.unwrap_or(""));
                f.set_validity(validity, F_FROM, F_TO);
                f.set(F_BIRTH, &birth);
                f.set(F_VERSION, self.card_version.unwrap_or(""));
                f.set(F_AUTHORITY, self.issuer);
            }
        }
        if let Some(name) = f.overflow {
            return Err(CardError::FieldTooLong(name));
        }
        let text = Zeroizing::new(f.finish());
        IdCard::from_text(&text, self.photo)
    }
}

fn parse_resident(text: &[u8; TEXT_LEN], photo: Photo) -> Result<ResidentCard, CardError> {
    let name = R_NAME.read_required(text)?;
    let sex = Sex::parse(&R_SEX.read(text)?)?;
    let nation = Nation::parse(&R_NATION.read(text)?)?;
    let birth = read_date(text, R_BIRTH)?;
    let address = R_ADDRESS.read_required(text)?;
    let id_number = citizen_number(text, birth, sex)?;
    let issuer = R_ISSUER.read_required(text)?;
    let validity = read_validity(text, R_FROM, R_TO)?;
    Ok(ResidentCard {
        name: PersonalText::from_field(&name),
        sex,
        nation,
        birth: PersonalDate::new(birth),
        address: PersonalText::from_field(&address),
        id_number,
        issuer: PersonalText::from_field(&issuer),
        validity,
        photo,
    })
}

/// The `J` card: the resident layout, whose nation field stays blank (permit holders have no
/// GB 3304 nation recorded) and is ignored.
fn parse_permit(text: &[u8; TEXT_LEN], photo: Photo) -> Result<PermitCard, CardError> {
    let name = R_NAME.read_required(text)?;
    let sex = Sex::parse(&R_SEX.read(text)?)?;
    let birth = read_date(text, R_BIRTH)?;
    let address = R_ADDRESS.read_required(text)?;
    let id_number = citizen_number(text, birth, sex)?;
    let issuer = R_ISSUER.read_required(text)?;
    let validity = read_validity(text, R_FROM, R_TO)?;
    let pass = J_PASS.read_required(text)?;
    if !pass.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(CardError::BadCharacters(J_PASS.name));
    }
    let issues = J_ISSUES.read_required(text)?;
    let issue_count = match issues.as_bytes() {
        [a @ b'0'..=b'9', b @ b'0'..=b'9'] => (a - b'0') * 10 + (b - b'0'),
        _ => return Err(CardError::BadCharacters(J_ISSUES.name)),
    };
    Ok(PermitCard {
        name: PersonalText::from_field(&name),
        sex,
        birth: PersonalDate::new(birth),
        address: PersonalText::from_field(&address),
        id_number,
        issuer: PersonalText::from_field(&issuer),
        validity,
        pass_number: IdNumber(String::from(pass.as_str())),
        issue_count,
        photo,
    })
}

fn parse_foreigner(text: &[u8; TEXT_LEN], photo: Photo) -> Result<ForeignerCard, CardError> {
    let english_name = F_EN_NAME.read_required(text)?;
    let sex = Sex::parse(&F_SEX.read(text)?)?;
    let permit_number = IdNumber::parse_permit(&F_PERMIT.read(text)?)?;
    let nationality = F_NATIONALITY.read_required(text)?;
    if !(nationality.len() == 3 && nationality.bytes().all(|b| b.is_ascii_uppercase())) {
        return Err(CardError::BadCharacters(F_NATIONALITY.name));
    }
    let chinese_name = F_CN_NAME.read(text)?;
    let validity = read_validity(text, F_FROM, F_TO)?;
    let birth = read_date(text, F_BIRTH)?;
    let version = F_VERSION.read(text)?;
    let authority = F_AUTHORITY.read_required(text)?;
    for (field, value) in [(F_VERSION, &version), (F_AUTHORITY, &authority)] {
        if !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(CardError::BadCharacters(field.name));
        }
    }
    Ok(ForeignerCard {
        english_name: PersonalText::from_field(&english_name),
        chinese_name: (!chinese_name.is_empty()).then(|| PersonalText::from_field(&chinese_name)),
        sex,
        permit_number,
        nationality: PersonalText::from_field(&nationality),
        birth: PersonalDate::new(birth),
        validity,
        version: String::from(version.as_str()),
        authority: String::from(authority.as_str()),
        photo,
    })
}

/// The citizen number, checked against the birth and sex fields. Sex codes 0 and 9 carry no
/// claim to compare with the sequence parity, so only 1 and 2 are checked.
fn citizen_number(text: &[u8; TEXT_LEN], birth: Date, sex: Sex) -> Result<IdNumber, CardError> {
    let raw = R_ID.read_required(text)?;
    let number = IdNumber::parse_citizen(&raw)?;
    if number.citizen_birth() != Some(birth) {
        return Err(CardError::BirthMismatch);
    }
    if matches!(sex, Sex::Male | Sex::Female) && number.citizen_sex() != Some(sex) {
        return Err(CardError::SexMismatch);
    }
    Ok(number)
}

fn read_date(text: &[u8; TEXT_LEN], field: Field) -> Result<Date, CardError> {
    let value = field.read(text)?;
    parse_yyyymmdd(&value).ok_or(CardError::InvalidDate(field.name))
}

fn read_validity(text: &[u8; TEXT_LEN], from: Field, to: Field) -> Result<Validity, CardError> {
    Validity::parse(&from.read(text)?, &to.read(text)?, from, to)
}

/// A `YYYYMMDD` string as a date, if it is a real one.
pub(crate) fn parse_yyyymmdd(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    if b.len() != 8 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| {
        b[r].iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
    };
    let year = i32::try_from(num(0..4)).ok()?;
    let month = Month::try_from(u8::try_from(num(4..6)).ok()?).ok()?;
    let day = u8::try_from(num(6..8)).ok()?;
    Date::from_calendar_date(year, month, day).ok()
}

fn yyyymmdd(d: Date) -> String {
    format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day())
}

fn iso_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const PHOTO: [u8; 4] = [1, 2, 3, 4];

    fn resident_spec() -> CardSpec<'static> {
        CardSpec {
            kind: CardKind::Resident,
            name: Some("张三"),
            english_name: None,
            sex: 1,
            nation: Some(1),
            birth: date!(1985 - 03 - 12),
            address: Some("江苏省连云港市海州区幸福路88号"),
            // 320706 1985-03-12 sequence 013 (odd: male).
            id_number: "320706198503120133",
            issuer: "连云港市公安局海州分局",
            valid_from: date!(2015 - 06 - 01),
            valid_to: ValidUntil::Date(date!(2035 - 06 - 01)),
            pass_number: None,
            issue_count: None,
            nationality: None,
            card_version: None,
            photo: &PHOTO,
        }
    }

    fn foreigner_spec(kind: CardKind) -> CardSpec<'static> {
        CardSpec {
            kind,
            name: Some("安娜"),
            english_name: Some("EXAMPLE, ANNA TEST"),
            sex: 2,
            nation: None,
            birth: date!(1990 - 07 - 04),
            address: None,
            id_number: "USA320090070411",
            issuer: "3207",
            valid_from: date!(2020 - 01 - 01),
            valid_to: ValidUntil::Date(date!(2030 - 01 - 01)),
            pass_number: None,
            issue_count: None,
            nationality: Some("USA"),
            card_version: Some("01"),
            photo: &PHOTO,
        }
    }

    #[test]
    fn check_digit_follows_iso_7064_mod_11_2() {
        // Worked example of GB 11643-1999's appendix-style arithmetic: the widely published
        // sample 11010519491231002 has check character X.
        assert_eq!(gb11643_check_digit("11010519491231002"), Some('X'));
        assert_eq!(gb11643_check_digit("32070619850312013"), Some('3'));
        assert_eq!(gb11643_check_digit("3207061985031201"), None);
        assert!(IdNumber::parse_citizen("11010519491231002x").is_ok());
        assert_eq!(
            IdNumber::parse_citizen("320706198503120138"),
            Err(IdNumberError::CheckDigit)
        );
        assert_eq!(
            IdNumber::parse_citizen("320706198502300139"),
            Err(IdNumberError::BirthDate)
        );
        assert_eq!(
            IdNumber::parse_citizen("3207061985031201"),
            Err(IdNumberError::Length(16))
        );
        assert_eq!(
            IdNumber::parse_citizen("32070619850312013A"),
            Err(IdNumberError::Characters)
        );
    }

    #[test]
    fn id_number_prints_masked_only() {
        let n = IdNumber::parse_citizen("320706198503120133").expect("valid");
        assert_eq!(n.masked(), "3207**********0133");
        assert_eq!(n.to_string(), "3207**********0133");
        assert_eq!(format!("{n:?}"), "IdNumber(3207**********0133)");
        assert_eq!(n.expose(), "320706198503120133");
        let short = IdNumber::parse_permit("AB12").expect("valid");
        assert_eq!(short.masked(), "****");
    }

    #[test]
    fn resident_round_trip_and_accessors() {
        let card = resident_spec().build().expect("valid card");
        assert_eq!(card.kind(), CardKind::Resident);
        assert_eq!(card.name(), "张三");
        assert_eq!(card.sex(), Sex::Male);
        assert_eq!(card.birth(), date!(1985 - 03 - 12));
        assert_eq!(card.address(), Some("江苏省连云港市海州区幸福路88号"));
        assert_eq!(card.nation().map(Nation::name_zh), Some("汉"));
        assert_eq!(card.photo().as_bytes(), PHOTO);
        let reply = card.encode_read_reply();
        assert_eq!(&reply[..4], &[0x01, 0x00, 0x00, 0x04]);
        let again = IdCard::from_read_reply(&reply).expect("parses");
        assert_eq!(again, card);
        // The name sits at offset 0 in UCS-2LE: 张 = U+5F20.
        let text = encode_text(&card);
        assert_eq!(&text[..4], &[0x20, 0x5F, 0x09, 0x4E]);
        assert_eq!(&text[30..32], &[b'1', 0]);
    }

    #[test]
    fn long_term_validity_and_expiry() {
        let mut spec = resident_spec();
        spec.valid_to = ValidUntil::LongTerm;
        let card = spec.build().expect("valid");
        assert_eq!(card.validity().to, ValidUntil::LongTerm);
        assert!(!card.is_expired(date!(2999 - 01 - 01)));
        let text = encode_text(&card);
        assert_eq!(&text[204..208], &[0x7F, 0x95, 0x1F, 0x67]); // 长期

        let card = resident_spec().build().expect("valid");
        assert!(
            !card.is_expired(date!(2035 - 06 - 01)),
            "last day still valid"
        );
        assert!(card.is_expired(date!(2035 - 06 - 02)));
    }

    #[test]
    fn cross_checks_refuse_inconsistent_cards() {
        let mut spec = resident_spec();
        spec.sex = 2;
        assert_eq!(spec.build(), Err(CardError::SexMismatch));
        let mut spec = resident_spec();
        spec.birth = date!(1985 - 03 - 13);
        assert_eq!(spec.build(), Err(CardError::BirthMismatch));
        let mut spec = resident_spec();
        spec.nation = Some(57);
        assert_eq!(spec.build(), Err(CardError::InvalidNation));
        let mut spec = resident_spec();
        spec.sex = 3;
        assert_eq!(spec.build(), Err(CardError::InvalidSex));
        let mut spec = resident_spec();
        spec.valid_to = ValidUntil::Date(date!(2014 - 01 - 01));
        assert_eq!(spec.build(), Err(CardError::InvalidValidity));
        let mut spec = resident_spec();
        spec.id_number = "320706198503120138";
        assert_eq!(
            spec.build(),
            Err(CardError::InvalidIdNumber(IdNumberError::CheckDigit))
        );
        let mut spec = resident_spec();
        spec.address = Some("");
        assert_eq!(spec.build(), Err(CardError::MissingField("address")));
        // Codes 0 and 9 make no claim about sex, so parity is not checked.
        let mut spec = resident_spec();
        spec.sex = 9;
        assert_eq!(spec.build().map(|c| c.sex()), Ok(Sex::Unstated));
    }

    #[test]
    fn nation_table_covers_gb_3304() {
        for code in (1..=56).chain([97, 98]) {
            let n = Nation::from_code(code).expect("in table");
            assert!(!n.name_zh().is_empty() && !n.name_en().is_empty());
        }
        for code in [0, 57, 96, 99] {
            assert!(Nation::from_code(code).is_none());
        }
        assert_eq!(Nation::from_code(10).map(Nation::name_en), Some("Chosen"));
    }

    #[test]
    fn permit_j_round_trip() {
        let mut spec = resident_spec();
        spec.kind = CardKind::PermitJ;
        spec.nation = None;
        // 810000 (Hong Kong) 1990-02-02 sequence 002 (even: female).
        spec.id_number = "810000199002020024";
        spec.birth = date!(1990 - 02 - 02);
        spec.sex = 2;
        spec.pass_number = Some("H12345678");
        spec.issue_count = Some(1);
        let card = spec.build().expect("valid");
        let IdCard::PermitJ(permit) = &card else {
            panic!("expected a J card");
        };
        assert_eq!(permit.pass_number().expose(), "H12345678");
        assert_eq!(permit.issue_count(), 1);
        assert_eq!(card.nation(), None);
        assert_eq!(&encode_text(&card)[248..250], &[b'J', 0]);
        assert_eq!(
            IdCard::from_read_reply(&card.encode_read_reply()),
            Ok(card.clone())
        );
        let json = card.to_json(false);
        assert_eq!(json["type"], "permit_j");
        assert_eq!(json["pass_number"], "H123*5678");
        assert_eq!(json["issue_count"], 1);
    }

    #[test]
    fn foreigner_i_and_y_round_trip() {
        for (kind, flag) in [(CardKind::ForeignerI, b'I'), (CardKind::ForeignerY, b'Y')] {
            let card = foreigner_spec(kind).build().expect("valid");
            assert_eq!(card.kind(), kind);
            assert_eq!(card.name(), "安娜");
            assert_eq!(card.id_number().expose(), "USA320090070411");
            assert_eq!(card.address(), None);
            assert_eq!(card.birth(), date!(1990 - 07 - 04));
            assert_eq!(card.issuer(), "3207");
            let text = encode_text(&card);
            assert_eq!(&text[248..250], &[flag, 0]);
            assert_eq!(&text[0..4], &[b'E', 0, b'X', 0]);
            assert_eq!(IdCard::from_text(&text, &PHOTO), Ok(card.clone()));
        }
        let mut spec = foreigner_spec(CardKind::ForeignerI);
        spec.name = None;
        let card = spec.build().expect("valid without a Chinese name");
        assert_eq!(card.name(), "EXAMPLE, ANNA TEST");
        let mut spec = foreigner_spec(CardKind::ForeignerI);
        spec.nationality = Some("usa");
        assert_eq!(spec.build(), Err(CardError::BadCharacters("nationality")));
    }

    #[test]
    fn unknown_type_flag_is_refused() {
        let card = resident_spec().build().expect("valid");
        let mut text = encode_text(&card);
        text[248] = b'Z';
        assert_eq!(
            IdCard::from_text(&text, &PHOTO),
            Err(CardError::UnknownCardType(b'Z'))
        );
        // A NUL-filled flag reads as blank, i.e. a resident card.
        text[248] = 0;
        text[249] = 0;
        assert_eq!(
            IdCard::from_text(&text, &PHOTO).map(|c| c.kind()),
            Ok(CardKind::Resident)
        );
    }

    #[test]
    fn fingerprint_read_replies_parse_and_drop_the_fingerprint() {
        let card = resident_spec().build().expect("valid");
        let plain = card.encode_read_reply();
        let fingerprint = [0x5A; 1024];
        let mut with_fp = plain[..4].to_vec();
        with_fp.extend_from_slice(&(fingerprint.len() as u16).to_be_bytes());
        with_fp.extend_from_slice(&plain[4..]);
        with_fp.extend_from_slice(&fingerprint);
        assert_eq!(IdCard::from_read_reply(&with_fp), Ok(card.clone()));
        // An empty fingerprint block, as readers send for cards without one.
        let mut empty_fp = plain[..4].to_vec();
        empty_fp.extend_from_slice(&[0, 0]);
        empty_fp.extend_from_slice(&plain[4..]);
        assert_eq!(IdCard::from_read_reply(&empty_fp), Ok(card));
        // One byte short of either shape.
        assert!(matches!(
            IdCard::from_read_reply(&with_fp[..with_fp.len() - 1]),
            Err(CardError::ReplyLengthMismatch { .. })
        ));
    }

    #[test]
    fn malformed_replies_are_refused() {
        assert_eq!(
            IdCard::from_read_reply(&[1, 0]),
            Err(CardError::ReplyTooShort(2))
        );
        let card = resident_spec().build().expect("valid");
        let reply = card.encode_read_reply();
        assert!(matches!(
            IdCard::from_read_reply(&reply[..reply.len() - 1]),
            Err(CardError::ReplyLengthMismatch { .. })
        ));
        let mut bad = reply.to_vec();
        bad[4..6].copy_from_slice(&[0x00, 0xD8]); // lone high surrogate in the name
        assert_eq!(
            IdCard::from_read_reply(&bad),
            Err(CardError::BadText("name"))
        );
    }

    #[test]
    fn json_masks_unless_revealed_and_debug_leaks_nothing() {
        let card = resident_spec().build().expect("valid");
        let masked = card.to_json(false);
        assert_eq!(masked["id_number"], "3207**********0133");
        assert_eq!(masked["type"], "resident");
        assert_eq!(masked["sex"], "male");
        assert_eq!(masked["nation"]["code"], "01");
        assert_eq!(masked["birth"], "1985-03-12");
        assert_eq!(masked["valid_to"], "2035-06-01");
        assert_eq!(masked["name"], "张三");
        assert_eq!(card.to_json(true)["id_number"], "320706198503120133");
        let serialised = serde_json::to_string(&card).expect("serialises");
        assert!(!serialised.contains("320706198503120133"));

        let debug = format!("{card:?}");
        for secret in ["张三", "320706198503120133", "幸福路", "1985", "海州"] {
            assert!(!debug.contains(secret), "{debug} leaks {secret}");
        }
        assert!(debug.contains("3207**********0133"));
    }
}
