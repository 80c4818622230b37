//! The terminal's configuration file (`/etc/kiosk/kiosk.toml`), as plain data.
//!
//! This module only reads and checks the file, and turns its sections into the settings the
//! rooms take ([`crate::devices::DeviceConfig`], the session's [`Settings`]); opening what it
//! names (the identity, the outbox, the platform link) is done by the rooms that own them.
//!
//! Every key has a documented default; unknown keys are refused (a typo must not silently fall
//! back to a default), and every error names the file, the line and the key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kiosk_drivers::printer::document::PrintRoute;
use kiosk_drivers::printer::escpos::PaperWidth;
use kiosk_drivers::printer::{PrinterAddress, UsbId};
use serde::Deserialize;

use kiosk_drivers::gpio::{ConfigError as GpioConfigError, GpioConfig};
use kiosk_drivers::idcard::{UsbError, UsbReaderAddress};
use kiosk_drivers::scanner::{SerialScanner, Suffix};

use crate::devices::DeviceConfig;
use crate::devices::cabinet::GpioPort;
use crate::devices::camera_monitor::CameraSource;
use crate::devices::card_reader::ReaderPort;
use crate::devices::scanner_monitor::ScannerPort;
use crate::session::{MIN_WARNING_GRACE, Settings};

/// Where the configuration lives on a terminal.
pub const DEFAULT_PATH: &str = "/etc/kiosk/kiosk.toml";

/// Where the running kiosk keeps a copy of the last configuration it accepted.
pub const DEFAULT_LAST_GOOD_PATH: &str = "/var/lib/kiosk/kiosk.last-good.toml";

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read {path}: {detail}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        detail: String,
    },
    /// The file is not valid TOML or has an unknown or mistyped key.
    #[error("{path}: {detail}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// Where and what, as the parser reports it.
        detail: String,
    },
    /// A value is out of range.
    #[error("{path}: `{key}` {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The key.
        key: &'static str,
        /// Why.
        reason: String,
    },
    /// A device section does not say where its device is, or says it wrongly.
    #[error("{path}: `{key}` {reason}")]
    Section {
        /// The file.
        path: PathBuf,
        /// The section.
        key: &'static str,
        /// Why.
        #[source]
        reason: SectionError,
    },
}

