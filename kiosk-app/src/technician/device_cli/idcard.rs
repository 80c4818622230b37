//! `kiosk device idcard read|decode`: the ID-card reader from the command line.
//!
//! `read` is the technician's check that a reader works: it opens the serial port, runs the
//! reader's SAM self-check, waits for a card and prints it. `decode` is the developer's view of
//! a capture: it checks one or more reader replies (binary, or hex text as copied from a
//! protocol analyser or a vendor's documentation) and prints what they say.
//!
//! Both print the card with the ID number masked unless `--reveal` is given: the output lands
//! in terminals, scrollback and tickets. Whatever is wrong comes out as one line naming the
//! part that failed (checksum, length, reader status and its meaning, check digit, card type),
//! and the exit status is non-zero.

use std::fmt::Write as _;
use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use kiosk_drivers::idcard::card::TEXT_LEN;
use kiosk_drivers::idcard::frame::PREAMBLE;
use kiosk_drivers::idcard::{
    CardError, CommandDecoder, FrameDecoder, FrameError, IdCard, ReadError, ReadOutcome, Reader,
    ReaderConfig, Response, SerialTransport, Sw3,
};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::devices::card_reader::today;

/// How often `read` asks the reader for a card while waiting.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// The largest input `decode` accepts. A capture of a whole session is a few kilobytes; a
/// bigger file is almost certainly the wrong one, and reading it whole would be pointless.
const MAX_INPUT: u64 = 1 << 20;

/// The ID-card reader's commands.
#[derive(Debug, clap::Subcommand)]
pub enum IdcardCommand {
    /// Wait for a card on a serial reader and print it.
    Read(ReadArgs),
    /// Check and print captured reader replies (one or more frames).
    Decode(DecodeArgs),
}

/// Arguments of `kiosk device idcard read`.
#[derive(Debug, clap::Args)]
pub struct ReadArgs {
    /// The reader's serial device, e.g. /dev/ttyUSB0.
    #[arg(long, value_name = "PATH")]
    pub port: String,
    /// Line speed; readers ship at 115200.
    #[arg(long, value_name = "N", default_value_t = SerialTransport::DEFAULT_BAUD)]
    pub baud: u32,
    /// Print the card as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Print identifying numbers in full instead of masked.
    #[arg(long)]
    pub reveal: bool,
    /// How long to wait for a card, in seconds.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub timeout: u64,
}

/// Arguments of `kiosk device idcard decode`.
#[derive(Debug, clap::Args)]
pub struct DecodeArgs {
    /// The capture; `-` reads standard input.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Print each reply as one JSON object (one per line) instead of text.
    #[arg(long)]
    pub json: bool,
    /// The input is hex text (`AA AA AA 96 69 …`); whitespace and line breaks are ignored.
    #[arg(long)]
    pub hex: bool,
    /// Print identifying numbers in full instead of masked.
    #[arg(long)]
    pub reveal: bool,
}

/// Runs one ID-card command.
pub fn run(command: IdcardCommand) -> anyhow::Result<()> {
    match command {
        IdcardCommand::Read(args) => read(&args),
        IdcardCommand::Decode(args) => decode(&args),
    }
}

fn read(args: &ReadArgs) -> anyhow::Result<()> {
    let transport = SerialTransport::open(&args.port, args.baud)
        .with_context(|| format!("cannot open the card reader at {}", args.port))?;
    let mut reader = Reader::open(transport, ReaderConfig::default())
        .with_context(|| format!("the card reader at {} is not ready", args.port))?;
    if io::stderr().is_terminal() {
        eprintln!(
            "Place a card on the reader (waiting up to {} s)…",
            args.timeout
        );
    }
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let card = loop {
        match reader.try_read() {
            Ok(ReadOutcome::Card(card)) => break card,
            Ok(ReadOutcome::NoCard | ReadOutcome::AwaitingLift) => {}
            // A card lifted too early is the citizen's doing, not a fault: keep waiting.
            Err(ReadError::CardRemoved) => {
                eprintln!("The card was lifted while it was being read; place it again.");
            }
            Err(e) => return Err(e).context("reading the card failed"),
        }
        let now = Instant::now();
        if now >= deadline {
            bail!("no card placed within {} s", args.timeout);
        }
        std::thread::sleep(POLL_INTERVAL.min(deadline - now));
    };
    let text = if args.json {
        Zeroizing::new(card.to_json(args.reveal).to_string())
    } else {
        render_card(&card, args.reveal, today())
    };
    print_line(&text)
}

