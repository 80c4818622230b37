//! Sans-IO codec for the resident ID-card reader's serial frames.
//!
//! Command frame: `AA AA AA 96 69 | LEN(2, BE) | CMD | PARA | data | CHK`;
//! response frame: `AA AA AA 96 69 | LEN(2, BE) | SW1 SW2 SW3 | data | CHK`.
//! `LEN` counts every byte after itself, `CHK` included; `CHK` is the XOR of every byte from
//! `LEN`'s first byte to the end of the data.
//!
//! Nothing here touches a device: the driver pushes whatever bytes the transport produced and
//! pulls complete, checked frames out; the simulator does the same from the other side. Line
//! noise is expected on real cables (and injected by the simulator), so the decoders resync on
//! the preamble instead of giving up, and never keep more than one frame's worth of bytes.

use std::fmt;

use zeroize::Zeroize;

/// The five bytes that open every frame in both directions.
pub const PREAMBLE: [u8; 5] = [0xAA, 0xAA, 0xAA, 0x96, 0x69];

/// The largest `LEN` accepted. The biggest legitimate frame, the reply to `30 10` (text, photo
/// and fingerprint), is about 2.3 KiB; anything much above that is noise that happens to follow
/// a preamble, and waiting for it would stall the link.
pub const MAX_LEN: u16 = 4096 + 64;

/// Bytes of a frame before its body: preamble and `LEN`.
const HEADER: usize = PREAMBLE.len() + 2;

/// The most bytes a decoder keeps buffered once every complete frame has been taken out.
pub const MAX_BUFFERED: usize = HEADER + MAX_LEN as usize;

/// A command the host sends to the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// `10 FF`: reset the SAM (secure access module).
    ResetSam,
    /// `11 FF`: SAM self-test status; `90` when the reader can read cards.
    SamStatus,
    /// `12 FF`: the SAM's serial number (16 bytes).
    SamId,
    /// `20 01`: look for a card in the field.
    FindCard,
    /// `20 02`: select the card just found.
    SelectCard,
    /// `30 01`: read the text block and the photo.
    ReadText,
    /// `30 10`: read the text block, the photo and the fingerprint block.
    ReadTextPhotoFingerprint,
}

impl Command {
    /// Every command, for exhaustive tests and for decoding.
    pub const ALL: [Command; 7] = [
        Command::ResetSam,
        Command::SamStatus,
        Command::SamId,
        Command::FindCard,
        Command::SelectCard,
        Command::ReadText,
        Command::ReadTextPhotoFingerprint,
    ];

    /// The `CMD PARA` byte pair.
    pub const fn bytes(self) -> [u8; 2] {
        match self {
            Command::ResetSam => [0x10, 0xFF],
            Command::SamStatus => [0x11, 0xFF],
            Command::SamId => [0x12, 0xFF],
            Command::FindCard => [0x20, 0x01],
            Command::SelectCard => [0x20, 0x02],
            Command::ReadText => [0x30, 0x01],
            Command::ReadTextPhotoFingerprint => [0x30, 0x10],
        }
    }

    /// The command for a `CMD PARA` pair, if it is one we know.
    pub fn from_bytes(cmd: u8, para: u8) -> Option<Command> {
        Command::ALL.into_iter().find(|c| c.bytes() == [cmd, para])
    }
}

