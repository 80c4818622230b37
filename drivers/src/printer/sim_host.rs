//! [`VirtualPrinterHost`]: the virtual printer served on a pty and/or a TCP port, on a thread
//! of its own.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::thread::JoinHandle;
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use super::sim::{PrintedReceipt, SimCondition, VirtualPrinter};
use crate::pty::LinkedPty;

/// How often the device thread looks at its control channel while waiting for bytes.
const POLL_INTERVAL: Duration = Duration::from_millis(10);
/// How long a reply may wait for a TCP client that does not read before it is dropped.
const TCP_WRITE_TIMEOUT: Duration = Duration::from_millis(500);

enum Control {
    Condition(SimCondition, Sender<()>),
    Unplug(Sender<()>),
    Replug(Sender<io::Result<()>>),
    Stop,
}

/// Where the virtual printer is reachable.
#[derive(Debug, Clone, Default)]
pub struct HostConfig {
    /// Symlink for a pty, opened by the driver like a serial printer (or a `/dev/usb/lp*`).
    pub link: Option<PathBuf>,
    /// Address to listen on, like a network printer's port 9100 (port 0 picks a free one).
    pub tcp: Option<SocketAddr>,
}

/// A [`VirtualPrinter`] behind a pty whose slave is symlinked at a path, and/or a TCP port,
/// so the real driver (and any other program) can reach it as a serial, USB-class or network
/// printer. Both front doors lead to the same printer: a condition injected applies to both.
///
/// Dropping it stops the thread, closes the pty and the port and removes the link — to the
/// driver this is the printer being switched off and unplugged.
#[derive(Debug)]
pub struct VirtualPrinterHost {
    link: Option<PathBuf>,
    tcp: Option<SocketAddr>,
    control: Sender<Control>,
    thread: Option<JoinHandle<()>>,
}

/// The name the pty-only host had before it learnt TCP; tests and tools still use it.
pub type VirtualPrinterPty = VirtualPrinterHost;

impl VirtualPrinterHost {
    /// Creates the pty, links it at `link` and starts serving. Cut receipts arrive on the
    /// returned channel, in order.
    pub fn start(
        link: impl Into<PathBuf>,
    ) -> io::Result<(VirtualPrinterHost, Receiver<PrintedReceipt>)> {
        Self::serve(HostConfig {
            link: Some(link.into()),
            tcp: None,
        })
    }

    /// Serves the printer on a TCP port only.
    pub fn start_tcp(
        address: SocketAddr,
    ) -> io::Result<(VirtualPrinterHost, Receiver<PrintedReceipt>)> {
        Self::serve(HostConfig {
            link: None,
            tcp: Some(address),
        })
    }

    /// Serves the printer wherever `config` says (at least one of the two).
    pub fn serve(config: HostConfig) -> io::Result<(VirtualPrinterHost, Receiver<PrintedReceipt>)> {
        if config.link.is_none() && config.tcp.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the virtual printer needs a pty link or a TCP address",
            ));
        }
        let pty = config.link.as_deref().map(plug).transpose()?;
        let listener = config.tcp.map(TcpListener::bind).transpose()?;
        let tcp = match &listener {
            Some(listener) => {
                listener.set_nonblocking(true)?;
                Some(listener.local_addr()?)
            }
            None => None,
        };
        let (control, control_rx) = mpsc::channel();
        let (receipts_tx, receipts) = mpsc::channel();
        let device = Device {
            link: config.link.clone(),
            pty,
            listener,
            client: None,
            printer: VirtualPrinter::new(),
            receipts: receipts_tx,
        };
        let thread = std::thread::Builder::new()
            .name("virtual-printer".into())
            .spawn(move || device.run(&control_rx))?;
        Ok((
            VirtualPrinterHost {
                link: config.link,
                tcp,
                control,
                thread: Some(thread),
            },
            receipts,
        ))
    }

    /// The pty's link path, if it serves a pty.
    pub fn link(&self) -> Option<&Path> {
        self.link.as_deref()
    }

    /// The address actually listened on (with the real port when 0 was asked for).
    pub fn tcp_address(&self) -> Option<SocketAddr> {
        self.tcp
    }

    /// Injects a condition; effective when this returns.
    pub fn set_condition(&self, condition: SimCondition) -> io::Result<()> {
        self.request(|reply| Control::Condition(condition, reply))
    }

    /// Pulls the cable: the pty closes (the driver's port hangs up) and the link disappears;
    /// a TCP client is disconnected (the port keeps listening, like a printer's network card).
    pub fn unplug(&self) -> io::Result<()> {
        self.request(Control::Unplug)
    }

    /// Plugs the cable back in: a new pty, linked at the same path. The driver has to reopen.
    pub fn replug(&self) -> io::Result<()> {
        self.request(Control::Replug)?
    }

    fn request<T>(&self, make: impl FnOnce(Sender<T>) -> Control) -> io::Result<T> {
        let gone = || {
            io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the virtual printer thread has stopped",
            )
        };
        let (reply_tx, reply_rx) = mpsc::channel();
        self.control.send(make(reply_tx)).map_err(|_| gone())?;
        reply_rx.recv().map_err(|_| gone())
    }
}