fn decode(args: &DecodeArgs) -> anyhow::Result<()> {
    let raw = read_input(&args.file)?;
    let bytes = if args.hex {
        parse_hex(&raw).map_err(DecodeError::Hex)?
    } else {
        raw
    };
    let replies = match split_replies(&bytes) {
        // Hex text read as binary has no preamble: say what will work.
        Err(DecodeError::NoFrame) if !args.hex && looks_like_hex(&bytes) => {
            return Err(DecodeError::HexWithoutFlag.into());
        }
        other => other?,
    };
    let today = today();
    let several = replies.len() > 1;
    for (index, reply) in replies.iter().enumerate() {
        let decoded = interpret(reply)?;
        let text = match (&decoded, args.json) {
            (Decoded::Card(card), true) => Zeroizing::new(card.to_json(args.reveal).to_string()),
            (Decoded::Card(card), false) => render_card(card, args.reveal, today),
            (Decoded::Reply(reply), true) => Zeroizing::new(reply_json(reply).to_string()),
            (Decoded::Reply(reply), false) => Zeroizing::new(render_reply(reply)),
        };
        if several && !args.json {
            print_line(&format!("reply {}:", index + 1))?;
        }
        print_line(&text)?;
    }
    Ok(())
}

/// Writes one block of output. A closed pipe (`… | head`) is the reader's choice, not an
/// error worth a message.
fn print_line(text: &str) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(e).context("cannot write to standard output")
        }
        _ => Ok(()),
    }
}

/// The capture's bytes, from a file or standard input, wiped when dropped (a capture of a
/// read holds a citizen's card).
fn read_input(path: &Path) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let mut bytes = Zeroizing::new(Vec::new());
    let what = if path == Path::new("-") {
        io::stdin()
            .lock()
            .take(MAX_INPUT + 1)
            .read_to_end(&mut bytes)
            .context("cannot read standard input")?;
        "standard input".to_owned()
    } else {
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_INPUT + 1).read_to_end(&mut bytes))
            .with_context(|| format!("cannot read {}", path.display()))?;
        path.display().to_string()
    };
    if bytes.len() as u64 > MAX_INPUT {
        bail!("{what} is larger than {MAX_INPUT} bytes; a reader capture is a few kilobytes");
    }
    Ok(bytes)
}

/// Why a capture did not decode to valid replies. Each message is one line and names the part
/// that failed; none quotes card data.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// `--hex` input that is not hex text.
    #[error("the input is not hex text: {0}")]
    Hex(HexError),
    /// Not even a preamble: probably not a reader capture at all.
    #[error("no reader reply found: the input holds no AA AA AA 96 69 preamble")]
    NoFrame,
    /// Hex text given without `--hex`.
    #[error("no reader reply found: the input looks like hex text; decode it with --hex")]
    HexWithoutFlag,
    /// A frame failed its checksum or its length bounds.
    #[error("invalid frame: {0}")]
    Frame(FrameError),
    /// The input stops inside a frame's header.
    #[error("truncated frame: the input ends {present} bytes into the 7-byte frame header")]
    TruncatedHeader {
        /// Header bytes present.
        present: usize,
    },
    /// The input stops before a frame's announced length.
    #[error(
        "truncated frame: its length field announces {declared} bytes after the header, \
         but only {present} are present"
    )]
    Truncated {
        /// `LEN`.
        declared: u16,
        /// Bytes present after `LEN`.
        present: usize,
    },
    /// A well-formed command frame (host to reader) where a reply was expected.
    #[error("the frame is a host command ({cmd:02X} {para:02X}), not a reader reply")]
    HostCommand {
        /// `CMD`.
        cmd: u8,
        /// `PARA`.
        para: u8,
    },
    /// A valid frame whose status says the command failed.
    #[error("the reader reported a failure: {0}")]
    Status(Sw3),
    /// A read reply whose card data does not validate.
    #[error("invalid card data: {0}")]
    Card(CardError),
}

