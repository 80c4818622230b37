//! What a scanned payload is, by our platform's formats.
//!
//! The classifier only looks at the text's shape. It never follows a URL, never looks anything
//! up and never treats a payload as an instruction: deciding what a 苏服码 token or an
//! appointment code is worth is the platform's job, over its own authenticated API.
//!
//! # The recognised formats
//!
//! These are the formats the 连易办 platform issues; anything else is [`ScanKind::Unknown`].
//! Prefixes are case-sensitive (our codes are printed in upper case, and a scanner does not
//! change case), except a URL's scheme and host, which are case-insensitive by definition.
//!
//! | kind | format | example |
//! | --- | --- | --- |
//! | [`ScanKind::SuFuMa`] (苏服码) | `SFM1:` then a token of 16–1024 base64url characters (`A–Z a–z 0–9 - _`) | `SFM1:q3Zx…` |
//! | [`ScanKind::ELicence`] (电子证照) | `ELC1:`, a licence type of 2–16 upper-case letters or digits, `:`, then a token as above | `ELC1:BIZLIC:Zm9v…` |
//! | [`ScanKind::Appointment`] (预约码) | `YY` then 8–16 digits | `YY202406010042` |
//! | [`ScanKind::QueueTicket`] (排队号) | `PD-`, a hall code of 2–8 upper-case letters or digits, `-`, a window-group letter and a 3–4 digit number | `PD-HZ01-A023` |
//! | [`ScanKind::Url`] | `http://` or `https://`, then a host (DNS name of letters, digits and hyphens, or an IPv4/bracketed IPv6 literal), an optional port, and an optional path, query and fragment without spaces; user information (`user@host`) is refused, as it is a classic way to disguise the real host | `https://zwfw.lyg.gov.cn/x` |
//!
//! The `1` in `SFM1`/`ELC1` is a format version: a future format gets a new prefix, and old
//! kiosks classify it as unknown instead of misreading it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The kind of a scanned payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScanKind {
    /// 苏服码: the citizen's Jiangsu government-service identity code.
    SuFuMa,
    /// 电子证照: an electronic licence or certificate.
    ELicence,
    /// An appointment code, for checking in a booked visit.
    Appointment,
    /// A queue ticket printed by a hall's queueing system.
    QueueTicket,
    /// A web address. Shown to the citizen at most; never opened by the kiosk.
    Url,
    /// None of the above.
    Unknown,
}

impl ScanKind {
    /// A short English name, for logs and diagnostics.
    pub const fn name(self) -> &'static str {
        match self {
            ScanKind::SuFuMa => "sufuma",
            ScanKind::ELicence => "e-licence",
            ScanKind::Appointment => "appointment",
            ScanKind::QueueTicket => "queue-ticket",
            ScanKind::Url => "url",
            ScanKind::Unknown => "unknown",
        }
    }
}

impl fmt::Display for ScanKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The prefix of a 苏服码 payload.
pub const SUFUMA_PREFIX: &str = "SFM1:";
/// The prefix of an e-licence payload.
pub const ELICENCE_PREFIX: &str = "ELC1:";
/// The prefix of an appointment code.
pub const APPOINTMENT_PREFIX: &str = "YY";
/// The prefix of a queue ticket.
pub const TICKET_PREFIX: &str = "PD-";

const TOKEN_LEN: std::ops::RangeInclusive<usize> = 16..=1024;

/// Classifies a payload (already decoded and validated by the codec).
pub fn classify(text: &str) -> ScanKind {
    if text.strip_prefix(SUFUMA_PREFIX).is_some_and(is_token) {
        ScanKind::SuFuMa
    } else if text
        .strip_prefix(ELICENCE_PREFIX)
        .is_some_and(is_elicence_body)
    {
        ScanKind::ELicence
    } else if text
        .strip_prefix(APPOINTMENT_PREFIX)
        .is_some_and(|digits| (8..=16).contains(&digits.len()) && all_digits(digits))
    {
        ScanKind::Appointment
    } else if text.strip_prefix(TICKET_PREFIX).is_some_and(is_ticket_body) {
        ScanKind::QueueTicket
    } else if url_host(text).is_some() {
        ScanKind::Url
    } else {
        ScanKind::Unknown
    }
}

/// The host of an `http`/`https` URL in the accepted shape (see the module docs), as written; `None` for anything else. For showing the citizen where a code points, never
/// for opening it.
pub fn url_host(text: &str) -> Option<&str> {
    let rest = strip_prefix_ignore_case(text, "https://")
        .or_else(|| strip_prefix_ignore_case(text, "http://"))?;
    if text.chars().any(char::is_whitespace) {
        return None;
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    if authority.contains('@') {
        return None;
    }
    let (host, port) = split_port(authority)?;
    if let Some(port) = port {
        let valid = (1..=5).contains(&port.len())
            && all_digits(port)
            && port.parse::<u32>().is_ok_and(|n| n <= 65_535);
        if !valid {
            return None;
        }
    }
    (is_dns_name(host) || is_ipv6_literal(host)).then_some(host)
}

/// A scanned payload with its kind.
///
/// Its `Debug` shows the kind and length only: a 苏服码 token identifies a person, so the
/// text must not end up in logs by accident. Use [`Scan::text`] where the text is needed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scan {
    text: String,
    kind: ScanKind,
}