/// Why a device section does not say where its device is.
#[derive(Debug, thiserror::Error)]
pub enum SectionError {
    /// Both of two alternative keys are given.
    #[error("give either `{first}` or `{second}`, not both")]
    Both {
        /// The first key.
        first: &'static str,
        /// The second key.
        second: &'static str,
    },
    /// Neither of two alternative keys is given.
    #[error("needs `{first}` or `{second}`")]
    Neither {
        /// The first key.
        first: &'static str,
        /// The second key.
        second: &'static str,
    },
    /// A USB reader's ids are not `VID:PID`.
    #[error("`{0}` is not VID:PID in hex, e.g. 0400:c35a")]
    NotVidPid(String),
    /// A USB reader's address is refused by the driver.
    #[error("{0}")]
    UsbReader(#[from] UsbError),
    /// The GPIO wiring is refused by the driver.
    #[error("{0}")]
    Pins(#[from] GpioConfigError),
}

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KioskConfig {
    /// Where the terminal keeps its identity (and, with it, nothing personal): default
    /// `/var/lib/kiosk`. The terminal's id comes from enrollment, not from this file.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// The serial this terminal enrolls under, for a board that reports none of its own (DMI's
    /// "To be filled by O.E.M.", or a machine-id every flashed copy of an image shares): the
    /// asset number on the cabinet. Absent, or under 4 usable characters: the board's serial.
    #[serde(default)]
    pub hardware_serial: Option<String>,
    /// The platform link.
    #[serde(default)]
    pub platform: PlatformSection,
    /// The ID-card reader; absent when none is fitted.
    #[serde(default)]
    pub idcard: Option<IdcardSection>,
    /// The receipt printer; absent when none is fitted.
    #[serde(default)]
    pub printer: Option<PrinterSection>,
    /// The QR/barcode scanner; absent when none is fitted.
    #[serde(default)]
    pub scanner: Option<ScannerSection>,
    /// The document camera (高拍仪); absent when none is fitted.
    #[serde(default)]
    pub camera: Option<CameraSection>,
    /// The cabinet's GPIO (presence, door, status light, printer relay); absent when none.
    #[serde(default)]
    pub gpio: Option<GpioSection>,
    /// Session timing.
    #[serde(default)]
    pub session: SessionSection,
    /// The screen.
    #[serde(default)]
    pub display: DisplaySection,
    /// The outbox.
    #[serde(default)]
    pub outbox: OutboxSection,
    /// Technician access.
    #[serde(default)]
    pub maintenance: MaintenanceSection,
    /// Software updates.
    #[serde(default)]
    pub updates: UpdatesSection,
}

/// `[updates]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdatesSection {
    /// Install releases the platform's rollouts offer, inside their maintenance window and
    /// only while no citizen is being served (default true). Technicians can always use
    /// `kiosk update apply`.
    #[serde(default = "default_true")]
    pub automatic: bool,
    /// Seconds a new release has to prove itself healthy before the terminal goes back to
    /// the one before (default 120).
    #[serde(default = "default_health_deadline")]
    pub health_deadline_secs: u64,
    /// The trusted root of the signed release metadata where the image pins none
    /// (`/usr/share/kiosk/release-root.json`, which wins); default `DATA_DIR/updates/root.json`,
    /// which the first enrollment writes.
    #[serde(default)]
    pub root: Option<PathBuf>,
    /// The `rauc` program that installs system images (default `rauc`).
    #[serde(default = "default_rauc")]
    pub rauc: PathBuf,
    /// Where the running system states its release version (`IMAGE_VERSION=`), which an OS
    /// release must not go below (default `/etc/os-release`, on the read-only root).
    #[serde(default = "default_os_release")]
    pub os_release: PathBuf,
    /// The folder holding the application slots `{a,b}/kiosk` (default
    /// `/var/lib/kiosk-slots`). On a terminal it belongs to root and only the slot installer
    /// (`kiosk-slot-install.service`) writes it, so nothing running as the kiosk user can
    /// change what the launcher starts.
    #[serde(default = "default_slot_dir")]
    pub slot_dir: PathBuf,
    /// The user id that must own the slot folder and its files (default 0, root). The
    /// launcher refuses a slot owned by anyone else or writable by group or others. A
    /// process running as this user places releases itself; any other asks the slot
    /// installer. Development and tests set their own folder and user id here.
    #[serde(default)]
    pub slot_owner: u32,
}

impl Default for UpdatesSection {
    fn default() -> Self {
        Self {
            automatic: true,
            health_deadline_secs: default_health_deadline(),
            root: None,
            rauc: default_rauc(),
            os_release: default_os_release(),
            slot_dir: default_slot_dir(),
            slot_owner: 0,
        }
    }
}

/// Where a terminal keeps its application slots: a folder only root writes.
pub const SLOT_DIR: &str = "/var/lib/kiosk-slots";

fn default_slot_dir() -> PathBuf {
    PathBuf::from(SLOT_DIR)
}

fn default_true() -> bool {
    true
}

fn default_health_deadline() -> u64 {
    120
}

fn default_rauc() -> PathBuf {
    PathBuf::from("rauc")
}

fn default_os_release() -> PathBuf {
    PathBuf::from("/etc/os-release")
}

/// `[maintenance]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceSection {
    /// Argon2 hash of the technician PIN (`kiosk maintenance hash-pin`); without it the PIN
    /// pad stays closed.
    #[serde(default)]
    pub pin_hash: Option<String>,
}

/// `[outbox]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxSection {
    /// Most items waiting for the platform (default 5000); when full, the terminal takes no
    /// new applications until the platform is reachable again.
    #[serde(default = "default_outbox_capacity")]
    pub capacity: u32,
}

impl Default for OutboxSection {
    fn default() -> Self {
        Self {
            capacity: default_outbox_capacity(),
        }
    }
}

fn default_outbox_capacity() -> u32 {
    DEFAULT_OUTBOX_CAPACITY
}

/// Items the outbox holds at most by default (a busy hall takes a few hundred a day).
pub const DEFAULT_OUTBOX_CAPACITY: u32 = 5_000;

/// `[platform]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformSection {
    /// Base URL, e.g. `https://platform.example.gov.cn`. Optional: a terminal talks to the
    /// platform it enrolled with; set this only when that platform has moved.
    #[serde(default)]
    pub url: Option<String>,
    /// Request timeout in seconds (default 10).
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

