//! [`PrinterAddress`]: where a printer is, as configured or typed by a technician, and the
//! link that reaches it.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use super::{PrinterLink, SerialLink, TcpLink, UsbId, UsbLink, UsbLpLink};

/// One of the four ways a printer is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterAddress {
    /// RS-232 or USB-serial (`/dev/ttyS1`, `/dev/ttyUSB0`), or a pty.
    Serial { path: PathBuf, baud: u32 },
    /// The kernel's USB printer node (`/dev/usb/lp0`).
    UsbLp(PathBuf),
    /// A network printer, `host:port`.
    Tcp(String),
    /// A USB printer taken from the kernel, by vendor and product id.
    Usb(UsbId),
}

impl PrinterAddress {
    /// A device path: `/dev/usb/…` is a `usblp` node, anything else a serial port.
    pub fn from_device_path(path: impl Into<PathBuf>, baud: u32) -> PrinterAddress {
        let path = path.into();
        if path.starts_with("/dev/usb/") {
            PrinterAddress::UsbLp(path)
        } else {
            PrinterAddress::Serial { path, baud }
        }
    }

    /// Opens the link now; fails when the printer cannot be reached.
    pub fn open(&self) -> io::Result<Box<dyn PrinterLink>> {
        Ok(match self {
            PrinterAddress::Serial { path, baud } => Box::new(SerialLink::open(path, *baud)?),
            PrinterAddress::UsbLp(path) => Box::new(UsbLpLink::open(path)?),
            PrinterAddress::Tcp(address) => Box::new(TcpLink::connect(address.clone())?),
            PrinterAddress::Usb(id) => Box::new(UsbLink::open(*id)?),
        })
    }

    /// A link that connects on first use, for a kiosk that may boot before its printer.
    pub fn unopened(&self) -> Box<dyn PrinterLink> {
        match self {
            PrinterAddress::Serial { path, baud } => Box::new(SerialLink::unopened(path, *baud)),
            PrinterAddress::UsbLp(path) => Box::new(UsbLpLink::unopened(path)),
            PrinterAddress::Tcp(address) => Box::new(
                TcpLink::unconnected(address.clone()).with_connect_timeout(Duration::from_secs(2)),
            ),
            PrinterAddress::Usb(id) => Box::new(UsbLink::unopened(*id)),
        }
    }
}

/// How a technician would name it: `serial /dev/ttyS1 @115200`, `tcp 192.0.2.7:9100`, …
impl fmt::Display for PrinterAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrinterAddress::Serial { path, baud } => {
                write!(f, "serial {} @{baud}", path.display())
            }
            PrinterAddress::UsbLp(path) => write!(f, "usblp {}", path.display()),
            PrinterAddress::Tcp(address) => write!(f, "tcp {address}"),
            PrinterAddress::Usb(id) => write!(f, "usb {id}"),
        }
    }
}

impl<L: PrinterLink + ?Sized> PrinterLink for Box<L> {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        (**self).write_all(bytes)
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        (**self).read(buf, timeout)
    }

    fn discard_input(&mut self) -> io::Result<()> {
        (**self).discard_input()
    }

    fn reopen(&mut self) -> io::Result<()> {
        (**self).reopen()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_paths_pick_their_driver() {
        assert_eq!(
            PrinterAddress::from_device_path("/dev/usb/lp0", 9600),
            PrinterAddress::UsbLp("/dev/usb/lp0".into())
        );
        assert_eq!(
            PrinterAddress::from_device_path("/dev/ttyS1", 9600).to_string(),
            "serial /dev/ttyS1 @9600"
        );
        assert_eq!(
            PrinterAddress::Tcp("192.0.2.7:9100".into()).to_string(),
            "tcp 192.0.2.7:9100"
        );
    }
}
