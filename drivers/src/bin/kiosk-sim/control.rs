//! The simulators' control channel: lines from stdin and, with `--control`, from a Unix socket
//! (any number of connections, e.g. `kiosk drive --card-control`), each answered `ok` or
//! `error: …` on the channel it came from. Every line goes through one queue to the thread
//! that owns the device, so lines from all sources are carried out one at a time, in order.
//! EOF on stdin means `quit` unless a control socket is in use, so a harness can close stdin
//! and keep driving the simulator through the socket.

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::sync::mpsc;

use anyhow::Context;

/// A control line on its way to the serving thread, with where to send the answer.
pub struct Request {
    pub line: String,
    answer: mpsc::Sender<Answer>,
}

impl Request {
    /// Sends the answer; after `quit`, waits (a little) until the requester has written it,
    /// so the process does not exit before the client has read its `ok`.
    pub fn reply(self, text: String, quit: bool) {
        let (ack_tx, ack_rx) = mpsc::channel();
        let answer = Answer {
            text,
            ack: quit.then_some(ack_tx),
        };
        if self.answer.send(answer).is_ok() && quit {
            let _ = ack_rx.recv_timeout(std::time::Duration::from_secs(2));
        }
    }
}

/// The answer to a control line. After `quit`, the requester acknowledges once the answer is
/// written, so the process does not exit before the client has read its `ok`.
pub struct Answer {
    text: String,
    ack: Option<mpsc::Sender<()>>,
}

/// Where control lines are queued: the serving thread's channel, and the pipe that wakes it
/// when it waits on its pty with `poll` (a thread that only waits on the channel needs none).
pub struct Queue {
    tx: mpsc::Sender<Request>,
    wake: Option<io::PipeWriter>,
}

impl Queue {
    pub fn new(tx: mpsc::Sender<Request>, wake: Option<io::PipeWriter>) -> Self {
        Self { tx, wake }
    }

    fn try_clone(&self) -> io::Result<Self> {
        Ok(Self {
            tx: self.tx.clone(),
            wake: self
                .wake
                .as_ref()
                .map(io::PipeWriter::try_clone)
                .transpose()?,
        })
    }

    /// Queues one control line and wakes the serving thread. `false` once it has stopped.
    fn submit(&self, line: &str, answer: mpsc::Sender<Answer>) -> bool {
        let request = Request {
            line: line.to_owned(),
            answer,
        };
        self.tx.send(request).is_ok()
            && self
                .wake
                .as_ref()
                .is_none_or(|mut wake| wake.write_all(&[1]).is_ok())
    }
}

/// Starts the threads serving stdin and, when given, the control socket; stdin's end queues a
/// `quit` unless there is a socket.
pub fn listen(queue: Queue, listener: Option<UnixListener>) -> anyhow::Result<()> {
    let quit_on_eof = listener.is_none();
    {
        let queue = queue.try_clone().context("sharing the control queue")?;
        std::thread::spawn(move || {
            serve_lines(io::stdin().lock(), io::stdout(), &queue);
            if quit_on_eof {
                let (answer_tx, answer_rx) = mpsc::channel();
                if queue.submit("quit", answer_tx)
                    && let Ok(Answer { ack: Some(ack), .. }) = answer_rx.recv()
                {
                    let _ = ack.send(());
                }
            }
        });
    }
    if let Some(listener) = listener {
        std::thread::spawn(move || accept_controls(listener, &queue));
    }
    Ok(())
}

/// Binds the control socket, replacing a stale socket but never any other kind of file.
pub fn bind_control(path: &Path) -> anyhow::Result<UnixListener> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        anyhow::ensure!(
            meta.file_type().is_socket(),
            "{} exists and is not a socket; refusing to replace it",
            path.display()
        );
        std::fs::remove_file(path)
            .with_context(|| format!("removing the stale socket {}", path.display()))?;
    }
    UnixListener::bind(path).with_context(|| format!("binding {}", path.display()))
}

fn accept_controls(listener: UnixListener, queue: &Queue) {
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(stream) => stream,
            Err(e) => {
                tracing::warn!("control socket accept failed: {e}");
                continue;
            }
        };
        let Ok(queue) = queue.try_clone() else {
            tracing::warn!("could not share the wake-up pipe with a control connection");
            continue;
        };
        std::thread::spawn(move || match stream.try_clone() {
            Ok(reader) => serve_lines(BufReader::new(reader), stream, &queue),
            Err(e) => tracing::warn!("control connection unusable: {e}"),
        });
    }
}

/// Answers control lines from one source until it closes, or until it asked to quit.
fn serve_lines(input: impl BufRead, mut output: impl Write, queue: &Queue) {
    for line in input.lines() {
        let Ok(line) = line else { return };
        if line.trim().is_empty() {
            continue;
        }
        let (answer_tx, answer_rx) = mpsc::channel();
        if !queue.submit(&line, answer_tx) {
            return;
        }
        let Ok(answer) = answer_rx.recv() else { return };
        let written = writeln!(output, "{}", answer.text).and_then(|()| output.flush());
        if let Some(ack) = answer.ack {
            let _ = ack.send(());
            return;
        }
        if written.is_err() {
            return;
        }
    }
}
