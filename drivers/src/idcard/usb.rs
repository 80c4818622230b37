//! The ID-card reader over USB bulk endpoints (readers that are not USB-serial adapters).
//!
//! Such readers carry the very same frames as the serial ones, only in bulk transfers: the
//! host writes a command to the OUT endpoint (usually `0x02`) and the reply comes back on the
//! IN endpoint (usually `0x81`), cut into packets of the endpoint's maximum size. The frame
//! codec already reassembles frames from arbitrary pieces, so this transport only has to move
//! bytes and map USB failures onto the [`Transport`] contract.
//!
//! Reading keeps a few IN transfers queued at all times, so the reply's packets are taken off
//! the bus as they arrive rather than after the host asks for each one; bytes that arrive
//! between two [`Transport::read`] calls wait in the completed transfers and in a small
//! carry-over buffer, both of which [`Transport::discard_input`] empties.
//!
//! Everything a reply carries may be personal data: the carry-over buffer and every transfer
//! buffer that held reply bytes are wiped before they are reused or freed.
//!
//! This transport has been exercised only through its validation and its "device absent"
//! paths; nothing here has run against a physical USB reader yet.

use std::fmt;
use std::io;
use std::time::Duration;

use nusb::transfer::{Buffer, Bulk, In, Out, TransferError};
use nusb::{Endpoint, Interface, MaybeFuture};
use zeroize::{Zeroize, Zeroizing};

use super::reader::Transport;

/// How long a command may take to be accepted by the reader before the link is considered
/// stuck; commands are ten bytes, so anything near this is a dead device.
const WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// IN transfers kept queued. Two let the next packet land while the previous one is copied
/// out; more buys nothing at a reader's few kilobytes per reply.
const QUEUED_READS: usize = 2;

/// Bytes asked for per IN transfer (rounded up to the endpoint's packet size). A transfer
/// completes early on a short packet, so this only bounds how much one completion can hold:
/// the largest reply (text, photo and fingerprint) is about 2.3 KiB.
const READ_TRANSFER_LEN: usize = 4096;

/// Where to find a reader on the USB bus. The defaults are the endpoints the common readers
/// use; the kiosk configuration overrides them for the models that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsbReaderAddress {
    /// The vendor ID (idVendor).
    pub vendor_id: u16,
    /// The product ID (idProduct).
    pub product_id: u16,
    /// The interface that carries the bulk endpoints.
    pub interface: u8,
    /// The bulk OUT endpoint commands are written to (direction bit clear).
    pub out_endpoint: u8,
    /// The bulk IN endpoint replies are read from (direction bit `0x80` set).
    pub in_endpoint: u8,
}

impl UsbReaderAddress {
    /// The usual bulk OUT endpoint of these readers.
    pub const DEFAULT_OUT_ENDPOINT: u8 = 0x02;
    /// The usual bulk IN endpoint of these readers.
    pub const DEFAULT_IN_ENDPOINT: u8 = 0x81;
    /// The usual interface.
    pub const DEFAULT_INTERFACE: u8 = 0;

    /// The reader with this VID:PID on interface 0, OUT `0x02`, IN `0x81`.
    pub fn new(vendor_id: u16, product_id: u16) -> UsbReaderAddress {
        UsbReaderAddress {
            vendor_id,
            product_id,
            interface: Self::DEFAULT_INTERFACE,
            out_endpoint: Self::DEFAULT_OUT_ENDPOINT,
            in_endpoint: Self::DEFAULT_IN_ENDPOINT,
        }
    }

    /// Checks what can be checked without the device: a VID:PID that is set, and endpoint
    /// addresses that are well-formed and point the right way. A configuration that swaps the
    /// two endpoints is the classic mistake, and nusb would only report it as a bare
    /// "incorrect endpoint direction" after the device was opened.
    pub fn validate(&self) -> Result<(), UsbError> {
        if self.vendor_id == 0 && self.product_id == 0 {
            return Err(UsbError::UnsetDeviceId);
        }
        check_endpoint(self.out_endpoint, EndpointRole::Out)?;
        check_endpoint(self.in_endpoint, EndpointRole::In)?;
        Ok(())
    }

