//! [`Peer`]: a child process of ours, read line by line, stopped when its handle drops.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};

/// How long a peer may take to print its ready line.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// How long a simulator may take to answer a control command.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

/// A running child process with its stdout lines and (when it takes commands) its stdin.
///
/// The lines are read on a thread of their own into a channel, so every wait for one has a
/// deadline and a peer that hangs fails the caller instead of blocking it. When the handle
/// drops, a simulator is told to `quit` (removing its device links) and anything still running
/// gets SIGTERM, then SIGKILL; the process is always reaped.
pub struct Peer {
    name: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

impl Peer {
    /// The process id (to read its `/proc` entry).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Starts `program args…` with its stdin and stdout piped and waits until it prints a line
    /// containing `ready_marker`; returns the peer and that line.
    pub fn start(
        name: &'static str,
        program: &Path,
        args: &[&str],
        ready_marker: &str,
    ) -> anyhow::Result<(Self, String)> {
        let mut command = Command::new(program);
        command.args(args).stdin(Stdio::piped());
        let mut peer = Peer::spawn(name, command)?;
        let ready = peer.wait_for(|line| line.contains(ready_marker), READY_WITHIN)?;
        Ok((peer, ready))
    }

    /// Spawns `command` as it is set up (arguments, environment, stdin, where stderr goes) with
    /// its stdout piped to this handle; waits for nothing.
    pub fn spawn(name: &'static str, mut command: Command) -> anyhow::Result<Self> {
        // SAFETY: the closure runs in the forked child before exec and only makes one
        // async-signal-safe system call (prctl).
        unsafe {
            command.pre_exec(|| {
                // If we die without cleaning up (SIGKILL, a crash), our peers go too.
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM)
                    .map_err(std::io::Error::from)
            });
        }
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start the {name} ({:?})", command.get_program()))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("the {name} has no stdout"))?;
        let stdin = child.stdin.take();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Peer {
            name,
            child,
            stdin,
            lines,
        })
    }

    /// The next line the peer prints, waiting at most `timeout`.
    pub fn next_line(&mut self, timeout: Duration) -> anyhow::Result<String> {
        self.wait_for(|_| true, timeout)
    }

    /// Skips lines until one satisfies `accept` and returns it, waiting at most `timeout`.
    pub fn wait_for(
        &mut self,
        accept: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> anyhow::Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if accept(&line) => return Ok(line),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => bail!(
                    "the {} did not answer within {}s",
                    self.name,
                    timeout.as_secs()
                ),
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().map(|s| s.to_string()).unwrap_or_default();
                    bail!("the {} stopped ({status})", self.name)
                }
            }
        }
    }

    /// Writes one line to the peer's stdin.
    pub fn send(&mut self, line: &str) -> anyhow::Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| anyhow!("the {} takes no commands", self.name))?;
        writeln!(stdin, "{line}").with_context(|| format!("the {} is gone", self.name))?;
        stdin
            .flush()
            .with_context(|| format!("the {} is gone", self.name))
    }

    /// Sends one control command to a simulator and waits for its `ok`.
    pub fn control(&mut self, command: &str) -> anyhow::Result<()> {
        self.ask(command).map(drop)
    }

    /// Sends one control command to a simulator and returns what followed its `ok` (a
    /// simulator's answer to a question such as `show`).
    pub fn ask(&mut self, command: &str) -> anyhow::Result<String> {
        self.send(command)?;
        let answer = self.wait_for(
            |l| l.starts_with("ok") || l.starts_with("error"),
            ANSWER_WITHIN,
        )?;
        if let Some(rest) = answer.strip_prefix("ok") {
            Ok(rest.trim().to_owned())
        } else {
            bail!("the {} refused `{command}`: {answer}", self.name)
        }
    }

    /// Closes the peer's stdin: the end of its input, which a simulator takes for `quit`.
    pub fn close_stdin(&mut self) {
        drop(self.stdin.take());
    }

    /// How the peer exited, if it has.
    pub fn exited(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        self.child
            .try_wait()
            .with_context(|| format!("cannot ask whether the {} exited", self.name))
    }

    /// Waits at most `within` for the peer to exit by itself.
    pub fn wait_exit(&mut self, within: Duration) -> anyhow::Result<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.exited()? {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                bail!(
                    "the {} did not exit within {}s",
                    self.name,
                    within.as_secs()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Pulls the plug: SIGKILL, no chance to close anything politely, then reaps the process.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        self.child
            .kill()
            .with_context(|| format!("cannot kill the {}", self.name))?;
        self.child
            .wait()
            .with_context(|| format!("cannot reap the {}", self.name))?;
        Ok(())
    }

    /// Kills the peer and returns everything it printed and nobody read yet: its stderr (when
    /// that was piped), then its remaining stdout lines.
    pub fn kill_and_collect(mut self) -> String {
        let _ = self.child.kill();
        let mut printed = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = stderr.read_to_string(&mut printed);
        }
        let _ = self.child.wait();
        // The reader thread ends at the end of stdout, closing the channel.
        for line in self.lines.iter() {
            printed.push_str(&line);
            printed.push('\n');
        }
        printed
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        // Simulators stop cleanly on `quit` (removing their device links); others get SIGTERM.
        if let Some(stdin) = self.stdin.as_mut()
            && writeln!(stdin, "quit").and_then(|()| stdin.flush()).is_ok()
        {
            for _ in 0..50 {
                if matches!(self.child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