/// Why `--hex` input could not be turned into bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    /// Something other than a hex digit or whitespace. The character itself is not quoted: it
    /// may sit in the middle of a citizen's data.
    #[error("the character at byte offset {0} is neither a hex digit nor whitespace")]
    NotHex(usize),
    /// The digits do not pair up into bytes.
    #[error("it has an odd number of hex digits")]
    OddDigits,
}

/// Hex text to bytes; any ASCII whitespace (spaces, tabs, line breaks) may separate digits.
pub fn parse_hex(text: &[u8]) -> Result<Zeroizing<Vec<u8>>, HexError> {
    let mut bytes = Zeroizing::new(Vec::with_capacity(text.len() / 2));
    let mut high: Option<u8> = None;
    for (offset, &c) in text.iter().enumerate() {
        if c.is_ascii_whitespace() {
            continue;
        }
        let nibble = char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
            .ok_or(HexError::NotHex(offset))?;
        match high.take() {
            Some(h) => bytes.push(h << 4 | nibble),
            None => high = Some(nibble),
        }
    }
    if high.is_some() {
        return Err(HexError::OddDigits);
    }
    Ok(bytes)
}

/// Whether `bytes` would decode as `--hex` input into something holding a preamble.
fn looks_like_hex(bytes: &[u8]) -> bool {
    parse_hex(bytes).is_ok_and(|b| b.windows(PREAMBLE.len()).any(|w| w == PREAMBLE))
}

/// Every reply frame in `bytes`, in order; bytes before the first preamble are ignored, as
/// the driver ignores line noise. The first bad frame ends the decoding with its reason.
pub fn split_replies(bytes: &[u8]) -> Result<Vec<Response>, DecodeError> {
    if !bytes.windows(PREAMBLE.len()).any(|w| w == PREAMBLE) {
        return Err(DecodeError::NoFrame);
    }
    let mut decoder = FrameDecoder::new();
    decoder.push(bytes);
    let mut replies = Vec::new();
    while let Some(next) = decoder.next_response() {
        match next {
            Ok(reply) => replies.push(reply),
            // `LEN = 3` is too short for a reply but exactly a command: say which it is.
            Err(FrameError::TooShort(3)) => {
                let mut commands = CommandDecoder::new();
                commands.push(bytes);
                let mut found = None;
                while let Some(next) = commands.next_command() {
                    if let Ok(command) = next {
                        found = Some(command.bytes());
                        break;
                    }
                }
                return Err(match found {
                    Some([cmd, para]) => DecodeError::HostCommand { cmd, para },
                    None => DecodeError::Frame(FrameError::TooShort(3)),
                });
            }
            Err(e) => return Err(DecodeError::Frame(e)),
        }
    }
    // The decoder keeps the start of an unfinished frame, which is the input's tail.
    let left = decoder.buffered_len();
    if left > 0 {
        let tail = &bytes[bytes.len() - left..];
        return Err(match tail {
            [_, _, _, _, _, hi, lo, rest @ ..] => DecodeError::Truncated {
                declared: u16::from_be_bytes([*hi, *lo]),
                present: rest.len(),
            },
            _ => DecodeError::TruncatedHeader { present: left },
        });
    }
    Ok(replies)
}

/// What one valid reply frame holds.
#[derive(Debug)]
pub enum Decoded<'a> {
    /// A read reply with a valid card.
    Card(IdCard),
    /// Any other successful reply (SAM status, find, select, SAM id…).
    Reply(&'a Response),
}

