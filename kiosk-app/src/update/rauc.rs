//! Full system images go through RAUC.
//!
//! The terminal does not write root partitions itself: a verified bundle (its bytes checked
//! against the signed release metadata first) is handed to `rauc install`, which checks the
//! bundle's own signature against the keyring in the image, writes the other root slot and
//! makes it the boot loader's primary. After the reboot the kiosk runs the same health check
//! as for an application release and then calls `rauc status mark-good`; a failed check calls
//! `mark-bad` and reboots, and a system that never comes up is left to the boot loader's
//! attempt counter, which falls back to the old slot. The kiosk only ever runs the `rauc`
//! command line, so the board's integration (boot loader, slots, keyring) lives in RAUC's
//! `system.conf` on the image: see docs/ARCHITECTURE.md, "Updates".

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `rauc` command line.
#[derive(Debug, Clone)]
pub struct Rauc {
    program: PathBuf,
}

/// What went wrong talking to RAUC.
#[derive(Debug, thiserror::Error)]
pub enum RaucError {
    /// `rauc` could not be run.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The OS's answer.
        source: std::io::Error,
    },
    /// `rauc` said no.
    #[error("rauc {action} failed ({status}): {stderr}")]
    Refused {
        /// What was asked.
        action: String,
        /// Its exit status.
        status: String,
        /// What it said, trimmed.
        stderr: String,
    },
    /// Its answer was not what RAUC prints.
    #[error("rauc {action} answered something unexpected: {detail}")]
    Unexpected {
        /// What was asked.
        action: String,
        /// Why it did not parse.
        detail: String,
    },
}

/// What `rauc info` says of a bundle, after checking its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleInfo {
    /// The system the bundle is for (RAUC's `compatible`).
    pub compatible: String,
    /// The bundle's version.
    pub version: String,
}

impl Rauc {
    /// RAUC at `program` (`rauc` on the image).
    pub fn new(program: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
        }
    }

    fn run(&self, action: &str, args: &[&str]) -> Result<String, RaucError> {
        let output = Command::new(&self.program)
            .args(args)
            .output()
            .map_err(|source| RaucError::Spawn {
                program: self.program.display().to_string(),
                source,
            })?;
        if !output.status.success() {
            return Err(RaucError::Refused {
                action: action.to_owned(),
                status: output.status.to_string(),
                stderr: String::from_utf8_lossy(&output.stderr)
                    .trim()
                    .chars()
                    .take(500)
                    .collect(),
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// `rauc info`: checks the bundle's signature and reads its manifest.
    pub fn info(&self, bundle: &Path) -> Result<BundleInfo, RaucError> {
        let path = bundle.to_string_lossy();
        let out = self.run("info", &["info", "--output-format=json", &path])?;
        let json: serde_json::Value =
            serde_json::from_str(&out).map_err(|e| RaucError::Unexpected {
                action: "info".into(),
                detail: e.to_string(),
            })?;
        let field = |name: &str| {
            json.get(name)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
                .ok_or_else(|| RaucError::Unexpected {
                    action: "info".into(),
                    detail: format!("no `{name}`"),
                })
        };
        Ok(BundleInfo {
            compatible: field("compatible")?,
            version: field("version")?,
        })
    }

    /// `rauc install`: writes the bundle into the inactive root slot and makes it primary.
    pub fn install(&self, bundle: &Path) -> Result<(), RaucError> {
        self.run("install", &["install", &bundle.to_string_lossy()])
            .map(|_| ())
    }

    /// The root slot the system booted from (`rauc status`'s `booted`).
    pub fn booted(&self) -> Result<String, RaucError> {
        let out = self.run("status", &["status", "--output-format=json"])?;
        let json: serde_json::Value =
            serde_json::from_str(&out).map_err(|e| RaucError::Unexpected {
                action: "status".into(),
                detail: e.to_string(),
            })?;
        json.get("booted")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .ok_or_else(|| RaucError::Unexpected {
                action: "status".into(),
                detail: "no `booted`".into(),
            })
    }

    /// `rauc status mark-good`: the booted system passed its health check.
    pub fn mark_good(&self) -> Result<(), RaucError> {
        self.run("mark-good", &["status", "mark-good"]).map(|_| ())
    }

    /// `rauc status mark-bad`: the booted system failed it; the boot loader falls back.
    pub fn mark_bad(&self) -> Result<(), RaucError> {
        self.run("mark-bad", &["status", "mark-bad"]).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A stand-in for the `rauc` program at the process boundary: it logs its arguments
    /// and answers as RAUC 1.x does, refusing bundles whose name says they are unsigned.
    fn stand_in(dir: &Path) -> (Rauc, PathBuf) {
        let log = dir.join("calls");
        let program = dir.join("rauc");
        std::fs::write(
            &program,
            format!(
                r#"#!/bin/sh
echo "$*" >> {log}
case "$1 $2" in
  "info --output-format=json")
    case "$3" in *unsigned*) echo "signature verification failed: no signer" >&2; exit 1;; esac
    echo '{{"compatible":"lianyibao-terminal-amd64","version":"2026.11.2","hash":"ab"}}';;
  "status --output-format=json") echo '{{"compatible":"lianyibao-terminal-amd64","booted":"A","boot_primary":"rootfs.0"}}';;
  "install "*) ;;
  "status mark-good"|"status mark-bad") ;;
  *) echo "unknown command" >&2; exit 2;;
esac
"#,
                log = log.display()
            ),
        )
        .expect("write");
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).expect("mode");
        (Rauc::new(&program), log)
    }

    #[test]
    fn a_bundle_is_checked_then_installed_then_marked() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (rauc, log) = stand_in(dir.path());
        let bundle = dir.path().join("os-2026.11.2-x86_64.raucb");
        let info = rauc.info(&bundle).expect("info");
        assert_eq!(info.version, "2026.11.2");
        assert_eq!(info.compatible, "lianyibao-terminal-amd64");
        assert_eq!(rauc.booted().expect("booted"), "A");
        rauc.install(&bundle).expect("install");
        rauc.mark_good().expect("good");
        let calls = std::fs::read_to_string(log).expect("log");
        let lines: Vec<&str> = calls.lines().collect();
        assert_eq!(
            lines[0],
            format!("info --output-format=json {}", bundle.display())
        );
        assert_eq!(lines[1], "status --output-format=json");
        assert_eq!(lines[2], format!("install {}", bundle.display()));
        assert_eq!(lines[3], "status mark-good");
    }

    #[test]
    fn a_refused_bundle_says_why_and_a_missing_rauc_is_named() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (rauc, _) = stand_in(dir.path());
        let err = rauc
            .info(&dir.path().join("unsigned.raucb"))
            .expect_err("refused");
        assert!(err.to_string().contains("no signer"), "{err}");
        let missing = Rauc::new(dir.path().join("no-such-rauc"));
        let err = missing.mark_good().expect_err("missing");
        assert!(err.to_string().contains("no-such-rauc"), "{err}");
    }
}
