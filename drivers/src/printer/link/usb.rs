//! [`UsbLink`]: a USB printer driven directly over its bulk endpoints (via `nusb`).
//!
//! For printers whose `usblp` node misbehaves (some Chinese printers never answer status
//! through it) the kiosk can take the printer from the kernel: find the device by vendor and
//! product id, claim its printer-class interface (detaching `usblp`), and move bytes over the
//! bulk OUT and IN endpoints itself.
//!
//! This transport needs real hardware and cannot run in CI; only its argument handling and its
//! "no such device" path are tested there.

use std::fmt;
use std::io;
use std::str::FromStr;
use std::time::Duration;

use nusb::transfer::{Buffer, Bulk, In, Out, TransferError};
use nusb::{Endpoint, Interface, MaybeFuture};

use super::PrinterLink;

/// USB interface class of printers.
const PRINTER_CLASS: u8 = 0x07;

/// A USB vendor and product id, written `VID:PID` in hex (`0fe6:811e`), as `lsusb` shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UsbId {
    pub vendor: u16,
    pub product: u16,
}

impl fmt::Display for UsbId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04x}:{:04x}", self.vendor, self.product)
    }
}

/// A `VID:PID` that is not two hex numbers of at most four digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a USB id: expected VID:PID in hex, e.g. 0fe6:811e")]
pub struct BadUsbId(pub String);

impl FromStr for UsbId {
    type Err = BadUsbId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadUsbId(s.to_owned());
        let (vendor, product) = s.split_once(':').ok_or_else(bad)?;
        let hex = |part: &str| {
            let digits = part.strip_prefix("0x").unwrap_or(part);
            if digits.is_empty() || digits.len() > 4 {
                return None;
            }
            u16::from_str_radix(digits, 16).ok()
        };
        Ok(UsbId {
            vendor: hex(vendor).ok_or_else(bad)?,
            product: hex(product).ok_or_else(bad)?,
        })
    }
}

/// An open printer interface: its bulk endpoints.
struct Claimed {
    /// Keeps the interface claimed while the endpoints are in use.
    _interface: Interface,
    out: Endpoint<Bulk, Out>,
    /// Printers without a return channel have no IN endpoint; status then cannot be read.
    input: Option<Endpoint<Bulk, In>>,
    /// Bytes received beyond what a caller's buffer took.
    unread: Vec<u8>,
}

/// A USB printer found by [`UsbId`], reopened after it is unplugged or power-cycled.
pub struct UsbLink {
    id: UsbId,
    claimed: Option<Claimed>,
}

impl fmt::Debug for UsbLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UsbLink")
            .field("id", &self.id)
            .field("open", &self.claimed.is_some())
            .finish()
    }
}

impl UsbLink {
    /// Longest a bulk write of one chunk may take.
    pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
    const CHUNK: usize = 16 * 1024;

    /// Finds the printer `id` and claims its printer interface.
    pub fn open(id: UsbId) -> io::Result<UsbLink> {
        let mut link = UsbLink::unopened(id);
        link.reopen()?;
        Ok(link)
    }

    /// A link that looks for the printer on first use.
    pub fn unopened(id: UsbId) -> UsbLink {
        UsbLink { id, claimed: None }
    }

    pub fn id(&self) -> UsbId {
        self.id
    }

    fn claimed(&mut self) -> io::Result<&mut Claimed> {
        self.claimed.as_mut().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotConnected, "the USB printer is not open")
        })
    }

    fn fail(&mut self, error: io::Error) -> io::Error {
        match error.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::Interrupted => error,
            _ => {
                self.claimed = None;
                io::Error::new(
                    io::ErrorKind::NotConnected,
                    format!("the USB printer {} went away ({error})", self.id),
                )
            }
        }
    }
}

fn claim(id: UsbId) -> io::Result<Claimed> {
    let not_found = || {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "no such device {id}: no USB device with that vendor and product id is connected"
            ),
        )
    };
    let devices = nusb::list_devices().wait().map_err(|e| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("no such device {id}: the USB devices cannot be listed ({e})"),
        )
    })?;
    let info = devices
        .into_iter()
        .find(|d| d.vendor_id() == id.vendor && d.product_id() == id.product)
        .ok_or_else(not_found)?;
    let interface_number = info
        .interfaces()
        .find(|i| i.class() == PRINTER_CLASS)
        .map(|i| i.interface_number())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("USB device {id} has no printer-class interface"),
            )
        })?;
    let device = info.open().wait().map_err(io::Error::from)?;
    // Takes the interface from usblp if it holds it; usblp gets it back when we let go.
    let interface = device
        .detach_and_claim_interface(interface_number)
        .wait()
        .map_err(io::Error::from)?;
    let descriptor = interface.descriptor().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            "the printer interface has no descriptor",
        )
    })?;
    let bulk = |dir_in: bool| {
        descriptor
            .endpoints()
            .find(|ep| {
                ep.transfer_type() == nusb::descriptors::TransferType::Bulk
                    && (ep.address() & 0x80 != 0) == dir_in
            })
            .map(|ep| ep.address())
    };
    let out_address = bulk(false).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            "the printer interface has no bulk OUT endpoint",
        )
    })?;
    let out = interface
        .endpoint::<Bulk, Out>(out_address)
        .map_err(io::Error::from)?;
    let input = match bulk(true) {
        Some(address) => Some(
            interface
                .endpoint::<Bulk, In>(address)
                .map_err(io::Error::from)?,
        ),
        None => None,
    };
    Ok(Claimed {
        _interface: interface,
        out,
        input,
        unread: Vec::new(),
    })
}