/// Checks a reply's status and, for a read reply, its card.
pub fn interpret(reply: &Response) -> Result<Decoded<'_>, DecodeError> {
    if !reply.status.is_success() {
        return Err(DecodeError::Status(reply.status));
    }
    // Only a read reply carries the text block; the other replies are a few bytes long. One
    // cut short still opens with the text length (256), and must fail as a card, not be
    // printed as hex.
    let text_len = (TEXT_LEN as u16).to_be_bytes();
    if reply.status == Sw3::Success
        && (reply.data.len() >= 4 + TEXT_LEN || reply.data.starts_with(&text_len))
    {
        return IdCard::from_read_reply(&reply.data)
            .map(Decoded::Card)
            .map_err(DecodeError::Card);
    }
    Ok(Decoded::Reply(reply))
}

fn hex_string(bytes: &[u8], separator: &str) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(separator)
}

fn render_reply(reply: &Response) -> String {
    let mut text = format!("reader reply: {}", reply.status);
    match reply.data.len() {
        0 => text.push_str(", no data"),
        n => {
            let _ = write!(text, ", {n} data bytes: {}", hex_string(&reply.data, " "));
        }
    }
    text
}

fn reply_json(reply: &Response) -> Value {
    json!({
        "status": format!("{:02X}", reply.status.byte()),
        "description": reply.status.to_string(),
        "data": hex_string(&reply.data, ""),
    })
}

/// The fields every card has, in the order a person reads a card.
const COMMON_FIELDS: [&str; 10] = [
    "type",
    "name",
    "sex",
    "nation",
    "birth",
    "address",
    "id_number",
    "issuer",
    "valid_from",
    "valid_to",
];

