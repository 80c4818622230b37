//! Keyboard-wedge scanners: the scanner poses as a USB keyboard and types each code, then
//! Enter.
//!
//! Read through X or the console, the keystrokes would land in whatever has focus, so the
//! kiosk reads the scanner's own evdev node (`/dev/input/by-id/…-event-kbd`) and grabs it
//! exclusively (`EVIOCGRAB`): while grabbed, its keystrokes reach nobody else. The scanner
//! assumes a US keyboard layout, which the [`WedgeDecoder`] reverses (letters, digits and
//! punctuation, with Shift and Caps Lock); it cannot carry Chinese, and a key that no code can
//! contain (function keys, anything with Ctrl or Alt held, as Windows Alt-code input would)
//! spoils the line with [`LineError::UnmappedKey`]. The typed text then goes through the same
//! validation as serial lines ([`decode_payload`]).
//!
//! [`WedgeDecoder`] is sans-IO (input events in, lines out). [`EvdevScanner`] is the transport:
//! it reads `struct input_event` records from the device and feeds them in. Its exclusive grab
//! is implemented with the `EVIOCGRAB` ioctl but has only been exercised here against files
//! that are not input devices (which it must refuse); it has not run against a real scanner.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use zeroize::Zeroize;

use super::codec::{IdleGap, LineConfig, LineError, decode_payload};
use super::reader::{ScanSource, SourceError};

/// `EV_SYN`: end of a batch of events.
pub const EV_SYN: u16 = 0x00;
/// `EV_KEY`: a key changed state.
pub const EV_KEY: u16 = 0x01;
/// `EV_MSC`: miscellaneous (keyboards report scan codes with it).
pub const EV_MSC: u16 = 0x04;
/// `SYN_DROPPED`: the kernel's event buffer overflowed and events were lost.
pub const SYN_DROPPED: u16 = 3;

/// Key codes from `linux/input-event-codes.h` that the decoder gives a meaning beyond a
/// character.
pub mod keys {
    pub const KEY_ENTER: u16 = 28;
    pub const KEY_LEFTCTRL: u16 = 29;
    pub const KEY_LEFTSHIFT: u16 = 42;
    pub const KEY_RIGHTSHIFT: u16 = 54;
    pub const KEY_LEFTALT: u16 = 56;
    pub const KEY_CAPSLOCK: u16 = 58;
    pub const KEY_NUMLOCK: u16 = 69;
    pub const KEY_KPENTER: u16 = 96;
    pub const KEY_RIGHTCTRL: u16 = 97;
    pub const KEY_RIGHTALT: u16 = 100;
}

use keys::*;

/// A key event's value: released, pressed, or repeated by auto-repeat.
const RELEASED: i32 = 0;
const PRESSED: i32 = 1;

/// One `struct input_event`, without its timestamp (which the decoder does not need).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputEvent {
    pub kind: u16,
    pub code: u16,
    pub value: i32,
}

impl InputEvent {
    /// The size of `struct input_event` on this platform: a `struct timeval` (or its 64-bit
    /// replacement on 32-bit targets) followed by type, code and value. 24 bytes on amd64 and
    /// arm64.
    pub const SIZE: usize = std::mem::size_of::<nix::libc::input_event>();

    pub const fn key(code: u16, value: i32) -> InputEvent {
        InputEvent {
            kind: EV_KEY,
            code,
            value,
        }
    }

    pub const fn syn() -> InputEvent {
        InputEvent {
            kind: EV_SYN,
            code: 0,
            value: 0,
        }
    }

    /// Reads one record. Type, code and value are the last 8 bytes whatever the size of the
    /// timestamp before them, which keeps this independent of the time layout.
    pub fn from_bytes(record: &[u8]) -> Option<InputEvent> {
        if record.len() != Self::SIZE {
            return None;
        }
        let tail = &record[Self::SIZE - 8..];
        Some(InputEvent {
            kind: u16::from_ne_bytes([tail[0], tail[1]]),
            code: u16::from_ne_bytes([tail[2], tail[3]]),
            value: i32::from_ne_bytes([tail[4], tail[5], tail[6], tail[7]]),
        })
    }

