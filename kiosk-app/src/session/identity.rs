//! The identified citizen, held for one session only.
//!
//! Everything here is personal data: it lives in zeroizing buffers, prints as `<redacted>`, and
//! is dropped (and so wiped) when the session returns home.

use std::fmt;

use zeroize::Zeroizing;

/// Kind of identity document the citizen presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// 居民身份证.
    Resident,
    /// 港澳台居民居住证 (type flag `J`).
    PermitJ,
    /// 外国人永久居留身份证 (type flag `I`).
    ForeignerI,
    /// 2023 外国人永久居留身份证 (type flag `Y`).
    ForeignerY,
}

impl DocumentKind {
    /// The wire name used in [`kiosk_protocol::ApplicantInfo::document_kind`].
    pub fn wire_name(self) -> &'static str {
        match self {
            DocumentKind::Resident => "resident",
            DocumentKind::PermitJ => "permit_j",
            DocumentKind::ForeignerI => "foreigner_i",
            DocumentKind::ForeignerY => "foreigner_y",
        }
    }
}

/// A citizen identified by their document, for the length of one session.
#[derive(Clone, PartialEq, Eq)]
pub struct Identity {
    name: Zeroizing<String>,
    id_number: Zeroizing<String>,
    kind: DocumentKind,
    details: CardDetails,
}

/// The rest of what the card says, for a form's prefill (姓名 and 号码 are in [`Identity`]),
/// and the day it was read. Personal data like the rest: wiped on drop, never printed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CardDetails {
    /// `male` or `female` (a choice's values); `None` when the card states neither.
    pub sex: Option<&'static str>,
    /// 出生日期.
    pub birth: Option<time::Date>,
    /// 民族 as printed on the card (汉, 回…); foreigners' cards have none.
    pub nation: Option<Zeroizing<String>>,
    /// 住址; foreigners' cards have none.
    pub address: Option<Zeroizing<String>>,
    /// The day (China Standard Time) the card was read: a form's "today" for its date rules.
    /// The platform accepts a range around it, so a session across midnight is not refused.
    pub read_on: Option<time::Date>,
}

impl Identity {
    /// Builds an identity; the strings are wiped when it is dropped.
    pub fn new(name: String, id_number: String, kind: DocumentKind) -> Self {
        Self {
            name: Zeroizing::new(name),
            id_number: Zeroizing::new(id_number),
            kind,
            details: CardDetails::default(),
        }
    }

    /// The same identity with the rest of what the card says.
    pub fn with_details(mut self, details: CardDetails) -> Self {
        self.details = details;
        self
    }

    /// What the card says besides name and number.
    pub fn details(&self) -> &CardDetails {
        &self.details
    }

    /// Name on the document.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The full document number: only for the submission to the platform.
    pub fn id_number(&self) -> &str {
        &self.id_number
    }

    /// Document kind.
    pub fn kind(&self) -> DocumentKind {
        self.kind
    }

    /// The number as shown on screens and receipts: first 4 and last 4 characters.
    pub fn masked_id_number(&self) -> String {
        mask_id_number(&self.id_number)
    }

    /// The name as printed on receipts: the family name kept, the rest starred (张** / J*** D**).
    pub fn masked_name(&self) -> String {
        let mut chars = self.name.chars();
        match chars.next() {
            Some(first) => std::iter::once(first)
                .chain(chars.map(|c| if c == ' ' { ' ' } else { '*' }))
                .collect(),
            None => String::new(),
        }
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Masks a document number to its first 4 and last 4 characters (`3207**********1234`).
pub fn mask_id_number(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let keep = 4;
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            if i < keep || i >= chars.len() - keep {
                c
            } else {
                '*'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_only_the_ends() {
        assert_eq!(mask_id_number("320706199001011234"), "3207**********1234");
        assert_eq!(mask_id_number("12345678"), "********");
        let who = Identity::new(
            "张三丰".into(),
            "320706199001011234".into(),
            DocumentKind::Resident,
        );
        assert_eq!(who.masked_name(), "张**");
        assert_eq!(who.masked_id_number(), "3207**********1234");
    }

    #[test]
    fn debug_never_shows_personal_data() {
        let who = Identity::new(
            "张三丰".into(),
            "320706199001011234".into(),
            DocumentKind::Resident,
        );
        let shown = format!("{who:?}");
        assert!(
            !shown.contains("张三丰") && !shown.contains("320706199001011234"),
            "{shown}"
        );
    }
}
