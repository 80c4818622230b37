//! The sans-IO line codec of serial (USB CDC) scanners.
//!
//! A scanner in serial mode sends each decoded code as one line: the payload bytes, then a
//! suffix (CR by factory default on most Chinese modules, LF or CRLF on others). The decoder
//! turns a byte stream into payload text, and treats every payload as hostile:
//!
//! - **Bounded.** A line longer than [`LineConfig::max_len`] bytes is dropped with
//!   [`LineError::TooLong`] as soon as it passes the limit (nothing beyond the limit is
//!   buffered), and the decoder resynchronises at the next suffix: the line after it is decoded
//!   normally.
//! - **Text only.** Payloads are UTF-8 or, failing that, GB18030 (scanners sold in China send
//!   either, depending on how the module is set up); bytes that are neither are refused with
//!   [`LineError::NotText`].
//! - **No control characters.** Any control character (C0, DEL, C1), and the Unicode controls
//!   that reorder or split displayed text (bidi overrides and isolates, line and paragraph
//!   separators, a byte-order mark), make the line refused with
//!   [`LineError::ForbiddenCharacter`]. The one exception is a CR or LF at either end of a line,
//!   which is what a scanner sends when its suffix is set differently from ours (CRLF against
//!   CR leaves an LF at the start of every next line); those are stripped, and lines that are
//!   then empty are skipped silently.
//!
//! Errors never carry payload bytes, only sizes and the offending code point, so they are safe
//! to log.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

/// The default cap on a payload, in bytes. A version-40 QR code holds at most 2953 bytes in
/// byte mode, so 4096 fits every real code with room, while keeping a flood bounded.
pub const MAX_PAYLOAD_LEN: usize = 4096;

/// What ends a line on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Suffix {
    /// Carriage return, `0D`: the common factory setting.
    #[default]
    Cr,
    /// Line feed, `0A`.
    Lf,
    /// Carriage return then line feed, `0D 0A`.
    CrLf,
}

impl Suffix {
    /// Every suffix, for parsers and tests.
    pub const ALL: [Suffix; 3] = [Suffix::Cr, Suffix::Lf, Suffix::CrLf];

    /// The bytes that end a line.
    pub const fn bytes(self) -> &'static [u8] {
        match self {
            Suffix::Cr => b"\r",
            Suffix::Lf => b"\n",
            Suffix::CrLf => b"\r\n",
        }
    }

    /// The word used in configuration and on the simulator's command line.
    pub const fn name(self) -> &'static str {
        match self {
            Suffix::Cr => "cr",
            Suffix::Lf => "lf",
            Suffix::CrLf => "crlf",
        }
    }
}

impl fmt::Display for Suffix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A word that names no [`Suffix`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown line suffix {0:?} (expected cr, lf or crlf)")]
pub struct UnknownSuffix(pub String);

impl FromStr for Suffix {
    type Err = UnknownSuffix;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Suffix::ALL
            .into_iter()
            .find(|suffix| suffix.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownSuffix(s.to_owned()))
    }
}

/// How lines are framed and bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LineConfig {
    /// What ends a line; must match the scanner's setting.
    pub suffix: Suffix,
    /// The longest payload accepted, in bytes (suffix excluded), as received and as UTF-8 text.
    pub max_len: usize,
}

impl Default for LineConfig {
    fn default() -> Self {
        LineConfig {
            suffix: Suffix::Cr,
            max_len: MAX_PAYLOAD_LEN,
        }
    }
}

impl LineConfig {
    /// The default framing with another suffix.
    pub fn with_suffix(suffix: Suffix) -> LineConfig {
        LineConfig {
            suffix,
            ..LineConfig::default()
        }
    }
}

