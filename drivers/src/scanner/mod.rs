//! QR/barcode scanners: serial (USB CDC) line mode and evdev keyboard-wedge mode.
//!
//! Everything a scanner sends is untrusted input: a QR code is whatever somebody printed. The
//! pieces, from the wire up:
//!
//! - [`codec`]: the sans-IO line codec. Bytes in, bounded and validated payload text out;
//!   over-long lines and control bytes are refused with a typed [`LineError`], and the codec
//!   resynchronises at the next line suffix. [`IdleGap`] is the quiet time both transports
//!   allow in the middle of a line before they drop it.
//! - [`wedge`]: the keyboard-wedge codec. Linux `input_event` records in, the same kind of
//!   lines out (US keymap, shift, Enter ends a scan), plus the evdev transport with an exclusive
//!   grab so the scanner's keystrokes never reach the UI as typing.
//! - [`serial`]: the serial transport (`serialport`), reopenable after an unplug.
//! - [`reader`]: the reader loop shared by both transports: debounce, classify, reconnect,
//!   and events on a channel.
//! - [`debounce`]: the same payload within a window counts once.
//! - [`classify`](mod@classify): which of our platform's formats a payload is ([`ScanKind`]). Payloads are
//!   only ever classified, never acted on: a URL is not followed, nothing is executed.
//! - [`sim`]: the simulated serial scanner that `kiosk-sim scanner` serves on a pty.

pub mod classify;
pub mod codec;
pub mod debounce;
pub mod reader;
pub mod serial;
pub mod sim;
pub mod wedge;

pub use classify::{Scan, ScanKind, classify};
pub use codec::{IdleGap, LineConfig, LineDecoder, LineError, MAX_PAYLOAD_LEN, Suffix};
pub use debounce::Debouncer;
pub use reader::{
    ReaderOptions, ReopenNudge, ScanSource, ScannerEvent, ScannerReader, SourceError,
};
pub use serial::SerialScanner;
pub use wedge::{EvdevScanner, WedgeDecoder};
