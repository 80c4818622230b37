//! [`SerialLink`]: a printer on a serial port (RS-232, USB-serial adapter, or a pty).

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serialport::{ClearBuffer, SerialPort, TTYPort};

use super::PrinterLink;

/// A serial port opened by path, reopenable after the device disappears and comes back.
///
/// Any I/O failure other than a timeout closes the port and is reported as
/// [`io::ErrorKind::NotConnected`]: on a serial line such failures mean the device went away
/// (a USB adapter unplugged, a pty's other end closed), and the cure is [`PrinterLink::reopen`].
#[derive(Debug)]
pub struct SerialLink {
    path: PathBuf,
    baud: u32,
    port: Option<TTYPort>,
}

impl SerialLink {
    /// Longest a write may wait for the port to accept data; a receipt is a few kilobytes, which
    /// even 9600 baud moves in a few seconds.
    pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

    /// Opens `path` (8N1, no flow control) exclusively, so no other process can interleave its
    /// bytes with a receipt. Symlinks are followed, so a stable udev name works.
    pub fn open(path: impl AsRef<Path>, baud: u32) -> io::Result<SerialLink> {
        let path = path.as_ref().to_path_buf();
        let port = open_port(&path, baud)?;
        Ok(SerialLink {
            path,
            baud,
            port: Some(port),
        })
    }

    /// A link to `path` that is not open yet; the first [`Printer::status`](super::Printer::status)
    /// opens it. For a kiosk that boots before its printer is switched on or plugged in.
    pub fn unopened(path: impl AsRef<Path>, baud: u32) -> SerialLink {
        SerialLink {
            path: path.as_ref().to_path_buf(),
            baud,
            port: None,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the port is open (false after a failure, until a successful reopen).
    pub fn is_open(&self) -> bool {
        self.port.is_some()
    }

    fn port(&mut self) -> io::Result<&mut TTYPort> {
        self.port
            .as_mut()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "the serial port is closed"))
    }

    /// Turns a failure into the link's error, closing the port when the failure means the
    /// device is gone.
    fn fail(&mut self, error: io::Error) -> io::Error {
        match error.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock => {
                error
            }
            _ => {
                self.close();
                io::Error::new(
                    io::ErrorKind::NotConnected,
                    format!("the serial device went away ({error})"),
                )
            }
        }
    }

    fn close(&mut self) {
        if let Some(mut port) = self.port.take() {
            // Lift TIOCEXCL: on a pty that outlives us the flag would stay set and lock out the
            // next opener that is not root. Failure only means the device is already gone.
            let _ = port.set_exclusive(false);
        }
    }
}

fn open_port(path: &Path, baud: u32) -> io::Result<TTYPort> {
    let name = path.to_str().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the serial port path is not valid UTF-8",
        )
    })?;
    serialport::new(name, baud)
        .timeout(SerialLink::WRITE_TIMEOUT)
        .open_native()
        .map_err(io::Error::from)
}

impl PrinterLink for SerialLink {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        let result = self.port().and_then(|port| {
            port.set_timeout(SerialLink::WRITE_TIMEOUT)
                .map_err(io::Error::from)?;
            port.write_all(bytes)
        });
        result.map_err(|e| self.fail(e))
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        let result = self.port().and_then(|port| {
            port.set_timeout(timeout).map_err(io::Error::from)?;
            match port.read(buf)? {
                0 => Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
                n => Ok(n),
            }
        });
        result.map_err(|e| self.fail(e))
    }

    fn discard_input(&mut self) -> io::Result<()> {
        let result = self
            .port()
            .and_then(|port| port.clear(ClearBuffer::Input).map_err(io::Error::from));
        result.map_err(|e| self.fail(e))
    }

    fn reopen(&mut self) -> io::Result<()> {
        self.close();
        self.port = Some(open_port(&self.path, self.baud)?);
        Ok(())
    }
}

impl Drop for SerialLink {
    fn drop(&mut self) {
        self.close();
    }
}
