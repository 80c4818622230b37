//! [`UsbLpLink`]: a USB printer through the kernel's `usblp` driver (`/dev/usb/lp0`, …).

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::PrinterLink;

/// A printer character device opened read/write as a plain file.
///
/// `usblp` is bidirectional: what the printer sends back (the `DLE EOT` status bytes) is read
/// from the same file. Reads and writes are bounded with `poll`, since a read from `usblp`
/// otherwise blocks until the printer says something, and a write blocks for as long as a
/// stopped printer refuses data.
///
/// Like [`SerialLink`](super::SerialLink), any failure other than a timeout closes the file and
/// is reported as [`io::ErrorKind::NotConnected`]: when a USB printer is switched off its
/// device node disappears, and when it comes back [`PrinterLink::reopen`] finds it again.
#[derive(Debug)]
pub struct UsbLpLink {
    path: PathBuf,
    file: Option<File>,
}

impl UsbLpLink {
    /// Longest a write may wait for the printer to take data: receipts are small, and a
    /// printer that takes nothing for this long has stopped.
    pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
    /// Bytes written per `write` call, so the write timeout is checked as the job goes out.
    const CHUNK: usize = 4096;

    /// Opens `path` (e.g. `/dev/usb/lp0`, or a stable udev symlink to it).
    pub fn open(path: impl AsRef<Path>) -> io::Result<UsbLpLink> {
        let path = path.as_ref().to_path_buf();
        let file = open_device(&path)?;
        Ok(UsbLpLink {
            path,
            file: Some(file),
        })
    }

    /// A link to `path` that opens on first use (the printer may be off when the kiosk boots).
    pub fn unopened(path: impl AsRef<Path>) -> UsbLpLink {
        UsbLpLink {
            path: path.as_ref().to_path_buf(),
            file: None,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn is_open(&self) -> bool {
        self.file.is_some()
    }

    fn file(&mut self) -> io::Result<&mut File> {
        self.file.as_mut().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotConnected, "the printer device is closed")
        })
    }

    fn fail(&mut self, error: io::Error) -> io::Error {
        match error.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock => {
                error
            }
            _ => {
                self.file = None;
                io::Error::new(
                    io::ErrorKind::NotConnected,
                    format!("the printer device went away ({error})"),
                )
            }
        }
    }
}

fn open_device(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).write(true).open(path)
}

/// Waits up to `timeout` for `flags` on `file`; `Ok(false)` on timeout. A hang-up or error
/// condition counts as ready, so the following read or write reports it.
fn wait(file: &File, flags: PollFlags, timeout: Duration) -> io::Result<bool> {
    let millis = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
    let mut fds = [PollFd::new(file.as_fd(), flags)];
    match poll(&mut fds, PollTimeout::from(millis)) {
        Ok(n) => Ok(n > 0),
        Err(nix::errno::Errno::EINTR) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

fn read_ready(file: &mut File, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
    if !wait(file, PollFlags::POLLIN, timeout)? {
        return Err(io::Error::from(io::ErrorKind::TimedOut));
    }
    match file.read(buf)? {
        0 => Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
        n => Ok(n),
    }
}

impl PrinterLink for UsbLpLink {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        let result = self.file().and_then(|file| {
            let deadline = Instant::now() + UsbLpLink::WRITE_TIMEOUT;
            let mut rest = bytes;
            while !rest.is_empty() {
                let remaining = deadline.saturating_duration_since(Instant::now());
                if remaining.is_zero() || !wait(file, PollFlags::POLLOUT, remaining)? {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the printer stopped taking data",
                    ));
                }
                let chunk = &rest[..rest.len().min(UsbLpLink::CHUNK)];
                match file.write(chunk) {
                    Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
                    Ok(n) => rest = &rest[n..],
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            file.flush()
        });
        result.map_err(|e| self.fail(e))
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        let result = self.file().and_then(|file| read_ready(file, buf, timeout));
        result.map_err(|e| self.fail(e))
    }

    fn discard_input(&mut self) -> io::Result<()> {
        // usblp has no input flush; read whatever is already there, without waiting. Bounded,
        // so a printer that streams forever cannot keep us here.
        let result = self.file().and_then(|file| {
            let mut scratch = [0u8; 256];
            for _ in 0..64 {
                match read_ready(file, &mut scratch, Duration::ZERO) {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::TimedOut => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        });
        result.map_err(|e| self.fail(e))
    }

    fn reopen(&mut self) -> io::Result<()> {
        self.file = None;
        self.file = Some(open_device(&self.path)?);
        Ok(())
    }
}
