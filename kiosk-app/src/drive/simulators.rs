//! The simulators' control channels: `kiosk-sim idcard --control SOCKET` and `kiosk-sim
//! scanner --control SOCKET` take the same control lines on a Unix socket as on their stdin
//! (`place N`, `lift`, `scan TEXT`), each answered `ok` or `error: …`. `kiosk drive` is told
//! the sockets with `--card-control` and `--scanner-control`; a real device has no such
//! channel, and a script that asks for one without it is answered with an error.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

/// How long a simulator may take to answer a control line.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

/// One simulator's control socket, connected on first use and kept.
#[derive(Debug)]
pub struct ControlChannel {
    what: &'static str,
    path: Option<PathBuf>,
    connection: Option<(BufReader<UnixStream>, UnixStream)>,
}

impl ControlChannel {
    /// The channel of `what` (e.g. "card reader") at `path`, if there is one.
    pub fn new(what: &'static str, path: Option<PathBuf>) -> Self {
        Self {
            what,
            path,
            connection: None,
        }
    }

    /// Sends one control line (without its newline) and reads its answer.
    pub fn send(&mut self, line: &str) -> Result<(), String> {
        let result = self.exchange(line);
        if result.is_err() {
            // A broken connection is opened afresh next time.
            self.connection = None;
        }
        result
    }

    fn exchange(&mut self, line: &str) -> Result<(), String> {
        let what = self.what;
        let Some(path) = &self.path else {
            return Err(format!(
                "no simulated {what} to control (give its control socket to kiosk drive)"
            ));
        };
        if self.connection.is_none() {
            let stream = UnixStream::connect(path).map_err(|e| {
                format!(
                    "cannot reach the {what} simulator at {}: {e}",
                    path.display()
                )
            })?;
            stream
                .set_read_timeout(Some(ANSWER_WITHIN))
                .and_then(|()| stream.set_write_timeout(Some(ANSWER_WITHIN)))
                .map_err(|e| format!("the {what} simulator's socket: {e}"))?;
            let reader = stream
                .try_clone()
                .map_err(|e| format!("the {what} simulator's socket: {e}"))?;
            self.connection = Some((BufReader::new(reader), stream));
        }
        let Some((reader, writer)) = self.connection.as_mut() else {
            return Err(format!("the {what} simulator is not connected"));
        };
        writeln!(writer, "{line}")
            .and_then(|()| writer.flush())
            .map_err(|e| format!("cannot write to the {what} simulator: {e}"))?;
        let mut answer = String::new();
        match reader.read_line(&mut answer) {
            Ok(0) => Err(format!("the {what} simulator closed its control socket")),
            Ok(_) if answer.trim() == "ok" => Ok(()),
            Ok(_) => Err(format!("the {what} simulator answered: {}", answer.trim())),
            Err(e) => Err(format!("no answer from the {what} simulator: {e}")),
        }
    }
}