    /// Writes one record with a zero timestamp, as the kernel would lay it out; for tests and
    /// replaying captured scans.
    pub fn to_bytes(self) -> Vec<u8> {
        let mut record = vec![0u8; Self::SIZE];
        let tail = &mut record[Self::SIZE - 8..];
        tail[..2].copy_from_slice(&self.kind.to_ne_bytes());
        tail[2..4].copy_from_slice(&self.code.to_ne_bytes());
        tail[4..].copy_from_slice(&self.value.to_ne_bytes());
        record
    }
}

/// The US layout: key code → (unshifted, shifted) character. Keypad keys type the same with
/// or without Shift (scanners use them for digits with Num Lock on).
fn us_layout(code: u16) -> Option<(char, char)> {
    const DIGITS: &[(char, char)] = &[
        ('1', '!'),
        ('2', '@'),
        ('3', '#'),
        ('4', '$'),
        ('5', '%'),
        ('6', '^'),
        ('7', '&'),
        ('8', '*'),
        ('9', '('),
        ('0', ')'),
        ('-', '_'),
        ('=', '+'),
    ];
    let letter = |c: char| Some((c, c.to_ascii_uppercase()));
    match code {
        2..=13 => DIGITS.get(usize::from(code - 2)).copied(),
        16..=25 => letter(b"qwertyuiop"[usize::from(code - 16)] as char),
        26 => Some(('[', '{')),
        27 => Some((']', '}')),
        30..=38 => letter(b"asdfghjkl"[usize::from(code - 30)] as char),
        39 => Some((';', ':')),
        40 => Some(('\'', '"')),
        41 => Some(('`', '~')),
        43 => Some(('\\', '|')),
        44..=50 => letter(b"zxcvbnm"[usize::from(code - 44)] as char),
        51 => Some((',', '<')),
        52 => Some(('.', '>')),
        53 => Some(('/', '?')),
        55 => Some(('*', '*')),
        57 => Some((' ', ' ')),
        71..=73 => digit_key(b'7' + (code - 71) as u8),
        74 => Some(('-', '-')),
        75..=77 => digit_key(b'4' + (code - 75) as u8),
        78 => Some(('+', '+')),
        79..=81 => digit_key(b'1' + (code - 79) as u8),
        82 => digit_key(b'0'),
        83 => Some(('.', '.')),
        98 => Some(('/', '/')),
        _ => None,
    }
}

fn digit_key(byte: u8) -> Option<(char, char)> {
    Some((byte as char, byte as char))
}

/// The characters a US keyboard types, as key presses: for tests and for replaying a code to
/// a wedge consumer. `None` if `text` holds a character the layout cannot type.
pub fn keystrokes(text: &str) -> Option<Vec<InputEvent>> {
    let mut events = Vec::new();
    for c in text.chars() {
        let (code, shifted) = (2..=57u16).find_map(|code| {
            let (plain, shift) = us_layout(code)?;
            if plain == c {
                Some((code, false))
            } else if shift == c {
                Some((code, true))
            } else {
                None
            }
        })?;
        if shifted {
            events.push(InputEvent::key(KEY_LEFTSHIFT, PRESSED));
        }
        events.push(InputEvent::key(code, PRESSED));
        events.push(InputEvent::key(code, RELEASED));
        if shifted {
            events.push(InputEvent::key(KEY_LEFTSHIFT, RELEASED));
        }
        events.push(InputEvent::syn());
    }
    events.push(InputEvent::key(KEY_ENTER, PRESSED));
    events.push(InputEvent::key(KEY_ENTER, RELEASED));
    events.push(InputEvent::syn());
    Some(events)
}

/// Turns key events into scanned lines (sans-IO).
pub struct WedgeDecoder {
    max_len: usize,
    typed: String,
    /// Why the line being typed is already spoiled; reported at its Enter.
    spoiled: Option<LineError>,
    left_shift: bool,
    right_shift: bool,
    ctrl: u8,
    alt: u8,
    caps_lock: bool,
}

impl WedgeDecoder {
    /// Only `config.max_len` applies: in wedge mode the line always ends with Enter.
    pub fn new(config: LineConfig) -> WedgeDecoder {
        WedgeDecoder {
            max_len: config.max_len,
            typed: String::new(),
            spoiled: None,
            left_shift: false,
            right_shift: false,
            ctrl: 0,
            alt: 0,
            caps_lock: false,
        }
    }