impl Default for PlatformSection {
    fn default() -> Self {
        Self {
            url: None,
            timeout_secs: default_timeout(),
        }
    }
}

/// `[idcard]`: a serial reader (`port`) or a USB bulk reader (`usb`), not both.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdcardSection {
    /// Serial device path, e.g. `/dev/ttyUSB0`.
    #[serde(default)]
    pub port: Option<PathBuf>,
    /// Baud rate of a serial reader (default 115200).
    #[serde(default = "default_baud")]
    pub baud: u32,
    /// USB vendor and product ID, `VID:PID` in hex, e.g. `0400:c35a`.
    #[serde(default)]
    pub usb: Option<String>,
    /// USB interface carrying the bulk endpoints (default 0).
    #[serde(default)]
    pub usb_interface: Option<u8>,
    /// USB bulk OUT endpoint (default 0x02).
    #[serde(default)]
    pub usb_out_endpoint: Option<u8>,
    /// USB bulk IN endpoint (default 0x81).
    #[serde(default)]
    pub usb_in_endpoint: Option<u8>,
}

impl IdcardSection {
    /// Where the reader is, checked.
    fn reader_port(&self) -> Result<ReaderPort, SectionError> {
        match one_of(("port", &self.port), ("usb", &self.usb))? {
            Either::First(path) => Ok(ReaderPort::Serial {
                path: path.clone(),
                baud: self.baud,
            }),
            Either::Second(ids) => {
                let (vid, pid) = ids
                    .split_once(':')
                    .and_then(|(v, p)| {
                        Some((
                            u16::from_str_radix(v, 16).ok()?,
                            u16::from_str_radix(p, 16).ok()?,
                        ))
                    })
                    .ok_or_else(|| SectionError::NotVidPid(ids.clone()))?;
                let mut address = UsbReaderAddress::new(vid, pid);
                address.interface = self.usb_interface.unwrap_or(address.interface);
                address.out_endpoint = self.usb_out_endpoint.unwrap_or(address.out_endpoint);
                address.in_endpoint = self.usb_in_endpoint.unwrap_or(address.in_endpoint);
                address.validate()?;
                Ok(ReaderPort::Usb(address))
            }
        }
    }
}

/// `[printer]`: exactly one of `port`, `tcp` and `usb` says where it is.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrinterSection {
    /// Device path: a serial port (`/dev/ttyS1`) or a USB printer node (`/dev/usb/lp0`).
    #[serde(default)]
    pub port: Option<PathBuf>,
    /// A network printer, `host:port` (usually port 9100).
    #[serde(default)]
    pub tcp: Option<String>,
    /// A USB printer driven directly, by `VID:PID` in hex (the kernel's usblp is detached).
    #[serde(default)]
    pub usb: Option<String>,
    /// Baud rate of a serial `port` (default 115200).
    #[serde(default = "default_baud")]
    pub baud: u32,
    /// Printable width in dots: 384 (58 mm), 512 or 576 (80 mm, the default).
    #[serde(default = "default_paper")]
    pub paper_dots: u16,
    /// `"native"` (the default: the printer's own fonts draw the text) or `"raster"` (the
    /// kiosk draws the receipt and sends one image: for printers without a Chinese font).
    #[serde(default)]
    pub route: PrintRoute,
}

/// `[scanner]`: a serial scanner (`port`) or a keyboard-wedge one (`wedge`), not both.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScannerSection {
    /// Serial (USB CDC) device path, e.g. `/dev/ttyACM0`.
    #[serde(default)]
    pub port: Option<PathBuf>,
    /// Baud rate of a serial `port` (default 9600, most modules' factory setting).
    #[serde(default = "default_scanner_baud")]
    pub baud: u32,
    /// What ends each scan on a serial `port`: `"cr"` (the default), `"lf"` or `"crlf"`.
    #[serde(default)]
    pub suffix: Suffix,
    /// Keyboard-wedge scanner: its evdev node, e.g. `/dev/input/by-id/usb-…-event-kbd`.
    #[serde(default)]
    pub wedge: Option<PathBuf>,
}

impl ScannerSection {
    fn scanner_port(&self) -> Result<ScannerPort, SectionError> {
        Ok(
            match one_of(("port", &self.port), ("wedge", &self.wedge))? {
                Either::First(path) => ScannerPort::Serial {
                    path: path.clone(),
                    baud: self.baud,
                    suffix: self.suffix,
                },
                Either::Second(path) => ScannerPort::Wedge { path: path.clone() },
            },
        )
    }
}

