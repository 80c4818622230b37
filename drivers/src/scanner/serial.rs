//! [`SerialScanner`]: a scanner in USB CDC / serial mode (`/dev/ttyACM*`, `/dev/ttyUSB*`, a
//! UART, or a simulator's pty), read line by line through the [`LineDecoder`].

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serialport::{ClearBuffer, SerialPort, TTYPort};
use zeroize::Zeroize;

use super::codec::{IdleGap, LineConfig, LineDecoder, LineError};
use super::reader::{ScanSource, SourceError};

/// A scanner on a serial port, reopenable after it disappears and comes back.
///
/// Scanners only talk: the port is never written to (configuration by command is vendor
/// specific, and a scanner works with its factory settings plus the suffix we are told).
#[derive(Debug)]
pub struct SerialScanner {
    path: PathBuf,
    baud: u32,
    decoder: LineDecoder,
    idle: IdleGap,
    port: Option<TTYPort>,
}

impl SerialScanner {
    /// The factory baud rate of most serial QR modules. Over USB CDC it is ignored.
    pub const DEFAULT_BAUD: u32 = 9600;

    /// How long the line may stay quiet in the middle of a line before the partial line is
    /// dropped. A scanner sends a whole code in one burst (4 KB takes 4.3 s at 9600 baud, but
    /// arrives without gaps), so a gap this long means noise or a broken-off line, and the
    /// next code must not be glued onto it.
    pub const DEFAULT_IDLE_GAP: Duration = Duration::from_millis(250);

    /// Opens `path` (8N1, no flow control) exclusively, so nothing else reads our scans.
    /// Symlinks are followed, so a stable udev name works.
    pub fn open(
        path: impl AsRef<Path>,
        baud: u32,
        config: LineConfig,
    ) -> Result<SerialScanner, SourceError> {
        let mut scanner = SerialScanner::unopened(path, baud, config);
        scanner.reopen()?;
        Ok(scanner)
    }

    /// A scanner at `path` that is not open yet; [`ScanSource::reopen`] (which the reader loop
    /// calls) opens it. For a kiosk that boots before its scanner is plugged in.
    pub fn unopened(path: impl AsRef<Path>, baud: u32, config: LineConfig) -> SerialScanner {
        SerialScanner {
            path: path.as_ref().to_path_buf(),
            baud,
            decoder: LineDecoder::new(config),
            idle: IdleGap::new(Self::DEFAULT_IDLE_GAP),
            port: None,
        }
    }

    /// Sets how long a partial line may stay quiet (see [`Self::DEFAULT_IDLE_GAP`]).
    pub fn with_idle_gap(mut self, idle_gap: Duration) -> SerialScanner {
        self.idle = IdleGap::new(idle_gap);
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn close(&mut self) {
        if let Some(mut port) = self.port.take() {
            // Lift TIOCEXCL: on a pty that outlives us the flag would stay set and lock out
            // the next opener that is not root. Failure only means the device is gone.
            let _ = port.set_exclusive(false);
        }
        self.decoder.clear();
        self.idle.clear();
    }

    fn disconnected(&mut self, why: impl std::fmt::Display) -> SourceError {
        self.close();
        SourceError::Disconnected(format!("{}: {why}", self.path.display()))
    }
}

impl ScanSource for SerialScanner {
    fn poll_lines(
        &mut self,
        timeout: Duration,
    ) -> Result<Vec<Result<String, LineError>>, SourceError> {
        let now = Instant::now();
        let mut lines = Vec::new();
        if self.idle.expired(now) {
            lines.extend(self.decoder.interrupt().map(Err));
        }
        // Wait no longer than the partial line's quiet time allows.
        let wait = self.idle.wait(now, timeout);
        let Some(port) = self.port.as_mut() else {
            return Err(SourceError::Disconnected(format!(
                "{} is not open",
                self.path.display()
            )));
        };
        // A zero timeout would make the port's poll return at once with data on its way.
        if let Err(e) = port.set_timeout(wait.max(Duration::from_millis(1))) {
            return Err(self.disconnected(e));
        }
        let mut buf = [0u8; 1024];
        let read = port.read(&mut buf);
        match read {
            Ok(0) => return Err(self.disconnected("the device hung up")),
            Ok(n) => {
                lines.extend(self.decoder.push(&buf[..n]));
                buf.zeroize();
                self.idle.heard(Instant::now(), self.decoder.has_partial());
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut
                        | io::ErrorKind::WouldBlock
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(self.disconnected(e)),
        }
        Ok(lines)
    }

    fn reopen(&mut self) -> Result<(), SourceError> {
        self.close();
        let open_error = |source: io::Error| SourceError::Open {
            path: self.path.display().to_string(),
            source,
        };
        let name = self.path.to_str().ok_or_else(|| {
            open_error(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the serial port path is not valid UTF-8",
            ))
        })?;
        let port = serialport::new(name, self.baud)
            .timeout(Duration::from_millis(100))
            .open_native()
            .map_err(|e| open_error(io::Error::from(e)))?;
        // Whatever sat in the buffer belongs to before we (re)connected: half a line at best.
        if let Err(e) = port.clear(ClearBuffer::Input) {
            tracing::debug!(error = %e, "could not flush the scanner's stale input");
        }
        self.port = Some(port);
        Ok(())
    }

    fn is_open(&self) -> bool {
        self.port.is_some()
    }
}

impl Drop for SerialScanner {
    fn drop(&mut self) {
        self.close();
    }
}