/// The reader's status byte `SW3` (`SW1 SW2` are `00 00` in normal operation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sw3 {
    /// `90`: the command succeeded.
    Success,
    /// `9F`: a card was found.
    FindSuccess,
    /// `10`: the reader received a command with a bad checksum.
    ChecksumError,
    /// `11`: the reader received a command with a bad length.
    LengthError,
    /// `21`: the reader does not understand the command.
    CommandError,
    /// `23`: the command is not authorised.
    Unauthorized,
    /// `24`: an error the reader does not explain.
    UnknownError,
    /// `31`: the card failed the SAM's authentication.
    CardAuthFailed,
    /// `32`: the SAM failed the card's authentication.
    SamAuthFailed,
    /// `33`: information verification failed.
    VerifyError,
    /// `40`: the card is of a type the reader does not know.
    UnknownCardType,
    /// `41`: reading the card failed.
    ReadFailed,
    /// `47`: getting a random number from the card failed.
    RandomFailed,
    /// `60`: the SAM's self-test failed.
    SamSelfTestFailed,
    /// `66`: the SAM is not authorised.
    SamUnauthorized,
    /// `80`: no card was found.
    FindFailed,
    /// `81`: selecting the card failed.
    SelectFailed,
    /// `91`: there is no content to return.
    NoContent,
    /// A code that is not in the protocol description.
    Unknown(u8),
}

impl Sw3 {
    /// Every named code, for exhaustive tests.
    pub const ALL: [Sw3; 18] = [
        Sw3::Success,
        Sw3::FindSuccess,
        Sw3::ChecksumError,
        Sw3::LengthError,
        Sw3::CommandError,
        Sw3::Unauthorized,
        Sw3::UnknownError,
        Sw3::CardAuthFailed,
        Sw3::SamAuthFailed,
        Sw3::VerifyError,
        Sw3::UnknownCardType,
        Sw3::ReadFailed,
        Sw3::RandomFailed,
        Sw3::SamSelfTestFailed,
        Sw3::SamUnauthorized,
        Sw3::FindFailed,
        Sw3::SelectFailed,
        Sw3::NoContent,
    ];

    /// The status for a byte; bytes outside the protocol description become [`Sw3::Unknown`].
    pub fn from_byte(byte: u8) -> Sw3 {
        Sw3::ALL
            .into_iter()
            .find(|s| s.byte() == byte)
            .unwrap_or(Sw3::Unknown(byte))
    }

    /// The wire byte.
    pub const fn byte(self) -> u8 {
        match self {
            Sw3::Success => 0x90,
            Sw3::FindSuccess => 0x9F,
            Sw3::ChecksumError => 0x10,
            Sw3::LengthError => 0x11,
            Sw3::CommandError => 0x21,
            Sw3::Unauthorized => 0x23,
            Sw3::UnknownError => 0x24,
            Sw3::CardAuthFailed => 0x31,
            Sw3::SamAuthFailed => 0x32,
            Sw3::VerifyError => 0x33,
            Sw3::UnknownCardType => 0x40,
            Sw3::ReadFailed => 0x41,
            Sw3::RandomFailed => 0x47,
            Sw3::SamSelfTestFailed => 0x60,
            Sw3::SamUnauthorized => 0x66,
            Sw3::FindFailed => 0x80,
            Sw3::SelectFailed => 0x81,
            Sw3::NoContent => 0x91,
            Sw3::Unknown(b) => b,
        }
    }

    /// Whether the command did what was asked (`90`, or `9F` for find).
    pub fn is_success(self) -> bool {
        matches!(self.normalized(), Sw3::Success | Sw3::FindSuccess)
    }

    /// The same status with an `Unknown` wrapping a known byte turned into its name.
    fn normalized(self) -> Sw3 {
        Sw3::from_byte(self.byte())
    }
}

impl From<u8> for Sw3 {
    fn from(byte: u8) -> Self {
        Sw3::from_byte(byte)
    }
}

