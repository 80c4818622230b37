//! The ID-card reader driver: one find → select → read attempt at a time over any transport.
//!
//! The poll loop (how often to try, when to give up, what to tell the citizen) belongs to the
//! kiosk session; this module only turns one attempt into a clear outcome or error. The
//! transport is a trait so that serial readers ([`super::serial`]) and USB bulk readers
//! ([`super::usb`]) share the driver unchanged.

use std::io;
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use super::card::{CardError, IdCard};
use super::frame::{Command, FrameDecoder, FrameError, Response, Sw3, encode_command};

/// A byte link to a reader.
pub trait Transport: Send {
    /// Sends all of `bytes`.
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()>;

    /// Reads whatever has arrived, waiting up to `timeout` for the first byte.
    ///
    /// Returns the count of bytes read; an error of kind `TimedOut` when nothing came in time;
    /// `Ok(0)` or an error of kind `BrokenPipe` when the device is gone.
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize>;

    /// Drops bytes received but not yet read, so a late or partial reply to an earlier command
    /// cannot be taken for the reply to the next one.
    fn discard_input(&mut self) -> io::Result<()>;
}

/// A boxed transport is a transport, so the kiosk can choose serial or USB from its
/// configuration at run time.
impl<T: Transport + ?Sized> Transport for Box<T> {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        (**self).write_all(bytes)
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        (**self).read(buf, timeout)
    }

    fn discard_input(&mut self) -> io::Result<()> {
        (**self).discard_input()
    }
}

/// Timing of the request/response exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReaderConfig {
    /// How long to wait for a complete reply. A text+photo read is about 1.3 KB (112 ms on the
    /// wire at 115200 baud) after the card itself has been read, which takes real readers up
    /// to about a second.
    pub response_timeout: Duration,
    /// How many times a command is re-sent after a timeout, a corrupt reply, or the reader
    /// reporting that our command arrived corrupt (`10`/`11`).
    pub retries: u32,
}

impl Default for ReaderConfig {
    fn default() -> Self {
        ReaderConfig {
            response_timeout: Duration::from_secs(2),
            retries: 2,
        }
    }
}

/// The result of one read attempt that did not fail.
#[derive(Debug)]
pub enum ReadOutcome {
    /// No card on the reader (find or select failed).
    NoCard,
    /// The last card read has not been followed by a new placement. The reader cannot tell a
    /// card still lying on it from an empty field, so the kiosk should ask the citizen to lift
    /// the card (and place it again if it needs another read).
    AwaitingLift,
    /// A card was read and validated.
    Card(IdCard),
}

/// Why a read attempt failed. Messages are plain and never hold card data.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The link failed in a way other than a disconnection.
    #[error("card reader I/O error: {0}")]
    Io(io::Error),
    /// No complete reply within the response timeout, retries included.
    #[error("the card reader did not answer in time")]
    Timeout,
    /// The reply was corrupt, retries included.
    #[error("the card reader sent a corrupt reply: {0}")]
    Frame(FrameError),
    /// The reader answered with a status that does not fit the command.
    #[error("the card reader refused the command: {0}")]
    Status(Sw3),
    /// A card was found, then the read failed or broke off: it was taken away too early.
    #[error("the card was removed while it was being read")]
    CardRemoved,
    /// The reader's security module is not working, so no card can be read.
    #[error("the card reader's security module is not working: {0}")]
    SamFault(Sw3),
    /// The card's data did not validate.
    #[error("the card's data is not valid: {0}")]
    Card(CardError),
    /// The reader is gone (unplugged, powered off, hung up).
    #[error("the card reader is disconnected")]
    Disconnected,
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        use io::ErrorKind as K;
        match e.kind() {
            K::BrokenPipe
            | K::UnexpectedEof
            | K::NotConnected
            | K::ConnectionReset
            | K::ConnectionAborted => ReadError::Disconnected,
            K::TimedOut => ReadError::Timeout,
            _ => ReadError::Io(e),
        }
    }
}

impl From<FrameError> for ReadError {
    fn from(e: FrameError) -> Self {
        ReadError::Frame(e)
    }
}

impl From<CardError> for ReadError {
    fn from(e: CardError) -> Self {
        ReadError::Card(e)
    }
}