/// `[camera]`: a V4L2 `device` or a `folder` of photos, not both.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraSection {
    /// V4L2 node of the 高拍仪, e.g. `/dev/video0`.
    #[serde(default)]
    pub device: Option<PathBuf>,
    /// A folder of JPEG/PNG photos served as frames (the simulator).
    #[serde(default)]
    pub folder: Option<PathBuf>,
    /// Seconds between idle probes (a frame grabbed) (default 10).
    #[serde(default = "default_camera_probe")]
    pub probe_secs: u64,
}

impl CameraSection {
    fn source(&self) -> Result<CameraSource, SectionError> {
        Ok(
            match one_of(("device", &self.device), ("folder", &self.folder))? {
                Either::First(path) => CameraSource::V4l2(path.clone()),
                Either::Second(path) => CameraSource::Folder(path.clone()),
            },
        )
    }
}

/// `[gpio]`: the simulator's `socket`, or the Pi's pins in `[gpio.pins]`, not both.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpioSection {
    /// Control socket of `kiosk-sim gpio`.
    #[serde(default)]
    pub simulator: Option<PathBuf>,
    /// The wiring, BCM numbers: `[gpio.pins.presence]`, `.door`, `.light_ready`,
    /// `.light_busy`, `.light_fault`, `.printer_relay` (see kiosk.example.toml).
    #[serde(default)]
    pub pins: Option<GpioConfig>,
}

impl GpioSection {
    fn port(&self) -> Result<GpioPort, SectionError> {
        match one_of(("simulator", &self.simulator), ("pins", &self.pins))? {
            Either::First(path) => Ok(GpioPort::Simulator(path.clone())),
            Either::Second(pins) => {
                pins.validate()?;
                Ok(GpioPort::Pins(*pins))
            }
        }
    }
}

/// `[session]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSection {
    /// Seconds of inactivity before the timeout warning (default 60).
    #[serde(default = "default_idle")]
    pub idle_warning_secs: u64,
    /// Seconds the warning shows before the session ends (default 30, at least 20).
    #[serde(default = "default_grace")]
    pub warning_grace_secs: u64,
}

impl Default for SessionSection {
    fn default() -> Self {
        Self {
            idle_warning_secs: default_idle(),
            warning_grace_secs: default_grace(),
        }
    }
}

/// `[display]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisplaySection {
    /// Landscape 1920×1080 instead of portrait 1080×1920.
    #[serde(default)]
    pub landscape: bool,
}

/// One of two alternative keys.
enum Either<A, B> {
    First(A),
    Second(B),
}

/// Exactly one of two alternative keys (`port` or `usb`, `device` or `folder`…) must be given.
fn one_of<'a, A, B>(
    (first, a): (&'static str, &'a Option<A>),
    (second, b): (&'static str, &'a Option<B>),
) -> Result<Either<&'a A, &'a B>, SectionError> {
    match (a, b) {
        (Some(a), None) => Ok(Either::First(a)),
        (None, Some(b)) => Ok(Either::Second(b)),
        (Some(_), Some(_)) => Err(SectionError::Both { first, second }),
        (None, None) => Err(SectionError::Neither { first, second }),
    }
}

/// Copies `from` to `to` so `to` is never half written.
fn copy_atomically(from: &Path, to: &Path) -> std::io::Result<()> {
    crate::write_atomically(to, &std::fs::read(from)?)
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("/var/lib/kiosk")
}

fn default_timeout() -> u64 {
    10
}
fn default_baud() -> u32 {
    115_200
}
fn default_scanner_baud() -> u32 {
    SerialScanner::DEFAULT_BAUD
}
fn default_camera_probe() -> u64 {
    10
}
fn default_paper() -> u16 {
    576
}
fn default_idle() -> u64 {
    60
}
fn default_grace() -> u64 {
    30
}