/// Why a line was refused. Holds no payload data, so it can be logged and shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "kebab-case")]
pub enum LineError {
    /// The line passed the length cap; it was dropped up to the next suffix.
    #[error("the scanned code is longer than {limit} bytes and was dropped")]
    TooLong {
        /// The cap in force.
        limit: usize,
    },
    /// The line holds a control character (or a Unicode formatting control).
    #[error("the scanned code contains the control character U+{code:04X}")]
    ForbiddenCharacter {
        /// The offending code point.
        code: u32,
    },
    /// The bytes are neither UTF-8 nor GB18030.
    #[error("the scanned code is not text (neither UTF-8 nor GB18030)")]
    NotText,
    /// The line stopped without its suffix: the scanner went quiet mid-line (noise on the
    /// line, a scanner whose suffix is switched off, a cable pulled mid-scan).
    #[error("the scanned code was cut off after {len} bytes")]
    Interrupted {
        /// How many bytes had arrived.
        len: usize,
    },
    /// Keyboard-wedge mode only: a key with no meaning in a scan (a function key, or any key
    /// with Ctrl or Alt held, as Windows Alt-code input of Chinese would use).
    #[error("the scanner typed a key that cannot be part of a code (key code {code})")]
    UnmappedKey {
        /// The Linux key code.
        code: u16,
    },
}

/// Whether `c` may appear in an accepted payload.
///
/// Control characters could drive a terminal or a log viewer; the Unicode formatting controls
/// listed here can make text display differently from what it is (a URL whose host reads
/// backwards, a line break inside one field).
pub fn is_forbidden_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{FEFF}'
        )
}

/// Decodes and validates one payload, its line suffix already removed.
///
/// Returns `Ok(None)` for a line that is empty once stray CR/LF at its ends are stripped (see
/// the module docs). UTF-8 is tried first, so ASCII, which is valid in both encodings, is
/// always read as itself; GB18030 only when the bytes are not UTF-8.
pub fn decode_payload(bytes: &[u8], max_len: usize) -> Result<Option<String>, LineError> {
    let start = bytes
        .iter()
        .position(|b| !matches!(b, b'\r' | b'\n'))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !matches!(b, b'\r' | b'\n'))
        .map_or(start, |i| i + 1);
    let bytes = &bytes[start..end];
    if bytes.is_empty() {
        return Ok(None);
    }
    if bytes.len() > max_len {
        return Err(LineError::TooLong { limit: max_len });
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => encoding_rs::GB18030
            .decode_without_bom_handling_and_without_replacement(bytes)
            .ok_or(LineError::NotText)?
            .into_owned(),
    };
    let refusal = match text.chars().find(|&c| is_forbidden_char(c)) {
        Some(c) => Some(LineError::ForbiddenCharacter { code: u32::from(c) }),
        // A GB18030 character of two bytes is three in UTF-8: the cap holds for the text
        // handed on as well as for the bytes received.
        None => (text.len() > max_len).then_some(LineError::TooLong { limit: max_len }),
    };
    match refusal {
        Some(error) => {
            let mut text = text;
            text.zeroize();
            Err(error)
        }
        None => Ok(Some(text)),
    }
}

/// How long a line may stay quiet in its middle, and since when the unfinished line has been
/// quiet: the timing both transports (serial and keyboard wedge) share.
///
/// The decoders know nothing of time. A transport reads in bursts with a timeout; before each
/// read it asks [`IdleGap::expired`] whether the partial line has been quiet for the whole gap
/// (then it drops the line through its decoder's `interrupt`, so noise or a broken-off line is
/// never glued onto the next code), and waits no longer than [`IdleGap::wait`] allows; after
/// bytes arrived it tells [`IdleGap::heard`] whether a line is still unfinished.
#[derive(Debug, Clone, Copy)]
pub struct IdleGap {
    gap: Duration,
    /// When the last byte of a still-unfinished line arrived.
    partial_since: Option<Instant>,
}

impl IdleGap {
    /// A gap of `gap`, with no line under way.
    pub fn new(gap: Duration) -> IdleGap {
        IdleGap {
            gap,
            partial_since: None,
        }
    }

    /// Whether the unfinished line has been quiet for the whole gap at `now`; once it has,
    /// the line counts as dropped and the gap starts afresh.
    pub fn expired(&mut self, now: Instant) -> bool {
        let expired = self
            .partial_since
            .is_some_and(|since| (since + self.gap) <= now);
        if expired {
            self.partial_since = None;
        }
        expired
    }

    /// How long the next read may wait at `now`: `timeout`, or less when a partial line's gap
    /// runs out sooner.
    pub fn wait(&self, now: Instant, timeout: Duration) -> Duration {
        match self.partial_since {
            Some(since) => timeout.min((since + self.gap).saturating_duration_since(now)),
            None => timeout,
        }
    }

