//! Hotplug: udev tells the device supervisors at once when a device node comes or goes, so a
//! replugged scanner, camera or reader is back in milliseconds rather than at its next probe.
//!
//! Each supervisor still probes on its own timer; this only makes them look sooner. Where udev
//! does not run (containers, build machines) the monitor says so once, at info level, and the
//! probes carry on alone.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::Path;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

/// The kernel subsystems whose devices the kiosk drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subsystem {
    /// Serial ports: readers, printers, scanners in CDC mode.
    Tty,
    /// USB devices as such: USB readers and printers, any replug.
    Usb,
    /// Cameras.
    Video,
    /// Input devices: keyboard-wedge scanners.
    Input,
}

impl Subsystem {
    const ALL: [Subsystem; 4] = [
        Subsystem::Tty,
        Subsystem::Usb,
        Subsystem::Video,
        Subsystem::Input,
    ];

    fn udev_name(self) -> &'static str {
        match self {
            Subsystem::Tty => "tty",
            Subsystem::Usb => "usb",
            Subsystem::Video => "video4linux",
            Subsystem::Input => "input",
        }
    }

    fn of(name: &str) -> Option<Subsystem> {
        Subsystem::ALL.into_iter().find(|s| s.udev_name() == name)
    }
}

/// Who to nudge for which subsystems.
pub type Nudge = Box<dyn Fn() + Send>;

/// Starts the hotplug monitor; each add or remove in one of a target's subsystems calls its
/// nudge. Returns at once; without udev it logs once and does nothing more.
pub fn spawn(targets: Vec<(Vec<Subsystem>, Nudge)>) {
    if targets.is_empty() {
        return;
    }
    let started = std::thread::Builder::new()
        .name("hotplug".into())
        .spawn(move || {
            if let Err(reason) = watch(&targets) {
                tracing::info!(%reason, "no hotplug events; devices are found by their periodic probes");
            }
        });
    if let Err(e) = started {
        tracing::error!(error = %e, "cannot start the hotplug monitor");
    }
}

/// Why udev cannot be listened to (the probes carry on alone).
#[derive(Debug, thiserror::Error)]
enum UdevError {
    /// No udev daemon: its netlink group would stay silent.
    #[error("udev is not running here")]
    NotRunning,
    /// libudev refused a step of setting up the monitor.
    #[error("{0}")]
    Monitor(#[from] libudev::Error),
    /// Waiting for udev's events failed.
    #[error("polling udev failed: {0}")]
    Poll(#[source] nix::errno::Errno),
}

/// Listens to udev until it fails; returns why.
fn watch(targets: &[(Vec<Subsystem>, Nudge)]) -> Result<(), UdevError> {
    // Without the daemon, the udev netlink group is silent: say so instead of waiting forever.
    if !Path::new("/run/udev/control").exists() {
        return Err(UdevError::NotRunning);
    }
    let context = libudev::Context::new()?;
    let mut monitor = libudev::Monitor::new(&context)?;
    for subsystem in Subsystem::ALL {
        monitor.match_subsystem(subsystem.udev_name())?;
    }
    let mut socket = monitor.listen()?;
    tracing::info!("hotplug monitor listening to udev");
    loop {
        // SAFETY: the descriptor belongs to `socket`, which outlives this borrow.
        let fd = unsafe { BorrowedFd::borrow_raw(socket.as_raw_fd()) };
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(UdevError::Poll(e)),
        }
        while let Some(event) = socket.receive_event() {
            let action = event.event_type();
            if !matches!(action, libudev::EventType::Add | libudev::EventType::Remove) {
                continue;
            }
            let Some(subsystem) = event
                .subsystem()
                .and_then(|s| s.to_str())
                .and_then(Subsystem::of)
            else {
                continue;
            };
            tracing::debug!(?subsystem, %action, "hotplug");
            for (wanted, nudge) in targets {
                if wanted.contains(&subsystem) {
                    nudge();
                }
            }
        }
    }
}