impl KioskConfig {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
        Self::parse(&text, path)
    }

    /// Loads `path` for the running service: a good file is also copied to `last_good`; a bad
    /// one is reported precisely (the returned error) and the last good copy is used instead,
    /// so a typo pushed to a terminal does not take it out of service. Without a good copy the
    /// error stands.
    pub fn load_or_last_good(
        path: &Path,
        last_good: &Path,
    ) -> Result<(Self, Option<ConfigError>), ConfigError> {
        match Self::load(path) {
            Ok(config) => {
                if let Err(e) = copy_atomically(path, last_good) {
                    tracing::warn!(error = %e, copy = %last_good.display(), "cannot keep a copy of the good configuration");
                }
                Ok((config, None))
            }
            Err(refused) => match Self::load(last_good) {
                Ok(config) => Ok((config, Some(refused))),
                Err(_) => Err(refused),
            },
        }
    }

    /// Parses and checks `text`; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let config: KioskConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.to_owned(),
            detail: e
                .to_string()
                .lines()
                .filter(|l| !l.trim().is_empty())
                .collect::<Vec<_>>()
                .join(" "),
        })?;
        let invalid = |key, reason: &str| ConfigError::Invalid {
            path: path.to_owned(),
            key,
            reason: reason.to_owned(),
        };
        if !config.data_dir.is_absolute() {
            return Err(invalid("data_dir", "must be an absolute path"));
        }
        if let Some(url) = &config.platform.url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(invalid(
                "platform.url",
                "must start with http:// or https://",
            ));
        }
        if let Some(hash) = &config.maintenance.pin_hash
            && argon2::password_hash::PasswordHash::new(hash).is_err()
        {
            return Err(invalid(
                "maintenance.pin_hash",
                "is not an argon2 hash made by `kiosk maintenance hash-pin`",
            ));
        }
        if !(10..=3600).contains(&config.updates.health_deadline_secs) {
            return Err(invalid(
                "updates.health_deadline_secs",
                "must be 10 to 3600 seconds",
            ));
        }
        if !(10..=1_000_000).contains(&config.outbox.capacity) {
            return Err(invalid("outbox.capacity", "must be 10 to 1000000"));
        }
        if config.platform.timeout_secs == 0 || config.platform.timeout_secs > 120 {
            return Err(invalid("platform.timeout_secs", "must be 1 to 120"));
        }
        if let Some(idcard) = &config.idcard
            && let Err(reason) = idcard.reader_port()
        {
            return Err(ConfigError::Section {
                path: path.to_owned(),
                key: "idcard",
                reason,
            });
        }
        if let Some(printer) = &config.printer {
            if paper_width(printer.paper_dots).is_none() {
                return Err(invalid("printer.paper_dots", "must be 384, 512 or 576"));
            }
            let given = [
                printer.port.is_some(),
                printer.tcp.is_some(),
                printer.usb.is_some(),
            ];
            if given.iter().filter(|g| **g).count() != 1 {
                return Err(invalid("printer", "needs exactly one of port, tcp and usb"));
            }
            if let Some(usb) = &printer.usb
                && let Err(e) = usb.parse::<UsbId>()
            {
                return Err(invalid("printer.usb", &e.to_string()));
            }
        }
        // Each optional device section, checked: the first refusal names its section.
        let refused = [
            (
                "scanner",
                config.scanner.as_ref().map(|s| s.scanner_port().map(drop)),
            ),
            (
                "camera",
                config.camera.as_ref().map(|c| c.source().map(drop)),
            ),
            ("gpio", config.gpio.as_ref().map(|g| g.port().map(drop))),
        ]
        .into_iter()
        .find_map(|(key, checked)| Some((key, checked?.err()?)));
        if let Some((key, reason)) = refused {
            return Err(ConfigError::Section {
                path: path.to_owned(),
                key,
                reason,
            });
        }
        if let Some(camera) = &config.camera
            && !(1..=3600).contains(&camera.probe_secs)
        {
            return Err(invalid("camera.probe_secs", "must be 1 to 3600"));
        }
        if config.session.warning_grace_secs < MIN_WARNING_GRACE.as_secs() {
            return Err(invalid(
                "session.warning_grace_secs",
                "must be at least 20 (citizens need time to react)",
            ));
        }
        if config.session.idle_warning_secs < 10 {
            return Err(invalid("session.idle_warning_secs", "must be at least 10"));
        }
        Ok(config)
    }

    /// The platform URL: this file's override, else `enrolled_with`, the platform the
    /// terminal enrolled with.
    pub fn platform_url(&self, enrolled_with: Option<&str>) -> Option<String> {
        self.platform
            .url
            .clone()
            .or_else(|| enrolled_with.map(str::to_owned))
    }

    /// The request timeout towards the platform.
    pub fn platform_timeout(&self) -> Duration {
        Duration::from_secs(self.platform.timeout_secs)
    }

    /// Session settings from this file, for the terminal `terminal_id`.
    pub fn settings(&self, terminal_id: &str) -> Settings {
        Settings {
            terminal_id: terminal_id.to_owned(),
            idle_warning_after: Duration::from_secs(self.session.idle_warning_secs),
            warning_grace: Duration::from_secs(self.session.warning_grace_secs),
            ..Settings::default()
        }
    }

    /// Device settings from this file.
    pub fn devices(&self) -> DeviceConfig {
        DeviceConfig {
            idcard: self.idcard.as_ref().and_then(|s| s.reader_port().ok()),
            printer: self.printer.as_ref().and_then(PrinterSection::address),
            paper: self
                .printer
                .as_ref()
                .and_then(|p| paper_width(p.paper_dots))
                .unwrap_or(PaperWidth::Dots576),
            printer_route: self
                .printer
                .as_ref()
                .map_or(PrintRoute::Native, |p| p.route),
            scanner: self.scanner.as_ref().and_then(|s| s.scanner_port().ok()),
            camera: self.camera.as_ref().and_then(|c| c.source().ok()),
            camera_probe: Duration::from_secs(
                self.camera
                    .as_ref()
                    .map_or(default_camera_probe(), |c| c.probe_secs),
            ),
            gpio: self.gpio.as_ref().and_then(|g| g.port().ok()),
        }
    }
}

