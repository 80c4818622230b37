//! `kiosk-sim idcard`: the simulated ID-card reader served on a pty.
//!
//! The protocol logic is [`SimReader`]'s; this module only moves bytes. One thread (the
//! caller's) owns the pty and the simulator and waits with `poll` on two things: the pty
//! master (commands from the driver under test) and a wake-up pipe that the control threads
//! write to after queueing a control line. Owning everything on one thread keeps faults
//! ordered with respect to traffic: a control command answered `ok` is in force for the next
//! byte the driver sends.
//!
//! Control lines come from stdin and, with `--control`, from a Unix socket (see
//! [`crate::control`]).

use std::io::{self, IsTerminal, Read, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;
use kiosk_drivers::idcard::{SimControl, SimReader, TestCard, serial_wire_time};
use kiosk_drivers::pty::LinkedPty;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use zeroize::Zeroize;

use crate::control::{self, Queue, Request, bind_control};

/// How long a reply may wait for room in the pty before the rest is dropped, as a UART would
/// overrun when the host stops reading.
const WRITE_STALL: Duration = Duration::from_millis(500);

/// Arguments of `kiosk-sim idcard`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to create the symlink to the reader's serial device (e.g. /tmp/kiosk/idcard).
    #[arg(long)]
    link: PathBuf,
    /// A JSON deck of test cards; the built-in deck when absent.
    #[arg(long)]
    cards: Option<PathBuf>,
    /// A Unix socket to accept control commands on, besides stdin.
    #[arg(long)]
    control: Option<PathBuf>,
    /// Answer at the pace of a real serial line at this baud rate (8N1: 10 bits a byte):
    /// each reply starts once the command would have finished arriving and trickles out in
    /// small chunks, its last byte due when it would arrive on the wire. Without it replies
    /// are instant, which is what functional tests want; with it, timings are realistic.
    #[arg(long, value_name = "BAUD", value_parser = clap::value_parser!(u32).range(50..))]
    pace_baud: Option<u32>,
}

/// Bytes written at once when pacing: 16 bytes are 1.4 ms at 115200 baud, fine-grained
/// enough that the driver sees a reply arrive as from a UART, coarse enough that the sleeps
/// between chunks stay well above the scheduler's timer slack.
const PACE_CHUNK: usize = 16;

/// A serial line's timing, for `--pace-baud`.
#[derive(Debug, Clone, Copy)]
struct WirePace {
    baud: u32,
}

impl WirePace {
    /// How long `bytes` take on this line.
    fn wire_time(self, bytes: usize) -> Duration {
        serial_wire_time(bytes, self.baud)
    }
}