    /// `vvvv:pppp` in lower-case hex, the form `lsusb` prints and udev rules use.
    pub fn device_id(&self) -> DeviceId {
        DeviceId {
            vendor_id: self.vendor_id,
            product_id: self.product_id,
        }
    }
}

/// A VID:PID pair, displayed the way `lsusb` shows it so a technician can compare the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceId {
    /// The vendor ID.
    pub vendor_id: u16,
    /// The product ID.
    pub product_id: u16,
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04x}:{:04x}", self.vendor_id, self.product_id)
    }
}

/// Which way an endpoint was meant to carry data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointRole {
    /// Host to reader: commands.
    Out,
    /// Reader to host: replies.
    In,
}

impl fmt::Display for EndpointRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EndpointRole::Out => "OUT",
            EndpointRole::In => "IN",
        })
    }
}

/// Why an endpoint address cannot be the one asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointProblem {
    /// Endpoint number 0 is the control endpoint, never a bulk one.
    Control,
    /// Bits 4–6 of an endpoint address are reserved and must be zero.
    ReservedBits,
    /// The direction bit says the opposite of the role (e.g. `0x81` given as OUT).
    WrongDirection,
}

impl fmt::Display for EndpointProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EndpointProblem::Control => "endpoint 0 is the control endpoint, not a bulk one",
            EndpointProblem::ReservedBits => "bits 4-6 of an endpoint address must be zero",
            EndpointProblem::WrongDirection => {
                "its direction bit (0x80) points the other way; are IN and OUT swapped?"
            }
        })
    }
}

/// Why the USB reader could not be opened. Every message names the device (VID:PID) so that
/// a technician reading the kiosk's diagnostics knows which configuration entry to check.
#[derive(Debug, thiserror::Error)]
pub enum UsbError {
    /// VID and PID are both zero: the configuration never set them.
    #[error("no USB vendor and product ID configured for the card reader (0000:0000)")]
    UnsetDeviceId,
    /// An endpoint address is malformed or points the wrong way.
    #[error("invalid {role} endpoint address {address:#04x}: {problem}")]
    InvalidEndpoint {
        /// The endpoint's intended direction.
        role: EndpointRole,
        /// The configured address.
        address: u8,
        /// What is wrong with it.
        problem: EndpointProblem,
    },
    /// The system's list of USB devices could not be read (no USB bus, no permission).
    #[error("cannot look for USB card reader {device}: {source}")]
    Enumerate {
        /// The device looked for.
        device: DeviceId,
        /// What the system said.
        #[source]
        source: nusb::Error,
    },
    /// No connected device has this VID:PID.
    #[error("no USB card reader {device} is connected (no device with that vendor:product ID)")]
    NoSuchDevice {
        /// The device looked for.
        device: DeviceId,
    },
    /// The device is there but could not be opened (often permissions: a udev rule is needed).
    #[error("cannot open USB card reader {device}: {source}")]
    Open {
        /// The device.
        device: DeviceId,
        /// What the system said.
        #[source]
        source: nusb::Error,
    },
    /// The interface could not be claimed, even after detaching a kernel driver from it.
    #[error("cannot claim interface {interface} of USB card reader {device}: {source}")]
    Claim {
        /// The device.
        device: DeviceId,
        /// The interface asked for.
        interface: u8,
        /// What the system said.
        #[source]
        source: nusb::Error,
    },
    /// The interface has no bulk endpoint at this address in this direction.
    #[error(
        "USB card reader {device} has no bulk {role} endpoint {address:#04x} on interface {interface}: {source}"
    )]
    Endpoint {
        /// The device.
        device: DeviceId,
        /// The interface searched.
        interface: u8,
        /// The endpoint's intended direction.
        role: EndpointRole,
        /// The configured address.
        address: u8,
        /// What nusb said.
        #[source]
        source: nusb::Error,
    },
}