    /// Feeds one event; returns a line when it was an Enter press.
    pub fn push(&mut self, event: InputEvent) -> Option<Result<String, LineError>> {
        if event.kind == EV_SYN && event.code == SYN_DROPPED {
            // Keystrokes were lost: the line being typed is incomplete, and a modifier
            // release may be among the lost events.
            let len = self.typed.len();
            self.spoil(LineError::Interrupted { len });
            self.left_shift = false;
            self.right_shift = false;
            self.ctrl = 0;
            self.alt = 0;
            return None;
        }
        if event.kind != EV_KEY {
            return None;
        }
        let down = event.value != RELEASED;
        match event.code {
            KEY_LEFTSHIFT => self.left_shift = down,
            KEY_RIGHTSHIFT => self.right_shift = down,
            KEY_LEFTCTRL | KEY_RIGHTCTRL => self.ctrl = modifier(self.ctrl, event.code, down),
            KEY_LEFTALT | KEY_RIGHTALT => self.alt = modifier(self.alt, event.code, down),
            KEY_CAPSLOCK if event.value == PRESSED => self.caps_lock = !self.caps_lock,
            KEY_CAPSLOCK | KEY_NUMLOCK => {}
            _ if event.value != PRESSED => {}
            KEY_ENTER | KEY_KPENTER if self.ctrl == 0 && self.alt == 0 => {
                return self.end_line();
            }
            code => self.type_key(code),
        }
        None
    }

    /// Feeds raw `input_event` records (whole records only; see [`InputEvent::SIZE`]).
    pub fn push_records(&mut self, records: &[u8]) -> Vec<Result<String, LineError>> {
        records
            .chunks_exact(InputEvent::SIZE)
            .filter_map(InputEvent::from_bytes)
            .filter_map(|event| self.push(event))
            .collect()
    }

    /// Whether part of a line has been typed.
    pub fn has_partial(&self) -> bool {
        !self.typed.is_empty() || self.spoiled.is_some()
    }

    /// Drops the partial line because the scanner went quiet mid-line (see
    /// [`super::LineDecoder::interrupt`]). Modifier state is kept: it tracks real keys.
    pub fn interrupt(&mut self) -> Option<LineError> {
        let len = self.typed.len();
        let meaningful = self.has_partial();
        self.typed.zeroize();
        self.spoiled = None;
        meaningful.then_some(LineError::Interrupted { len })
    }

    /// Forgets everything, modifier state included, e.g. after the device was reopened.
    pub fn clear(&mut self) {
        let config = LineConfig {
            max_len: self.max_len,
            ..LineConfig::default()
        };
        self.typed.zeroize();
        *self = WedgeDecoder::new(config);
    }

    fn type_key(&mut self, code: u16) {
        if self.spoiled.is_some() {
            return;
        }
        let Some((plain, shift)) = us_layout(code).filter(|_| self.ctrl == 0 && self.alt == 0)
        else {
            self.spoil(LineError::UnmappedKey { code });
            return;
        };
        let shifted = self.left_shift || self.right_shift;
        let c = if plain.is_ascii_alphabetic() {
            if shifted != self.caps_lock {
                shift
            } else {
                plain
            }
        } else if shifted {
            shift
        } else {
            plain
        };
        if self.typed.len() + c.len_utf8() > self.max_len {
            self.spoil(LineError::TooLong {
                limit: self.max_len,
            });
            return;
        }
        self.typed.push(c);
    }

    fn spoil(&mut self, error: LineError) {
        self.typed.zeroize();
        self.spoiled = Some(error);
    }

    fn end_line(&mut self) -> Option<Result<String, LineError>> {
        if let Some(error) = self.spoiled.take() {
            return Some(Err(error));
        }
        let result = decode_payload(self.typed.as_bytes(), self.max_len).transpose();
        self.typed.zeroize();
        result
    }
}

/// Tracks left and right instances of a modifier as two bits.
fn modifier(state: u8, code: u16, down: bool) -> u8 {
    let bit = if matches!(code, KEY_LEFTCTRL | KEY_LEFTALT) {
        1
    } else {
        2
    };
    if down { state | bit } else { state & !bit }
}

impl fmt::Debug for WedgeDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WedgeDecoder")
            .field("max_len", &self.max_len)
            .field("typed", &self.typed.len())
            .field("spoiled", &self.spoiled)
            .finish_non_exhaustive()
    }
}