impl Scan {
    /// Classifies `text`, which must come from the codec (validated, bounded).
    pub fn new(text: String) -> Scan {
        let kind = classify(&text);
        Scan { text, kind }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn kind(&self) -> ScanKind {
        self.kind
    }

    /// For [`ScanKind::Url`], the host the URL names.
    pub fn url_host(&self) -> Option<&str> {
        match self.kind {
            ScanKind::Url => url_host(&self.text),
            _ => None,
        }
    }

    pub fn into_text(self) -> String {
        self.text
    }
}

impl fmt::Debug for Scan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scan")
            .field("kind", &self.kind)
            .field("len", &self.text.len())
            .finish_non_exhaustive()
    }
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_token(s: &str) -> bool {
    TOKEN_LEN.contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn is_upper_code(s: &str, len: std::ops::RangeInclusive<usize>) -> bool {
    len.contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn is_elicence_body(body: &str) -> bool {
    body.split_once(':')
        .is_some_and(|(kind, token)| is_upper_code(kind, 2..=16) && is_token(token))
}

fn is_ticket_body(body: &str) -> bool {
    let Some((hall, number)) = body.split_once('-') else {
        return false;
    };
    let mut number = number.chars();
    is_upper_code(hall, 2..=8)
        && number.next().is_some_and(|c| c.is_ascii_uppercase())
        && (3..=4).contains(&number.as_str().len())
        && all_digits(number.as_str())
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// Splits `host[:port]` or `[v6][:port]`.
fn split_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if authority.starts_with('[') {
        let close = authority.find(']')?;
        let (host, rest) = authority.split_at(close + 1);
        return match rest {
            "" => Some((host, None)),
            _ => Some((host, Some(rest.strip_prefix(':')?))),
        };
    }
    match authority.split_once(':') {
        Some((host, port)) => Some((host, Some(port))),
        None => Some((authority, None)),
    }
}

/// A DNS name (which includes dotted IPv4): labels of 1–63 letters, digits and hyphens, not
/// starting or ending with a hyphen; 253 characters at most. An internationalised name must be
/// written in its ASCII (punycode) form.
fn is_dns_name(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn is_ipv6_literal(host: &str) -> bool {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .is_some_and(|inner| inner.parse::<std::net::Ipv6Addr>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "q3ZxV9_a-7LmN0pQrStUvWxY";

    #[test]
    fn each_format_is_recognised() {
        let cases = [
            (format!("SFM1:{TOKEN}"), ScanKind::SuFuMa),
            (format!("ELC1:BIZLIC:{TOKEN}"), ScanKind::ELicence),
            (format!("ELC1:ID2:{TOKEN}"), ScanKind::ELicence),
            ("YY20240601".to_owned(), ScanKind::Appointment),
            ("YY2024060100420042".to_owned(), ScanKind::Appointment),
            ("PD-HZ01-A023".to_owned(), ScanKind::QueueTicket),
            ("PD-LYG-B1234".to_owned(), ScanKind::QueueTicket),
            ("https://zwfw.lyg.gov.cn/x?a=1#f".to_owned(), ScanKind::Url),
            ("HTTP://Example.COM".to_owned(), ScanKind::Url),
            ("http://192.168.1.10:8080/".to_owned(), ScanKind::Url),
            ("https://[2001:db8::1]:443/p".to_owned(), ScanKind::Url),
            ("6901234567892".to_owned(), ScanKind::Unknown),
            ("连云港".to_owned(), ScanKind::Unknown),
        ];
        for (text, kind) in cases {
            assert_eq!(classify(&text), kind, "{text}");
            assert_eq!(Scan::new(text).kind(), kind);
        }
    }

    #[test]
    fn near_misses_are_unknown() {
        let long_token = "a".repeat(1025);
        for text in [
            "SFM1:short",
            "sfm1:q3ZxV9_a-7LmN0pQrStUvWxY",
            &format!("SFM1:{TOKEN}="),
            &format!("SFM1:{long_token}"),
            &format!("SFM2:{TOKEN}"),
            &format!("ELC1:{TOKEN}"),
            &format!("ELC1:bizlic:{TOKEN}"),
            &format!("ELC1:B:{TOKEN}"),
            "YY1234567",
            "YY12345678901234567",
            "YY2024O601",
            "yy20240601",
            "PD-HZ01-023",
            "PD-HZ01-A02",
            "PD-HZ01-A02345",
            "PD-H-A023",
            "PD-hz01-A023",
            "PD-HZ01-A023-",
        ] {
            assert_eq!(classify(text), ScanKind::Unknown, "{text}");
        }
    }

    #[test]
    fn only_plain_http_urls_with_a_host_count() {
        for text in [
            "javascript:alert(1)",
            "file:///etc/passwd",
            "ftp://example.com/",
            "https://",
            "https:///path",
            "https://user:pass@evil.example/",
            "https://zwfw.lyg.gov.cn@evil.example/",
            "https://exa mple.com/",
            "https://example.com/a b",
            "https://-bad-.example/",
            "https://example.com:99999/",
            "https://example.com:/",
            "https://example.com:8a/",
            "https://[not-v6]/",
            "https://连云港.中国/",
            "https://a..b/",
            "www.example.com",
        ] {
            assert_eq!(classify(text), ScanKind::Unknown, "{text}");
        }
        assert_eq!(
            url_host("https://Zwfw.LYG.gov.cn:8443/a"),
            Some("Zwfw.LYG.gov.cn")
        );
        assert_eq!(url_host("https://[::1]/"), Some("[::1]"));
        assert_eq!(
            Scan::new("http://example.com./x".into()).url_host(),
            Some("example.com.")
        );
        assert_eq!(Scan::new("YY20240601".into()).url_host(), None);
    }

    #[test]
    fn debug_hides_the_payload() {
        let scan = Scan::new(format!("SFM1:{TOKEN}"));
        let shown = format!("{scan:?}");
        assert!(!shown.contains(TOKEN), "{shown}");
        assert!(shown.contains("SuFuMa"));
    }
}
