//! `kiosk devices` and `kiosk selftest`: what a field technician runs to see, without a
//! keyboard-and-shell session on the UI, whether every configured device and the platform work.

use std::time::Duration;

use kiosk_drivers::printer::PrinterAddress;
use serde::Serialize;

use crate::config::KioskConfig;
use crate::devices::card_reader::ReaderPort;
use crate::devices::health::{DeviceHealth, DeviceKind, HealthState};
use crate::devices::printer_monitor::{self, PrinterPort};
use crate::uplink::identity::{IdentityError, TerminalIdentity};
use crate::uplink::platform_link::{LinkError, PlatformLink};
use crate::uplink::tls::PlatformTls;

/// One line of the device list.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceEntry {
    /// Which device.
    pub kind: DeviceKind,
    /// Where it is configured (`not configured` when absent from kiosk.toml).
    pub address: String,
    /// Its health right now.
    pub state: HealthState,
    /// Why, in plain words.
    pub reason: String,
}

impl DeviceEntry {
    fn new(kind: DeviceKind, address: String, health: DeviceHealth) -> Self {
        Self {
            kind,
            address,
            state: health.state,
            reason: health.reason,
        }
    }
}

/// Probes every configured device once.
pub fn devices(config: &KioskConfig) -> Vec<DeviceEntry> {
    let devices = config.devices();
    let not_configured = |kind| {
        DeviceEntry::new(
            kind,
            "not configured".into(),
            DeviceHealth::new(kind, HealthState::NotFitted, "not in kiosk.toml"),
        )
    };
    let reader = match &devices.idcard {
        Some(port) => {
            DeviceEntry::new(DeviceKind::CardReader, port.to_string(), probe_reader(port))
        }
        None => not_configured(DeviceKind::CardReader),
    };
    let printer = match &devices.printer {
        Some(address) => DeviceEntry::new(
            DeviceKind::Printer,
            address.to_string(),
            printer_monitor::probe(address, &PrinterPort::default()),
        ),
        None => not_configured(DeviceKind::Printer),
    };
    let scanner = match &devices.scanner {
        Some(port) => DeviceEntry::new(
            DeviceKind::Scanner,
            port.to_string(),
            port.probe(SCANNER_LISTEN),
        ),
        None => not_configured(DeviceKind::Scanner),
    };
    let camera = match &devices.camera {
        Some(source) => DeviceEntry::new(DeviceKind::Camera, source.to_string(), source.probe()),
        None => not_configured(DeviceKind::Camera),
    };
    let gpio = match &devices.gpio {
        Some(port) => DeviceEntry::new(DeviceKind::Gpio, port.to_string(), port.probe()),
        None => not_configured(DeviceKind::Gpio),
    };
    vec![reader, printer, scanner, camera, gpio]
}

/// How long the scanner's line is listened to: long enough to see a hang-up, short enough
/// for a technician waiting at the screen.
const SCANNER_LISTEN: Duration = Duration::from_millis(200);

fn probe_reader(port: &ReaderPort) -> DeviceHealth {
    match port.open_checked() {
        Ok(()) => DeviceHealth::new(
            DeviceKind::CardReader,
            HealthState::Ok,
            "security module answers",
        ),
        Err(e) => {
            let state = match port {
                ReaderPort::Serial { path, .. } if !path.exists() => HealthState::Absent,
                _ => HealthState::Faulted,
            };
            DeviceHealth::new(DeviceKind::CardReader, state, e.to_string())
        }
    }
}

/// The result of one self-test step.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// Passed.
    pub ok: bool,
    /// What was found.
    pub detail: String,
}