/// The card as aligned `field: value` lines, with the JSON's field names so that the two
/// outputs read alike, plus whether it has expired on `today`. Built from
/// [`IdCard::to_json`], so masking is decided in one place. Wiped when dropped.
pub fn render_card(card: &IdCard, reveal: bool, today: time::Date) -> Zeroizing<String> {
    let json = card.to_json(reveal);
    let mut text = Zeroizing::new(String::new());
    let mut line = |key: &str, value: &Value| {
        let shown = match value {
            Value::Null => return,
            Value::String(s) if key == "valid_to" && s == "long_term" => "长期 (long term)".into(),
            Value::String(s) => s.clone(),
            Value::Object(nation) => format!(
                "{} {} ({})",
                nation.get("code").and_then(Value::as_str).unwrap_or(""),
                nation.get("zh").and_then(Value::as_str).unwrap_or(""),
                nation.get("en").and_then(Value::as_str).unwrap_or(""),
            ),
            other => other.to_string(),
        };
        if !text.is_empty() {
            text.push('\n');
        }
        let _ = write!(text, "{:<13}{shown}", format!("{key}:"));
    };
    if let Value::Object(fields) = &json {
        for key in COMMON_FIELDS {
            if let Some(value) = fields.get(key) {
                line(key, value);
            }
        }
        for (key, value) in fields {
            if !COMMON_FIELDS.contains(&key.as_str()) {
                line(key, value);
            }
        }
    }
    let expired = if card.is_expired(today) { "yes" } else { "no" };
    line("expired", &Value::String(expired.into()));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiosk_drivers::idcard::{TestCard, encode_response};
    use time::macros::date;

    fn deck() -> Vec<IdCard> {
        TestCard::default_deck()
            .expect("deck")
            .iter()
            .map(|c| c.to_card().expect("valid"))
            .collect()
    }

    #[test]
    fn hex_allows_any_whitespace_and_nothing_else() {
        assert_eq!(
            parse_hex(b" aa AA\n\t96 69\r\n0004")
                .expect("hex")
                .as_slice(),
            [0xAA, 0xAA, 0x96, 0x69, 0x00, 0x04]
        );
        assert_eq!(
            parse_hex(b"AA A").map(|b| b.to_vec()),
            Err(HexError::OddDigits)
        );
        assert_eq!(
            parse_hex(b"AA,BB").map(|b| b.to_vec()),
            Err(HexError::NotHex(2))
        );
        assert!(parse_hex(b"").expect("empty").is_empty());
    }

    #[test]
    fn splits_several_replies_and_skips_leading_noise() {
        let mut bytes = vec![0x00, 0x13];
        bytes.extend(encode_response(Sw3::Success, &[]));
        bytes.extend(encode_response(Sw3::FindSuccess, &[0; 4]));
        let replies = split_replies(&bytes).expect("valid");
        let statuses: Vec<_> = replies.iter().map(|r| r.status).collect();
        assert_eq!(statuses, [Sw3::Success, Sw3::FindSuccess]);
    }

    #[test]
    fn each_failure_names_its_part() {
        let good = encode_response(Sw3::Success, &[]);
        let mut bad_sum = good.clone();
        *bad_sum.last_mut().expect("byte") ^= 1;
        let cases: [(Vec<u8>, &str); 6] = [
            (b"hello".to_vec(), "no AA AA AA 96 69 preamble"),
            (bad_sum, "checksum mismatch"),
            (
                good[..9].to_vec(),
                "announces 4 bytes after the header, but only 2",
            ),
            (
                good[..6].to_vec(),
                "ends 6 bytes into the 7-byte frame header",
            ),
            (
                vec![0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x03, 0x20, 0x01, 0x22],
                "host command (20 01)",
            ),
            (
                vec![0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x02, 0x00, 0x02],
                "frame length 2 is too short",
            ),
        ];
        for (bytes, expected) in cases {
            let message = split_replies(&bytes).expect_err("invalid").to_string();
            assert!(message.contains(expected), "{message}");
            assert!(!message.contains('\n'), "one line: {message}");
        }
        let failed = encode_response(Sw3::FindFailed, &[]);
        let replies = split_replies(&failed).expect("valid frame");
        let message = interpret(&replies[0]).expect_err("failure").to_string();
        assert_eq!(message, "the reader reported a failure: no card found (80)");
    }

    #[test]
    fn read_replies_become_cards_and_bad_cards_name_the_check() {
        let card = &deck()[0];
        let frame = encode_response(Sw3::Success, &card.encode_read_reply());
        let replies = split_replies(&frame).expect("valid");
        match interpret(&replies[0]) {
            Ok(Decoded::Card(decoded)) => assert_eq!(&decoded, card),
            other => panic!("expected a card, got {other:?}"),
        }
        let mut payload = card.encode_read_reply().to_vec();
        // The ID number's last character sits at text offset 122 + 17 * 2.
        let last = 4 + 122 + 34;
        payload[last] = if payload[last] == b'0' { b'1' } else { b'0' };
        let frame = encode_response(Sw3::Success, &payload);
        let replies = split_replies(&frame).expect("valid frame");
        let message = interpret(&replies[0]).expect_err("bad card").to_string();
        assert_eq!(
            message,
            "invalid card data: the ID number is invalid: its check digit is wrong"
        );
    }

    #[test]
    fn text_rendering_masks_unless_revealed_and_says_expiry() {
        let deck = deck();
        let card = &deck[0];
        let masked = render_card(card, false, date!(2026 - 01 - 01));
        let number = card.id_number().expose();
        assert!(masked.contains(&card.id_number().masked()), "{}", *masked);
        assert!(!masked.contains(number));
        assert!(masked.contains("name:        张三"), "{}", *masked);
        assert!(masked.contains("nation:      01 汉 (Han)"), "{}", *masked);
        assert!(masked.ends_with("expired:     no"), "{}", *masked);
        assert!(render_card(card, true, date!(2026 - 01 - 01)).contains(number));
        assert!(render_card(&deck[2], false, date!(2026 - 01 - 01)).ends_with("expired:     yes"));
        assert!(render_card(&deck[1], false, date!(2026 - 01 - 01)).contains("长期 (long term)"));
        let foreigner = render_card(&deck[6], false, date!(2026 - 01 - 01));
        assert!(foreigner.contains("permit_number:"), "{}", *foreigner);
        assert!(!foreigner.contains("address:"), "{}", *foreigner);
    }
}
