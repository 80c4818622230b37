//! `kiosk device printer status|test|print FILE`: the receipt printer by hand.
//!
//! For the technician fitting or servicing a printer: is it reachable and ready, does a test
//! page come out right (both print routes, every paper width), and does a captured job print.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use kiosk_drivers::printer::document::PrintRoute;
use kiosk_drivers::printer::escpos::{PaperWidth, PrinterStatus};
use kiosk_drivers::printer::{PrintError, Printer, PrinterAddress, PrinterLink, UsbId};

use crate::printing::receipt::{self, TestPageInfo};

/// The printer subcommands.
#[derive(Debug, Subcommand)]
pub enum PrinterCommand {
    /// Ask the printer for its state; exits non-zero unless it can print.
    Status {
        #[command(flatten)]
        target: Target,
    },
    /// Print the test page (configuration, Chinese and ASCII text, a QR code, a ruler).
    Test {
        #[command(flatten)]
        target: Target,
    },
    /// Send a file of raw ESC/POS bytes (after checking that the printer can print).
    Print {
        /// The file to send, byte for byte.
        file: PathBuf,
        #[command(flatten)]
        target: Target,
    },
}

/// Where the printer is: exactly one of the three.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct Connection {
    /// Serial port (`/dev/ttyS1`, `/dev/ttyUSB0`) or USB printer node (`/dev/usb/lp0`).
    #[arg(long, value_name = "PATH")]
    pub port: Option<PathBuf>,
    /// Network printer, `host:port` (usually port 9100).
    #[arg(long, value_name = "ADDR")]
    pub tcp: Option<String>,
    /// USB printer by vendor and product id in hex, `VID:PID` as lsusb shows it.
    #[arg(long, value_name = "VID:PID")]
    pub usb: Option<UsbId>,
}

/// Which printer, and how to lay out for it.
#[derive(Debug, Args)]
pub struct Target {
    #[command(flatten)]
    pub connection: Connection,
    /// Baud rate of a serial port.
    #[arg(long, default_value_t = 115_200)]
    pub baud: u32,
    /// Printable width in dots: 384 (58 mm), 512 or 576 (80 mm).
    #[arg(long, default_value_t = 576, value_parser = parse_width)]
    pub width: u16,
    /// native (the printer's fonts) or raster (one image drawn by the kiosk).
    #[arg(long, default_value_t = PrintRoute::Native)]
    pub route: PrintRoute,
}

impl Target {
    /// The address chosen; clap guarantees exactly one of the three.
    pub fn address(&self) -> anyhow::Result<PrinterAddress> {
        let c = &self.connection;
        match (&c.port, &c.tcp, c.usb) {
            (Some(path), None, None) => Ok(PrinterAddress::from_device_path(path, self.baud)),
            (None, Some(address), None) => Ok(PrinterAddress::Tcp(address.clone())),
            (None, None, Some(id)) => Ok(PrinterAddress::Usb(id)),
            _ => bail!("give exactly one of --port, --tcp and --usb"),
        }
    }

    pub fn paper(&self) -> PaperWidth {
        match self.width {
            384 => PaperWidth::Dots384,
            512 => PaperWidth::Dots512,
            _ => PaperWidth::Dots576,
        }
    }
}

/// A `--width` the printers do not have.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a paper width: use 384, 512 or 576")]
struct NotAPaperWidth(String);

fn parse_width(s: &str) -> Result<u16, NotAPaperWidth> {
    match s.parse::<u16>() {
        Ok(w @ (384 | 512 | 576)) => Ok(w),
        _ => Err(NotAPaperWidth(s.to_owned())),
    }
}

/// How long to wait for each status reply: a little more than the driver's default, since a
/// technician's bench printer may sit behind a slow USB hub.
const REPLY_TIMEOUT: Duration = Duration::from_millis(800);

/// Runs one printer subcommand.
pub fn run(command: PrinterCommand) -> anyhow::Result<()> {
    match command {
        PrinterCommand::Status { target } => status(&target),
        PrinterCommand::Test { target } => test(&target),
        PrinterCommand::Print { file, target } => print_file(&file, &target),
    }
}

fn connect(target: &Target) -> anyhow::Result<(PrinterAddress, Printer<Box<dyn PrinterLink>>)> {
    let address = target.address()?;
    let link = address
        .open()
        .with_context(|| format!("cannot reach the printer at {address}"))?;
    Ok((
        address,
        Printer::new(link).with_reply_timeout(REPLY_TIMEOUT),
    ))
}

fn status(target: &Target) -> anyhow::Result<()> {
    let (address, mut printer) = connect(target)?;
    let status = printer
        .status()
        .with_context(|| format!("no status from the printer at {address}"))?;
    println!("{}", status.state);
    for detail in details(&status) {
        println!("  {detail}");
    }
    if !status.state.can_print() {
        bail!("the printer at {address} cannot print: {}", status.state);
    }
    Ok(())
}

/// Every flag the printer reported, in words: a printer can be out of paper with its cover
/// open, and the technician should hear both.
fn details(status: &PrinterStatus) -> Vec<&'static str> {
    [
        (status.offline, "offline"),
        (status.cover_open, "cover open"),
        (status.paper_end, "paper end sensor: no paper"),
        (status.paper_end_stop, "stopped because the paper ran out"),
        (
            status.paper_near_end,
            "paper near-end sensor: roll nearly used up",
        ),
        (status.cutter_error, "paper cutter error"),
        (
            status.unrecoverable_error,
            "unrecoverable error: switch off and service",
        ),
        (
            status.auto_recoverable_error,
            "recoverable error (e.g. head too hot)",
        ),
        (status.error, "error"),
    ]
    .into_iter()
    .filter_map(|(on, words)| on.then_some(words))
    .collect()
}

fn test(target: &Target) -> anyhow::Result<()> {
    let (address, mut printer) = connect(target)?;
    let info = TestPageInfo {
        terminal_id: terminal_name(),
        software_version: env!("CARGO_PKG_VERSION").to_owned(),
        connection: address.to_string(),
        paper: target.paper(),
        route: target.route,
        printed_at: now(),
    };
    let page = receipt::test_page(&info);
    printer
        .print_routed(&page, target.paper(), target.route)
        .map_err(|e| explain(e, &address))?;
    println!(
        "test page sent to {address} ({} dots, {} route)",
        target.width, target.route
    );
    Ok(())
}

fn print_file(file: &std::path::Path, target: &Target) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    if bytes.is_empty() {
        bail!("{} is empty: nothing to print", file.display());
    }
    let (address, mut printer) = connect(target)?;
    printer
        .print_bytes(&bytes)
        .map_err(|e| explain(e, &address))?;
    println!("{} bytes sent to {address}", bytes.len());
    Ok(())
}

fn explain(error: PrintError, address: &PrinterAddress) -> anyhow::Error {
    anyhow::Error::new(error).context(format!("nothing printed on the printer at {address}"))
}

/// The terminal's enrolled id when there is one, else the host name.
fn terminal_name() -> String {
    crate::config::KioskConfig::load(std::path::Path::new(crate::config::DEFAULT_PATH))
        .ok()
        .and_then(|c| crate::uplink::identity::TerminalIdentity::load(&c.data_dir).ok())
        .map(|i| i.terminal_id.clone())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

fn now() -> String {
    let now = time::OffsetDateTime::now_local().unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