/// Exercises every configured device and the platform link; with `test_page`, also prints the
/// printer's test page.
pub fn selftest(config: &KioskConfig, test_page: bool) -> Vec<Check> {
    let devices = config.devices();
    let mut checks: Vec<Check> = self::devices(config)
        .into_iter()
        .map(|d| match (d.kind, &devices.gpio) {
            // The GPIO is exercised (inputs read, lamps blinked); an open door is no failure
            // here, the technician running this usually opened it.
            (DeviceKind::Gpio, Some(port)) => {
                let result = port.exercise();
                Check {
                    name: d.kind.name().to_owned(),
                    ok: result.is_ok(),
                    detail: format!(
                        "{} ({}): {}",
                        if result.is_ok() { "ok" } else { d.state.word() },
                        d.address,
                        result.unwrap_or_else(|e| e.to_string())
                    ),
                }
            }
            _ => Check {
                name: d.kind.name().to_owned(),
                ok: d.state.usable() || d.state == HealthState::NotFitted,
                detail: format!("{} ({}): {}", d.state.word(), d.address, d.reason),
            },
        })
        .collect();
    if let (true, Some(address)) = (test_page, &devices.printer) {
        checks.push(print_test_page(config, address));
    }
    checks.push(check_platform(config));
    checks
}

fn print_test_page(config: &KioskConfig, address: &PrinterAddress) -> Check {
    let devices = config.devices();
    let result = crate::printing::print_test_page(
        address,
        devices.paper,
        devices.printer_route,
        &terminal_label(config),
        None,
    );
    Check {
        name: "printer test page".into(),
        ok: result.is_ok(),
        detail: match result {
            Ok(()) => "printed".into(),
            Err(e) => e.to_string(),
        },
    }
}

fn check_platform(config: &KioskConfig) -> Check {
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(PlatformCheckError::Runtime)
        .and_then(|rt| rt.block_on(platform_answers(config)));
    Check {
        name: "platform".into(),
        ok: result.is_ok(),
        detail: result.unwrap_or_else(|e| e.to_string()),
    }
}

/// Why the platform check failed.
#[derive(Debug, thiserror::Error)]
enum PlatformCheckError {
    /// No async runtime to make the request on.
    #[error("{0}")]
    Runtime(#[source] std::io::Error),
    /// The identity file cannot be used.
    #[error("{0}")]
    Identity(#[from] IdentityError),
    /// The platform did not answer, or refused the signed request.
    #[error("{0}")]
    Link(#[from] LinkError),
    /// The terminal is not enrolled; `reachable` says whether the platform named in the file
    /// answers.
    #[error(
        "not provisioned: scan the enrollment QR code or run `kiosk provision PAYLOAD`{reachable}"
    )]
    NotProvisioned {
        /// `; URL answers`, `; why not`, or nothing without a URL.
        reachable: String,
    },
}

/// An enrolled terminal proves its link with a signed request; one not yet enrolled can only
/// say whether the platform named in its file answers at all.
async fn platform_answers(config: &KioskConfig) -> Result<String, PlatformCheckError> {
    match TerminalIdentity::load(&config.data_dir) {
        Ok(identity) => {
            let terminal_id = identity.terminal_id.clone();
            let link = PlatformLink::configured(config, identity)?;
            link.config().await?;
            let health = link.health().await?;
            Ok(format!(
                "{} accepts {terminal_id}'s signed requests, catalog {}",
                link.base(),
                health.catalog_version
            ))
        }
        Err(IdentityError::NotProvisioned { .. }) => {
            let reachable = match &config.platform.url {
                Some(url) => {
                    let link =
                        PlatformLink::new(url, config.platform_timeout(), PlatformTls::default())?;
                    match link.health().await {
                        Ok(_) => format!("; {url} answers"),
                        Err(e) => format!("; {e}"),
                    }
                }
                None => String::new(),
            };
            Err(PlatformCheckError::NotProvisioned { reachable })
        }
        Err(e) => Err(e.into()),
    }
}

/// The terminal's id for printed pages: its enrolled id, else its hardware serial.
pub fn terminal_label(config: &KioskConfig) -> String {
    TerminalIdentity::load(&config.data_dir)
        .map(|i| i.terminal_id.clone())
        .unwrap_or_else(|_| {
            crate::uplink::identity::terminal_serial(config.hardware_serial.as_deref())
        })
}
