//! `kiosk-sim scanner`: a QR scanner in serial (USB CDC) mode on a pty, scanning on command.
//!
//! The bytes come from [`SimScanner`], which frames them with the driver's own line codec;
//! this module only owns the pty and the control channel ([`crate::control`]: stdin and, with
//! `--control`, a Unix socket). The scanner only talks, so there is nothing to read from the
//! pty and one thread serves the queued control lines: each is carried out before it is
//! answered, so `ok` means the bytes are on the wire.

use std::io::{self, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result};
use kiosk_drivers::pty::LinkedPty;
use kiosk_drivers::scanner::Suffix;
use kiosk_drivers::scanner::sim::{ScannerControl, SimScanner};
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::control::{self, Queue, Request, bind_control};

/// How long a scan may wait for the driver to make room in the pty before the rest is
/// dropped, as a UART overruns when nobody reads.
const WRITE_STALL: Duration = Duration::from_millis(500);

/// QR scanner in serial mode on a pty
///
/// Creates a pty, symlinks its device at --link and prints `scanner ready at PATH`.
///
/// Control commands, one per line on stdin (or the --control socket), each answered `ok` or
/// `error: …`:
///   scan TEXT       (TEXT, UTF-8, then the suffix)
///   scan-hex HEX    (exactly these bytes, no suffix added)
///   garbage N       (N bytes of line noise, never CR or LF)
///   unplug          (close the pty, remove the link)
///   replug          (new pty at the same link)
///   quit            (also on end of stdin, unless there is a control socket)
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Where to symlink the pty's device (what the driver opens)
    #[arg(long)]
    link: PathBuf,
    /// What ends each scan: cr, lf or crlf
    #[arg(long, default_value_t = Suffix::Cr)]
    suffix: Suffix,
    /// A Unix socket to accept control commands on, besides stdin
    #[arg(long)]
    control: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let mut sim = SimScanner::new(args.suffix);
    let listener = args.control.as_deref().map(bind_control).transpose()?;
    let mut pty = Some(plug(&args.link)?);
    {
        let mut stdout = io::stdout().lock();
        writeln!(stdout, "scanner ready at {}", args.link.display())?;
        stdout.flush()?;
    }
    let (tx, requests) = mpsc::channel::<Request>();
    control::listen(Queue::new(tx, None), listener)?;
    for request in requests {
        let (text, quit) = match control(&mut sim, &mut pty, &args.link, &request.line) {
            Ok(quit) => ("ok".to_owned(), quit),
            Err(e) => (format!("error: {e:#}"), false),
        };
        tracing::info!(answer = %text, "control");
        if quit {
            // Close the pty and the socket before answering, so that `ok` means they are gone.
            pty = None;
            if let Some(path) = &args.control {
                let _ = std::fs::remove_file(path);
            }
        }
        request.reply(text, quit);
        if quit {
            break;
        }
    }
    drop(pty);
    Ok(())
}

/// Carries out one control line; `Ok(true)` means quit.
fn control(
    sim: &mut SimScanner,
    pty: &mut Option<LinkedPty>,
    link: &Path,
    line: &str,
) -> Result<bool> {
    let command = ScannerControl::parse(line)?;
    match &command {
        ScannerControl::Quit => return Ok(true),
        ScannerControl::Unplug => {
            // Dropping closes the master (the driver sees a hang-up) and removes the link,
            // as a USB scanner's device node vanishes when it is pulled.
            pty.take().context("the scanner is already unplugged")?;
        }
        ScannerControl::Replug => {
            anyhow::ensure!(pty.is_none(), "the scanner is already plugged in");
            *pty = Some(plug(link)?);
        }
        data => {
            let pty = pty.as_ref().context("the scanner is unplugged")?;
            if let Some(bytes) = sim.bytes_for(data) {
                send(pty, &bytes)?;
            }
        }
    }
    Ok(false)
}

/// Creates the pty with a non-blocking master, so a driver that stops reading can never wedge
/// the control channel.
fn plug(link: &Path) -> Result<LinkedPty> {
    let pty = LinkedPty::create(link)
        .with_context(|| format!("creating the scanner's pty at {}", link.display()))?;
    let flags = fcntl(pty.master(), FcntlArg::F_GETFL).context("reading the pty's flags")?;
    let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
    fcntl(pty.master(), FcntlArg::F_SETFL(flags)).context("making the pty non-blocking")?;
    Ok(pty)
}

/// Writes to the non-blocking master, waiting a little for room each time it is full.
fn send(pty: &LinkedPty, bytes: &[u8]) -> Result<()> {
    let mut rest = bytes;
    while !rest.is_empty() {
        match pty.master().write(rest) {
            Ok(n) => rest = &rest[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let mut fds = [PollFd::new(pty.master().as_fd(), PollFlags::POLLOUT)];
                let timeout = PollTimeout::try_from(WRITE_STALL).unwrap_or(PollTimeout::MAX);
                if !matches!(poll(&mut fds, timeout), Ok(n) if n > 0) {
                    anyhow::bail!(
                        "the driver is not reading; {} of {} bytes dropped",
                        rest.len(),
                        bytes.len()
                    );
                }
            }
            Err(e) => return Err(e).context("writing to the pty"),
        }
    }
    Ok(())
}
