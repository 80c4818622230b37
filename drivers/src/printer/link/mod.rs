//! The byte pipes to a printer, and the address that names one in the configuration.

mod address;
mod serial;
mod tcp;
mod usb;
mod usblp;

use std::io;
use std::time::Duration;

pub use address::PrinterAddress;
pub use serial::SerialLink;
pub use tcp::TcpLink;
pub use usb::{BadUsbId, UsbId, UsbLink};
pub use usblp::UsbLpLink;

/// A byte pipe to a printer: serial port or pty ([`SerialLink`]), the kernel's USB printer
/// node ([`UsbLpLink`]), raw USB ([`UsbLink`]) or TCP port 9100 ([`TcpLink`]).
///
/// Links stay dumb on purpose; everything ESC/POS-specific lives in [`Printer`], so a new
/// transport is a few dozen lines.
pub trait PrinterLink: Send {
    /// Sends all of `bytes`.
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()>;

    /// Reads what is available, waiting at most `timeout` for the first byte. Returns at least
    /// one byte, or an error of kind [`io::ErrorKind::TimedOut`] when nothing arrived.
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize>;

    /// Throws away bytes received but not yet read (late replies, automatic status pushes), so
    /// the next reply read is the answer to the next question.
    fn discard_input(&mut self) -> io::Result<()>;

    /// Closes and reopens the underlying device, e.g. after the printer was power-cycled and
    /// its device node came back. Links that cannot do that keep the default, which refuses.
    fn reopen(&mut self) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this printer link cannot be reopened",
        ))
    }
}
