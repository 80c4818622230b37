//! The ID-card reader on a serial port: a USB-serial adapter, a UART, or a simulator's pty.
//!
//! The same frames as over USB ([`super::usb`]); this transport only moves bytes at the
//! readers' 8N1 setting and recognises a hung-up tty.

use std::io;
use std::time::Duration;

use serialport::{ClearBuffer, DataBits, FlowControl, Parity, SerialPort, StopBits};

use super::reader::{ReadError, Transport};

/// How long a write may block before the link is considered stuck.
const WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// How long `bytes` take on a serial line at `baud`, 8N1 (10 bits a byte: start, 8 data,
/// stop): the physical floor under any exchange with a reader, which the simulator's paced
/// mode reproduces and the read benchmark measures against.
pub fn serial_wire_time(bytes: usize, baud: u32) -> Duration {
    let bits = u128::try_from(bytes)
        .unwrap_or(u128::MAX)
        .saturating_mul(10);
    let nanos = bits.saturating_mul(1_000_000_000) / u128::from(baud.max(1));
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// A reader on a serial port (a USB-serial adapter, a UART, or a simulator's pty).
pub struct SerialTransport {
    port: Box<dyn SerialPort>,
}

impl SerialTransport {
    /// The readers' factory setting.
    pub const DEFAULT_BAUD: u32 = 115_200;

    /// Opens `path` at `baud`, 8 data bits, no parity, 1 stop bit, no flow control, in
    /// exclusive mode (a second opener would interleave frames).
    pub fn open(path: &str, baud: u32) -> Result<SerialTransport, ReadError> {
        let port = serialport::new(path, baud)
            .data_bits(DataBits::Eight)
            .parity(Parity::None)
            .stop_bits(StopBits::One)
            .flow_control(FlowControl::None)
            .timeout(WRITE_TIMEOUT)
            .open()
            .map_err(|e| ReadError::from(io::Error::from(e)))?;
        Ok(SerialTransport { port })
    }

    /// Turns an error into `BrokenPipe` when the port no longer answers termios requests,
    /// which is how a hung-up tty (adapter pulled, pty master closed) shows itself; the error
    /// of the failed call alone is often a bare `EIO`.
    fn classify(&self, e: io::Error) -> io::Error {
        if matches!(
            e.kind(),
            io::ErrorKind::TimedOut | io::ErrorKind::BrokenPipe | io::ErrorKind::Interrupted
        ) {
            return e;
        }
        if self.port.baud_rate().is_err() {
            return io::Error::new(io::ErrorKind::BrokenPipe, "the serial device hung up");
        }
        e
    }
}

impl std::fmt::Debug for SerialTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SerialTransport")
            .field("port", &self.port.name())
            .finish()
    }
}

impl Transport for SerialTransport {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.port
            .set_timeout(WRITE_TIMEOUT)
            .map_err(io::Error::from)?;
        io::Write::write_all(&mut self.port, bytes).map_err(|e| self.classify(e))
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        // A zero timeout would make the port's poll return at once even with data on its way.
        let timeout = timeout.max(Duration::from_millis(1));
        self.port.set_timeout(timeout).map_err(io::Error::from)?;
        match io::Read::read(&mut self.port, buf) {
            Ok(0) => Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the serial device hung up",
            )),
            Ok(n) => Ok(n),
            Err(e) => Err(self.classify(e)),
        }
    }

    fn discard_input(&mut self) -> io::Result<()> {
        self.port
            .clear(ClearBuffer::Input)
            .map_err(|e| self.classify(io::Error::from(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_time_counts_ten_bits_a_byte() {
        // The documented floor of a read: 1295 bytes ≈ 112 ms at 115200 baud.
        assert_eq!(
            serial_wire_time(1295, 115_200),
            Duration::from_nanos(112_413_194)
        );
        assert_eq!(serial_wire_time(0, 115_200), Duration::ZERO);
        assert_eq!(serial_wire_time(96, 9600), Duration::from_millis(100));
    }
}