impl Drop for WedgeDecoder {
    fn drop(&mut self) {
        self.typed.zeroize();
    }
}

nix::ioctl_write_int!(eviocgrab, b'E', 0x90);

/// A keyboard-wedge scanner read from its evdev node, grabbed exclusively.
#[derive(Debug)]
pub struct EvdevScanner {
    /// `None` for a stream that cannot be reopened (see [`EvdevScanner::from_stream`]).
    path: Option<PathBuf>,
    file: Option<File>,
    decoder: WedgeDecoder,
    /// Bytes of an incomplete record (a device returns whole records, a pipe may not).
    pending: Vec<u8>,
    idle: IdleGap,
}

impl EvdevScanner {
    /// See [`super::SerialScanner::DEFAULT_IDLE_GAP`]; wedge scanners type a character every
    /// few milliseconds.
    pub const DEFAULT_IDLE_GAP: Duration = Duration::from_millis(250);

    /// Opens the event device at `path` and grabs it exclusively.
    pub fn open(path: impl AsRef<Path>, config: LineConfig) -> Result<EvdevScanner, SourceError> {
        let mut scanner = EvdevScanner::unopened(path, config);
        scanner.reopen()?;
        Ok(scanner)
    }

    /// A scanner at `path` that the reader loop opens when it appears.
    pub fn unopened(path: impl AsRef<Path>, config: LineConfig) -> EvdevScanner {
        EvdevScanner {
            path: Some(path.as_ref().to_path_buf()),
            file: None,
            decoder: WedgeDecoder::new(config),
            pending: Vec::new(),
            idle: IdleGap::new(Self::DEFAULT_IDLE_GAP),
        }
    }

    /// Reads `input_event` records from an already open stream (a pipe, a capture file)
    /// without grabbing it: for tests and for replaying captured scans. End of stream reads
    /// as a disconnection, and the source cannot be reopened.
    pub fn from_stream(file: File, config: LineConfig) -> EvdevScanner {
        EvdevScanner {
            path: None,
            file: Some(file),
            decoder: WedgeDecoder::new(config),
            pending: Vec::new(),
            idle: IdleGap::new(Self::DEFAULT_IDLE_GAP),
        }
    }

    pub fn with_idle_gap(mut self, idle_gap: Duration) -> EvdevScanner {
        self.idle = IdleGap::new(idle_gap);
        self
    }

    fn describe(&self) -> String {
        self.path.as_ref().map_or_else(
            || "the event stream".to_owned(),
            |p| p.display().to_string(),
        )
    }

    fn close(&mut self) {
        // Closing the descriptor releases the grab.
        self.file = None;
        self.pending.clear();
        self.decoder.clear();
        self.idle.clear();
    }

    fn disconnected(&mut self, why: impl fmt::Display) -> SourceError {
        let error = SourceError::Disconnected(format!("{}: {why}", self.describe()));
        self.close();
        error
    }
}

/// Opens an event device and grabs it. `ENOTTY`/`EINVAL` from the grab mean the file is not
/// an input device; `EBUSY` that somebody else holds the grab.
fn open_grabbed(path: &Path) -> Result<File, SourceError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_CLOEXEC)
        .open(path)
        .map_err(|source| SourceError::Open {
            path: path.display().to_string(),
            source,
        })?;
    // SAFETY: EVIOCGRAB takes its argument by value (1 = grab); the descriptor is open and
    // owned by `file` for the duration of the call.
    let grabbed = unsafe { eviocgrab(std::os::fd::AsRawFd::as_raw_fd(&file), 1) };
    match grabbed {
        Ok(_) => Ok(file),
        Err(nix::errno::Errno::EBUSY) => {
            Err(SourceError::AlreadyGrabbed(path.display().to_string()))
        }
        Err(nix::errno::Errno::ENOTTY | nix::errno::Errno::EINVAL) => {
            Err(SourceError::NotAnInputDevice(path.display().to_string()))
        }
        Err(e) => Err(SourceError::Open {
            path: path.display().to_string(),
            source: io::Error::from(e),
        }),
    }
}

