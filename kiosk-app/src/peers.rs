//! Child processes the demo runs beside the kiosk: the platform and the device simulators.
//!
//! They are real programs speaking the real protocols; the kiosk talks to them exactly as it
//! talks to the real platform and devices. Each is stopped when its handle drops.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};

/// A running child process with its stdout lines and (optionally) its stdin.
pub struct Peer {
    name: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
}

impl Peer {
    /// Starts `program args…` and waits until it prints a line containing `ready_marker`;
    /// returns the peer and that line.
    pub fn start(
        name: &'static str,
        program: &Path,
        args: &[&str],
        ready_marker: &str,
    ) -> anyhow::Result<(Self, String)> {
        let mut command = Command::new(program);
        // SAFETY: the closure runs in the forked child before exec and only makes one
        // async-signal-safe system call (prctl).
        unsafe {
            command.pre_exec(|| {
                // If the kiosk dies without cleaning up (SIGKILL, a crash), its peers go too.
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM)
                    .map_err(std::io::Error::from)
            });
        }
        let mut child = command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start the {name} ({})", program.display()))?;
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
        let mut peer = Peer {
            name,
            child,
            stdin,
            lines,
        };
        let ready = peer.wait_for(|line| line.contains(ready_marker), Duration::from_secs(30))?;
        Ok((peer, ready))
    }

    fn wait_for(
        &mut self,
        accept: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> anyhow::Result<String> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if accept(&line) => return Ok(line),
                Ok(_) => {}
                Err(mpsc::RecvTimeoutError::Timeout) => bail!(
                    "the {} did not answer within {}s",
                    self.name,
                    timeout.as_secs()
                ),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().map(|s| s.to_string()).unwrap_or_default();
                    bail!("the {} stopped ({status})", self.name)
                }
            }
        }
    }

    /// Sends one control command to a simulator and waits for its `ok`.
    pub fn control(&mut self, command: &str) -> anyhow::Result<()> {
        self.ask(command).map(drop)
    }

    /// Sends one control command to a simulator and returns what followed its `ok` (a
    /// simulator's answer to a question such as `show`).
    pub fn ask(&mut self, command: &str) -> anyhow::Result<String> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| anyhow!("the {} takes no commands", self.name))?;
        writeln!(stdin, "{command}").with_context(|| format!("the {} is gone", self.name))?;
        stdin.flush()?;
        let answer = self.wait_for(
            |l| l.starts_with("ok") || l.starts_with("error"),
            Duration::from_secs(10),
        )?;
        if let Some(rest) = answer.strip_prefix("ok") {
            Ok(rest.trim().to_owned())
        } else {
            bail!("the {} refused `{command}`: {answer}", self.name)
        }
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
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
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

/// The path of a program installed next to the running `kiosk` binary.
pub fn sibling_program(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot locate the kiosk binary")?;
    let dir = exe
        .parent()
        .ok_or_else(|| anyhow!("the kiosk binary has no folder"))?;
    // Test binaries live one level down (target/debug/deps); programs sit in target/debug.
    for candidate in [dir.join(name), dir.join("..").join(name)] {
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!(
        "{name} is not installed next to {} (build the whole workspace: cargo build --release)",
        exe.display()
    )
}