impl fmt::Display for Sw3 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self.normalized() {
            Sw3::Success => "operation succeeded",
            Sw3::FindSuccess => "card found",
            Sw3::ChecksumError => "the reader received a command with a bad checksum",
            Sw3::LengthError => "the reader received a command with a bad length",
            Sw3::CommandError => "the reader did not understand the command",
            Sw3::Unauthorized => "the command is not authorised",
            Sw3::UnknownError => "the reader reported an unspecified error",
            Sw3::CardAuthFailed => "the card failed the reader's authentication",
            Sw3::SamAuthFailed => "the reader failed the card's authentication",
            Sw3::VerifyError => "information verification failed",
            Sw3::UnknownCardType => "the card is of an unknown type",
            Sw3::ReadFailed => "reading the card failed",
            Sw3::RandomFailed => "getting a random number from the card failed",
            Sw3::SamSelfTestFailed => "the reader's security module failed its self-test",
            Sw3::SamUnauthorized => "the reader's security module is not authorised",
            Sw3::FindFailed => "no card found",
            Sw3::SelectFailed => "selecting the card failed",
            Sw3::NoContent => "there is no content to return",
            Sw3::Unknown(_) => return write!(f, "unknown reader status {:#04x}", self.byte()),
        };
        write!(f, "{text} ({:02X})", self.byte())
    }
}

/// Why bytes on the wire were not a valid frame. Carries only framing facts, never payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The checksum byte does not match the XOR of the frame.
    #[error("frame checksum mismatch (computed {computed:#04x}, received {received:#04x})")]
    Checksum {
        /// XOR of the bytes received.
        computed: u8,
        /// The checksum byte received.
        received: u8,
    },
    /// `LEN` is too small to hold the mandatory fields.
    #[error("frame length {0} is too short")]
    TooShort(u16),
    /// `LEN` is beyond [`MAX_LEN`].
    #[error("frame length {0} exceeds the maximum of {MAX_LEN}")]
    TooLong(u16),
    /// A well-formed command frame with a `CMD PARA` pair we do not know.
    #[error("unknown command {cmd:02X} {para:02X}")]
    UnknownCommand {
        /// The `CMD` byte.
        cmd: u8,
        /// The `PARA` byte.
        para: u8,
    },
}

/// A reply from the reader. `data` may hold personal data (the `30 01` reply), so it is wiped
/// on drop and never printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    /// The reader's verdict.
    pub status: Sw3,
    /// Whatever follows `SW3`, checksum excluded.
    pub data: Vec<u8>,
}

impl Response {
    /// A response with the given status and data.
    pub fn new(status: Sw3, data: Vec<u8>) -> Response {
        Response { status, data }
    }

    /// The complete frame for this response (what a reader sends), with `SW1 SW2 = 00 00`.
    pub fn encode(&self) -> Vec<u8> {
        encode_response(self.status, &self.data)
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("data_len", &self.data.len())
            .finish()
    }
}

impl Drop for Response {
    fn drop(&mut self) {
        self.data.zeroize();
    }
}

/// XOR of `bytes`: the frame checksum over `LEN` and the body.
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |acc, b| acc ^ b)
}

/// Builds a frame around `body` (the bytes between `LEN` and `CHK`).
///
/// The body of every frame this crate builds is far below [`MAX_LEN`]; a longer one would not
/// be decodable, so it is a programming error and the length saturates rather than wraps.
fn encode_frame(body: &[u8]) -> Vec<u8> {
    let len = u16::try_from(body.len() + 1).unwrap_or(u16::MAX);
    let mut frame = Vec::with_capacity(HEADER + body.len() + 1);
    frame.extend_from_slice(&PREAMBLE);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(body);
    let chk = checksum(&frame[PREAMBLE.len()..]);
    frame.push(chk);
    frame
}

/// The frame the host sends for `cmd`.
pub fn encode_command(cmd: Command) -> Vec<u8> {
    encode_frame(&cmd.bytes())
}

/// The frame a reader sends back: `SW1 SW2 = 00 00`, then `status`, then `data`.
pub fn encode_response(status: Sw3, data: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(3 + data.len());
    body.extend_from_slice(&[0x00, 0x00, status.byte()]);
    body.extend_from_slice(data);
    let frame = encode_frame(&body);
    body.zeroize();
    frame
}

/// The byte-level part shared by both decoders: find a preamble, wait for `LEN` bytes, check
/// the XOR, hand out the body. On any error it drops one byte and scans again, so a frame that
/// hides behind a corrupt one is still found.
#[derive(Default)]
struct FrameBuffer {
    buf: Vec<u8>,
}