fn check_endpoint(address: u8, role: EndpointRole) -> Result<(), UsbError> {
    let problem = if address & 0x0F == 0 {
        Some(EndpointProblem::Control)
    } else if address & 0x70 != 0 {
        Some(EndpointProblem::ReservedBits)
    } else if (address & 0x80 != 0) != (role == EndpointRole::In) {
        Some(EndpointProblem::WrongDirection)
    } else {
        None
    };
    match problem {
        Some(problem) => Err(UsbError::InvalidEndpoint {
            role,
            address,
            problem,
        }),
        None => Ok(()),
    }
}

/// A reader on USB bulk endpoints. See the module docs.
pub struct UsbTransport {
    device: DeviceId,
    /// Keeps the interface claimed for as long as the transport lives.
    _interface: Interface,
    commands: Endpoint<Bulk, Out>,
    replies: Endpoint<Bulk, In>,
    /// Received bytes not yet handed to the driver; `carried[taken..]` is what is left.
    carried: Zeroizing<Vec<u8>>,
    taken: usize,
}

impl UsbTransport {
    /// Finds the first device with the address's VID:PID, opens it, claims the interface
    /// (detaching a kernel driver bound to it, e.g. a generic HID or vendor module) and opens
    /// both bulk endpoints.
    pub fn open(address: UsbReaderAddress) -> Result<UsbTransport, UsbError> {
        address.validate()?;
        let device = address.device_id();
        let info = nusb::list_devices()
            .wait()
            .map_err(|source| UsbError::Enumerate { device, source })?
            .find(|d| d.vendor_id() == address.vendor_id && d.product_id() == address.product_id)
            .ok_or(UsbError::NoSuchDevice { device })?;
        let handle = info
            .open()
            .wait()
            .map_err(|source| UsbError::Open { device, source })?;
        let interface = handle
            .detach_and_claim_interface(address.interface)
            .wait()
            .map_err(|source| UsbError::Claim {
                device,
                interface: address.interface,
                source,
            })?;
        let endpoint_error = |role, address_byte| {
            move |source| UsbError::Endpoint {
                device,
                interface: address.interface,
                role,
                address: address_byte,
                source,
            }
        };
        let commands = interface
            .endpoint::<Bulk, Out>(address.out_endpoint)
            .map_err(endpoint_error(EndpointRole::Out, address.out_endpoint))?;
        let replies = interface
            .endpoint::<Bulk, In>(address.in_endpoint)
            .map_err(endpoint_error(EndpointRole::In, address.in_endpoint))?;
        tracing::info!(%device, interface = address.interface, "USB card reader opened");
        Ok(UsbTransport {
            device,
            _interface: interface,
            commands,
            replies,
            carried: Zeroizing::new(Vec::with_capacity(READ_TRANSFER_LEN)),
            taken: 0,
        })
    }

    /// The device this transport talks to.
    pub fn device(&self) -> DeviceId {
        self.device
    }

    /// Tops the IN queue up to [`QUEUED_READS`] transfers, reusing `spare` if given.
    fn queue_reads(&mut self, mut spare: Option<Buffer>) {
        let packet = self.replies.max_packet_size().max(1);
        let len = READ_TRANSFER_LEN.div_ceil(packet) * packet;
        while self.replies.pending() < QUEUED_READS {
            let buffer = match spare.take() {
                Some(mut reused) if reused.capacity() >= len => {
                    reused.clear();
                    reused.set_requested_len(len);
                    reused
                }
                _ => self.replies.allocate(len),
            };
            self.replies.submit(buffer);
        }
    }

