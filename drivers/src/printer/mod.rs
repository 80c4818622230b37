//! The receipt printer driver: a [`Printer`] speaking ESC/POS over any [`PrinterLink`].
//!
//! The driver's job is to never surprise the kiosk. Before a receipt goes out it asks the
//! printer, in real time, whether it can print; it refuses to send into an empty or open
//! printer (the receipt would be lost while the citizen waits), tells "no answer" apart from
//! "answered: out of paper", and survives the printer being power-cycled or replugged by
//! reopening its link.
//!
//! Everything the printer needs lives here:
//! - [`document`]: a receipt as content, laid out for either print route;
//! - [`escpos`]: the sans-IO ESC/POS encoder, decoder and status bytes;
//! - [`raster`]: dot images, the CJK bitmap font and the paper the raster route draws on;
//! - the links (serial or pty, USB printer class, raw USB, TCP) behind [`PrinterLink`];
//! - [`sim`]: the virtual printer that the tests and `kiosk-sim printer` run against.

pub mod document;
pub mod escpos;
mod link;
pub mod raster;
pub mod sim;
mod sim_host;

use std::io;
use std::time::{Duration, Instant};

use thiserror::Error;

use document::{DocumentError, PrintRoute, ReceiptDocument};
use escpos::encode::{EscPos, PaperWidth};
use escpos::status::{PrinterState, PrinterStatus, StatusRequest, is_status_byte};

pub use link::{
    BadUsbId, PrinterAddress, PrinterLink, SerialLink, TcpLink, UsbId, UsbLink, UsbLpLink,
};

