//! A raw pty pair for the virtual printer, its slave symlinked where the driver looks.
//!
//! Deliberately minimal and private to the printer simulator; it is to be unified with the
//! crate's shared pty support when the branches meet.

use std::fs::{self, File};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::pty::openpty;
use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};

/// The device side of a virtual serial line.
#[derive(Debug)]
pub(crate) struct SimPty {
    master: File,
    /// Held open so the master never reads EIO when the driver closes its end: a real printer
    /// does not vanish because the host closed the port.
    _slave: OwnedFd,
    slave_path: PathBuf,
    link: PathBuf,
}

impl SimPty {
    /// Opens a pty in raw mode (no echo, no line discipline: ESC/POS is binary) and symlinks its
    /// slave at `link`. A leftover symlink from a crashed run is replaced; anything else at
    /// `link` is left alone and reported.
    pub(crate) fn create(link: &Path) -> io::Result<SimPty> {
        let pair = openpty(None, None)?;
        let mut termios = tcgetattr(&pair.slave)?;
        cfmakeraw(&mut termios);
        tcsetattr(&pair.slave, SetArg::TCSANOW, &termios)?;
        let flags = OFlag::from_bits_truncate(fcntl(&pair.master, FcntlArg::F_GETFL)?);
        // Non-blocking: a reply nobody reads must not wedge the simulator.
        fcntl(&pair.master, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
        let slave_path = nix::unistd::ttyname(&pair.slave)?;
        match fs::symlink_metadata(link) {
            Ok(meta) if meta.file_type().is_symlink() => fs::remove_file(link)?,
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!(
                        "{} exists and is not a symlink; not replacing it",
                        link.display()
                    ),
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        std::os::unix::fs::symlink(&slave_path, link)?;
        Ok(SimPty {
            master: File::from(pair.master),
            _slave: pair.slave,
            slave_path,
            link: link.to_path_buf(),
        })
    }

    pub(crate) fn master(&self) -> &File {
        &self.master
    }

    /// Waits up to `timeout` for bytes from the driver.
    pub(crate) fn wait_readable(&self, timeout: Duration) -> io::Result<bool> {
        let millis = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(self.master.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(millis)) {
            Ok(n) => Ok(n > 0),
            Err(nix::errno::Errno::EINTR) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

impl Drop for SimPty {
    fn drop(&mut self) {
        // Only remove the link if it is still ours: a newer simulator may have taken the path.
        if fs::read_link(&self.link).is_ok_and(|target| target == self.slave_path) {
            let _ = fs::remove_file(&self.link);
        }
    }
}