/// The driver for one reader on one transport.
pub struct Reader<T: Transport> {
    transport: T,
    config: ReaderConfig,
    decoder: FrameDecoder,
    awaiting_lift: bool,
}

impl<T: Transport> Reader<T> {
    /// Takes over `transport` and checks that the reader's SAM is healthy (`11 FF` → `90`).
    pub fn open(transport: T, config: ReaderConfig) -> Result<Reader<T>, ReadError> {
        let mut reader = Reader {
            transport,
            config,
            decoder: FrameDecoder::new(),
            awaiting_lift: false,
        };
        let status = reader.transact(Command::SamStatus)?.status;
        if status != Sw3::Success {
            return Err(ReadError::SamFault(status));
        }
        Ok(reader)
    }

    /// One find → select → read attempt. See [`ReadOutcome`] for what "no card" can mean.
    pub fn try_read(&mut self) -> Result<ReadOutcome, ReadError> {
        match self.transact(Command::FindCard)?.status {
            Sw3::FindSuccess => {}
            Sw3::FindFailed | Sw3::SelectFailed => {
                return Ok(if self.awaiting_lift {
                    ReadOutcome::AwaitingLift
                } else {
                    ReadOutcome::NoCard
                });
            }
            other => return Err(refusal(other)),
        }
        // Found: this is a fresh placement.
        self.awaiting_lift = false;

        match self.transact(Command::SelectCard)?.status {
            Sw3::Success => {}
            // Gone between find and select: to the citizen, there is no card.
            Sw3::FindFailed | Sw3::SelectFailed => return Ok(ReadOutcome::NoCard),
            other => return Err(refusal(other)),
        }

        let reply = match self.transact(Command::ReadText) {
            Ok(reply) => reply,
            Err(ReadError::Timeout) => return Err(ReadError::CardRemoved),
            Err(e) => return Err(e),
        };
        match reply.status {
            Sw3::Success => {}
            Sw3::ReadFailed | Sw3::FindFailed | Sw3::SelectFailed => {
                return Err(ReadError::CardRemoved);
            }
            other => return Err(refusal(other)),
        }
        // The reader will not find this card again until it is lifted, valid or not.
        self.awaiting_lift = true;
        Ok(ReadOutcome::Card(IdCard::from_read_reply(&reply.data)?))
    }

