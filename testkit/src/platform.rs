//! [`PlatformPeer`]: the platform as a real `kiosk-platform serve` process.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, anyhow, bail};

use crate::Peer;
use crate::programs::program;

/// A `kiosk-platform serve` process on a SQLite file, stopped when this drops.
pub struct PlatformPeer {
    /// The process.
    pub peer: Peer,
    /// Its base URL.
    pub url: String,
    /// Its database file.
    pub db: PathBuf,
}

impl PlatformPeer {
    /// Starts a platform on the database file `db` (created when new), listening on a free
    /// loopback port.
    pub fn start(db: &Path) -> anyhow::Result<Self> {
        Self::start_with(db, "127.0.0.1:0", &[])
    }

    /// Starts a platform on `db` listening on `address` (`127.0.0.1:0`: any free port).
    pub fn start_on(db: &Path, address: &str) -> anyhow::Result<Self> {
        Self::start_with(db, address, &[])
    }

    /// Starts a platform on `db` listening on `address`, with more `serve` options.
    pub fn start_with(db: &Path, address: &str, options: &[&str]) -> anyhow::Result<Self> {
        let mut command = Self::command(db, address)?;
        command.args(options);
        Self::spawn(command, db)
    }

    /// The `kiosk-platform serve` command for `db` and `address`, for a caller that sets more
    /// (options, environment, where stderr goes) before [`PlatformPeer::spawn`].
    pub fn command(db: &Path, address: &str) -> anyhow::Result<Command> {
        let keys = Self::key_file(db)?;
        let mut command = Command::new(program("kiosk-platform")?);
        command
            .args(["serve", "--listen", address, "--db"])
            .arg(database_url(db))
            .arg("--keys")
            .arg(keys)
            // The platform takes no commands: its end of input means nothing to it.
            .stdin(Stdio::null());
        Ok(command)
    }

    /// Spawns a platform `command` made by [`PlatformPeer::command`] (on the database `db`) and
    /// waits until it says where it listens.
    pub fn spawn(command: Command, db: &Path) -> anyhow::Result<Self> {
        let mut peer = Peer::spawn("platform", command)?;
        let line = peer.next_line(std::time::Duration::from_secs(30))?;
        let url = line
            .strip_prefix("kiosk-platform listening on ")
            .ok_or_else(|| anyhow!("unexpected first line from kiosk-platform: {line:?}"))?
            .to_owned();
        Ok(Self {
            peer,
            url,
            db: db.to_owned(),
        })
    }

    /// The key file of the platform on `db` (`DB.keys` beside it), made with `kiosk-platform
    /// keys init` as an operator would the first time.
    pub fn key_file(db: &Path) -> anyhow::Result<PathBuf> {
        let path = db.with_extension("keys");
        if !path.exists() {
            let file = path.display().to_string();
            platform_cli(&["keys", "init", "--file", &file])?;
        }
        Ok(path)
    }

    /// Its database as a `--db` URL (`sqlite://PATH`).
    pub fn db_url(&self) -> String {
        database_url(&self.db)
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
        platform_cli(&[
            "appointment",
            "add",
            "--db",
            &self.db_url(),
            "--code",
            &code,
            "--id-number",
            "11010519491231002X",
            "--name",
            "预约测试",
            "--matter",
            matter,
            "--site",
            site,
            "--slot",
            "09:30-10:00",
            "--keys",
            &Self::key_file(&self.db)?.display().to_string(),
        ])?;
        Ok(code)
    }

    /// Publishes the catalog in `file` as the current version with the platform's own command
    /// line (`catalog import`), as an operator does, while the platform runs.
    pub fn publish_catalog(&self, file: &Path) -> anyhow::Result<()> {
        let file = file.to_string_lossy();
        platform_cli(&["catalog", "import", &file, "--db", &self.db_url()]).map(drop)
    }

    /// Makes the console account `name` (`user add`, the password on standard input, as an
    /// operator types it): role `role`, and for an editor the `departments` whose matters they
    /// edit.
    pub fn add_user(
        &self,
        name: &str,
        role: &str,
        departments: &[&str],
        password: &str,
    ) -> anyhow::Result<()> {
        let db = self.db_url();
        let mut args = vec!["user", "add", name, "--role", role, "--db", &db];
        for department in departments {
            args.extend(["--department", department]);
        }
        platform_cli_fed(&args, &format!("{password}\n")).map(drop)
    }

    /// A one-time enrollment payload for a terminal at `site`, made with the platform's own
    /// command line as an operator would.
    pub fn enrollment(&self, site: &str) -> anyhow::Result<String> {
        enrollment_token(&self.db_url(), &self.url, &["--site", site])
    }

    /// A one-time enrollment payload for a terminal at `site` that pins the key of the first
    /// certificate in `tls_cert` (`token create --tls-cert`), as an operator makes for a
    /// platform serving TLS.
    pub fn pinned_enrollment(&self, site: &str, tls_cert: &Path) -> anyhow::Result<String> {
        let cert = tls_cert.to_string_lossy();
        enrollment_token(
            &self.db_url(),
            &self.url,
            &["--site", site, "--tls-cert", &cert],
        )
    }

    /// A one-time payload that re-keys the enrolled terminal `terminal_id` (and nothing
    /// else), made with `token create --terminal` as an operator would.
    pub fn rekey_enrollment(&self, terminal_id: &str) -> anyhow::Result<String> {
        enrollment_token(&self.db_url(), &self.url, &["--terminal", terminal_id])
    }
}

fn database_url(db: &Path) -> String {
    format!("sqlite://{}", db.display())
}

/// Runs `kiosk-platform token create` on the database `db` (a `--db` URL) for the platform at
/// `url`, for `target` (`--site S` or `--terminal ID`), and returns the payload it prints.
fn enrollment_token(db: &str, url: &str, target: &[&str]) -> anyhow::Result<String> {
    let args = [
        &["token", "create", "--db", db, "--platform-url", url][..],
        target,
        &["--expires-in", "30m"],
    ]
    .concat();
    let printed = platform_cli(&args)?;
    printed
        .lines()
        .find_map(|l| l.strip_prefix("payload: "))
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("kiosk-platform token create printed no payload"))
}

/// Runs the platform's command line (`kiosk-platform ARGS…`) as an operator would, and returns
/// what it printed; a failure carries the one line it printed on stderr.
fn platform_cli(args: &[&str]) -> anyhow::Result<String> {
    platform_cli_fed(args, "")
}

/// [`platform_cli`] with `input` on its standard input (a password, as an operator types it).
fn platform_cli_fed(args: &[&str], input: &str) -> anyhow::Result<String> {
    use std::io::Write;
    // The command's name (`token create`), without its options.
    let what = args.get(..2).unwrap_or(args).join(" ");
    let mut child = Command::new(program("kiosk-platform")?)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run kiosk-platform {what}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .with_context(|| format!("cannot feed kiosk-platform {what}"))?;
    }
    let output = child
        .wait_with_output()
        .with_context(|| format!("cannot run kiosk-platform {what}"))?;
    if !output.status.success() {
        bail!(
            "kiosk-platform {what} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
