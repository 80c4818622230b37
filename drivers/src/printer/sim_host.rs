//! [`VirtualPrinterPty`]: the virtual printer served on a pty, on a thread of its own.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::thread::JoinHandle;
use std::time::Duration;

use super::sim::{PrintedReceipt, SimCondition, VirtualPrinter};
use crate::pty::LinkedPty;

/// How often the device thread looks at its control channel while waiting for bytes.
const POLL_INTERVAL: Duration = Duration::from_millis(10);

enum Control {
    Condition(SimCondition, Sender<()>),
    Unplug(Sender<()>),
    Replug(Sender<io::Result<()>>),
    Stop,
}

/// A [`VirtualPrinter`] behind a pty whose slave is symlinked at a path, so the real driver
/// (and any other program) can open it like a serial printer.
///
/// Dropping it stops the thread, closes the pty and removes the link — to the driver this is
/// the printer being switched off and unplugged.
#[derive(Debug)]
pub struct VirtualPrinterPty {
    link: PathBuf,
    control: Sender<Control>,
    thread: Option<JoinHandle<()>>,
}

impl VirtualPrinterPty {
    /// Creates the pty, links it at `link` and starts serving. Cut receipts arrive on the
    /// returned channel, in order.
    pub fn start(
        link: impl Into<PathBuf>,
    ) -> io::Result<(VirtualPrinterPty, Receiver<PrintedReceipt>)> {
        let link = link.into();
        let pty = plug(&link)?;
        let (control, control_rx) = mpsc::channel();
        let (receipts_tx, receipts) = mpsc::channel();
        let device = Device {
            link: link.clone(),
            pty: Some(pty),
            printer: VirtualPrinter::new(),
            receipts: receipts_tx,
        };
        let thread = std::thread::Builder::new()
            .name("virtual-printer".into())
            .spawn(move || device.run(&control_rx))?;
        Ok((
            VirtualPrinterPty {
                link,
                control,
                thread: Some(thread),
            },
            receipts,
        ))
    }

    pub fn link(&self) -> &Path {
        &self.link
    }

    /// Injects a condition; effective when this returns.
    pub fn set_condition(&self, condition: SimCondition) -> io::Result<()> {
        self.request(|reply| Control::Condition(condition, reply))
    }

    /// Pulls the cable: the pty closes (the driver's port hangs up) and the link disappears.
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

impl Drop for VirtualPrinterPty {
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
    link: PathBuf,
    pty: Option<LinkedPty>,
    printer: VirtualPrinter,
    receipts: Sender<PrintedReceipt>,
}

impl Device {
    fn run(mut self, control: &Receiver<Control>) {
        let mut buf = [0u8; 4096];
        loop {
            let next = if self.pty.is_some() {
                match control.try_recv() {
                    Ok(command) => Some(command),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => return,
                }
            } else {
                match control.recv_timeout(POLL_INTERVAL) {
                    Ok(command) => Some(command),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            };
            if let Some(command) = next {
                if !self.handle(command) {
                    return;
                }
                continue;
            }
            if let Some(pty) = &self.pty {
                match pty.wait_readable(POLL_INTERVAL) {
                    Ok(true) => self.receive(&mut buf),
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "virtual printer: waiting on the pty failed");
                        std::thread::sleep(POLL_INTERVAL);
                    }
                }
            }
        }
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
                let _ = reply.send(());
            }
            Control::Replug(reply) => {
                let result = match self.pty {
                    Some(_) => Ok(()),
                    None => plug(&self.link).map(|pty| self.pty = Some(pty)),
                };
                let _ = reply.send(result);
            }
            Control::Stop => return false,
        }
        true
    }

    fn receive(&mut self, buf: &mut [u8]) {
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
        let reply = self.printer.feed(&buf[..n]);
        self.send(&reply);
        for receipt in self.printer.take_receipts() {
            // Nobody listening is fine: the receipt simply falls on the floor.
            let _ = self.receipts.send(receipt);
        }
    }

    /// Sends bytes to the driver; dropped when unplugged or when the driver is not reading.
    fn send(&self, bytes: &[u8]) {
        let Some(pty) = &self.pty else { return };
        if bytes.is_empty() {
            return;
        }
        let mut master = pty.master();
        if let Err(e) = master.write_all(bytes) {
            tracing::debug!(error = %e, "virtual printer: reply dropped");
        }
    }
}