/// Runs the simulator until `quit` (or EOF on stdin without a control socket).
pub fn run(args: Args) -> anyhow::Result<()> {
    // Logs go to stderr; stdout carries only the ready line and control answers.
    let _ = tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_ansi(io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();

    let deck = match &args.cards {
        Some(path) => TestCard::load_deck(path)
            .with_context(|| format!("loading the card deck {}", path.display()))?,
        None => TestCard::default_deck().context("loading the built-in card deck")?,
    };
    let sim = SimReader::from_test_cards(&deck).context("building the card deck")?;
    drop(deck);

    let (wake_rx, wake_tx) = io::pipe().context("creating the wake-up pipe")?;
    let (tx, rx) = mpsc::channel::<Request>();

    let listener = match &args.control {
        Some(path) => Some(bind_control(path)?),
        None => None,
    };
    let pty = plug(&args.link)?;

    {
        let mut out = io::stdout().lock();
        writeln!(out, "idcard reader ready at {}", args.link.display())?;
        out.flush()?;
    }
    tracing::info!(link = %args.link.display(), "idcard reader ready");

    control::listen(Queue::new(tx, Some(wake_tx)), listener)?;

    let mut server = Server {
        sim,
        pty: Some(pty),
        link: args.link.clone(),
        pace: args.pace_baud.map(|baud| WirePace { baud }),
    };
    let result = server.serve(&wake_rx, &rx, args.control.as_deref());
    if let Some(path) = &args.control {
        let _ = std::fs::remove_file(path);
    }
    result
}

/// Creates the pty and makes its master non-blocking, so a client that stops reading can
/// never wedge the serving thread (and with it the control channel).
fn plug(link: &Path) -> anyhow::Result<LinkedPty> {
    let pty = LinkedPty::create(link)
        .with_context(|| format!("creating the reader's pty at {}", link.display()))?;
    let flags = fcntl(pty.master(), FcntlArg::F_GETFL).context("reading the pty's flags")?;
    let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
    fcntl(pty.master(), FcntlArg::F_SETFL(flags)).context("making the pty non-blocking")?;
    Ok(pty)
}

/// The serving thread's state: the protocol core and the pty it is reachable through
/// (`None` while unplugged).
struct Server {
    sim: SimReader,
    pty: Option<LinkedPty>,
    link: PathBuf,
    /// `--pace-baud`: replies at a real line's speed instead of at once.
    pace: Option<WirePace>,
}

impl Server {
    fn serve(
        &mut self,
        wake: &io::PipeReader,
        requests: &mpsc::Receiver<Request>,
        control: Option<&Path>,
    ) -> anyhow::Result<()> {
        loop {
            let (woken, traffic) = self.wait(wake)?;
            if traffic {
                self.pump();
            }
            if woken {
                let mut drain = [0u8; 64];
                let _ = (&*wake).read(&mut drain);
                while let Ok(request) = requests.try_recv() {
                    if self.control(request, control) {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Blocks until a control line or bytes from the driver are waiting.
    fn wait(&self, wake: &io::PipeReader) -> anyhow::Result<(bool, bool)> {
        let mut fds = vec![PollFd::new(wake.as_fd(), PollFlags::POLLIN)];
        if let Some(pty) = &self.pty {
            fds.push(PollFd::new(pty.master().as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => return Ok((false, false)),
            Err(e) => return Err(e).context("waiting for the pty or a control command"),
        }
        let ready = |fd: &PollFd| fd.revents().is_some_and(|r| !r.is_empty());
        Ok((ready(&fds[0]), fds.get(1).is_some_and(ready)))
    }

    /// Reads what the driver sent and writes the simulator's replies.
    fn pump(&mut self) {
        let Some(pty) = &self.pty else { return };
        let mut buf = [0u8; 4096];
        loop {
            let n = match pty.master().read(&mut buf) {
                Ok(0) => return,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // Not expected while we hold the slave open; avoid spinning on it.
                    tracing::warn!("reading the pty failed: {e}");
                    std::thread::sleep(Duration::from_millis(20));
                    return;
                }
            };
            // On a real line the command's bytes take time to arrive, and the reader can only
            // answer after the last one: the paced reply starts from then.
            let received = Instant::now();
            let mut reply = self.sim.feed(&buf[..n]);
            if !reply.is_empty() {
                let delay = self.sim.reply_delay();
                if !delay.is_zero() {
                    std::thread::sleep(delay);
                }
                match self.pace {
                    None => write_reply(pty, &reply),
                    Some(pace) => {
                        let start = (received + pace.wire_time(n)).max(Instant::now());
                        write_paced(pty, &reply, pace, start);
                    }
                }
            }
            reply.zeroize();
        }
    }

    /// Carries out one control line; `true` when the simulator must stop.
    fn control(&mut self, request: Request, control_socket: Option<&Path>) -> bool {
        let (text, quit) = match SimControl::parse(&request.line) {
            Err(e) => (format!("error: {e}"), false),
            Ok(SimControl::Quit) => {
                // Clean up before answering, so that `ok` means the link is gone.
                self.pty = None;
                if let Some(path) = control_socket {
                    let _ = std::fs::remove_file(path);
                }
                ("ok".to_owned(), true)
            }
            Ok(SimControl::Unplug) => match self.pty.take() {
                None => ("error: the reader is already unplugged".to_owned(), false),
                Some(pty) => {
                    // Dropping closes the master (the driver sees a hang-up) and removes the
                    // link, as a USB adapter's device node vanishes when it is pulled.
                    drop(pty);
                    (self.apply(SimControl::Unplug), false)
                }
            },
            Ok(SimControl::Replug) => match &self.pty {
                Some(_) => ("error: the reader is already plugged in".to_owned(), false),
                None => match plug(&self.link) {
                    Ok(pty) => {
                        self.pty = Some(pty);
                        (self.apply(SimControl::Replug), false)
                    }
                    Err(e) => (format!("error: {e:#}"), false),
                },
            },
            Ok(other) => (self.apply(other), false),
        };
        tracing::info!(command = %request.line.trim(), answer = %text, "control");
        request.reply(text, quit);
        quit
    }

    fn apply(&mut self, control: SimControl) -> String {
        match self.sim.apply(control) {
            Ok(()) => "ok".to_owned(),
            Err(e) => format!("error: {e}"),
        }
    }
}

/// Writes a reply as a serial line at `pace` delivers it from `start`: chunk by chunk, each
/// chunk released when its last byte would have arrived. Deadlines are absolute, so a late
/// wake-up delays one chunk and never the rest of the reply.
fn write_paced(pty: &LinkedPty, reply: &[u8], pace: WirePace, start: Instant) {
    let mut sent = 0;
    for chunk in reply.chunks(PACE_CHUNK) {
        sent += chunk.len();
        let due = start + pace.wire_time(sent);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        write_reply(pty, chunk);
    }
}

/// Writes a reply to the non-blocking master, waiting a little for room; drops what does not
/// fit in time, like a UART overrun.
fn write_reply(pty: &LinkedPty, reply: &[u8]) {
    let mut rest = reply;
    while !rest.is_empty() {
        match pty.master().write(rest) {
            Ok(n) => rest = &rest[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let mut fds = [PollFd::new(pty.master().as_fd(), PollFlags::POLLOUT)];
                let timeout = PollTimeout::try_from(WRITE_STALL).unwrap_or(PollTimeout::MAX);
                if !matches!(poll(&mut fds, timeout), Ok(n) if n > 0) {
                    tracing::warn!(dropped = rest.len(), "driver not reading; reply dropped");
                    return;
                }
            }
            Err(e) => {
                tracing::warn!("writing to the pty failed: {e}");
                return;
            }
        }
    }
}
