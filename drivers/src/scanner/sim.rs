//! The simulated serial scanner, sans-IO: control commands in, the bytes a scanner would send
//! out. `kiosk-sim scanner` serves it on a pty; the bytes are framed with the same
//! [`encode_line`] the driver's codec undoes.
//!
//! Control commands, one per line:
//!
//! | command | effect |
//! | --- | --- |
//! | `scan TEXT` | sends TEXT (everything after `scan `, UTF-8) and the suffix, as one burst |
//! | `scan-hex HEX` | sends exactly these bytes, no suffix added: for GB18030 payloads, control bytes, lines split over several commands or several lines merged into one write |
//! | `garbage N` | sends N bytes of line noise (control and high-bit bytes, never CR or LF), as a glitching cable or a baud-rate mismatch produces; the driver must drop them without losing the next scan |
//! | `unplug` / `replug` | the scanner vanishes / comes back at the same path (carried out by the runner) |
//! | `quit` | stops the simulator |

use super::codec::{Suffix, encode_line};

/// The most bytes one `garbage` command sends; a bound on the simulator's own memory.
pub const MAX_GARBAGE: usize = 1 << 20;

/// Why a control line was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error("unknown command; expected one of: {}", ScannerControl::USAGE)]
    UnknownControl,
    #[error("bad argument for {command}: {reason}")]
    BadArgument {
        command: &'static str,
        reason: &'static str,
    },
}

/// One control command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScannerControl {
    Scan(String),
    ScanHex(Vec<u8>),
    Garbage(usize),
    Unplug,
    Replug,
    Quit,
}

impl ScannerControl {
    pub const USAGE: &'static str = "scan TEXT, scan-hex HEX, garbage N, unplug, replug, quit";

    /// Parses one control line. For `scan`, the text is taken verbatim after the single space
    /// that follows the word (so it may hold spaces); only a trailing CR/LF is removed.
    pub fn parse(line: &str) -> Result<ScannerControl, SimError> {
        let line = line.trim_end_matches(['\r', '\n']);
        if let Some(text) = line.strip_prefix("scan ") {
            if text.is_empty() {
                return Err(bad("scan", "no text"));
            }
            return Ok(ScannerControl::Scan(text.to_owned()));
        }
        let mut words = line.split_whitespace();
        let verb = words.next().unwrap_or_default();
        let arg = words.next();
        if words.next().is_some() {
            return Err(SimError::UnknownControl);
        }
        match (verb, arg) {
            ("scan", None) => Err(bad("scan", "no text")),
            ("scan-hex", Some(hex)) => parse_hex(hex).map(ScannerControl::ScanHex),
            ("scan-hex", None) => Err(bad("scan-hex", "no bytes")),
            ("garbage", Some(n)) => match n.parse::<usize>() {
                Ok(n) if (1..=MAX_GARBAGE).contains(&n) => Ok(ScannerControl::Garbage(n)),
                _ => Err(bad("garbage", "expected a count from 1 to 1048576")),
            },
            ("garbage", None) => Err(bad("garbage", "no count")),
            ("unplug", None) => Ok(ScannerControl::Unplug),
            ("replug", None) => Ok(ScannerControl::Replug),
            ("quit", None) => Ok(ScannerControl::Quit),
            _ => Err(SimError::UnknownControl),
        }
    }
}

fn bad(command: &'static str, reason: &'static str) -> SimError {
    SimError::BadArgument { command, reason }
}

fn parse_hex(hex: &str) -> Result<Vec<u8>, SimError> {
    if !hex.len().is_multiple_of(2) {
        return Err(bad("scan-hex", "odd number of hex digits"));
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or(bad("scan-hex", "not hexadecimal"))
        })
        .collect()
}

/// The scanner's side of the wire.
#[derive(Debug, Clone)]
pub struct SimScanner {
    suffix: Suffix,
    /// xorshift64 state for line noise: deterministic, so a failing test can be replayed.
    noise: u64,
}