    /// Takes one completed IN transfer (waiting up to `timeout`) and appends its bytes to the
    /// carry-over buffer. `Ok(false)` when none completed in time.
    fn reap(&mut self, timeout: Duration) -> io::Result<bool> {
        self.queue_reads(None);
        let Some(completion) = self.replies.wait_next_complete(timeout) else {
            return Ok(false);
        };
        let mut buffer = completion.buffer;
        if self.taken == self.carried.len() {
            self.carried.clear();
            self.taken = 0;
        }
        self.carried.extend_from_slice(&buffer);
        // The transfer buffer is reused for the next read: wipe the reply bytes now.
        buffer[..].zeroize();
        let status = completion.status;
        match status {
            Ok(()) => {
                self.queue_reads(Some(buffer));
                Ok(true)
            }
            // Only `cancel_all` cancels IN transfers, and only `drop` calls it; should one
            // be cancelled anyway, it carried nothing and the queue is simply topped up.
            Err(TransferError::Cancelled) => {
                self.queue_reads(Some(buffer));
                Ok(true)
            }
            Err(e) => Err(transfer_error(e)),
        }
    }
}

/// Maps a failed transfer onto the [`Transport`] contract: a vanished device is `BrokenPipe`
/// (the driver reports it as disconnected), everything else stays an I/O error.
fn transfer_error(e: TransferError) -> io::Error {
    match e {
        TransferError::Disconnected => io::Error::new(
            io::ErrorKind::BrokenPipe,
            "the USB card reader was unplugged",
        ),
        TransferError::Cancelled => io::Error::new(io::ErrorKind::TimedOut, e),
        other => io::Error::other(other),
    }
}

impl Drop for UsbTransport {
    /// Cancels the queued reads and wipes whatever they had received: a reply that arrived
    /// after the last read may hold a citizen's card.
    fn drop(&mut self) {
        self.replies.cancel_all();
        while self.replies.pending() > 0 {
            // Cancelled transfers come back promptly; a device that never returns them is
            // gone, and its buffers are freed (unwiped, but holding nothing new) by nusb.
            let Some(completion) = self.replies.wait_next_complete(Duration::from_millis(100))
            else {
                break;
            };
            let mut buffer = completion.buffer;
            buffer[..].zeroize();
        }
    }
}

impl fmt::Debug for UsbTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UsbTransport")
            .field("device", &self.device.to_string())
            .field("carried_len", &(self.carried.len() - self.taken))
            .finish_non_exhaustive()
    }
}

