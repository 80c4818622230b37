//! The workspace's built programs, found beside the program that is running.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use anyhow::{Context, anyhow, bail};

/// The path of the workspace program `name`, built next to the running program: in the same
/// folder (a binary in `target/release`, such as the demo) or one level up (a test or bench
/// binary in `target/debug/deps`).
pub fn program(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot locate the running program")?;
    let dir = exe
        .parent()
        .ok_or_else(|| anyhow!("the running program has no folder"))?;
    for candidate in [dir.join(name), dir.join("..").join(name)] {
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!(
        "{name} is not built next to {}: run `cargo build --workspace --bins` first (make test \
         and make demo do)",
        exe.display()
    )
}

/// Runs the built program `name` to completion with `args` and the extra environment `env`,
/// its input empty, and captures its output.
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