impl SimScanner {
    pub fn new(suffix: Suffix) -> SimScanner {
        SimScanner {
            suffix,
            noise: 0x9E37_79B9_7F4A_7C15,
        }
    }

    pub fn suffix(&self) -> Suffix {
        self.suffix
    }

    /// The bytes a data command puts on the wire; `None` for the commands the runner carries
    /// out itself (unplug, replug, quit).
    pub fn bytes_for(&mut self, control: &ScannerControl) -> Option<Vec<u8>> {
        match control {
            ScannerControl::Scan(text) => Some(encode_line(text.as_bytes(), self.suffix)),
            ScannerControl::ScanHex(bytes) => Some(bytes.clone()),
            ScannerControl::Garbage(n) => Some((0..*n).map(|_| self.noise_byte()).collect()),
            ScannerControl::Unplug | ScannerControl::Replug | ScannerControl::Quit => None,
        }
    }

    /// A noise byte: a C0 control other than CR and LF, or a byte with the high bit set.
    fn noise_byte(&mut self) -> u8 {
        loop {
            self.noise ^= self.noise << 13;
            self.noise ^= self.noise >> 7;
            self.noise ^= self.noise << 17;
            let byte = self.noise.to_le_bytes()[3];
            if !(0x20..0x80).contains(&byte) && byte != b'\r' && byte != b'\n' {
                return byte;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scanner::codec::{LineConfig, LineDecoder, LineError};

    #[test]
    fn commands_parse() {
        assert_eq!(
            ScannerControl::parse("scan YY 2024 \r\n"),
            Ok(ScannerControl::Scan("YY 2024 ".into()))
        );
        assert_eq!(
            ScannerControl::parse("scan-hex c1acd4c60d"),
            Ok(ScannerControl::ScanHex(vec![0xc1, 0xac, 0xd4, 0xc6, 0x0d]))
        );
        assert_eq!(
            ScannerControl::parse("garbage 64"),
            Ok(ScannerControl::Garbage(64))
        );
        for (line, control) in [
            ("unplug", ScannerControl::Unplug),
            (" replug ", ScannerControl::Replug),
            ("quit", ScannerControl::Quit),
        ] {
            assert_eq!(ScannerControl::parse(line), Ok(control));
        }
        for line in [
            "scan",
            "scan ",
            "scan-hex",
            "scan-hex abc",
            "scan-hex zz",
            "scan-hex é0",
            "garbage",
            "garbage 0",
            "garbage many",
            "garbage 99999999",
            "unplug now",
            "press",
            "",
        ] {
            assert!(ScannerControl::parse(line).is_err(), "{line:?}");
        }
    }

    #[test]
    fn the_driver_codec_reads_what_the_simulator_sends() {
        for suffix in Suffix::ALL {
            let mut sim = SimScanner::new(suffix);
            let mut codec = LineDecoder::new(LineConfig::with_suffix(suffix));
            let bytes = sim
                .bytes_for(&ScannerControl::Scan("SFM1:abc def".into()))
                .expect("bytes");
            assert_eq!(codec.push(&bytes), vec![Ok("SFM1:abc def".to_owned())]);
        }
    }

    #[test]
    fn garbage_is_noise_without_line_ends_and_gets_dropped() {
        let mut sim = SimScanner::new(Suffix::Cr);
        let noise = sim
            .bytes_for(&ScannerControl::Garbage(4096))
            .expect("bytes");
        assert_eq!(noise.len(), 4096);
        assert!(
            noise
                .iter()
                .all(|&b| !(0x20..0x80).contains(&b) && b != b'\r' && b != b'\n')
        );
        let mut codec = LineDecoder::new(LineConfig::default());
        let lines = codec.push(&noise[..100]);
        assert!(lines.is_empty());
        assert_eq!(codec.interrupt(), Some(LineError::Interrupted { len: 100 }));
    }
}
