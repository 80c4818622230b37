//! The simulated ID-card reader, sans-IO: bytes from the host in, reply bytes out.
//!
//! [`SimReader`] answers frames the way a real reader does, including the behaviour drivers
//! trip over: after a successful read the reader will not find the same card again until it has
//! been lifted and placed back. Faults can be injected to exercise the driver's error paths;
//! the ones that need time or file descriptors (a slow reply, an unplugged cable) are reported
//! to the runner through [`SimReader::reply_delay`] and [`SimReader::is_unplugged`], and the
//! runner (`kiosk-sim idcard`) applies them on the pty.
//!
//! Test decks are JSON arrays of [`TestCard`]; `drivers/testdata/cards.json` is the default one
//! and is compiled in.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::Date;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::card::{CardError, CardKind, CardSpec, IdCard, ValidUntil, parse_yyyymmdd};
use super::frame::{Command, CommandDecoder, FrameError, Sw3, encode_response};

/// The default deck, compiled in so the simulator runs with no files around.
const DEFAULT_DECK: &str = include_str!("../../testdata/cards.json");

/// What the SAM id command answers: a fixed, obviously fake serial number.
const SAM_ID: [u8; 16] = *b"SIM-SAM-00000001";

/// How much of a read reply gets out before a card lifted mid-read breaks it off.
const CUT_SHORT_AT: usize = 600;

/// Line noise sent before a reply by the `garbage` fault: it contains broken preambles so that
/// the driver's resync is really exercised.
const GARBAGE: [u8; 12] = [
    0x00, 0xAA, 0xAA, 0x13, 0x96, 0x69, 0xFF, 0xAA, 0xAA, 0xAA, 0x96, 0x55,
];