    /// Bytes arrived at `now`; `partial` says whether a line is left unfinished.
    pub fn heard(&mut self, now: Instant, partial: bool) {
        self.partial_since = partial.then_some(now);
    }

    /// Forgets the line under way (the link was closed or reopened).
    pub fn clear(&mut self) {
        self.partial_since = None;
    }
}

/// The line decoder: push bytes as they arrive, get validated payloads out.
///
/// It knows nothing of time; a transport that sees the line go quiet mid-line calls
/// [`LineDecoder::interrupt`] so that noise without a suffix cannot glue itself to the front
/// of the next scan.
pub struct LineDecoder {
    config: LineConfig,
    buf: Vec<u8>,
    /// Dropping an over-long line until its suffix.
    discarding: bool,
    /// The last byte seen while discarding, to find a CRLF split across pushes.
    last_discarded: u8,
}

impl LineDecoder {
    pub fn new(config: LineConfig) -> LineDecoder {
        LineDecoder {
            config,
            buf: Vec::new(),
            discarding: false,
            last_discarded: 0,
        }
    }

    pub fn config(&self) -> LineConfig {
        self.config
    }

    /// Feeds bytes from the wire; returns each line they complete, in order: the payload text,
    /// or why the line was refused. Empty lines produce nothing.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Result<String, LineError>> {
        let suffix = self.config.suffix.bytes();
        let mut lines = Vec::new();
        for &byte in bytes {
            if self.discarding {
                let ends = match self.config.suffix {
                    Suffix::CrLf => self.last_discarded == b'\r' && byte == b'\n',
                    _ => byte == suffix[0],
                };
                self.last_discarded = byte;
                if ends {
                    self.discarding = false;
                    self.last_discarded = 0;
                }
                continue;
            }
            self.buf.push(byte);
            if self.buf.ends_with(suffix) {
                let payload_len = self.buf.len() - suffix.len();
                match decode_payload(&self.buf[..payload_len], self.config.max_len) {
                    Ok(Some(text)) => lines.push(Ok(text)),
                    Ok(None) => {}
                    Err(e) => lines.push(Err(e)),
                }
                self.buf.zeroize();
                continue;
            }
            // A CR at the very end may be the first half of a CRLF: it is not payload yet.
            let pending_suffix = usize::from(self.config.suffix == Suffix::CrLf && byte == b'\r');
            if self.buf.len() - pending_suffix > self.config.max_len {
                self.buf.zeroize();
                self.discarding = true;
                self.last_discarded = byte;
                lines.push(Err(LineError::TooLong {
                    limit: self.config.max_len,
                }));
            }
        }
        lines
    }

    /// Whether part of a line is buffered (or an over-long line is being dropped).
    pub fn has_partial(&self) -> bool {
        !self.buf.is_empty() || self.discarding
    }

    /// Drops the partial line, because the transport saw the line go quiet in the middle of it.
    /// Returns the error to report, or `None` if nothing worth reporting was pending (nothing
    /// at all, only stray CR/LF, or the rest of an over-long line already reported).
    pub fn interrupt(&mut self) -> Option<LineError> {
        let len = self.buf.len();
        let meaningful = self.buf.iter().any(|b| !matches!(b, b'\r' | b'\n'));
        self.clear();
        meaningful.then_some(LineError::Interrupted { len })
    }

    /// Forgets everything buffered, e.g. after the link was reopened.
    pub fn clear(&mut self) {
        self.buf.zeroize();
        self.discarding = false;
        self.last_discarded = 0;
    }
}

impl fmt::Debug for LineDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The buffered bytes are somebody's code: their count only.
        f.debug_struct("LineDecoder")
            .field("config", &self.config)
            .field("buffered", &self.buf.len())
            .field("discarding", &self.discarding)
            .finish()
    }
}

impl Drop for LineDecoder {
    fn drop(&mut self) {
        self.buf.zeroize();
    }
}