impl Transport for UsbTransport {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        // Commands are ten bytes, far below any packet size, so one transfer carries one
        // command and ends with a short packet, as the reader expects.
        let completion = self
            .commands
            .transfer_blocking(Buffer::from(bytes.to_vec()), WRITE_TIMEOUT);
        match completion.status {
            // An OUT buffer keeps the length submitted; what went out is `actual_len`.
            Ok(()) if completion.actual_len == bytes.len() => Ok(()),
            Ok(()) => Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "the USB card reader accepted only part of the command",
            )),
            Err(TransferError::Cancelled) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the USB card reader did not accept the command in time",
            )),
            Err(e) => Err(transfer_error(e)),
        }
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        if self.taken == self.carried.len() && !self.reap(timeout)? {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no data from the USB card reader",
            ));
        }
        // Gather whatever else has already arrived, without waiting.
        while self.replies.pending() > 0 && self.reap(Duration::ZERO)? {}
        let available = &self.carried[self.taken..];
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.taken += n;
        if n == 0 {
            // A zero-length packet: nothing arrived, but the device is alive.
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "empty packet from the USB card reader",
            ));
        }
        Ok(n)
    }

    fn discard_input(&mut self) -> io::Result<()> {
        while self.reap(Duration::ZERO)? {}
        self.carried.zeroize();
        self.taken = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_address_is_the_common_readers() {
        let address = UsbReaderAddress::new(0x0400, 0xc35a);
        assert_eq!(address.out_endpoint, 0x02);
        assert_eq!(address.in_endpoint, 0x81);
        assert_eq!(address.interface, 0);
        assert!(address.validate().is_ok());
        assert_eq!(address.device_id().to_string(), "0400:c35a");
    }

    #[test]
    fn endpoint_addresses_are_checked_before_any_device_is_touched() {
        let cases = [
            (
                0x81,
                0x81,
                EndpointRole::Out,
                EndpointProblem::WrongDirection,
            ),
            (
                0x02,
                0x02,
                EndpointRole::In,
                EndpointProblem::WrongDirection,
            ),
            (0x00, 0x81, EndpointRole::Out, EndpointProblem::Control),
            (0x02, 0x80, EndpointRole::In, EndpointProblem::Control),
            (0x12, 0x81, EndpointRole::Out, EndpointProblem::ReservedBits),
            (0x02, 0xC1, EndpointRole::In, EndpointProblem::ReservedBits),
        ];
        for (out_endpoint, in_endpoint, role, problem) in cases {
            let address = UsbReaderAddress {
                out_endpoint,
                in_endpoint,
                ..UsbReaderAddress::new(0x1234, 0x5678)
            };
            match address.validate() {
                Err(UsbError::InvalidEndpoint {
                    role: r,
                    problem: p,
                    ..
                }) => assert_eq!(
                    (r, p),
                    (role, problem),
                    "{out_endpoint:#x}/{in_endpoint:#x}"
                ),
                other => panic!("{out_endpoint:#x}/{in_endpoint:#x}: {other:?}"),
            }
        }
        // Opening validates first: a swapped pair fails the same way, with no bus access.
        let swapped = UsbReaderAddress {
            out_endpoint: 0x81,
            in_endpoint: 0x02,
            ..UsbReaderAddress::new(0x1234, 0x5678)
        };
        let message = UsbTransport::open(swapped)
            .expect_err("invalid")
            .to_string();
        assert_eq!(
            message,
            "invalid OUT endpoint address 0x81: its direction bit (0x80) points the other way; \
             are IN and OUT swapped?"
        );
        // Other endpoint numbers are legal.
        let custom = UsbReaderAddress {
            out_endpoint: 0x01,
            in_endpoint: 0x8F,
            interface: 1,
            ..UsbReaderAddress::new(0x1234, 0x5678)
        };
        assert!(custom.validate().is_ok());
    }

    #[test]
    fn unset_device_id_is_refused() {
        assert!(matches!(
            UsbReaderAddress::new(0, 0).validate(),
            Err(UsbError::UnsetDeviceId)
        ));
        assert!(UsbReaderAddress::new(0, 1).validate().is_ok());
    }

    #[test]
    fn an_absent_reader_is_reported_by_vid_and_pid() {
        // No device on any machine has this ID (ffff is not an assigned vendor). Depending on
        // the machine there is no USB bus at all (enumeration fails) or none matches; either
        // way the message must name the device looked for.
        let address = UsbReaderAddress::new(0xffff, 0xfffe);
        let error = UsbTransport::open(address).expect_err("no such device");
        assert!(
            matches!(
                error,
                UsbError::NoSuchDevice { .. } | UsbError::Enumerate { .. }
            ),
            "{error:?}"
        );
        assert!(error.to_string().contains("ffff:fffe"), "{error}");

        let absent = UsbError::NoSuchDevice {
            device: UsbReaderAddress::new(0x0400, 0xc35a).device_id(),
        };
        assert_eq!(
            absent.to_string(),
            "no USB card reader 0400:c35a is connected (no device with that vendor:product ID)"
        );
    }

    #[test]
    fn transfer_errors_follow_the_transport_contract() {
        assert_eq!(
            transfer_error(TransferError::Disconnected).kind(),
            io::ErrorKind::BrokenPipe
        );
        assert_eq!(
            transfer_error(TransferError::Cancelled).kind(),
            io::ErrorKind::TimedOut
        );
        assert_eq!(
            transfer_error(TransferError::Stall).kind(),
            io::ErrorKind::Other
        );
    }
}
