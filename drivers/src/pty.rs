//! A pseudo-terminal published under a stable path, for device simulators.
//!
//! A simulator plays the device on the pty's master side; the driver under test opens the slave
//! side exactly as it would open `/dev/ttyUSB0`, through a symlink at a path the test chooses.
//! The slave's own device name (`/dev/pts/N`) changes on every run, which is why the symlink
//! exists at all.
//!
//! Both ends are put in raw mode so that no byte is echoed, translated or swallowed by the line
//! discipline: device protocols are binary. The slave end is kept open by [`LinkedPty`] itself,
//! so that a client closing and reopening the port never makes the master see `EIO` (a pty
//! master reads `EIO` while no slave descriptor is open). Dropping the [`LinkedPty`] closes the
//! master, which the client sees as a hang-up, exactly like a USB serial adapter being pulled.
//!
//! One consequence of keeping the slave open: the tty is never fully closed, so if a client
//! that set exclusive mode (`TIOCEXCL`, as `serialport` does) dies without clearing it, other
//! non-root openers get `EBUSY` until the pty is recreated. `serialport` clears it on a normal
//! close, so this only follows a crashed client.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::pty::openpty;
use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};

/// Why a [`LinkedPty`] could not be created.
#[derive(Debug, thiserror::Error)]
pub enum PtyError {
    /// The kernel refused to allocate a pty pair (e.g. `/dev/ptmx` missing or out of ptys).
    #[error("could not open a pseudo-terminal pair: {0}")]
    Open(#[source] nix::Error),
    /// Raw mode or close-on-exec could not be set on one end.
    #[error("could not configure the pseudo-terminal: {0}")]
    Configure(#[source] nix::Error),
    /// The slave end's device name could not be determined.
    #[error("could not find the name of the pseudo-terminal's slave device: {0}")]
    SlaveName(#[source] nix::Error),
    /// Something other than a symlink sits at the requested link path; it is never replaced,
    /// because it may be a real device node or somebody's file.
    #[error("{} exists and is not a symlink; refusing to replace it", .0.display())]
    LinkOccupied(PathBuf),
    /// Creating or replacing the symlink failed.
    #[error("could not create the symlink {}: {source}", .link.display())]
    Link {
        /// The path that was to become the symlink.
        link: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

/// A raw-mode pty pair whose slave is reachable through a symlink; see the module docs.
#[derive(Debug)]
pub struct LinkedPty {
    master: File,
    /// Held only to keep the slave open (see the module docs); never read or written.
    _slave: OwnedFd,
    slave_path: PathBuf,
    link: PathBuf,
}

impl LinkedPty {
    /// Opens a pty pair, puts both ends in raw mode and symlinks `link` to the slave device.
    ///
    /// An existing symlink at `link` is replaced (it is left over from an earlier run); any
    /// other kind of file there makes this fail with [`PtyError::LinkOccupied`].
    pub fn create(link: &Path) -> Result<LinkedPty, PtyError> {
        let pair = openpty(None, None).map_err(PtyError::Open)?;
        for fd in [&pair.master, &pair.slave] {
            make_raw(fd)?;
            // Children spawned by the simulator (or by a test) must not inherit the master:
            // a stray copy would keep it open and the client would never see the hang-up.
            fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(PtyError::Configure)?;
        }
        let slave_path = nix::unistd::ttyname(&pair.slave).map_err(PtyError::SlaveName)?;

        match std::fs::symlink_metadata(link) {
            Ok(meta) if meta.file_type().is_symlink() => {
                std::fs::remove_file(link).map_err(|source| PtyError::Link {
                    link: link.to_path_buf(),
                    source,
                })?;
            }
            Ok(_) => return Err(PtyError::LinkOccupied(link.to_path_buf())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(PtyError::Link {
                    link: link.to_path_buf(),
                    source,
                });
            }
        }
        std::os::unix::fs::symlink(&slave_path, link).map_err(|source| PtyError::Link {
            link: link.to_path_buf(),
            source,
        })?;

        Ok(LinkedPty {
            master: File::from(pair.master),
            _slave: pair.slave,
            slave_path,
            link: link.to_path_buf(),
        })
    }

    /// The master end: what the simulated device reads commands from and writes replies to.
    pub fn master(&self) -> &File {
        &self.master
    }

    /// An independent handle on the master end, e.g. for a reader thread. Note that the client
    /// sees the hang-up only once every handle on the master is closed.
    pub fn try_clone_master(&self) -> io::Result<File> {
        self.master.try_clone()
    }

    /// Makes reads and writes on the master non-blocking, so a simulator whose client stops
    /// reading can never be wedged in a write (a full pty buffer blocks otherwise), and a read
    /// after [`wait_readable`](Self::wait_readable) never hangs on a spurious wake-up.
    pub fn set_master_nonblocking(&self) -> Result<(), PtyError> {
        let flags = fcntl(&self.master, FcntlArg::F_GETFL).map_err(PtyError::Configure)?;
        let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
        fcntl(&self.master, FcntlArg::F_SETFL(flags)).map_err(PtyError::Configure)?;
        Ok(())
    }

    /// Waits up to `timeout` for the client to send something; `Ok(false)` when nothing came
    /// (or a signal interrupted the wait, which callers treat the same way: look again).
    ///
    /// Simulators that also watch a control channel call this in a loop with a short timeout.
    pub fn wait_readable(&self, timeout: Duration) -> io::Result<bool> {
        let millis = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(self.master.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(millis)) {
            Ok(n) => Ok(n > 0),
            Err(nix::errno::Errno::EINTR) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The slave device the symlink points to (`/dev/pts/N`).
    pub fn slave_path(&self) -> &Path {
        &self.slave_path
    }

    /// The symlink clients open.
    pub fn link(&self) -> &Path {
        &self.link
    }
}

impl Drop for LinkedPty {
    fn drop(&mut self) {
        // Remove the link only while it is still ours: another simulator may have replaced it.
        if std::fs::read_link(&self.link).is_ok_and(|target| target == self.slave_path) {
            // Nothing useful can be done about a failure while dropping; the next `create`
            // replaces a stale link anyway.
            let _ = std::fs::remove_file(&self.link);
        }
    }
}

fn make_raw(fd: &impl AsFd) -> Result<(), PtyError> {
    let mut termios = tcgetattr(fd).map_err(PtyError::Configure)?;
    cfmakeraw(&mut termios);
    tcsetattr(fd, SetArg::TCSANOW, &termios).map_err(PtyError::Configure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("kiosk-pty-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir.join(name)
    }

    #[test]
    fn link_points_to_slave_and_goes_away_on_drop() {
        let link = scratch("plain");
        let pty = LinkedPty::create(&link).expect("create pty");
        assert_eq!(std::fs::read_link(&link).expect("link"), pty.slave_path());
        assert_eq!(pty.link(), link);
        drop(pty);
        assert!(
            std::fs::symlink_metadata(&link).is_err(),
            "link removed on drop"
        );
    }

    #[test]
    fn replaces_stale_symlink_but_not_regular_file() {
        let link = scratch("stale");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink("/nonexistent/pts/999", &link).expect("stale link");
        let pty = LinkedPty::create(&link).expect("replaces stale link");
        assert_eq!(std::fs::read_link(&link).expect("link"), pty.slave_path());
        drop(pty);

        let file = scratch("regular");
        std::fs::write(&file, b"keep me").expect("regular file");
        match LinkedPty::create(&file) {
            Err(PtyError::LinkOccupied(p)) => assert_eq!(p, file),
            other => panic!("expected LinkOccupied, got {other:?}"),
        }
        assert_eq!(std::fs::read(&file).expect("still there"), b"keep me");
        std::fs::remove_file(&file).expect("cleanup");
    }

    #[test]
    fn raw_bytes_pass_both_ways_and_client_close_is_harmless() {
        let link = scratch("bytes");
        let pty = LinkedPty::create(&link).expect("create pty");
        let all: Vec<u8> = (0..=255u8).collect();
        {
            let mut client = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&link)
                .expect("open slave through link");
            client.write_all(&all).expect("client write");
            let mut got = vec![0u8; all.len()];
            pty.master().read_exact(&mut got).expect("master read");
            assert_eq!(got, all, "raw mode: no byte translated");
        }
        // The client closed; writing and reading on the master must still work (no EIO).
        pty.master().write_all(b"\x03\r\n").expect("master write");
        let mut client = std::fs::File::open(&link).expect("reopen");
        let mut got = [0u8; 3];
        // The bytes written while no client was open were queued for the slave.
        client.read_exact(&mut got).expect("client read");
        assert_eq!(&got, b"\x03\r\n");
    }

    #[test]
    fn nonblocking_master_waits_and_reads_without_hanging() {
        let link = scratch("nonblocking");
        let pty = LinkedPty::create(&link).expect("create pty");
        pty.set_master_nonblocking().expect("non-blocking");
        assert!(
            !pty.wait_readable(Duration::from_millis(20)).expect("poll"),
            "nothing sent yet"
        );
        let mut buf = [0u8; 8];
        let err = pty.master().read(&mut buf).expect_err("nothing to read");
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        let mut client = std::fs::OpenOptions::new()
            .write(true)
            .open(&link)
            .expect("open slave");
        client.write_all(b"\x10\x04\x01").expect("client write");
        assert!(pty.wait_readable(Duration::from_secs(2)).expect("poll"));
        let n = pty.master().read(&mut buf).expect("read");
        assert_eq!(&buf[..n], b"\x10\x04\x01");
    }
}
