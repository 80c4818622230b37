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

/// A `kiosk-platform serve` process on a SQLite file, listening on a free loopback port.
pub struct PlatformPeer {
    /// The process; stopped when this drops.
    pub peer: Peer,
    /// Its base URL.
    pub url: String,
    /// Its database, as `sqlite://PATH`.
    pub db: String,
}

impl PlatformPeer {
    /// Starts a platform on the database file `db` (created when new).
    pub fn start(db: &Path) -> anyhow::Result<Self> {
        Self::start_on(db, "127.0.0.1:0")
    }

    /// Starts a platform on `db` listening on `address` (`127.0.0.1:0`: any free port).
    pub fn start_on(db: &Path, address: &str) -> anyhow::Result<Self> {
        let db = format!("sqlite://{}", db.display());
        let (peer, line) = Peer::start(
            "platform",
            &sibling_program("kiosk-platform")?,
            &["serve", "--listen", address, "--db", &db],
            "listening on",
        )?;
        let url = line.rsplit(' ').next().unwrap_or_default().to_owned();
        Ok(Self { peer, url, db })
    }

    /// Books an appointment for today at `site` for `matter` with the platform's own command
    /// line (as the booking portal's import would) and returns its code.
    pub fn book_appointment(&self, site: &str, matter: &str) -> anyhow::Result<String> {
        let day = time::OffsetDateTime::now_utc()
            .to_offset(time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC))
            .date();
        let code = format!(
            "YY{:04}{:02}{:02}{:04}",
            day.year(),
            u8::from(day.month()),
            day.day(),
            std::process::id() % 10_000
        );
        let output = Command::new(sibling_program("kiosk-platform")?)
            .args([
                "appointment",
                "add",
                "--db",
                &self.db,
                "--code",
                &code,
                "--id-number",
                "11010519491231002X",
                "--matter",
                matter,
                "--site",
                site,
                "--slot",
                "09:30-10:00",
            ])
            .stdin(Stdio::null())
            .output()
            .context("cannot run kiosk-platform appointment add")?;
        if !output.status.success() {
            bail!(
                "kiosk-platform appointment add failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(code)
    }

    /// A one-time enrollment payload for a terminal at `site`, made with the platform's own
    /// command line as an operator would.
    pub fn enrollment(&self, site: &str) -> anyhow::Result<String> {
        enrollment_token(&self.db, &self.url, site)
    }
}

/// Runs `kiosk-platform token create` on the database `db` (a `--db` URL) for the platform at
/// `url` and returns the enrollment payload it prints.
pub fn enrollment_token(db: &str, url: &str, site: &str) -> anyhow::Result<String> {
    let output = Command::new(sibling_program("kiosk-platform")?)
        .args([
            "token",
            "create",
            "--db",
            db,
            "--platform-url",
            url,
            "--site",
            site,
            "--expires-in",
            "30m",
        ])
        .stdin(Stdio::null())
        .output()
        .context("cannot run kiosk-platform token create")?;
    if !output.status.success() {
        bail!(
            "kiosk-platform token create failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("payload: "))
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("kiosk-platform token create printed no payload"))
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
