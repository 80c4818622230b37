//! Device health: what each device is doing, why, and what the session may count on.
//!
//! Every supervised device reports a [`DeviceHealth`] when its state changes; the
//! [`HealthBoard`] keeps the latest of each, turns them into the session's
//! [`DeviceAvailability`], and is what `kiosk devices`, the self-test and heartbeats read.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::session::DeviceAvailability;

/// A supervised device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// Resident ID-card reader.
    CardReader,
    /// Receipt printer.
    Printer,
    /// QR / barcode scanner.
    Scanner,
    /// Document camera (高拍仪).
    Camera,
    /// The cabinet's GPIO: presence sensor, door switch (tamper alarm), status light, printer
    /// power relay.
    Gpio,
}

impl DeviceKind {
    /// Name used in logs, JSON and the self-test.
    pub fn name(self) -> &'static str {
        match self {
            DeviceKind::CardReader => "card_reader",
            DeviceKind::Printer => "printer",
            DeviceKind::Scanner => "scanner",
            DeviceKind::Camera => "camera",
            DeviceKind::Gpio => "gpio",
        }
    }
}

/// How a device is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    /// Working.
    Ok,
    /// Working, but needs attention soon (paper near end).
    Degraded,
    /// Present but not working (paper out, cover open, security module failed…).
    Faulted,
    /// Configured, but not connected.
    Absent,
    /// Not in kiosk.toml: this kiosk has none. Not a fault, and never reported as one to
    /// citizens.
    NotFitted,
}

impl HealthState {
    /// True when the device can do its job.
    pub fn usable(self) -> bool {
        matches!(self, HealthState::Ok | HealthState::Degraded)
    }

    /// The state in plain words, as `kiosk devices`, the self-test and the maintenance panel
    /// print it.
    pub fn word(self) -> &'static str {
        match self {
            HealthState::Ok => "ok",
            HealthState::Degraded => "degraded",
            HealthState::Faulted => "faulted",
            HealthState::Absent => "absent",
            HealthState::NotFitted => "not fitted",
        }
    }
}

/// One device's latest state, with the reason in plain words for technicians.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceHealth {
    /// Which device.
    pub kind: DeviceKind,
    /// Its state.
    pub state: HealthState,
    /// Why, for technicians (never shown to citizens as-is, never personal data).
    pub reason: String,
}

impl DeviceHealth {
    /// A health report.
    pub fn new(kind: DeviceKind, state: HealthState, reason: impl Into<String>) -> Self {
        Self {
            kind,
            state,
            reason: reason.into(),
        }
    }
}

/// The latest health of every configured device.
#[derive(Debug, Clone, Default)]
pub struct HealthBoard {
    devices: BTreeMap<DeviceKind, DeviceHealth>,
}

impl HealthBoard {
    /// Records `health`; returns true when it changed the state or reason on record.
    pub fn record(&mut self, health: DeviceHealth) -> bool {
        let changed = self.devices.get(&health.kind) != Some(&health);
        self.devices.insert(health.kind, health);
        changed
    }

    /// Every device's latest health.
    pub fn devices(&self) -> impl Iterator<Item = &DeviceHealth> {
        self.devices.values()
    }

    /// What the session may count on. A device never reported yet counts as usable: it is
    /// being opened, and refusing service before the first probe helps nobody. A device that
    /// is not configured at all is reported not fitted by the session driver.
    pub fn availability(&self) -> DeviceAvailability {
        let usable = |kind| self.devices.get(&kind).is_none_or(|h| h.state.usable());
        let fitted = |kind| {
            self.devices
                .get(&kind)
                .is_none_or(|h| h.state != HealthState::NotFitted)
        };
        DeviceAvailability {
            card_reader: usable(DeviceKind::CardReader),
            printer: usable(DeviceKind::Printer),
            scanner: usable(DeviceKind::Scanner),
            scanner_fitted: fitted(DeviceKind::Scanner),
            camera: usable(DeviceKind::Camera),
        }
    }

    /// The latest health of one device, if it reported.
    pub fn get(&self, kind: DeviceKind) -> Option<&DeviceHealth> {
        self.devices.get(&kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn availability_follows_the_latest_reports() {
        let mut board = HealthBoard::default();
        assert_eq!(board.availability(), DeviceAvailability::default());
        assert!(board.record(DeviceHealth::new(
            DeviceKind::Printer,
            HealthState::Degraded,
            "paper near end"
        )));
        assert!(board.availability().printer, "paper near end still prints");
        assert!(!board.record(DeviceHealth::new(
            DeviceKind::Printer,
            HealthState::Degraded,
            "paper near end"
        )));
        board.record(DeviceHealth::new(
            DeviceKind::Printer,
            HealthState::Faulted,
            "paper out",
        ));
        board.record(DeviceHealth::new(
            DeviceKind::CardReader,
            HealthState::Absent,
            "no device",
        ));
        assert_eq!(
            board.availability(),
            DeviceAvailability {
                card_reader: false,
                printer: false,
                ..DeviceAvailability::default()
            }
        );
        board.record(DeviceHealth::new(
            DeviceKind::CardReader,
            HealthState::Ok,
            "ready",
        ));
        assert!(board.availability().card_reader);
        board.record(DeviceHealth::new(
            DeviceKind::Camera,
            HealthState::Absent,
            "no device",
        ));
        let now = board.availability();
        assert!(!now.camera && now.scanner && now.card_reader);
        // A scanner that is not fitted is unusable, but not out of order.
        board.record(DeviceHealth::new(
            DeviceKind::Scanner,
            HealthState::NotFitted,
            "not configured in kiosk.toml",
        ));
        let now = board.availability();
        assert!(!now.scanner && !now.scanner_fitted);
        // The GPIO's state (a tamper alarm) is for technicians; it gates no citizen function.
        board.record(DeviceHealth::new(
            DeviceKind::Gpio,
            HealthState::Faulted,
            "tamper alarm: cabinet door open",
        ));
        assert_eq!(board.availability(), now);
        assert_eq!(board.devices().count(), 5);
    }
}