impl FrameBuffer {
    fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        self.drop_garbage();
    }

    /// Drops everything before the first preamble; without one, keeps only a tail that could
    /// still become one.
    fn drop_garbage(&mut self) {
        if let Some(pos) = self.buf.windows(PREAMBLE.len()).position(|w| w == PREAMBLE) {
            self.buf.drain(..pos);
            return;
        }
        let keep = (1..PREAMBLE.len())
            .rev()
            .find(|&n| self.buf.len() >= n && self.buf[self.buf.len() - n..] == PREAMBLE[..n])
            .unwrap_or(0);
        let cut = self.buf.len() - keep;
        self.buf.drain(..cut);
    }

    /// The next frame body (`LEN` excluded, `CHK` excluded), `min_len` being the smallest
    /// legal `LEN` for the direction decoded.
    fn next_body(&mut self, min_len: u16) -> Option<Result<Vec<u8>, FrameError>> {
        self.drop_garbage();
        if self.buf.len() < HEADER {
            return None;
        }
        let len = u16::from_be_bytes([self.buf[5], self.buf[6]]);
        if len < min_len {
            self.resync();
            return Some(Err(FrameError::TooShort(len)));
        }
        if len > MAX_LEN {
            self.resync();
            return Some(Err(FrameError::TooLong(len)));
        }
        let total = HEADER + usize::from(len);
        if self.buf.len() < total {
            return None;
        }
        let computed = checksum(&self.buf[PREAMBLE.len()..total - 1]);
        let received = self.buf[total - 1];
        if computed != received {
            self.resync();
            return Some(Err(FrameError::Checksum { computed, received }));
        }
        let body = self.buf[HEADER..total - 1].to_vec();
        self.buf.drain(..total);
        self.drop_garbage();
        Some(Ok(body))
    }

    /// Gives up on the preamble at the front: drops its first byte so scanning moves on.
    fn resync(&mut self) {
        self.buf.drain(..1);
        self.drop_garbage();
    }

    fn clear(&mut self) {
        self.buf.zeroize();
    }
}

impl Drop for FrameBuffer {
    fn drop(&mut self) {
        // `Vec::zeroize` wipes the spare capacity too, where drained frames left their bytes.
        self.buf.zeroize();
    }
}

/// Decodes reader replies from a byte stream (the host side).
#[derive(Default)]
pub struct FrameDecoder {
    frames: FrameBuffer,
}

impl FrameDecoder {
    /// An empty decoder.
    pub fn new() -> FrameDecoder {
        FrameDecoder::default()
    }

    /// Appends bytes read from the transport, in whatever pieces they came.
    pub fn push(&mut self, bytes: &[u8]) {
        self.frames.push(bytes);
    }

    /// The next complete reply, an error for a corrupt one (after which decoding goes on with
    /// the following bytes), or `None` until more bytes arrive.
    pub fn next_response(&mut self) -> Option<Result<Response, FrameError>> {
        // SW1 SW2 SW3 CHK is the smallest reply.
        let body = match self.frames.next_body(4)? {
            Ok(body) => body,
            Err(e) => return Some(Err(e)),
        };
        let status = Sw3::from_byte(body[2]);
        let data = body[3..].to_vec();
        let mut body = body;
        body.zeroize();
        Some(Ok(Response { status, data }))
    }

    /// Forgets every buffered byte, e.g. before sending a new command so that the tail of a
    /// reply cut short cannot be taken for the start of the next one.
    pub fn clear(&mut self) {
        self.frames.clear();
    }

    /// How many bytes are held; at most [`MAX_BUFFERED`] once `next_response` returned `None`.
    pub fn buffered_len(&self) -> usize {
        self.frames.buf.len()
    }
}

impl fmt::Debug for FrameDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameDecoder")
            .field("buffered_len", &self.buffered_len())
            .finish()
    }
}