/// Why a deck or a control command was refused.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The deck file could not be read.
    #[error("could not read the card deck: {0}")]
    DeckIo(#[from] std::io::Error),
    /// The deck is not valid JSON of test cards.
    #[error("the card deck is not valid: {0}")]
    DeckFormat(#[from] serde_json::Error),
    /// A card of the deck fails validation.
    #[error("card {index} of the deck is not valid: {source}")]
    DeckCard {
        /// Position in the deck.
        index: usize,
        /// What is wrong with it.
        #[source]
        source: TestCardError,
    },
    /// `place N` with no card N.
    #[error("there is no card {index} in the deck (it has {len})")]
    NoSuchCard {
        /// The index asked for.
        index: usize,
        /// How many cards the deck has.
        len: usize,
    },
    /// A control line that is not a command.
    #[error("unknown control command; expected one of: {}", SimControl::USAGE)]
    UnknownControl,
    /// A control command with a bad argument.
    #[error("bad argument for {0}")]
    BadArgument(&'static str),
    /// A command that only the pty runner can carry out was given to the core.
    #[error("{0} must be handled by the runner")]
    RunnerOnly(&'static str),
}

/// Why a [`TestCard`] is not a card.
#[derive(Debug, thiserror::Error)]
pub enum TestCardError {
    /// A date is not `YYYY-MM-DD`.
    #[error("field {0} is not a YYYY-MM-DD date")]
    Date(&'static str),
    /// The photo is not hex.
    #[error("the photo is not hexadecimal")]
    PhotoHex,
    /// The values do not make a valid card.
    #[error(transparent)]
    Card(#[from] CardError),
}

/// One fictional person's card in a test deck, as plain JSON values.
///
/// `id_number` is the GB 11643 number for resident and `J` cards and the permit number for
/// foreigner cards; `issuer` is the issuing office's name, or the authority code for foreigner
/// cards; `valid_to` is a date or `长期`; `photo` is the 1024-byte opaque photo block in hex.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
pub struct TestCard {
    /// `resident`, `permit_j`, `foreigner_i` or `foreigner_y`.
    #[serde(rename = "type")]
    #[zeroize(skip)]
    pub kind: CardKind,
    /// Chinese name (optional on foreigner cards).
    #[serde(default)]
    pub name: Option<String>,
    /// English name (foreigner cards).
    #[serde(default)]
    pub english_name: Option<String>,
    /// GB/T 2261.1 sex code: 0, 1, 2 or 9.
    pub sex: u8,
    /// GB 3304 nation code (resident cards).
    #[serde(default)]
    pub nation: Option<u8>,
    /// `YYYY-MM-DD`.
    pub birth: String,
    /// Address (resident and `J` cards).
    #[serde(default)]
    pub address: Option<String>,
    /// ID number, or permit number for foreigner cards.
    pub id_number: String,
    /// Issuing office, or authority code for foreigner cards.
    pub issuer: String,
    /// `YYYY-MM-DD`.
    pub valid_from: String,
    /// `YYYY-MM-DD` or `长期`.
    pub valid_to: String,
    /// Travel pass number (`J`).
    #[serde(default)]
    pub pass_number: Option<String>,
    /// Issue count (`J`).
    #[serde(default)]
    pub issue_count: Option<u8>,
    /// ISO 3166-1 alpha-3 nationality (foreigner cards).
    #[serde(default)]
    pub nationality: Option<String>,
    /// Card version field (foreigner cards).
    #[serde(default)]
    pub card_version: Option<String>,
    /// The photo block, hex.
    pub photo: String,
}

impl TestCard {
    /// The deck compiled into the crate (`drivers/testdata/cards.json`).
    pub fn default_deck() -> Result<Vec<TestCard>, SimError> {
        Ok(serde_json::from_str(DEFAULT_DECK)?)
    }

    /// A deck from a JSON file.
    pub fn load_deck(path: &Path) -> Result<Vec<TestCard>, SimError> {
        let text = zeroize::Zeroizing::new(std::fs::read_to_string(path)?);
        Ok(serde_json::from_str(&text)?)
    }

    /// The card these values describe, laid out with the real text layout and parsed back, so
    /// it passes every check a card read from a reader passes.
    pub fn to_card(&self) -> Result<IdCard, TestCardError> {
        let date = |s: &str, field| parse_iso(s).ok_or(TestCardError::Date(field));
        let valid_to = if self.valid_to == "长期" {
            ValidUntil::LongTerm
        } else {
            ValidUntil::Date(date(&self.valid_to, "valid_to")?)
        };
        let photo = zeroize::Zeroizing::new(decode_hex(&self.photo)?);
        let spec = CardSpec {
            kind: self.kind,
            name: self.name.as_deref(),
            english_name: self.english_name.as_deref(),
            sex: self.sex,
            nation: self.nation,
            birth: date(&self.birth, "birth")?,
            address: self.address.as_deref(),
            id_number: &self.id_number,
            issuer: &self.issuer,
            valid_from: date(&self.valid_from, "valid_from")?,
            valid_to,
            pass_number: self.pass_number.as_deref(),
            issue_count: self.issue_count,
            nationality: self.nationality.as_deref(),
            card_version: self.card_version.as_deref(),
            photo: &photo,
        };
        Ok(spec.build()?)
    }
}

impl fmt::Debug for TestCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestCard")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

fn parse_iso(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let compact: String = s.chars().filter(|c| *c != '-').collect();
    parse_yyyymmdd(&compact)
}

fn decode_hex(s: &str) -> Result<Vec<u8>, TestCardError> {
    let s = s.as_bytes();
    if !s.len().is_multiple_of(2) {
        return Err(TestCardError::PhotoHex);
    }
    let nibble = |c: u8| (c as char).to_digit(16).ok_or(TestCardError::PhotoHex);
    s.chunks_exact(2)
        .map(|p| Ok((nibble(p[0])? * 16 + nibble(p[1])?) as u8))
        .collect()
}

/// A control command for the simulator, one per line on its control channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimControl {
    /// `place N`: put deck card N on the reader (replacing any card there).
    Place(usize),
    /// `lift`: take the card off.
    Lift,
    /// `sam-fail`: the SAM fails its self-test; every command answers `60`.
    SamFail,
    /// `sam-ok`: the SAM works again.
    SamOk,
    /// `slow MS`: delay every reply by MS milliseconds (0 turns it off).
    Slow(Duration),
    /// `garbage`: line noise before the next reply.
    Garbage,
    /// `bad-checksum`: the next reply has a corrupt checksum.
    BadChecksum,
    /// `lift-mid-read`: the next read reply is cut short and the card is gone.
    LiftMidRead,
    /// `status XX [sam-status|find|select|read]`: the next reply (or the next reply to that
    /// command; `read` covers both read commands) carries status XX (hex) and no data. A
    /// success status still carries the command out; a failure status does not.
    Status {
        /// The status to answer.
        status: Sw3,
        /// The command whose reply is replaced; any command when `None`.
        on: Option<Command>,
    },
    /// `unplug`: the reader vanishes (the runner closes the pty and removes the link).
    Unplug,
    /// `replug`: the reader comes back at the same link, freshly powered.
    Replug,
    /// `quit`: stop the simulator.
    Quit,
}

impl SimControl {
    /// The accepted commands, for error messages.
    pub const USAGE: &'static str = "place N, lift, sam-fail, sam-ok, slow MS, garbage, \
         bad-checksum, lift-mid-read, status XX [sam-status|find|select|read], unplug, replug, \
         quit";

    /// Parses one control line (surrounding whitespace ignored).
    pub fn parse(line: &str) -> Result<SimControl, SimError> {
        let mut words = line.split_whitespace();
        let verb = words.next().unwrap_or("");
        let arg = words.next();
        if verb == "status" {
            return SimControl::parse_status(arg, words.next(), words.next());
        }
        if words.next().is_some() {
            return Err(SimError::UnknownControl);
        }
        let control = match (verb, arg) {
            ("place", Some(n)) => {
                SimControl::Place(n.parse().map_err(|_| SimError::BadArgument("place"))?)
            }
            ("slow", Some(ms)) => SimControl::Slow(Duration::from_millis(
                ms.parse().map_err(|_| SimError::BadArgument("slow"))?,
            )),
            ("place", None) => return Err(SimError::BadArgument("place")),
            ("slow", None) => return Err(SimError::BadArgument("slow")),
            (_, Some(_)) => return Err(SimError::UnknownControl),
            ("lift", None) => SimControl::Lift,
            ("sam-fail", None) => SimControl::SamFail,
            ("sam-ok", None) => SimControl::SamOk,
            ("garbage", None) => SimControl::Garbage,
            ("bad-checksum", None) => SimControl::BadChecksum,
            ("lift-mid-read", None) => SimControl::LiftMidRead,
            ("unplug", None) => SimControl::Unplug,
            ("replug", None) => SimControl::Replug,
            ("quit", None) => SimControl::Quit,
            (_, None) => return Err(SimError::UnknownControl),
        };
        Ok(control)
    }

    fn parse_status(
        code: Option<&str>,
        target: Option<&str>,
        extra: Option<&str>,
    ) -> Result<SimControl, SimError> {
        let bad = SimError::BadArgument("status");
        let (Some(code), None) = (code, extra) else {
            return Err(bad);
        };
        let status = Sw3::from_byte(u8::from_str_radix(code, 16).map_err(|_| bad)?);
        let on = match target {
            None => None,
            Some("sam-status") => Some(Command::SamStatus),
            Some("find") => Some(Command::FindCard),
            Some("select") => Some(Command::SelectCard),
            Some("read") => Some(Command::ReadText),
            Some(_) => return Err(SimError::BadArgument("status")),
        };
        Ok(SimControl::Status { status, on })
    }
}

/// Where the card on the reader is in the find → select → read sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CardState {
    /// Placed, not found yet.
    Placed,
    /// Found by `20 01`.
    Found,
    /// Selected by `20 02`; reads are answered.
    Selected,
    /// Read at least once: find answers `80` until the card is lifted and placed again, but a
    /// repeated read of the still-selected card is answered (drivers retry after line noise).
    Read,
}

/// The simulated reader's state and its protocol logic. See the module docs.
pub struct SimReader {
    deck: Vec<IdCard>,
    card: Option<(usize, CardState)>,
    sam_ok: bool,
    delay: Duration,
    garbage: bool,
    bad_checksum: bool,
    lift_mid_read: bool,
    forced_status: Option<(Sw3, Option<Command>)>,
    unplugged: bool,
    commands: CommandDecoder,
}

impl SimReader {
    /// A reader with `deck` at hand, no card on it, SAM healthy, no faults.
    pub fn new(deck: Vec<IdCard>) -> SimReader {
        SimReader {
            deck,
            card: None,
            sam_ok: true,
            delay: Duration::ZERO,
            garbage: false,
            bad_checksum: false,
            lift_mid_read: false,
            forced_status: None,
            unplugged: false,
            commands: CommandDecoder::new(),
        }
    }

    /// A reader whose deck is built from test cards; fails on the first invalid one.
    pub fn from_test_cards(cards: &[TestCard]) -> Result<SimReader, SimError> {
        let deck = cards
            .iter()
            .enumerate()
            .map(|(index, c)| {
                c.to_card()
                    .map_err(|source| SimError::DeckCard { index, source })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SimReader::new(deck))
    }

    /// The cards that can be placed.
    pub fn deck(&self) -> &[IdCard] {
        &self.deck
    }

    /// The index of the card on the reader, if any.
    pub fn placed(&self) -> Option<usize> {
        self.card.map(|(i, _)| i)
    }

    /// How long the runner must wait before sending each reply (`slow`).
    pub fn reply_delay(&self) -> Duration {
        self.delay
    }

    /// Whether the reader is unplugged: the runner must have closed its pty.
    pub fn is_unplugged(&self) -> bool {
        self.unplugged
    }

    /// Applies a control command. `Quit` is the runner's alone and is refused here.
    pub fn apply(&mut self, control: SimControl) -> Result<(), SimError> {
        match control {
            SimControl::Place(index) => {
                if index >= self.deck.len() {
                    return Err(SimError::NoSuchCard {
                        index,
                        len: self.deck.len(),
                    });
                }
                self.card = Some((index, CardState::Placed));
            }
            SimControl::Lift => self.card = None,
            SimControl::SamFail => self.sam_ok = false,
            SimControl::SamOk => self.sam_ok = true,
            SimControl::Slow(delay) => self.delay = delay,
            SimControl::Garbage => self.garbage = true,
            SimControl::BadChecksum => self.bad_checksum = true,
            SimControl::LiftMidRead => self.lift_mid_read = true,
            SimControl::Status { status, on } => self.forced_status = Some((status, on)),
            SimControl::Unplug => {
                self.unplugged = true;
                self.commands.clear();
            }
            SimControl::Replug => {
                // A power cycle: pending one-shot faults and the card's progress are gone; a
                // card still lying on the reader is a fresh card to it.
                self.unplugged = false;
                self.garbage = false;
                self.bad_checksum = false;
                self.lift_mid_read = false;
                self.forced_status = None;
                self.commands.clear();
                if let Some((_, state)) = &mut self.card {
                    *state = CardState::Placed;
                }
            }
            SimControl::Quit => return Err(SimError::RunnerOnly("quit")),
        }
        Ok(())
    }

    /// Takes bytes the host sent and returns the bytes the reader sends back (possibly none,
    /// e.g. for half a command, or while unplugged).
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        if self.unplugged {
            return Vec::new();
        }
        self.commands.push(bytes);
        let mut out = Vec::new();
        while let Some(command) = self.commands.next_command() {
            let reply = self.answer(command);
            out.extend_from_slice(&reply);
        }
        out
    }

    /// The reply frame (with any pending fault applied) to one decoded command.
    fn answer(&mut self, command: Result<Command, FrameError>) -> Vec<u8> {
        let mut frame = if let Some(sw3) = self.take_forced_status(&command) {
            // A forced success still does what was asked (find finds, select selects); a
            // forced failure leaves the reader as it was.
            if sw3.is_success()
                && let Ok(cmd) = command
            {
                self.execute(cmd).zeroize();
            }
            encode_response(sw3, &[])
        } else {
            match command {
                Ok(cmd) => self.execute(cmd),
                Err(FrameError::Checksum { .. }) => encode_response(Sw3::ChecksumError, &[]),
                Err(FrameError::TooShort(_) | FrameError::TooLong(_)) => {
                    encode_response(Sw3::LengthError, &[])
                }
                Err(FrameError::UnknownCommand { .. }) => encode_response(Sw3::CommandError, &[]),
            }
        };
        if std::mem::take(&mut self.bad_checksum)
            && let Some(last) = frame.last_mut()
        {
            *last ^= 0x5A;
        }
        if std::mem::take(&mut self.garbage) {
            let mut noisy = GARBAGE.to_vec();
            noisy.extend_from_slice(&frame);
            frame.zeroize();
            frame = noisy;
        }
        frame
    }

    /// The forced status, if one is pending for this command (which it then consumes).
    fn take_forced_status(&mut self, command: &Result<Command, FrameError>) -> Option<Sw3> {
        let (status, on) = self.forced_status?;
        let applies = match (on, command) {
            (None, _) => true,
            (Some(Command::ReadText), Ok(cmd)) => {
                matches!(cmd, Command::ReadText | Command::ReadTextPhotoFingerprint)
            }
            (Some(target), Ok(cmd)) => target == *cmd,
            (Some(_), Err(_)) => false,
        };
        if applies {
            self.forced_status = None;
            Some(status)
        } else {
            None
        }
    }

    fn execute(&mut self, cmd: Command) -> Vec<u8> {
        if !self.sam_ok {
            return encode_response(Sw3::SamSelfTestFailed, &[]);
        }
        match cmd {
            Command::ResetSam => {
                if let Some((_, state)) = &mut self.card
                    && *state != CardState::Read
                {
                    *state = CardState::Placed;
                }
                encode_response(Sw3::Success, &[])
            }
            Command::SamStatus => encode_response(Sw3::Success, &[]),
            Command::SamId => encode_response(Sw3::Success, &SAM_ID),
            Command::FindCard => match &mut self.card {
                Some((_, state)) if *state != CardState::Read => {
                    *state = CardState::Found;
                    encode_response(Sw3::FindSuccess, &[0; 4])
                }
                _ => encode_response(Sw3::FindFailed, &[]),
            },
            Command::SelectCard => match &mut self.card {
                Some((_, state)) if matches!(*state, CardState::Found | CardState::Selected) => {
                    *state = CardState::Selected;
                    encode_response(Sw3::Success, &[0; 8])
                }
                _ => encode_response(Sw3::SelectFailed, &[]),
            },
            Command::ReadText | Command::ReadTextPhotoFingerprint => self.read(cmd),
        }
    }

    fn read(&mut self, cmd: Command) -> Vec<u8> {
        let index = match &mut self.card {
            Some((index, state)) if matches!(*state, CardState::Selected | CardState::Read) => {
                *state = CardState::Read;
                *index
            }
            _ => return encode_response(Sw3::ReadFailed, &[]),
        };
        let Some(card) = self.deck.get(index) else {
            return encode_response(Sw3::ReadFailed, &[]);
        };
        let text_photo = card.encode_read_reply();
        let payload = if cmd == Command::ReadTextPhotoFingerprint {
            // Text length, photo length, then a zero fingerprint length: test cards carry no
            // fingerprint, as many real cards do not.
            let mut with_fp = zeroize::Zeroizing::new(Vec::with_capacity(text_photo.len() + 2));
            with_fp.extend_from_slice(&text_photo[..4]);
            with_fp.extend_from_slice(&[0, 0]);
            with_fp.extend_from_slice(&text_photo[4..]);
            with_fp
        } else {
            text_photo
        };
        let mut frame = encode_response(Sw3::Success, &payload);
        if std::mem::take(&mut self.lift_mid_read) {
            self.card = None;
            frame[CUT_SHORT_AT..].zeroize();
            frame.truncate(CUT_SHORT_AT);
        }
        frame
    }
}

impl fmt::Debug for SimReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimReader")
            .field("deck_len", &self.deck.len())
            .field("placed", &self.placed())
            .field("sam_ok", &self.sam_ok)
            .field("delay", &self.delay)
            .field("unplugged", &self.unplugged)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idcard::frame::{FrameDecoder, Response, encode_command};

    fn sim() -> SimReader {
        let deck = TestCard::default_deck().expect("default deck parses");
        SimReader::from_test_cards(&deck).expect("default deck is valid")
    }

    fn ask(sim: &mut SimReader, cmd: Command) -> Result<Response, FrameError> {
        let bytes = sim.feed(&encode_command(cmd));
        let mut dec = FrameDecoder::new();
        dec.push(&bytes);
        let out = dec.next_response().expect("a reply");
        assert!(dec.next_response().is_none(), "exactly one reply");
        out
    }

    fn status(sim: &mut SimReader, cmd: Command) -> Sw3 {
        ask(sim, cmd).expect("valid reply").status
    }

    #[test]
    fn default_deck_has_every_kind_and_real_photos() {
        let deck = TestCard::default_deck().expect("parses");
        assert!(deck.len() >= 6);
        let sim = SimReader::from_test_cards(&deck).expect("valid");
        for kind in [
            CardKind::Resident,
            CardKind::PermitJ,
            CardKind::ForeignerI,
            CardKind::ForeignerY,
        ] {
            assert!(sim.deck().iter().any(|c| c.kind() == kind), "{kind:?}");
        }
        assert!(sim.deck().iter().all(|c| c.photo().len() == 1024));
        assert!(
            sim.deck()
                .iter()
                .any(|c| c.validity().to == ValidUntil::LongTerm)
        );
        let today = time::macros::date!(2026 - 01 - 01);
        assert!(sim.deck().iter().any(|c| c.is_expired(today)));
        assert!(
            sim.deck()
                .iter()
                .filter(|c| c.kind() == CardKind::Resident)
                .all(|c| c.id_number().expose().starts_with("3207"))
        );
    }

    #[test]
    fn find_select_read_then_lift_before_next_read() {
        let mut sim = sim();
        assert_eq!(status(&mut sim, Command::SamStatus), Sw3::Success);
        assert_eq!(status(&mut sim, Command::FindCard), Sw3::FindFailed);
        sim.apply(SimControl::Place(0)).expect("place");
        assert_eq!(status(&mut sim, Command::SelectCard), Sw3::SelectFailed);
        assert_eq!(status(&mut sim, Command::ReadText), Sw3::ReadFailed);
        assert_eq!(status(&mut sim, Command::FindCard), Sw3::FindSuccess);
        assert_eq!(status(&mut sim, Command::SelectCard), Sw3::Success);
        let reply = ask(&mut sim, Command::ReadText).expect("valid");
        assert_eq!(reply.status, Sw3::Success);
        assert_eq!(reply.data.len(), 4 + 256 + 1024);
        let card = IdCard::from_read_reply(&reply.data).expect("card");
        assert_eq!(&card, &sim.deck()[0]);
        // Still on the reader, but already read: not found again.
        assert_eq!(status(&mut sim, Command::FindCard), Sw3::FindFailed);
        // A retried read of the selected card is still answered.
        assert_eq!(status(&mut sim, Command::ReadText), Sw3::Success);
        sim.apply(SimControl::Lift).expect("lift");
        assert_eq!(status(&mut sim, Command::FindCard), Sw3::FindFailed);
        sim.apply(SimControl::Place(0)).expect("place again");
        assert_eq!(status(&mut sim, Command::FindCard), Sw3::FindSuccess);
    }

    #[test]
    fn fingerprint_read_has_empty_fingerprint_block() {
        let mut sim = sim();
        sim.apply(SimControl::Place(1)).expect("place");
        status(&mut sim, Command::FindCard);
        status(&mut sim, Command::SelectCard);
        let reply = ask(&mut sim, Command::ReadTextPhotoFingerprint).expect("valid");
        assert_eq!(&reply.data[..6], &[0x01, 0x00, 0x04, 0x00, 0x00, 0x00]);
        assert_eq!(reply.data.len(), 6 + 256 + 1024);
        assert_eq!(
            IdCard::from_read_reply(&reply.data).as_ref(),
            Ok(&sim.deck()[1])
        );
    }

    #[test]
    fn sam_id_and_reset() {
        let mut sim = sim();
        let reply = ask(&mut sim, Command::SamId).expect("valid");
        assert_eq!(reply.data, SAM_ID);
        assert_eq!(status(&mut sim, Command::ResetSam), Sw3::Success);
    }

    #[test]
    fn sam_failure_answers_60_to_everything() {
        let mut sim = sim();
        sim.apply(SimControl::Place(0)).expect("place");
        sim.apply(SimControl::SamFail).expect("fail");
        for cmd in Command::ALL {
            assert_eq!(status(&mut sim, cmd), Sw3::SamSelfTestFailed, "{cmd:?}");
        }
        sim.apply(SimControl::SamOk).expect("ok");
        assert_eq!(status(&mut sim, Command::FindCard), Sw3::FindSuccess);
    }

    #[test]
    fn corrupt_and_unknown_commands_get_protocol_errors() {
        let mut sim = sim();
        let mut bad = encode_command(Command::FindCard);
        let last = bad.len() - 1;
        bad[last] ^= 1;
        let mut dec = FrameDecoder::new();
        dec.push(&sim.feed(&bad));
        assert_eq!(
            dec.next_response().expect("reply").expect("valid").status,
            Sw3::ChecksumError
        );
        dec.push(&sim.feed(&[0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x03, 0x77, 0x01, 0x75]));
        assert_eq!(
            dec.next_response().expect("reply").expect("valid").status,
            Sw3::CommandError
        );
        dec.push(&sim.feed(&[0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x01, 0x00]));
        assert_eq!(
            dec.next_response().expect("reply").expect("valid").status,
            Sw3::LengthError
        );
    }

    #[test]
    fn one_shot_faults_apply_to_the_next_reply_only() {
        let mut sim = sim();
        sim.apply(SimControl::Garbage).expect("garbage");
        let bytes = sim.feed(&encode_command(Command::SamStatus));
        assert_eq!(&bytes[..GARBAGE.len()], GARBAGE);
        let mut dec = FrameDecoder::new();
        dec.push(&bytes);
        assert_eq!(
            dec.next_response().expect("reply").expect("valid").status,
            Sw3::Success
        );

        sim.apply(SimControl::BadChecksum).expect("bad checksum");
        assert!(matches!(
            ask(&mut sim, Command::SamStatus),
            Err(FrameError::Checksum { .. })
        ));
        assert_eq!(status(&mut sim, Command::SamStatus), Sw3::Success);

        for sw3 in Sw3::ALL {
            sim.apply(SimControl::Status {
                status: sw3,
                on: None,
            })
            .expect("status");
            assert_eq!(status(&mut sim, Command::SamStatus), sw3);
        }
        assert_eq!(status(&mut sim, Command::SamStatus), Sw3::Success);

        // Targeted: only the read is answered with 41; find and select go through.
        sim.apply(SimControl::parse("status 41 read").expect("parses"))
            .expect("status");
        sim.apply(SimControl::Place(0)).expect("place");
        assert_eq!(status(&mut sim, Command::FindCard), Sw3::FindSuccess);
        assert_eq!(status(&mut sim, Command::SelectCard), Sw3::Success);
        assert_eq!(status(&mut sim, Command::ReadText), Sw3::ReadFailed);
        assert_eq!(status(&mut sim, Command::ReadText), Sw3::Success);
    }

    #[test]
    fn lift_mid_read_cuts_the_reply_and_removes_the_card() {
        let mut sim = sim();
        sim.apply(SimControl::Place(0)).expect("place");
        status(&mut sim, Command::FindCard);
        status(&mut sim, Command::SelectCard);
        sim.apply(SimControl::LiftMidRead).expect("fault");
        let bytes = sim.feed(&encode_command(Command::ReadText));
        assert_eq!(bytes.len(), CUT_SHORT_AT);
        let mut dec = FrameDecoder::new();
        dec.push(&bytes);
        assert!(dec.next_response().is_none(), "incomplete frame");
        assert_eq!(sim.placed(), None);
        assert_eq!(status(&mut sim, Command::ReadText), Sw3::ReadFailed);
    }

    #[test]
    fn unplugged_reader_is_silent_until_replugged() {
        let mut sim = sim();
        sim.apply(SimControl::Place(0)).expect("place");
        status(&mut sim, Command::FindCard);
        sim.apply(SimControl::Unplug).expect("unplug");
        assert!(sim.is_unplugged());
        assert!(sim.feed(&encode_command(Command::SamStatus)).is_empty());
        sim.apply(SimControl::Replug).expect("replug");
        assert_eq!(status(&mut sim, Command::FindCard), Sw3::FindSuccess);
    }

    #[test]
    fn control_lines_parse() {
        assert_eq!(
            SimControl::parse(" place 3 ").ok(),
            Some(SimControl::Place(3))
        );
        assert_eq!(
            SimControl::parse("slow 250").ok(),
            Some(SimControl::Slow(Duration::from_millis(250)))
        );
        assert_eq!(
            SimControl::parse("status 9f").ok(),
            Some(SimControl::Status {
                status: Sw3::FindSuccess,
                on: None
            })
        );
        assert_eq!(
            SimControl::parse("status 81 select").ok(),
            Some(SimControl::Status {
                status: Sw3::SelectFailed,
                on: Some(Command::SelectCard)
            })
        );
        assert!(matches!(
            SimControl::parse("status 81 dance"),
            Err(SimError::BadArgument("status"))
        ));
        assert!(matches!(
            SimControl::parse("status"),
            Err(SimError::BadArgument("status"))
        ));
        assert_eq!(
            SimControl::parse("lift-mid-read").ok(),
            Some(SimControl::LiftMidRead)
        );
        assert!(matches!(
            SimControl::parse("place"),
            Err(SimError::BadArgument("place"))
        ));
        assert!(matches!(
            SimControl::parse("place x"),
            Err(SimError::BadArgument("place"))
        ));
        assert!(matches!(
            SimControl::parse("lift now"),
            Err(SimError::UnknownControl)
        ));
        assert!(matches!(
            SimControl::parse("dance"),
            Err(SimError::UnknownControl)
        ));
        assert!(matches!(
            SimControl::parse(""),
            Err(SimError::UnknownControl)
        ));
        let mut sim = sim();
        assert!(matches!(
            sim.apply(SimControl::Place(99)),
            Err(SimError::NoSuchCard { index: 99, .. })
        ));
    }

    #[test]
    fn test_card_debug_is_redacted() {
        let deck = TestCard::default_deck().expect("parses");
        let text = format!("{:?}", deck[0]);
        assert!(!text.contains(&deck[0].id_number), "{text}");
        if let Some(name) = &deck[0].name {
            assert!(!text.contains(name.as_str()));
        }
    }
}