impl Drop for VirtualPrinterHost {
    fn drop(&mut self) {
        let _ = self.control.send(Control::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Creates the pty at `link` with a non-blocking master: a reply the driver never reads must not
/// wedge the device thread, and with it the control channel.
fn plug(link: &Path) -> io::Result<LinkedPty> {
    let pty = LinkedPty::create(link).map_err(io::Error::other)?;
    pty.set_master_nonblocking().map_err(io::Error::other)?;
    Ok(pty)
}

/// State owned by the device thread.
struct Device {
    link: Option<PathBuf>,
    pty: Option<LinkedPty>,
    listener: Option<TcpListener>,
    /// The one connected TCP client: a network printer serves one job stream at a time.
    client: Option<TcpStream>,
    printer: VirtualPrinter,
    receipts: Sender<PrintedReceipt>,
}

/// What became readable during one wait.
#[derive(Default)]
struct Ready {
    pty: bool,
    listener: bool,
    client: bool,
}

impl Device {
    fn run(mut self, control: &Receiver<Control>) {
        let mut buf = [0u8; 4096];
        loop {
            match control.try_recv() {
                Ok(command) => {
                    if !self.handle(command) {
                        return;
                    }
                    continue;
                }
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => return,
            }
            let ready = match self.wait() {
                Ok(ready) => ready,
                Err(e) => {
                    tracing::warn!(error = %e, "virtual printer: waiting for input failed");
                    std::thread::sleep(POLL_INTERVAL);
                    continue;
                }
            };
            if ready.pty {
                self.receive_pty(&mut buf);
            }
            if ready.listener {
                self.accept();
            }
            if ready.client {
                self.receive_tcp(&mut buf);
            }
        }
    }

    /// Waits up to [`POLL_INTERVAL`] for any front door to have something.
    fn wait(&self) -> io::Result<Ready> {
        let mut fds: Vec<PollFd<'_>> = Vec::with_capacity(3);
        let mut slots = [None; 3];
        let doors: [Option<BorrowedFd<'_>>; 3] = [
            self.pty.as_ref().map(|p| p.master().as_fd()),
            self.listener.as_ref().map(|l| l.as_fd()),
            self.client.as_ref().map(|c| c.as_fd()),
        ];
        for (slot, fd) in slots.iter_mut().zip(doors) {
            if let Some(fd) = fd {
                *slot = Some(fds.len());
                fds.push(PollFd::new(fd, PollFlags::POLLIN));
            }
        }
        if fds.is_empty() {
            std::thread::sleep(POLL_INTERVAL);
            return Ok(Ready::default());
        }
        let millis = u16::try_from(POLL_INTERVAL.as_millis()).unwrap_or(u16::MAX);
        match poll(&mut fds, PollTimeout::from(millis)) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => return Ok(Ready::default()),
            Err(e) => return Err(e.into()),
        }
        let is_ready = |slot: Option<usize>| {
            slot.and_then(|i| fds[i].revents())
                .is_some_and(|r| !r.is_empty())
        };
        Ok(Ready {
            pty: is_ready(slots[0]),
            listener: is_ready(slots[1]),
            client: is_ready(slots[2]),
        })
    }

    /// Applies one control command; false means stop.
    fn handle(&mut self, command: Control) -> bool {
        match command {
            Control::Condition(condition, reply) => {
                let pushed = self.printer.set_condition(condition);
                self.send(&pushed);
                let _ = reply.send(());
            }
            Control::Unplug(reply) => {
                self.pty = None;
                self.client = None;
                let _ = reply.send(());
            }
            Control::Replug(reply) => {
                let result = match (&self.pty, &self.link) {
                    (None, Some(link)) => plug(link).map(|pty| self.pty = Some(pty)),
                    _ => Ok(()),
                };
                let _ = reply.send(result);
            }
            Control::Stop => return false,
        }
        true
    }

    fn receive_pty(&mut self, buf: &mut [u8]) {
        let Some(pty) = &self.pty else { return };
        let n = match pty.master().read(buf) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) =>
            {
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "virtual printer: reading the pty failed");
                std::thread::sleep(POLL_INTERVAL);
                return;
            }
        };
        self.process(&buf[..n]);
    }

    fn accept(&mut self) {
        let Some(listener) = &self.listener else {
            return;
        };
        match listener.accept() {
            Ok((stream, peer)) => {
                let configured = stream
                    .set_nonblocking(true)
                    .and_then(|()| stream.set_nodelay(true));
                if let Err(e) = configured {
                    tracing::warn!(error = %e, "virtual printer: cannot configure a connection");
                    return;
                }
                // A new connection replaces the old one, as on a printer whose host rebooted
                // without closing its connection.
                tracing::debug!(%peer, "virtual printer: TCP client connected");
                self.client = Some(stream);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => tracing::warn!(error = %e, "virtual printer: accept failed"),
        }
    }

    fn receive_tcp(&mut self, buf: &mut [u8]) {
        let Some(client) = &mut self.client else {
            return;
        };
        match client.read(buf) {
            Ok(0) => self.client = None,
            Ok(n) => self.process(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => {
                tracing::debug!(error = %e, "virtual printer: TCP client lost");
                self.client = None;
            }
        }
    }

    /// Feeds bytes from the host to the printer, answers, and hands over cut receipts.
    fn process(&mut self, bytes: &[u8]) {
        let reply = self.printer.feed(bytes);
        self.send(&reply);
        for receipt in self.printer.take_receipts() {
            // Nobody listening is fine: the receipt simply falls on the floor.
            let _ = self.receipts.send(receipt);
        }
    }

    /// Sends bytes to the host(s); dropped when unplugged or when nobody is reading.
    fn send(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if let Some(pty) = &self.pty {
            let mut master = pty.master();
            if let Err(e) = master.write_all(bytes) {
                tracing::debug!(error = %e, "virtual printer: reply dropped");
            }
        }
        if let Some(client) = &mut self.client
            && let Err(e) = write_with_timeout(client, bytes)
        {
            tracing::debug!(error = %e, "virtual printer: TCP client dropped");
            self.client = None;
        }
    }
}

/// Writes all of `bytes` to a non-blocking socket, waiting a little for room.
fn write_with_timeout(stream: &mut TcpStream, mut bytes: &[u8]) -> io::Result<()> {
    let deadline = std::time::Instant::now() + TCP_WRITE_TIMEOUT;
    while !bytes.is_empty() {
        match stream.write(bytes) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if std::time::Instant::now() >= deadline {
                    return Err(io::Error::from(io::ErrorKind::TimedOut));
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