/// Decodes host commands from a byte stream (the reader side, used by the simulator).
#[derive(Default)]
pub struct CommandDecoder {
    frames: FrameBuffer,
}

impl CommandDecoder {
    /// An empty decoder.
    pub fn new() -> CommandDecoder {
        CommandDecoder::default()
    }

    /// Appends bytes received from the host.
    pub fn push(&mut self, bytes: &[u8]) {
        self.frames.push(bytes);
    }

    /// The next complete command, an error for a corrupt or unknown one, or `None` until more
    /// bytes arrive. Bytes after `PARA` are ignored: none of the known commands carries data.
    pub fn next_command(&mut self) -> Option<Result<Command, FrameError>> {
        // CMD PARA CHK is the smallest command.
        let body = match self.frames.next_body(3)? {
            Ok(body) => body,
            Err(e) => return Some(Err(e)),
        };
        let (cmd, para) = (body[0], body[1]);
        Some(Command::from_bytes(cmd, para).ok_or(FrameError::UnknownCommand { cmd, para }))
    }

    /// Forgets every buffered byte.
    pub fn clear(&mut self) {
        self.frames.clear();
    }

    /// How many bytes are held; at most [`MAX_BUFFERED`] once `next_command` returned `None`.
    pub fn buffered_len(&self) -> usize {
        self.frames.buf.len()
    }
}

