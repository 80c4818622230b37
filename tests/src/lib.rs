//! Support for the end-to-end suites: finding the built programs and running the platform as
//! a real process.
//!
//! The suites drive the same binaries a terminal and a data centre run; `make test` builds them
//! before testing (`cargo build --workspace --bins`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use anyhow::{Context, anyhow, bail};

/// The folder holding the workspace's built programs (the test binary sits in its `deps/`).
pub fn bin_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let deps = exe
        .parent()
        .ok_or_else(|| anyhow!("test binary has no folder"))?;
    Ok(deps.parent().unwrap_or(deps).to_owned())
}

/// The path of a built program, or a clear error saying how to build it.
pub fn program(name: &str) -> anyhow::Result<PathBuf> {
    let path = bin_dir()?.join(name);
    if !path.is_file() {
        bail!(
            "{} is not built: run `cargo build --workspace --bins` (make test does)",
            path.display()
        );
    }
    Ok(path)
}

/// Runs a built program to completion with `args`, capturing its output.
pub fn run(name: &str, args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<Output> {
    let mut command = Command::new(program(name)?);
    command.args(args).stdin(Stdio::null());
    for (key, value) in env {
        command.env(key, value);
    }
    command
        .output()
        .with_context(|| format!("cannot run {name}"))
}

/// A `kiosk-platform serve` process on a free loopback port, stopped on drop.
pub struct PlatformProcess {
    child: Child,
    /// Its base URL.
    pub url: String,
    /// Its SQLite database file.
    pub db: PathBuf,
}

impl PlatformProcess {
    /// Starts a platform on a new database in `dir`.
    pub fn start(dir: &Path) -> anyhow::Result<Self> {
        Self::start_with(dir, &[])
    }

    /// Starts a platform on a new database in `dir`, with more `serve` options.
    pub fn start_with(dir: &Path, options: &[&str]) -> anyhow::Result<Self> {
        let db = dir.join("platform.db");
        let mut child = Command::new(program("kiosk-platform")?)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--db",
                &format!("sqlite://{}", db.display()),
            ])
            .args(options)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start kiosk-platform")?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let url = line
            .trim()
            .strip_prefix("kiosk-platform listening on ")
            .ok_or_else(|| anyhow!("unexpected first line from kiosk-platform: {line:?}"))?
            .to_owned();
        Ok(Self { child, url, db })
    }
}

impl PlatformProcess {
    /// A one-time enrollment payload for one terminal, from `kiosk-platform token create`.
    pub fn enrollment(&self) -> anyhow::Result<String> {
        kiosk_app::peers::enrollment_token(
            &format!("sqlite://{}", self.db.display()),
            &self.url,
            "e2e",
        )
    }
}

impl Drop for PlatformProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