impl ScanSource for EvdevScanner {
    fn poll_lines(
        &mut self,
        timeout: Duration,
    ) -> Result<Vec<Result<String, LineError>>, SourceError> {
        let now = Instant::now();
        let mut lines = Vec::new();
        if self.idle.expired(now) {
            lines.extend(self.decoder.interrupt().map(Err));
        }
        let wait = self.idle.wait(now, timeout);
        let Some(file) = self.file.as_ref() else {
            return Err(SourceError::Disconnected(format!(
                "{} is not open",
                self.describe()
            )));
        };
        let mut fds = [PollFd::new(file.as_fd(), PollFlags::POLLIN)];
        let ready = match poll(
            &mut fds,
            PollTimeout::try_from(wait).unwrap_or(PollTimeout::MAX),
        ) {
            Ok(n) => n > 0,
            Err(nix::errno::Errno::EINTR) => false,
            Err(e) => return Err(self.disconnected(e)),
        };
        if !ready {
            return Ok(lines);
        }
        let mut buf = vec![0u8; InputEvent::SIZE * 64];
        let mut reader = file;
        match reader.read(&mut buf) {
            // A device that is removed reads ENODEV; a pipe or file ends with 0.
            Ok(0) => return Err(self.disconnected("end of the event stream")),
            Ok(n) => {
                self.pending.extend_from_slice(&buf[..n]);
                buf.zeroize();
                let whole = self.pending.len() / InputEvent::SIZE * InputEvent::SIZE;
                lines.extend(self.decoder.push_records(&self.pending[..whole]));
                self.pending.drain(..whole);
                self.idle.heard(Instant::now(), self.decoder.has_partial());
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(self.disconnected(e)),
        }
        Ok(lines)
    }

    fn reopen(&mut self) -> Result<(), SourceError> {
        let path = self.path.clone().ok_or(SourceError::NotReopenable)?;
        self.close();
        self.file = Some(open_grabbed(&path)?);
        Ok(())
    }

    fn is_open(&self) -> bool {
        self.file.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoder() -> WedgeDecoder {
        WedgeDecoder::new(LineConfig::default())
    }

    fn typed(d: &mut WedgeDecoder, events: &[InputEvent]) -> Vec<Result<String, LineError>> {
        events.iter().filter_map(|e| d.push(*e)).collect()
    }

    #[test]
    fn record_layout_round_trips() {
        assert_eq!(InputEvent::SIZE, 24, "amd64 and arm64 layout");
        let event = InputEvent::key(KEY_ENTER, PRESSED);
        assert_eq!(InputEvent::from_bytes(&event.to_bytes()), Some(event));
        assert_eq!(InputEvent::from_bytes(&[0; 7]), None);
    }

    #[test]
    fn every_printable_ascii_character_round_trips() {
        let all: String = (0x20u8..0x7f).map(char::from).collect();
        let events = keystrokes(&all).expect("US layout types all printable ASCII");
        assert_eq!(typed(&mut decoder(), &events), vec![Ok(all)]);
    }

    #[test]
    fn scans_split_at_enter_and_keypad_digits_work() {
        let mut events = keystrokes("https://zwfw.lyg.gov.cn/q?a=1&b=_X").expect("typable");
        events.extend(keystrokes("PD-HZ01-A023").expect("typable"));
        let mut d = decoder();
        assert_eq!(
            typed(&mut d, &events),
            vec![
                Ok("https://zwfw.lyg.gov.cn/q?a=1&b=_X".to_owned()),
                Ok("PD-HZ01-A023".to_owned())
            ]
        );
        // Keypad digits and keypad Enter, as some scanners send them.
        let keypad: Vec<InputEvent> = [79u16, 80, 81, 82, KEY_KPENTER]
            .into_iter()
            .flat_map(|code| [InputEvent::key(code, PRESSED), InputEvent::key(code, 0)])
            .collect();
        assert_eq!(typed(&mut d, &keypad), vec![Ok("1230".to_owned())]);
    }

    #[test]
    fn caps_lock_and_right_shift() {
        let mut d = decoder();
        let events = [
            InputEvent::key(KEY_CAPSLOCK, PRESSED),
            InputEvent::key(KEY_CAPSLOCK, RELEASED),
            InputEvent::key(30, PRESSED), // a → A with caps lock
            InputEvent::key(30, RELEASED),
            InputEvent::key(KEY_RIGHTSHIFT, PRESSED),
            InputEvent::key(30, PRESSED), // shift + caps → a
            InputEvent::key(2, PRESSED),  // shift + 1 → ! (caps does not apply)
            InputEvent::key(KEY_RIGHTSHIFT, RELEASED),
            InputEvent::key(2, PRESSED),
            InputEvent::key(30, 2), // auto-repeat is not a second press
            InputEvent::key(KEY_ENTER, PRESSED),
        ];
        assert_eq!(typed(&mut d, &events), vec![Ok("Aa!1".to_owned())]);
    }

    #[test]
    fn ctrl_alt_and_function_keys_spoil_the_line_only() {
        let mut d = decoder();
        let mut events = vec![
            InputEvent::key(KEY_LEFTALT, PRESSED),
            InputEvent::key(79, PRESSED), // Alt + keypad 1: Windows Alt-code input
            InputEvent::key(KEY_LEFTALT, RELEASED),
            InputEvent::key(KEY_ENTER, PRESSED),
        ];
        events.extend([
            InputEvent::key(KEY_LEFTCTRL, PRESSED),
            InputEvent::key(36, PRESSED), // Ctrl+J
            InputEvent::key(KEY_LEFTCTRL, RELEASED),
            InputEvent::key(KEY_ENTER, PRESSED),
        ]);
        events.extend([InputEvent::key(59, PRESSED)]); // F1
        events.extend(keystrokes("OK").expect("typable"));
        events.extend(keystrokes("YY20240601").expect("typable"));
        assert_eq!(
            typed(&mut d, &events),
            vec![
                Err(LineError::UnmappedKey { code: 79 }),
                Err(LineError::UnmappedKey { code: 36 }),
                Err(LineError::UnmappedKey { code: 59 }),
                Ok("YY20240601".to_owned()),
            ]
        );
    }

    #[test]
    fn over_long_typing_is_bounded() {
        let mut d = WedgeDecoder::new(LineConfig {
            max_len: 8,
            ..LineConfig::default()
        });
        let mut events = keystrokes(&"7".repeat(5000)).expect("typable");
        events.extend(keystrokes("12345678").expect("typable"));
        assert_eq!(
            typed(&mut d, &events),
            vec![
                Err(LineError::TooLong { limit: 8 }),
                Ok("12345678".to_owned())
            ]
        );
        assert!(d.typed.capacity() < 64);
    }

    #[test]
    fn dropped_events_spoil_the_line_and_release_modifiers() {
        let mut d = decoder();
        let events = keystrokes("YY2024").expect("typable");
        let mut stream = events[..events.len() - 3].to_vec();
        // Shift goes down, then its release is among the lost events.
        stream.push(InputEvent::key(KEY_LEFTSHIFT, PRESSED));
        stream.push(InputEvent {
            kind: EV_SYN,
            code: SYN_DROPPED,
            value: 0,
        });
        stream.extend(keystrokes("0601").expect("typable"));
        stream.extend(keystrokes("ab").expect("typable"));
        assert_eq!(
            typed(&mut d, &stream),
            vec![Err(LineError::Interrupted { len: 6 }), Ok("ab".to_owned()),],
            "shift was released by the resync, so letters are lower case"
        );
    }

    #[test]
    fn lone_enter_and_interrupt() {
        let mut d = decoder();
        assert!(typed(&mut d, &[InputEvent::key(KEY_ENTER, PRESSED)]).is_empty());
        let events = keystrokes("ABC").expect("typable");
        // Everything but the Enter press and release and the final sync.
        assert!(typed(&mut d, &events[..events.len() - 3]).is_empty());
        assert_eq!(d.interrupt(), Some(LineError::Interrupted { len: 3 }));
        assert_eq!(d.interrupt(), None);
    }

    #[test]
    fn grabbing_something_that_is_not_an_input_device_is_refused() {
        let dir = std::env::temp_dir().join(format!("kiosk-wedge-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("not-an-event-device");
        std::fs::write(&file, b"").expect("file");
        match EvdevScanner::open(&file, LineConfig::default()) {
            Err(SourceError::NotAnInputDevice(p)) => assert!(p.contains("not-an-event-device")),
            other => panic!("expected NotAnInputDevice, got {other:?}"),
        }
        match EvdevScanner::open(dir.join("absent"), LineConfig::default()) {
            Err(SourceError::Open { source, .. }) => {
                assert_eq!(source.kind(), io::ErrorKind::NotFound);
            }
            other => panic!("expected Open, got {other:?}"),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