    /// Polls with [`Reader::try_read`] every `poll_interval` until a card is read (`Some`) or
    /// `deadline` passes (`None`). Errors end the wait at once; the caller decides whether to
    /// go on.
    pub fn read_blocking(
        &mut self,
        poll_interval: Duration,
        deadline: Instant,
    ) -> Result<Option<IdCard>, ReadError> {
        loop {
            if let ReadOutcome::Card(card) = self.try_read()? {
                return Ok(Some(card));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            std::thread::sleep(poll_interval.min(deadline - now));
        }
    }

    /// Forgets that a card was read, so that the next empty find reports `NoCard` rather than
    /// `AwaitingLift`; for the start of a new citizen session.
    pub fn clear_awaiting_lift(&mut self) {
        self.awaiting_lift = false;
    }

    /// The SAM's serial number, for device diagnostics.
    pub fn sam_id(&mut self) -> Result<Vec<u8>, ReadError> {
        let mut reply = self.transact(Command::SamId)?;
        if reply.status != Sw3::Success {
            return Err(refusal(reply.status));
        }
        Ok(std::mem::take(&mut reply.data))
    }

    /// The configuration in use.
    pub fn config(&self) -> &ReaderConfig {
        &self.config
    }

    /// Gives the transport back, e.g. to close it.
    pub fn into_transport(self) -> T {
        self.transport
    }

    /// Sends `cmd` and returns its reply, re-sending after transient failures.
    fn transact(&mut self, cmd: Command) -> Result<Response, ReadError> {
        let mut last = ReadError::Timeout;
        for _ in 0..=self.config.retries {
            match self.exchange(cmd) {
                Ok(reply) if matches!(reply.status, Sw3::ChecksumError | Sw3::LengthError) => {
                    last = ReadError::Status(reply.status);
                }
                Ok(reply) => return Ok(reply),
                Err(e @ (ReadError::Timeout | ReadError::Frame(_))) => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    /// One command, one reply (or a timeout or corrupt frame).
    ///
    /// Replies carry no command code, so after a timeout the late reply to the previous
    /// command can arrive while we wait for the next one. Input is discarded before sending,
    /// but a reply still on its way is not there yet; so a reply whose shape cannot answer
    /// `cmd` is skipped rather than misread (see [`plausible`]).
    fn exchange(&mut self, cmd: Command) -> Result<Response, ReadError> {
        self.transport.discard_input()?;
        self.decoder.clear();
        self.transport.write_all(&encode_command(cmd))?;
        let deadline = Instant::now() + self.config.response_timeout;
        let mut buf = Zeroizing::new([0u8; 2048]);
        loop {
            match self.decoder.next_response() {
                Some(Ok(reply)) if plausible(cmd, &reply) => return Ok(reply),
                Some(Ok(reply)) => {
                    tracing::debug!(?cmd, status = %reply.status, "skipped a stale reply");
                    continue;
                }
                Some(Err(e)) => return Err(ReadError::Frame(e)),
                None => {}
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(ReadError::Timeout);
            }
            match self.transport.read(&mut buf[..], deadline - now) {
                Ok(0) => return Err(ReadError::Disconnected),
                Ok(n) => self.decoder.push(&buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::TimedOut
                            | io::ErrorKind::WouldBlock
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl<T: Transport> std::fmt::Debug for Reader<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("config", &self.config)
            .field("awaiting_lift", &self.awaiting_lift)
            .finish_non_exhaustive()
    }
}

/// Whether `reply` can be the answer to `cmd`. Success replies differ by command (SAM status:
/// `90` and no data; SAM id: `90` and 16 bytes; find: `9F`; select: `90` and a short block;
/// read: `90` and the length header at least); failure statuses are not tied to a command and
/// are always taken.
fn plausible(cmd: Command, reply: &Response) -> bool {
    let len = reply.data.len();
    match (reply.status, cmd) {
        (Sw3::FindSuccess, Command::FindCard) => true,
        (Sw3::FindSuccess, _) | (Sw3::Success, Command::FindCard) => false,
        (Sw3::Success, Command::SamStatus | Command::ResetSam) => len == 0,
        (Sw3::Success, Command::SamId) => len == 16,
        (Sw3::Success, Command::SelectCard) => (1..64).contains(&len),
        (Sw3::Success, Command::ReadText | Command::ReadTextPhotoFingerprint) => len >= 4,
        _ => true,
    }
}

/// The error for a status that is not the expected one.
fn refusal(status: Sw3) -> ReadError {
    match status {
        Sw3::SamSelfTestFailed | Sw3::SamUnauthorized => ReadError::SamFault(status),
        other => ReadError::Status(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idcard::frame::encode_response;
    use crate::idcard::sim::{SimControl, SimReader, TestCard};
    use std::collections::VecDeque;

    /// The simulator core as an in-memory transport: replies are queued as the commands are
    /// written, and `read` hands them out in small pieces to exercise reassembly.
    struct Loopback {
        sim: SimReader,
        pending: VecDeque<u8>,
        gone: bool,
    }

    impl Transport for Loopback {
        fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
            if self.gone {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            let reply = self.sim.feed(bytes);
            self.pending.extend(reply);
            Ok(())
        }

        fn read(&mut self, buf: &mut [u8], _timeout: Duration) -> io::Result<usize> {
            if self.pending.is_empty() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            let n = buf.len().min(self.pending.len()).min(97);
            for slot in &mut buf[..n] {
                *slot = self.pending.pop_front().unwrap_or(0);
            }
            Ok(n)
        }

        fn discard_input(&mut self) -> io::Result<()> {
            self.pending.clear();
            Ok(())
        }
    }

    fn reader() -> Reader<Loopback> {
        let deck = TestCard::default_deck().expect("deck");
        let sim = SimReader::from_test_cards(&deck).expect("valid deck");
        let link = Loopback {
            sim,
            pending: VecDeque::new(),
            gone: false,
        };
        let config = ReaderConfig {
            response_timeout: Duration::from_millis(20),
            retries: 1,
        };
        Reader::open(link, config).expect("open")
    }

    fn sim(reader: &mut Reader<Loopback>) -> &mut SimReader {
        &mut reader.transport.sim
    }

    #[test]
    fn reads_then_waits_for_lift() {
        let mut r = reader();
        assert!(matches!(r.try_read(), Ok(ReadOutcome::NoCard)));
        sim(&mut r).apply(SimControl::Place(0)).expect("place");
        let Ok(ReadOutcome::Card(card)) = r.try_read() else {
            panic!("expected a card");
        };
        assert_eq!(&card, &sim(&mut r).deck()[0]);
        assert!(matches!(r.try_read(), Ok(ReadOutcome::AwaitingLift)));
        sim(&mut r).apply(SimControl::Lift).expect("lift");
        assert!(matches!(r.try_read(), Ok(ReadOutcome::AwaitingLift)));
        r.clear_awaiting_lift();
        assert!(matches!(r.try_read(), Ok(ReadOutcome::NoCard)));
        sim(&mut r)
            .apply(SimControl::Place(0))
            .expect("place again");
        assert!(matches!(r.try_read(), Ok(ReadOutcome::Card(_))));
    }

    #[test]
    fn retries_recover_from_one_corrupt_reply() {
        let mut r = reader();
        sim(&mut r).apply(SimControl::Place(2)).expect("place");
        sim(&mut r).apply(SimControl::BadChecksum).expect("fault");
        assert!(matches!(r.try_read(), Ok(ReadOutcome::Card(_))));
    }

    #[test]
    fn disconnected_transport_is_reported() {
        let mut r = reader();
        r.transport.gone = true;
        assert!(matches!(r.try_read(), Err(ReadError::Disconnected)));
    }

    #[test]
    fn stale_replies_are_skipped_not_misread() {
        let mut r = reader();
        sim(&mut r).apply(SimControl::Place(0)).expect("place");
        // Leftovers of earlier commands that arrive after the input was discarded: a SAM
        // status reply and a select reply, before find's own reply.
        let find = Response::new(Sw3::FindSuccess, vec![0; 4]);
        let stale_sam = Response::new(Sw3::Success, Vec::new());
        let stale_select = Response::new(Sw3::Success, vec![0; 8]);
        assert!(!plausible(Command::FindCard, &stale_sam));
        assert!(!plausible(Command::FindCard, &stale_select));
        assert!(plausible(Command::FindCard, &find));
        assert!(!plausible(Command::SelectCard, &find));
        assert!(!plausible(Command::SamStatus, &stale_select));
        assert!(!plausible(Command::ReadText, &stale_sam));
        assert!(plausible(
            Command::ReadText,
            &Response::new(Sw3::ReadFailed, Vec::new())
        ));
        // End to end: a queued stale frame in front of every reply does not derail a read.
        struct Stale(Loopback);
        impl Transport for Stale {
            fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
                self.0.pending.extend(encode_response(Sw3::Success, &[]));
                self.0.write_all(bytes)
            }
            fn read(&mut self, buf: &mut [u8], t: Duration) -> io::Result<usize> {
                self.0.read(buf, t)
            }
            fn discard_input(&mut self) -> io::Result<()> {
                self.0.discard_input()
            }
        }
        let Reader {
            transport, config, ..
        } = r;
        let mut r = Reader::open(Stale(transport), config).expect("open");
        assert!(matches!(r.try_read(), Ok(ReadOutcome::Card(_))));
    }

    #[test]
    fn sam_id_is_returned() {
        let mut r = reader();
        assert_eq!(r.sam_id().expect("sam id").len(), 16);
    }

    #[test]
    fn io_errors_map_to_plain_variants() {
        assert!(matches!(
            ReadError::from(io::Error::from(io::ErrorKind::BrokenPipe)),
            ReadError::Disconnected
        ));
        assert!(matches!(
            ReadError::from(io::Error::from(io::ErrorKind::TimedOut)),
            ReadError::Timeout
        ));
        assert!(matches!(
            ReadError::from(io::Error::from(io::ErrorKind::PermissionDenied)),
            ReadError::Io(_)
        ));
    }
}