impl fmt::Debug for CommandDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommandDecoder")
            .field("buffered_len", &self.buffered_len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).expect("hex byte"))
            .collect()
    }

    fn drain(dec: &mut FrameDecoder) -> Vec<Result<Response, FrameError>> {
        std::iter::from_fn(|| dec.next_response()).collect()
    }

    #[test]
    fn sam_status_reply_from_public_documentation() {
        // SAM status reply as printed in reader vendors' public protocol notes. LEN = 4
        // (SW1 SW2 SW3 CHK); CHK = 00 ^ 04 ^ 00 ^ 00 ^ 90 = 94.
        let frame = hex("AA AA AA 96 69 00 04 00 00 90 94");
        assert_eq!(checksum(&frame[5..10]), 0x94);
        assert_eq!(frame[10], 0x94);
        let mut dec = FrameDecoder::new();
        dec.push(&frame);
        let resp = dec.next_response().expect("a frame").expect("valid");
        assert_eq!(resp.status, Sw3::Success);
        assert!(resp.data.is_empty());
        assert!(dec.next_response().is_none());
        assert_eq!(encode_response(Sw3::Success, &[]), frame);
    }

    #[test]
    fn command_frames_match_hand_computed_bytes() {
        // LEN = 3 (CMD PARA CHK); CHK = 00 ^ 03 ^ CMD ^ PARA.
        assert_eq!(
            encode_command(Command::SamStatus),
            hex("AA AA AA 96 69 00 03 11 FF ED")
        );
        assert_eq!(
            encode_command(Command::FindCard),
            hex("AA AA AA 96 69 00 03 20 01 22")
        );
        assert_eq!(
            encode_command(Command::SelectCard),
            hex("AA AA AA 96 69 00 03 20 02 21")
        );
        assert_eq!(
            encode_command(Command::ReadText),
            hex("AA AA AA 96 69 00 03 30 01 32")
        );
        // Find reply: 9F and four zero bytes; LEN = 8, CHK = 08 ^ 9F = 97.
        assert_eq!(
            encode_response(Sw3::FindSuccess, &[0; 4]),
            hex("AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97")
        );
    }

    #[test]
    fn every_command_round_trips() {
        let mut dec = CommandDecoder::new();
        for cmd in Command::ALL {
            dec.push(&encode_command(cmd));
        }
        for cmd in Command::ALL {
            assert_eq!(dec.next_command(), Some(Ok(cmd)));
        }
        assert_eq!(dec.next_command(), None);
    }

    #[test]
    fn unknown_command_is_reported_not_guessed() {
        let mut dec = CommandDecoder::new();
        dec.push(&encode_frame(&[0x99, 0x01]));
        assert_eq!(
            dec.next_command(),
            Some(Err(FrameError::UnknownCommand {
                cmd: 0x99,
                para: 0x01
            }))
        );
    }

    #[test]
    fn every_sw3_code_round_trips_and_reads_in_english() {
        for sw3 in Sw3::ALL {
            assert_eq!(Sw3::from_byte(sw3.byte()), sw3);
            let frame = encode_response(sw3, &[1, 2]);
            let mut dec = FrameDecoder::new();
            dec.push(&frame);
            let resp = dec.next_response().expect("frame").expect("valid");
            assert_eq!(resp.status, sw3);
            assert_eq!(resp.data, [1, 2]);
            let text = sw3.to_string();
            assert!(text.is_ascii() && text.len() > 8, "{text}");
        }
        assert_eq!(Sw3::from_byte(0x55), Sw3::Unknown(0x55));
        assert!(Sw3::Success.is_success() && Sw3::FindSuccess.is_success());
        assert!(Sw3::Unknown(0x90).is_success());
        assert!(!Sw3::FindFailed.is_success() && !Sw3::NoContent.is_success());
    }

    #[test]
    fn split_frames_garbage_and_several_frames_per_push() {
        let a = encode_response(Sw3::FindSuccess, &[0; 4]);
        let b = encode_response(Sw3::Success, &[7; 300]);
        let mut stream = vec![0x00, 0xAA, 0xAA, 0x13, 0x96, 0x69, 0xAA];
        stream.extend_from_slice(&a);
        stream.extend_from_slice(&[0xAA, 0xAA, 0xAA, 0x96]);
        stream.extend_from_slice(&b);
        stream.extend_from_slice(&a);
        // One byte at a time.
        let mut dec = FrameDecoder::new();
        let mut got = Vec::new();
        for byte in &stream {
            dec.push(std::slice::from_ref(byte));
            got.extend(drain(&mut dec));
        }
        let statuses: Vec<_> = got
            .iter()
            .map(|r| r.as_ref().expect("valid").status)
            .collect();
        assert_eq!(statuses, [Sw3::FindSuccess, Sw3::Success, Sw3::FindSuccess]);
        // All at once.
        let mut dec = FrameDecoder::new();
        dec.push(&stream);
        assert_eq!(drain(&mut dec).len(), 3);
        assert_eq!(dec.buffered_len(), 0);
    }

    #[test]
    fn bad_checksum_is_reported_and_the_next_frame_still_decodes() {
        let mut bad = encode_response(Sw3::Success, &[1, 2, 3]);
        let last = bad.len() - 1;
        bad[last] ^= 0xFF;
        let good = encode_response(Sw3::FindFailed, &[]);
        let mut dec = FrameDecoder::new();
        dec.push(&bad);
        dec.push(&good);
        assert!(matches!(
            dec.next_response(),
            Some(Err(FrameError::Checksum { .. }))
        ));
        assert_eq!(
            dec.next_response().expect("frame").expect("valid").status,
            Sw3::FindFailed
        );
    }

    #[test]
    fn truncated_frame_followed_by_a_complete_one_resyncs() {
        let long = encode_response(Sw3::Success, &[0x11; 1295]);
        let good = encode_response(Sw3::FindFailed, &[]);
        let mut dec = FrameDecoder::new();
        dec.push(&long[..600]);
        dec.push(&good);
        assert!(dec.next_response().is_none(), "still waiting for LEN bytes");
        // The rest of the line noise arrives; the cut frame fails its checksum and the good
        // one hidden inside it is found.
        dec.push(&[0u8; 800]);
        let results = drain(&mut dec);
        assert!(matches!(results[0], Err(FrameError::Checksum { .. })));
        assert!(
            results
                .iter()
                .any(|r| r.as_ref().is_ok_and(|resp| resp.status == Sw3::FindFailed))
        );
    }

    #[test]
    fn absurd_lengths_are_rejected_without_waiting() {
        let mut dec = FrameDecoder::new();
        dec.push(&[0xAA, 0xAA, 0xAA, 0x96, 0x69, 0xFF, 0xFF]);
        assert_eq!(dec.next_response(), Some(Err(FrameError::TooLong(0xFFFF))));
        dec.push(&[0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x02, 0x00, 0x00]);
        assert_eq!(dec.next_response(), Some(Err(FrameError::TooShort(2))));
        assert_eq!(dec.next_response(), None);
    }

    #[test]
    fn debug_never_shows_payload() {
        let resp = Response::new(Sw3::Success, b"secret".to_vec());
        let text = format!("{resp:?}");
        assert!(!text.contains("115") && !text.contains("secret"), "{text}");
        assert!(text.contains("data_len: 6"));
    }

    fn mutate(frame: &[u8], edits: &[(usize, u8)]) -> Vec<u8> {
        let mut out = frame.to_vec();
        for &(pos, byte) in edits {
            if !out.is_empty() {
                let i = pos % out.len();
                out[i] = byte;
            }
        }
        out
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic_and_stay_bounded(
            chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..600), 0..20)
        ) {
            let mut dec = FrameDecoder::new();
            let mut cmds = CommandDecoder::new();
            for chunk in &chunks {
                dec.push(chunk);
                cmds.push(chunk);
                while dec.next_response().is_some() {}
                while cmds.next_command().is_some() {}
                prop_assert!(dec.buffered_len() <= MAX_BUFFERED);
                prop_assert!(cmds.buffered_len() <= MAX_BUFFERED);
            }
        }

        #[test]
        fn preamble_heavy_noise_never_panics(
            pieces in proptest::collection::vec(
                prop_oneof![
                    Just(PREAMBLE.to_vec()),
                    Just(vec![0xAA]),
                    Just(vec![0x00, 0x04]),
                    Just(vec![0x10, 0x00]),
                    proptest::collection::vec(any::<u8>(), 0..8),
                ],
                0..400,
            )
        ) {
            let mut dec = FrameDecoder::new();
            for piece in &pieces {
                dec.push(piece);
                while dec.next_response().is_some() {}
                prop_assert!(dec.buffered_len() <= MAX_BUFFERED);
            }
        }

        #[test]
        fn mutated_frames_never_panic_and_good_frames_survive(
            data in proptest::collection::vec(any::<u8>(), 0..1400),
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
            split in any::<usize>(),
        ) {
            let frame = encode_response(Sw3::Success, &data);
            let broken = mutate(&frame, &edits);
            let good = encode_response(Sw3::FindSuccess, &[0; 4]);
            let mut stream = broken.clone();
            stream.extend_from_slice(&good);
            let cut = split % (stream.len() + 1);
            let mut dec = FrameDecoder::new();
            let mut got = Vec::new();
            dec.push(&stream[..cut]);
            got.extend(drain(&mut dec));
            dec.push(&stream[cut..]);
            got.extend(drain(&mut dec));
            // Padding flushes a frame whose corrupted LEN claims more bytes than were sent.
            dec.push(&vec![0u8; MAX_BUFFERED]);
            got.extend(drain(&mut dec));
            prop_assert!(dec.buffered_len() <= MAX_BUFFERED);
            if broken == frame {
                prop_assert_eq!(got.len(), 2);
            }
            // While the corrupt frame's LEN is intact it cannot swallow the good frame, which
            // is then always recovered. (A corrupted LEN may legitimately claim the good frame's
            // bytes when the XOR happens to match: one chance in 256.)
            if broken[5..7] == frame[5..7] {
                prop_assert!(got.iter().any(|r| r.as_ref().is_ok_and(|resp| resp.status == Sw3::FindSuccess)));
            }
        }
    }
}