impl PrinterSection {
    /// Where the printer is; `None` only for a section [`KioskConfig::parse`] would refuse.
    pub fn address(&self) -> Option<PrinterAddress> {
        match (&self.port, &self.tcp, &self.usb) {
            (Some(port), None, None) => Some(PrinterAddress::from_device_path(port, self.baud)),
            (None, Some(tcp), None) => Some(PrinterAddress::Tcp(tcp.clone())),
            (None, None, Some(usb)) => usb.parse().ok().map(PrinterAddress::Usb),
            _ => None,
        }
    }
}

fn paper_width(dots: u16) -> Option<PaperWidth> {
    match dots {
        384 => Some(PaperWidth::Dots384),
        512 => Some(PaperWidth::Dots512),
        576 => Some(PaperWidth::Dots576),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
data_dir = "/var/lib/kiosk"
[platform]
url = "http://127.0.0.1:8080"
[idcard]
port = "/dev/ttyUSB0"
[printer]
port = "/dev/ttyS1"
paper_dots = 384
"#;

    fn parse(text: &str) -> Result<KioskConfig, ConfigError> {
        KioskConfig::parse(text, Path::new("kiosk.toml"))
    }

    #[test]
    fn a_minimal_file_gets_documented_defaults() {
        let config = parse(GOOD).expect("valid");
        assert_eq!(config.platform.timeout_secs, 10);
        assert_eq!(
            config.devices().idcard,
            Some(ReaderPort::Serial {
                path: "/dev/ttyUSB0".into(),
                baud: 115_200
            })
        );
        assert_eq!(config.devices().paper, PaperWidth::Dots384);
        assert_eq!(
            config.settings("LYG-HZ-0001").idle_warning_after,
            Duration::from_secs(60)
        );
        assert!(!config.display.landscape);
    }

    #[test]
    fn the_shipped_example_is_valid_and_matches_the_defaults() {
        let config = parse(include_str!("../kiosk.example.toml")).expect("example parses");
        assert_eq!(config.platform.timeout_secs, default_timeout());
        assert_eq!(config.session.idle_warning_secs, default_idle());
        assert_eq!(config.session.warning_grace_secs, default_grace());
        assert_eq!(
            config.printer.as_ref().map(|p| p.paper_dots),
            Some(default_paper())
        );
        assert_eq!(
            config.scanner.as_ref().map(|s| (s.baud, s.suffix)),
            Some((default_scanner_baud(), Suffix::default()))
        );
        assert_eq!(
            config.camera.as_ref().map(|c| c.probe_secs),
            Some(default_camera_probe())
        );
        assert_eq!(
            config.devices().gpio,
            Some(GpioPort::Pins(GpioConfig::default())),
            "the example shows the reference wiring"
        );
    }

    #[test]
    fn the_print_route_defaults_to_native_and_can_be_raster() {
        assert_eq!(
            parse(GOOD).expect("valid").devices().printer_route,
            PrintRoute::Native
        );
        let raster =
            parse(&GOOD.replace("paper_dots = 384", "paper_dots = 384\nroute = \"raster\""))
                .expect("valid");
        assert_eq!(raster.devices().printer_route, PrintRoute::Raster);
        let err = parse(&GOOD.replace("paper_dots = 384", "route = \"laser\""))
            .expect_err("unknown route")
            .to_string();
        assert!(err.contains("laser") || err.contains("route"), "{err}");
    }

    #[test]
    fn the_printer_is_on_a_port_a_network_or_usb_exactly_one() {
        assert_eq!(
            parse(GOOD).expect("valid").devices().printer,
            Some(PrinterAddress::Serial {
                path: "/dev/ttyS1".into(),
                baud: 115_200
            })
        );
        let lp = parse(&GOOD.replace("/dev/ttyS1", "/dev/usb/lp0")).expect("valid");
        assert_eq!(
            lp.devices().printer,
            Some(PrinterAddress::UsbLp("/dev/usb/lp0".into()))
        );
        let tcp = parse(&GOOD.replace("port = \"/dev/ttyS1\"", "tcp = \"192.0.2.7:9100\""))
            .expect("valid");
        assert_eq!(
            tcp.devices().printer,
            Some(PrinterAddress::Tcp("192.0.2.7:9100".into()))
        );
        let usb =
            parse(&GOOD.replace("port = \"/dev/ttyS1\"", "usb = \"0fe6:811e\"")).expect("valid");
        assert!(matches!(
            usb.devices().printer,
            Some(PrinterAddress::Usb(_))
        ));
        for bad in [
            GOOD.replace("port = \"/dev/ttyS1\"", "usb = \"nope\""),
            GOOD.replace(
                "port = \"/dev/ttyS1\"",
                "port = \"/dev/ttyS1\"\ntcp = \"a:1\"",
            ),
            GOOD.replace("port = \"/dev/ttyS1\"", ""),
        ] {
            let err = parse(&bad).expect_err("refused").to_string();
            assert!(err.contains("`printer"), "{err}");
        }
    }

    #[test]
    fn a_corrupt_file_falls_back_to_the_last_good_copy_and_says_why() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("kiosk.toml");
        let last_good = dir.path().join("kiosk.last-good.toml");
        std::fs::write(&path, GOOD).expect("write");
        let (_, refused) = KioskConfig::load_or_last_good(&path, &last_good).expect("good");
        assert!(refused.is_none());
        assert_eq!(std::fs::read_to_string(&last_good).expect("copied"), GOOD);
        // Half a file, as a push cut by a power loss leaves it.
        std::fs::write(&path, &GOOD[..GOOD.len() / 2]).expect("cut");
        let (config, refused) =
            KioskConfig::load_or_last_good(&path, &last_good).expect("the last good copy runs");
        assert!(
            config.printer.is_some(),
            "the last good configuration is the one used"
        );
        let why = refused.expect("the refusal is reported").to_string();
        assert!(why.contains("kiosk.toml"), "{why}");
        assert_eq!(
            std::fs::read_to_string(&last_good).expect("kept"),
            GOOD,
            "a refused file never replaces the last good copy"
        );
        // Bytes that are not text at all.
        std::fs::write(&path, [0xff, 0xfe, 0x00, 0x12]).expect("garbage");
        assert!(
            KioskConfig::load_or_last_good(&path, &last_good)
                .expect("last good")
                .1
                .is_some()
        );
    }

    #[test]
    fn a_typo_is_reported_with_its_line_not_defaulted() {
        let err = parse(&GOOD.replace("paper_dots", "papr_dots")).expect_err("typo");
        let text = err.to_string();
        assert!(
            text.starts_with("kiosk.toml:") && text.contains("papr_dots") && text.contains("line"),
            "{text}"
        );
    }

    #[test]
    fn a_usb_reader_is_named_by_vid_and_pid() {
        let usb = GOOD.replace(
            "port = \"/dev/ttyUSB0\"",
            "usb = \"0400:c35a\"\nusb_in_endpoint = 0x82",
        );
        let config = parse(&usb).expect("valid");
        let Some(ReaderPort::Usb(address)) = config.devices().idcard else {
            panic!("not USB")
        };
        assert_eq!(
            (address.vendor_id, address.product_id, address.in_endpoint),
            (0x0400, 0xc35a, 0x82)
        );
        for (bad, why) in [
            (
                GOOD.replace("port = \"/dev/ttyUSB0\"", "usb = \"reader\""),
                "VID:PID",
            ),
            (
                GOOD.replace(
                    "port = \"/dev/ttyUSB0\"",
                    "port = \"/dev/ttyUSB0\"\nusb = \"0400:c35a\"",
                ),
                "not both",
            ),
            (
                GOOD.replace(
                    "port = \"/dev/ttyUSB0\"",
                    "usb = \"0400:c35a\"\nusb_in_endpoint = 2",
                ),
                "endpoint",
            ),
            (
                GOOD.replace("port = \"/dev/ttyUSB0\"", "baud = 9600"),
                "needs",
            ),
        ] {
            let err = parse(&bad).expect_err(why).to_string();
            assert!(err.contains("idcard") && err.contains(why), "{err}");
        }
    }

    #[test]
    fn scanner_camera_and_gpio_are_optional_and_checked() {
        let bare = parse(GOOD).expect("valid").devices();
        assert_eq!((bare.scanner, bare.camera, bare.gpio), (None, None, None));
        let full = parse(&format!(
            "{GOOD}[scanner]\nport = \"/dev/ttyACM0\"\nsuffix = \"crlf\"\n\
             [camera]\nfolder = \"/var/lib/kiosk/frames\"\nprobe_secs = 3\n\
             [gpio]\nsimulator = \"/run/kiosk/gpio.sock\"\n"
        ))
        .expect("valid")
        .devices();
        assert_eq!(
            full.scanner,
            Some(ScannerPort::Serial {
                path: "/dev/ttyACM0".into(),
                baud: 9600,
                suffix: Suffix::CrLf
            })
        );
        assert_eq!(
            full.camera,
            Some(CameraSource::Folder("/var/lib/kiosk/frames".into()))
        );
        assert_eq!(full.camera_probe, Duration::from_secs(3));
        assert_eq!(
            full.gpio,
            Some(GpioPort::Simulator("/run/kiosk/gpio.sock".into()))
        );
        for (bad, key) in [
            (format!("{GOOD}[scanner]\nbaud = 9600\n"), "`scanner`"),
            (
                format!("{GOOD}[scanner]\nport = \"/dev/a\"\nwedge = \"/dev/b\"\n"),
                "not both",
            ),
            (
                format!("{GOOD}[scanner]\nport = \"/dev/a\"\nsuffix = \"tab\"\n"),
                "tab",
            ),
            (format!("{GOOD}[camera]\n"), "`camera`"),
            (
                format!("{GOOD}[camera]\ndevice = \"/dev/video0\"\nprobe_secs = 0\n"),
                "camera.probe_secs",
            ),
            (format!("{GOOD}[gpio]\n"), "`gpio`"),
        ] {
            let err = parse(&bad).expect_err(key).to_string();
            assert!(err.contains(key), "{err}");
        }
    }

    #[test]
    fn out_of_range_values_name_their_key() {
        for (bad, key) in [
            (GOOD.replace("384", "300"), "printer.paper_dots"),
            (
                GOOD.replace("http://127.0.0.1:8080", "127.0.0.1:8080"),
                "platform.url",
            ),
            (
                format!("{GOOD}[session]\nwarning_grace_secs = 5\n"),
                "session.warning_grace_secs",
            ),
            (GOOD.replace("/var/lib/kiosk", "kiosk-data"), "data_dir"),
        ] {
            let err = parse(&bad).expect_err(key).to_string();
            assert!(err.contains(key), "{err}");
        }
    }

    #[test]
    fn broken_toml_and_missing_files_are_one_line_errors() {
        let err = parse("data_dir = \n").expect_err("syntax").to_string();
        assert!(!err.contains('\n'), "{err}");
        let err = KioskConfig::load(Path::new("/nonexistent/kiosk.toml"))
            .expect_err("missing")
            .to_string();
        assert!(
            err.starts_with("cannot read /nonexistent/kiosk.toml"),
            "{err}"
        );
    }
}