/// Frames one payload for the wire, as a scanner sends it: the bytes, then the suffix. Used by
/// the simulator, which plays the scanner with the same codec.
pub fn encode_line(payload: &[u8], suffix: Suffix) -> Vec<u8> {
    let mut line = Vec::with_capacity(payload.len() + 2);
    line.extend_from_slice(payload);
    line.extend_from_slice(suffix.bytes());
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_gap_expires_only_a_quiet_partial_line() {
        let start = Instant::now();
        let gap = Duration::from_millis(250);
        let mut idle = IdleGap::new(gap);
        assert!(!idle.expired(start + gap * 4), "no line under way");
        assert_eq!(
            idle.wait(start, Duration::from_secs(1)),
            Duration::from_secs(1)
        );
        idle.heard(start, true);
        assert_eq!(
            idle.wait(start + gap / 5, Duration::from_secs(1)),
            gap * 4 / 5
        );
        assert!(!idle.expired(start + gap / 2));
        assert!(idle.expired(start + gap));
        assert!(!idle.expired(start + gap * 2), "dropped once");
        idle.heard(start, false);
        assert!(
            !idle.expired(start + gap * 2),
            "a finished line never expires"
        );
    }
    use proptest::prelude::*;

    fn decoder(suffix: Suffix, max_len: usize) -> LineDecoder {
        LineDecoder::new(LineConfig { suffix, max_len })
    }

    fn ok(s: &str) -> Result<String, LineError> {
        Ok(s.to_owned())
    }

    #[test]
    fn each_suffix_frames_lines() {
        for suffix in Suffix::ALL {
            let mut d = decoder(suffix, 64);
            let mut wire = encode_line(b"YY2024060100123", suffix);
            wire.extend(encode_line("SFM1:abc".as_bytes(), suffix));
            assert_eq!(
                d.push(&wire),
                vec![ok("YY2024060100123"), ok("SFM1:abc")],
                "{suffix}"
            );
            assert!(!d.has_partial());
        }
    }

    #[test]
    fn split_and_merged_lines() {
        let mut d = decoder(Suffix::CrLf, 64);
        assert!(d.push(b"PD-HZ").is_empty());
        assert!(d.push(b"01-A023\r").is_empty(), "CR alone is half a CRLF");
        assert!(d.has_partial());
        assert_eq!(d.push(b"\nYY1234"), vec![ok("PD-HZ01-A023")]);
        assert_eq!(d.push(b"5678\r\n"), vec![ok("YY12345678")]);
    }

    #[test]
    fn mismatched_suffix_leftovers_are_stripped() {
        // The scanner sends CRLF, we expect CR: every next line starts with LF.
        let mut d = decoder(Suffix::Cr, 64);
        assert_eq!(d.push(b"ABC\r\nDEF\r\n"), vec![ok("ABC"), ok("DEF")]);
        assert!(d.has_partial(), "the last LF waits for a line");
        assert_eq!(d.interrupt(), None, "a lone LF is nothing worth reporting");
        // The other way round: we expect LF, the scanner sends CRLF.
        let mut d = decoder(Suffix::Lf, 64);
        assert_eq!(d.push(b"ABC\r\n\n\r\n"), vec![ok("ABC")]);
    }

    #[test]
    fn over_long_line_is_dropped_and_the_next_one_decoded() {
        for suffix in Suffix::ALL {
            let mut d = decoder(suffix, 8);
            let mut wire = encode_line(b"123456789012", suffix);
            wire.extend(encode_line(b"12345678", suffix));
            assert_eq!(
                d.push(&wire),
                vec![Err(LineError::TooLong { limit: 8 }), ok("12345678")],
                "{suffix}"
            );
        }
        // Exactly at the cap with CRLF split across pushes: the CR is not counted.
        let mut d = decoder(Suffix::CrLf, 4);
        assert!(d.push(b"ABCD\r").is_empty());
        assert_eq!(d.push(b"\n"), vec![ok("ABCD")]);
    }

    #[test]
    fn over_long_resync_finds_crlf_across_pushes() {
        let mut d = decoder(Suffix::CrLf, 4);
        assert_eq!(
            d.push(b"ABCDEFG\r"),
            vec![Err(LineError::TooLong { limit: 4 })]
        );
        assert!(d.push(b"\rX\r").is_empty(), "lone CRs do not end the line");
        assert!(d.push(b"\n").is_empty(), "this CRLF ends the dropped line");
        assert_eq!(d.push(b"OK\r\n"), vec![ok("OK")]);
    }

    #[test]
    fn flood_without_suffix_stays_bounded() {
        let mut d = decoder(Suffix::Cr, 16);
        let errors = d.push(&[b'A'; 100_000]);
        assert_eq!(errors, vec![Err(LineError::TooLong { limit: 16 })]);
        assert!(d.buf.capacity() <= 64, "nothing beyond the cap was kept");
        assert!(d.has_partial());
        assert_eq!(d.interrupt(), None, "already reported");
        assert_eq!(d.push(b"X\r"), vec![ok("X")]);
    }

    #[test]
    fn control_characters_are_refused() {
        let mut d = decoder(Suffix::Cr, 64);
        assert_eq!(
            d.push(b"AB\x1bC\r"),
            vec![Err(LineError::ForbiddenCharacter { code: 0x1b })]
        );
        assert_eq!(
            d.push(b"A\tB\r"),
            vec![Err(LineError::ForbiddenCharacter { code: 9 })]
        );
        assert_eq!(
            d.push(b"\x00\r"),
            vec![Err(LineError::ForbiddenCharacter { code: 0 })]
        );
        // A C1 control, valid UTF-8.
        assert_eq!(
            d.push("A\u{9b}31m\r".as_bytes()),
            vec![Err(LineError::ForbiddenCharacter { code: 0x9b })]
        );
        // A right-to-left override, which would make a host name display backwards.
        assert_eq!(
            d.push("https://\u{202e}moc.evil\r".as_bytes()),
            vec![Err(LineError::ForbiddenCharacter { code: 0x202e })]
        );
        // A CR inside a CRLF-framed line is a control character, not a suffix.
        let mut d = decoder(Suffix::CrLf, 64);
        assert_eq!(
            d.push(b"A\rB\r\n"),
            vec![Err(LineError::ForbiddenCharacter { code: 13 })]
        );
    }

    #[test]
    fn utf8_and_gb18030_are_both_read() {
        let mut d = decoder(Suffix::Cr, 64);
        let text = "连云港市政务服务中心";
        assert_eq!(
            d.push(&encode_line(text.as_bytes(), Suffix::Cr)),
            vec![ok(text)]
        );
        let (gb, _, unmappable) = encoding_rs::GB18030.encode(text);
        assert!(!unmappable);
        assert!(std::str::from_utf8(&gb).is_err(), "really not UTF-8");
        assert_eq!(d.push(&encode_line(&gb, Suffix::Cr)), vec![ok(text)]);
        // 0xFF is not a lead byte in either encoding.
        assert_eq!(d.push(b"\xff\xfe\r"), vec![Err(LineError::NotText)]);
    }

    #[test]
    fn interrupt_reports_a_real_partial_line() {
        let mut d = decoder(Suffix::Cr, 64);
        assert!(d.push(b"\x81\x9fgarb").is_empty());
        assert_eq!(d.interrupt(), Some(LineError::Interrupted { len: 6 }));
        assert!(!d.has_partial());
        assert_eq!(d.push(b"YY12345678\r"), vec![ok("YY12345678")]);
    }

    #[test]
    fn suffix_words_parse() {
        for suffix in Suffix::ALL {
            assert_eq!(suffix.name().parse::<Suffix>(), Ok(suffix));
        }
        assert_eq!("CRLF".parse::<Suffix>(), Ok(Suffix::CrLf));
        assert!("tab".parse::<Suffix>().is_err());
    }

    proptest! {
        /// Whatever arrives, nothing accepted is over the cap or holds a control character, and
        /// a well-formed line after a suffix always gets through.
        #[test]
        fn arbitrary_bytes_never_yield_bad_payloads(
            noise in proptest::collection::vec(any::<u8>(), 0..600),
            split in 0usize..600,
        ) {
            let mut d = decoder(Suffix::Cr, 32);
            let split = split.min(noise.len());
            let mut out = d.push(&noise[..split]);
            out.extend(d.push(&noise[split..]));
            out.extend(d.push(b"\rYY20240601\r"));
            for text in out.iter().flatten() {
                prop_assert!(text.len() <= 32);
                prop_assert!(!text.chars().any(is_forbidden_char));
            }
            prop_assert_eq!(out.last(), Some(&ok("YY20240601")));
        }
    }
}