/// Reads one bulk IN transfer, waiting at most `timeout`; whatever arrived before a timeout
/// is kept.
fn read_transfer(input: &mut Endpoint<Bulk, In>, timeout: Duration) -> io::Result<Vec<u8>> {
    let size = input.max_packet_size().max(64);
    input.submit(Buffer::new(size));
    let completion = match input.wait_next_complete(timeout) {
        Some(completion) => completion,
        None => {
            input.cancel_all();
            match input.wait_next_complete(Duration::from_secs(1)) {
                Some(completion) => completion,
                None => return Err(io::Error::from(io::ErrorKind::TimedOut)),
            }
        }
    };
    let data = completion.buffer.into_vec();
    let got = data[..completion.actual_len.min(data.len())].to_vec();
    match completion.status {
        Ok(()) => Ok(got),
        Err(TransferError::Cancelled) if !got.is_empty() => Ok(got),
        Err(TransferError::Cancelled) => Err(io::Error::from(io::ErrorKind::TimedOut)),
        Err(e) => Err(e.into()),
    }
}

impl PrinterLink for UsbLink {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        let result = self.claimed().and_then(|c| {
            for chunk in bytes.chunks(UsbLink::CHUNK) {
                let mut buf = Buffer::new(chunk.len());
                buf.extend_from_slice(chunk);
                let completion = c.out.transfer_blocking(buf, UsbLink::WRITE_TIMEOUT);
                match completion.status {
                    Ok(()) => {}
                    Err(TransferError::Cancelled) => {
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "the printer stopped taking data",
                        ));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(())
        });
        result.map_err(|e| self.fail(e))
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        let result = self.claimed().and_then(|c| {
            if c.unread.is_empty() {
                let input = c.input.as_mut().ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::Unsupported,
                        "this printer has no return channel (no bulk IN endpoint)",
                    )
                })?;
                c.unread = read_transfer(input, timeout)?;
            }
            let n = buf.len().min(c.unread.len());
            buf[..n].copy_from_slice(&c.unread[..n]);
            c.unread.drain(..n);
            Ok(n)
        });
        result.map_err(|e| self.fail(e))
    }

    fn discard_input(&mut self) -> io::Result<()> {
        let result = self.claimed().and_then(|c| {
            c.unread.clear();
            let Some(input) = c.input.as_mut() else {
                return Ok(());
            };
            for _ in 0..16 {
                match read_transfer(input, Duration::from_millis(5)) {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::TimedOut => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        });
        result.map_err(|e| self.fail(e))
    }

    fn reopen(&mut self) -> io::Result<()> {
        self.claimed = None;
        self.claimed = Some(claim(self.id)?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usb_ids_parse_as_lsusb_writes_them() {
        assert_eq!(
            "0fe6:811e".parse::<UsbId>(),
            Ok(UsbId {
                vendor: 0x0FE6,
                product: 0x811E
            })
        );
        assert_eq!(
            "0x0483:0x5743".parse::<UsbId>().map(|id| id.to_string()),
            Ok("0483:5743".to_owned())
        );
        for bad in [
            "",
            "0fe6",
            "0fe6:",
            ":811e",
            "0fe6:811e:1",
            "xyz:0001",
            "12345:0001",
            "0fe6 811e",
        ] {
            assert!(bad.parse::<UsbId>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_missing_printer_is_named_in_the_error() {
        // No device has vendor ffff, product fffe (ffff is reserved); whether or not this
        // machine can list USB devices at all, the error must name the id plainly.
        let id = UsbId {
            vendor: 0xFFFF,
            product: 0xFFFE,
        };
        let err = UsbLink::open(id).expect_err("no such printer");
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(
            err.to_string().starts_with("no such device ffff:fffe"),
            "{err}"
        );
        let mut link = UsbLink::unopened(id);
        assert_eq!(
            link.write_all(b"x").expect_err("not open").kind(),
            io::ErrorKind::NotConnected
        );
    }
}