/// Why printing or a status check failed, in words a technician understands.
#[derive(Debug, Error)]
pub enum PrintError {
    #[error("communication with the printer failed: {0}")]
    Io(#[source] io::Error),
    #[error("the printer did not answer; it may be switched off or its cable unplugged")]
    Timeout,
    #[error("the printer cannot print now: {0}")]
    NotReady(PrinterState),
    #[error("the receipt cannot be printed: {0}")]
    Document(#[from] DocumentError),
    #[error("the printer is disconnected")]
    Disconnected,
}

impl PrintError {
    /// Sorts an I/O error from a link into what it means for the kiosk.
    fn from_io(error: io::Error) -> PrintError {
        use io::ErrorKind as K;
        match error.kind() {
            K::TimedOut | K::WouldBlock => PrintError::Timeout,
            K::BrokenPipe
            | K::NotConnected
            | K::NotFound
            | K::ConnectionRefused
            | K::HostUnreachable
            | K::NetworkUnreachable
            | K::ConnectionReset
            | K::ConnectionAborted
            | K::UnexpectedEof
            | K::WriteZero => PrintError::Disconnected,
            _ if matches!(
                error.raw_os_error(),
                Some(nix::libc::EIO | nix::libc::ENXIO | nix::libc::ENODEV)
            ) =>
            {
                PrintError::Disconnected
            }
            _ => PrintError::Io(error),
        }
    }
}

/// An ESC/POS receipt printer on a link.
#[derive(Debug)]
pub struct Printer<L> {
    link: L,
    reply_timeout: Duration,
}

impl<L: PrinterLink> Printer<L> {
    /// How long to wait for each real-time status byte. Printers answer `DLE EOT` within a few
    /// milliseconds even while stopped, so silence for this long means no printer is listening.
    pub const DEFAULT_REPLY_TIMEOUT: Duration = Duration::from_millis(500);

    pub fn new(link: L) -> Self {
        Printer {
            link,
            reply_timeout: Self::DEFAULT_REPLY_TIMEOUT,
        }
    }

    pub fn with_reply_timeout(mut self, timeout: Duration) -> Self {
        self.reply_timeout = timeout;
        self
    }

    pub fn link(&self) -> &L {
        &self.link
    }

    pub fn link_mut(&mut self) -> &mut L {
        &mut self.link
    }

    pub fn into_link(self) -> L {
        self.link
    }

    /// Reads the printer's real-time status (`DLE EOT` 1–4).
    ///
    /// Stale input is discarded first, so an earlier late reply or an automatic status push is
    /// never taken for this answer. If the link turns out to be disconnected (the printer was
    /// power-cycled or replugged and its device came back), the link is reopened once and the
    /// question asked again.
    pub fn status(&mut self) -> Result<PrinterStatus, PrintError> {
        match self.query_status() {
            Err(PrintError::Disconnected) => {
                self.reconnect()?;
                self.query_status()
            }
            other => other,
        }
    }

    /// Reopens the link; [`status`](Self::status) does this by itself when it finds the link
    /// dead, callers may do it after any [`PrintError::Disconnected`].
    pub fn reconnect(&mut self) -> Result<(), PrintError> {
        self.link.reopen().map_err(|e| {
            tracing::debug!(error = %e, "reopening the printer link failed");
            match PrintError::from_io(e) {
                PrintError::Timeout => PrintError::Disconnected,
                other => other,
            }
        })
    }

    /// Prints `doc` on paper `width` wide.
    ///
    /// The document is rendered first (a bad document never reaches the printer), then the
    /// status is checked: a printer that cannot print gets nothing, and the error says why.
    pub fn print(&mut self, doc: &ReceiptDocument, width: PaperWidth) -> Result<(), PrintError> {
        self.print_routed(doc, width, PrintRoute::Native)
    }

    /// Prints `doc` by `route` (native text commands or one raster image); otherwise as
    /// [`print`](Self::print).
    pub fn print_routed(
        &mut self,
        doc: &ReceiptDocument,
        width: PaperWidth,
        route: PrintRoute,
    ) -> Result<(), PrintError> {
        let bytes = doc.render(width, route)?;
        self.print_bytes(&bytes)
    }

    /// Sends ready-made ESC/POS bytes (a captured or hand-made job), after the same status
    /// check as [`print`](Self::print): nothing goes to a printer that cannot print.
    pub fn print_bytes(&mut self, bytes: &[u8]) -> Result<(), PrintError> {
        let status = self.status()?;
        if !status.state.can_print() {
            tracing::info!(state = %status.state, "receipt not sent: printer not ready");
            return Err(PrintError::NotReady(status.state));
        }
        self.link.write_all(bytes).map_err(PrintError::from_io)?;
        tracing::debug!(bytes = bytes.len(), "receipt sent to the printer");
        Ok(())
    }

    fn query_status(&mut self) -> Result<PrinterStatus, PrintError> {
        self.link.discard_input().map_err(PrintError::from_io)?;
        let mut replies = [0u8; 4];
        for (reply, request) in replies.iter_mut().zip(StatusRequest::ALL) {
            let mut query = EscPos::new();
            query.status_query(request);
            self.link
                .write_all(query.bytes())
                .map_err(PrintError::from_io)?;
            *reply = self.read_status_byte()?;
        }
        tracing::trace!(?replies, "printer status bytes");
        // Every byte passed `is_status_byte`, so this cannot fail; map it anyway rather than
        // trust that.
        PrinterStatus::from_replies(replies)
            .map_err(|e| PrintError::Io(io::Error::new(io::ErrorKind::InvalidData, e)))
    }

    /// Waits for one status-shaped byte; anything else on the line (noise, leftovers that
    /// arrived after the discard) is skipped until the reply timeout runs out.
    fn read_status_byte(&mut self) -> Result<u8, PrintError> {
        let deadline = Instant::now() + self.reply_timeout;
        let mut byte = [0u8; 1];
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(PrintError::Timeout);
            }
            let n = self
                .link
                .read(&mut byte, remaining)
                .map_err(PrintError::from_io)?;
            if n == 1 && is_status_byte(byte[0]) {
                return Ok(byte[0]);
            }
            tracing::debug!(byte = byte[0], "skipping a byte that is not a status reply");
        }
    }
}
