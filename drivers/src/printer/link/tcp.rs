//! [`TcpLink`]: a network printer on its raw TCP port (9100, "JetDirect").

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::PrinterLink;

/// A TCP connection to a printer, reconnected after the printer restarts.
///
/// Network printers take one connection at a time on port 9100 and answer `DLE EOT` on it.
/// When one is power-cycled its old connection is dead without either side saying so; the
/// first read then sees end-of-stream or a reset, the link drops the connection and reports
/// [`io::ErrorKind::NotConnected`], and [`PrinterLink::reopen`] connects afresh.
#[derive(Debug)]
pub struct TcpLink {
    address: String,
    connect_timeout: Duration,
    stream: Option<TcpStream>,
}

impl TcpLink {
    /// How long connecting may take: printers sit on the local network and answer within
    /// milliseconds, so longer means switched off or unplugged.
    pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
    /// Longest a write may wait for the printer to take data.
    pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

    /// Connects to `address` (`host:port`, e.g. `192.0.2.7:9100`).
    pub fn connect(address: impl Into<String>) -> io::Result<TcpLink> {
        let mut link = TcpLink::unconnected(address);
        link.reopen()?;
        Ok(link)
    }

    /// A link to `address` that connects on first use.
    pub fn unconnected(address: impl Into<String>) -> TcpLink {
        TcpLink {
            address: address.into(),
            connect_timeout: Self::CONNECT_TIMEOUT,
            stream: None,
        }
    }

    pub fn with_connect_timeout(mut self, timeout: Duration) -> TcpLink {
        self.connect_timeout = timeout;
        self
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    pub fn is_connected(&self) -> bool {
        self.stream.is_some()
    }

    fn stream(&mut self) -> io::Result<&mut TcpStream> {
        self.stream.as_mut().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotConnected, "not connected to the printer")
        })
    }

    fn fail(&mut self, error: io::Error) -> io::Error {
        match error.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock => {
                error
            }
            _ => {
                self.stream = None;
                io::Error::new(
                    io::ErrorKind::NotConnected,
                    format!("the connection to the printer was lost ({error})"),
                )
            }
        }
    }

    fn resolve(&self) -> io::Result<Vec<SocketAddr>> {
        let addresses: Vec<SocketAddr> = self.address.to_socket_addrs()?.collect();
        if addresses.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{} resolves to no address", self.address),
            ));
        }
        Ok(addresses)
    }
}

impl PrinterLink for TcpLink {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        let result = self
            .stream()
            .and_then(|s| s.write_all(bytes).and_then(|()| s.flush()));
        result.map_err(|e| self.fail(e))
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        let result = self.stream().and_then(|s| {
            // A zero timeout means "block forever" to the socket; wait a millisecond instead.
            s.set_read_timeout(Some(timeout.max(Duration::from_millis(1))))?;
            match s.read(buf) {
                Ok(0) => Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
                Ok(n) => Ok(n),
                // Linux reports a read timeout as EAGAIN.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    Err(io::Error::from(io::ErrorKind::TimedOut))
                }
                Err(e) => Err(e),
            }
        });
        result.map_err(|e| self.fail(e))
    }

    fn discard_input(&mut self) -> io::Result<()> {
        let result = self.stream().and_then(|s| {
            s.set_nonblocking(true)?;
            let mut scratch = [0u8; 256];
            let outcome = loop {
                match s.read(&mut scratch) {
                    // End of stream here is how a restarted printer's dead connection shows.
                    Ok(0) => break Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => break Err(e),
                }
            };
            s.set_nonblocking(false)?;
            outcome
        });
        result.map_err(|e| self.fail(e))
    }

    fn reopen(&mut self) -> io::Result<()> {
        self.stream = None;
        let mut last = io::Error::new(io::ErrorKind::NotConnected, "no address to connect to");
        for address in self.resolve()? {
            match TcpStream::connect_timeout(&address, self.connect_timeout) {
                Ok(stream) => {
                    // Status queries are three bytes each; do not let Nagle hold them back.
                    stream.set_nodelay(true)?;
                    stream.set_write_timeout(Some(Self::WRITE_TIMEOUT))?;
                    self.stream = Some(stream);
                    return Ok(());
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}
