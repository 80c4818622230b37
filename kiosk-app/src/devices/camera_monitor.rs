//! The document camera (高拍仪) as the kiosk sees it: a probe, while the kiosk is idle, that a
//! frame can still be grabbed, and health reports when that changes.
//!
//! A camera has no link to watch between captures: the only honest check is to open it and
//! take a (preview) frame. That is done only while nobody is in a session, so a probe never
//! competes with a citizen's capture, and the camera is closed again after each probe, so an
//! unplugged and replugged 高拍仪 (or a frames folder that was replaced) is found afresh.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use kiosk_drivers::camera::{Camera, CameraError, FileCamera, V4l2Camera};

use crate::devices::health::{DeviceHealth, DeviceKind, HealthState};

/// Where pictures come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CameraSource {
    /// A UVC camera's V4L2 node, e.g. `/dev/video0`.
    V4l2(PathBuf),
    /// A folder of JPEG/PNG photos served as frames (demos, tests, a camera being replaced).
    Folder(PathBuf),
}

impl std::fmt::Display for CameraSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CameraSource::V4l2(path) => write!(f, "{} (V4L2)", path.display()),
            CameraSource::Folder(path) => write!(f, "{} (photos)", path.display()),
        }
    }
}

impl CameraSource {
    fn path(&self) -> &Path {
        match self {
            CameraSource::V4l2(path) | CameraSource::Folder(path) => path,
        }
    }

    /// Opens the camera.
    pub fn open(&self) -> Result<Box<dyn Camera>, CameraError> {
        Ok(match self {
            CameraSource::V4l2(path) => Box::new(V4l2Camera::open(path)?),
            CameraSource::Folder(path) => Box::new(FileCamera::open(path)?),
        })
    }

    /// Opens the camera and grabs one preview frame.
    pub fn probe(&self) -> DeviceHealth {
        match self.open().and_then(|mut camera| camera.preview()) {
            Ok(frame) => DeviceHealth::new(
                DeviceKind::Camera,
                HealthState::Ok,
                format!("frame {}×{}", frame.width(), frame.height()),
            ),
            Err(e) => {
                let state = if self.path().exists() {
                    HealthState::Faulted
                } else {
                    HealthState::Absent
                };
                DeviceHealth::new(DeviceKind::Camera, state, e.to_string())
            }
        }
    }
}

/// Tells the camera probe what the kiosk is doing.
#[derive(Debug, Clone)]
pub struct CameraProbe(Sender<Probe>);

enum Probe {
    /// Whether the kiosk is idle (no session): probes only run then.
    Idle(bool),
    /// A video device came or went: probe now (or as soon as the kiosk is idle).
    Now,
}

impl CameraProbe {
    /// The kiosk is idle (`true`) or a citizen is being served (`false`).
    pub fn set_idle(&self, idle: bool) {
        // The thread only ends with the process.
        let _ = self.0.send(Probe::Idle(idle));
    }

    /// Probe at once (a hotplug event).
    pub fn nudge(&self) {
        let _ = self.0.send(Probe::Now);
    }
}

/// Starts the probe thread: every `every` while idle, backing off to four times that while
/// the camera stays out; each change of health goes to `report`.
pub fn spawn(
    source: CameraSource,
    every: Duration,
    report: impl Fn(DeviceHealth) + Send + 'static,
) -> CameraProbe {
    let (tx, rx) = mpsc::channel();
    let started = std::thread::Builder::new()
        .name("camera-probe".into())
        .spawn(move || {
            let mut idle = true;
            // Deadline-based, so the stream of idle/busy messages never postpones a probe.
            let mut next = Instant::now();
            let mut wait = every;
            let mut last: Option<DeviceHealth> = None;
            loop {
                if idle && Instant::now() >= next {
                    let health = source.probe();
                    wait = if health.state.usable() {
                        every
                    } else {
                        (wait * 2).min(every * 4)
                    };
                    next = Instant::now() + wait;
                    if last.as_ref() != Some(&health) {
                        match health.state {
                            HealthState::Ok => tracing::info!(camera = %source, "camera ready"),
                            state => {
                                tracing::warn!(camera = %source, ?state, reason = %health.reason, "camera unavailable")
                            }
                        }
                        last = Some(health.clone());
                        report(health);
                    }
                }
                let left = next.saturating_duration_since(Instant::now());
                match rx.recv_timeout(left.max(Duration::from_millis(10))) {
                    Ok(Probe::Idle(now)) => idle = now,
                    Ok(Probe::Now) => {
                        next = Instant::now();
                        wait = every;
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
        });
    if let Err(e) = started {
        tracing::error!(error = %e, "cannot start the camera probe");
    }
    CameraProbe(tx)
}
