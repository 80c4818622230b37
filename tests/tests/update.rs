//! Signed updates end to end: the real `kiosk-platform` signs and serves releases and runs the
//! rollouts; the real `kiosk` installs them into its slots, restarts into them, commits or
//! rolls back, and reports. The service manager's part (restarting the kiosk whenever it
//! ends) is played by the test, and the display is an X server in memory (Xvfb).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use kiosk_testkit::{PlatformPeer, program, run};
use serde_json::Value;

/// An X server in memory for the kiosk's window, stopped on drop.
struct Xvfb {
    child: Child,
    display: String,
}

impl Xvfb {
    fn start() -> Xvfb {
        for n in 0..50u32 {
            let number = 200 + (std::process::id() % 500) + n;
            if Path::new(&format!("/tmp/.X{number}-lock")).exists() {
                continue;
            }
            let mut child = Command::new("Xvfb")
                .args([
                    &format!(":{number}"),
                    "-nolisten",
                    "tcp",
                    "-screen",
                    "0",
                    "1080x1920x24",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("Xvfb is not installed: scripts/install-deps installs the xvfb package");
            let socket = format!("/tmp/.X11-unix/X{number}");
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(10) {
                if Path::new(&socket).exists() {
                    return Xvfb {
                        child,
                        display: format!(":{number}"),
                    };
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("no X display could be started");
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A platform that signs releases, and one terminal enrolled with it.
struct Bench {
    dir: tempfile::TempDir,
    platform: PlatformPeer,
    keys: PathBuf,
    repo: PathBuf,
    config: PathBuf,
    data: PathBuf,
}

/// `[updates]` lines for a slot folder of the test's own next to the terminal's data folder
/// `data`, owned by the user running the tests (a terminal's belongs to root): the kiosk,
/// running as its owner, places releases itself, as a development machine does.
fn own_slots(data: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let parent = data.parent().expect("a parent folder");
    let uid = std::fs::metadata(parent).expect("the test folder").uid();
    format!(
        "slot_dir = \"{}\"\nslot_owner = {uid}\n",
        parent.join("slots").display()
    )
}

fn ok(output: std::process::Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{what} failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// Four new role keys in `keys` and a release repository in `repo` listing them.
fn new_repository(keys: &Path, repo: &Path) {
    ok(
        run(
            "kiosk-platform",
            &["release", "keygen", "--out", &path(keys)],
            &[],
        )
        .expect("run"),
        "release keygen",
    );
    let key = |role: &str| path(&keys.join(format!("{role}.pem")));
    ok(
        run(
            "kiosk-platform",
            &[
                "release",
                "init",
                "--repo",
                &path(repo),
                "--root-key",
                &key("root"),
                "--targets-key",
                &key("targets"),
                "--snapshot-key",
                &key("snapshot"),
                "--timestamp-key",
                &key("timestamp"),
            ],
            &[],
        )
        .expect("run"),
        "release init",
    );
}

/// Publishes `artifact` as application release `version` into `repo` with the keys in
/// `keys`, recording it in the platform database `db`.
fn publish(repo: &Path, keys: &Path, artifact: &Path, version: &str, db: &str) {
    publish_kind(repo, keys, artifact, version, "app", db);
}

/// Publishes `artifact` as release `version` of `kind` (`app`, `os`), like [`publish`].
fn publish_kind(repo: &Path, keys: &Path, artifact: &Path, version: &str, kind: &str, db: &str) {
    let key = |role: &str| path(&keys.join(format!("{role}.pem")));
    ok(
        run(
            "kiosk-platform",
            &[
                "release",
                "publish",
                "--repo",
                &path(repo),
                "--artifact",
                &path(artifact),
                "--version",
                version,
                "--kind",
                kind,
                "--arch",
                std::env::consts::ARCH,
                "--targets-key",
                &key("targets"),
                "--snapshot-key",
                &key("snapshot"),
                "--timestamp-key",
                &key("timestamp"),
                "--db",
                db,
            ],
            &[],
        )
        .expect("run"),
        "release publish",
    );
}

impl Bench {
    fn new() -> Bench {
        let dir = tempfile::tempdir().expect("temp dir");
        let keys = dir.path().join("keys");
        let repo = dir.path().join("repository");
        new_repository(&keys, &repo);
        let platform = PlatformPeer::start_with(
            &dir.path().join("platform.db"),
            "127.0.0.1:0",
            &[
                "--updates-repo",
                &path(&repo),
                "--timestamp-key",
                &path(&keys.join("timestamp.pem")),
            ],
        )
        .expect("platform");
        let data = dir.path().join("terminal");
        let config = dir.path().join("kiosk.toml");
        std::fs::write(
            &config,
            format!(
                "data_dir = \"{}\"\n[updates]\nhealth_deadline_secs = 40\n{}",
                data.display(),
                own_slots(&data)
            ),
        )
        .expect("config");
        let payload = platform.enrollment("e2e").expect("token");
        ok(
            run(
                "kiosk",
                &["provision", &payload, "--config", &path(&config)],
                &[],
            )
            .expect("run"),
            "kiosk provision",
        );
        assert!(
            data.join("updates/root.json").is_file(),
            "enrollment keeps the platform's release root"
        );
        Bench {
            dir,
            platform,
            keys,
            repo,
            config,
            data,
        }
    }

    fn db(&self) -> String {
        format!("sqlite://{}", self.platform.db.display())
    }

    /// Publishes `artifact` as application release `version`.
    fn publish(&self, artifact: &Path, version: &str) {
        publish(&self.repo, &self.keys, artifact, version, &self.db());
    }

    fn kiosk(&self, args: &[&str]) -> std::process::Output {
        let mut all: Vec<&str> = args.to_vec();
        let config = self.config.display().to_string();
        all.extend(["--config", &config]);
        run("kiosk", &all, &[]).expect("run kiosk")
    }

    fn status(&self) -> Value {
        let out = self.kiosk(&["update", "status", "--json"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let status: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "status is not JSON ({e}): {text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        assert!(
            out.status.success(),
            "the slots are inconsistent: {status:#}"
        );
        status
    }

    fn rollout_start(&self, version: &str) {
        ok(
            run(
                "kiosk-platform",
                &[
                    "rollout",
                    "start",
                    "--release",
                    version,
                    "--groups",
                    "100",
                    "--db",
                    &self.db(),
                ],
                &[],
            )
            .expect("run"),
            "rollout start",
        );
    }

    fn rollouts(&self) -> Value {
        let out = ok(
            run(
                "kiosk-platform",
                &["rollout", "status", "--json", "--db", &self.db()],
                &[],
            )
            .expect("run"),
            "rollout status",
        );
        serde_json::from_str(&out).expect("rollout status JSON")
    }
}

/// Plays systemd's `Restart=always` for `kiosk run`: starts it again whenever it ends, until
/// dropped. Its log lines go to `log`.
struct Service {
    stop: Arc<AtomicBool>,
    starts: Arc<AtomicU32>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Service {
    fn start(bench: &Bench, display: &str) -> Service {
        let stop = Arc::new(AtomicBool::new(false));
        let starts = Arc::new(AtomicU32::new(0));
        let kiosk = program("kiosk").expect("kiosk built");
        let config = bench.config.clone();
        let last_good = bench.dir.path().join("kiosk.last-good.toml");
        let log = bench.dir.path().join("kiosk.log");
        let display = display.to_owned();
        let thread = {
            let (stop, starts) = (stop.clone(), starts.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let file = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&log)
                        .expect("log");
                    let mut child = Command::new(&kiosk)
                        .args(["run", "--config"])
                        .arg(&config)
                        .arg("--last-good")
                        .arg(&last_good)
                        .env("DISPLAY", &display)
                        .env("RUST_LOG", "info")
                        .stdin(Stdio::null())
                        .stdout(file.try_clone().expect("log"))
                        .stderr(file)
                        .spawn()
                        .expect("start kiosk");
                    starts.fetch_add(1, Ordering::Relaxed);
                    loop {
                        if stop.load(Ordering::Relaxed) {
                            let _ = child.kill();
                            let _ = child.wait();
                            return;
                        }
                        if let Ok(Some(_)) = child.try_wait() {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    // systemd's RestartSec, shortened.
                    std::thread::sleep(Duration::from_millis(300));
                }
            })
        };
        Service {
            stop,
            starts,
            thread: Some(thread),
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The group counts of the newest rollout for `version`.
fn rollout_of(rollouts: &Value, version: &str) -> Value {
    rollouts
        .as_array()
        .and_then(|all| all.iter().find(|r| r["version"] == version))
        .cloned()
        .unwrap_or(Value::Null)
}

fn crashing_release(dir: &Path) -> PathBuf {
    // A release whose binary dies at once, as one built for the wrong board or linked against
    // a library the image lacks would.
    let path = dir.join("kiosk-crashing");
    std::fs::write(
        &path,
        "#!/bin/sh\necho 'kiosk: error while loading shared libraries: libmissing.so.1' >&2\nexit 127\n",
    )
    .expect("write");
    path
}

#[test]
fn a_rollout_installs_and_commits_a_good_release_then_a_crashing_one_rolls_back_by_itself() {
    let bench = Bench::new();
    let x = Xvfb::start();
    let good = bench.dir.path().join("kiosk-0.2.0");
    std::fs::copy(program("kiosk").expect("kiosk"), &good).expect("copy");
    bench.publish(&good, "0.2.0");
    bench.rollout_start("0.2.0");
    let service = Service::start(&bench, &x.display);

    wait_for("0.2.0 to be committed", Duration::from_secs(240), || {
        bench.status()["committed"]["version"] == "0.2.0"
    });
    wait_for(
        "the rollout to count the commit",
        Duration::from_secs(60),
        || {
            let r = rollout_of(&bench.rollouts(), "0.2.0");
            r["groups"][0]["committed"] == 1 && r["state"] == "finished"
        },
    );
    let status = bench.status();
    assert!(status["trial"].is_null(), "{status:#}");
    assert_eq!(status["committed"]["slot"], "a");

    let crashing = crashing_release(bench.dir.path());
    bench.publish(&crashing, "0.3.0");
    bench.rollout_start("0.3.0");
    wait_for("0.3.0 to be rolled back", Duration::from_secs(240), || {
        let status = bench.status();
        status["failed"]
            .as_array()
            .is_some_and(|f| f.iter().any(|r| r["version"] == "0.3.0"))
    });
    let status = bench.status();
    assert_eq!(status["committed"]["version"], "0.2.0", "{status:#}");
    assert!(status["trial"].is_null(), "{status:#}");
    let reason = status["failed"][0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("crashed_on_start"), "{status:#}");
    wait_for(
        "the rollout to hear of the rollback and stop",
        Duration::from_secs(90),
        || {
            let r = rollout_of(&bench.rollouts(), "0.3.0");
            r["state"] == "stopped" && r["groups"][0]["rolled_back"] == 1
        },
    );
    // The committed release serves again: the kiosk started it after going back.
    let starts_then = service.starts.load(Ordering::Relaxed);
    std::thread::sleep(Duration::from_secs(8));
    assert_eq!(
        service.starts.load(Ordering::Relaxed),
        starts_then,
        "the kiosk keeps restarting after the rollback"
    );
    drop(service);
    let log = std::fs::read_to_string(bench.dir.path().join("kiosk.log")).unwrap_or_default();
    assert!(log.contains("new release healthy; committed"), "{log}");
}

/// Runs `kiosk update apply` and kills it when it prints its `kill_at`-th line (0-based);
/// returns the lines it printed.
fn apply_killed_at(bench: &Bench, kill_at: Option<usize>) -> Vec<String> {
    let mut child = Command::new(program("kiosk").expect("kiosk"))
        .args([
            "update",
            "apply",
            "--version",
            "0.2.0",
            "--no-restart",
            "--config",
        ])
        .arg(&bench.config)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("apply");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        lines.push(line);
        if Some(lines.len() - 1) == kill_at {
            let _ = child.kill();
            break;
        }
    }
    let _ = child.wait();
    lines
}

#[test]
fn an_install_killed_at_any_step_leaves_a_consistent_terminal_that_finishes_later() {
    let bench = Bench::new();
    let good = bench.dir.path().join("kiosk-0.2.0");
    std::fs::copy(program("kiosk").expect("kiosk"), &good).expect("copy");
    bench.publish(&good, "0.2.0");

    // One whole install, to learn its steps; then the same from scratch, killed at each.
    let pristine = bench.dir.path().join("terminal-pristine");
    copy_dir(&bench.data, &pristine);
    let steps = apply_killed_at(&bench, None);
    assert!(
        steps.iter().any(|l| l.starts_with("switched")),
        "{steps:#?}"
    );
    let kinds: Vec<&str> = steps
        .iter()
        .map(|l| l.split(':').next().unwrap_or_default())
        .collect();
    for expected in ["checked", "downloading", "verified", "placed", "switched"] {
        assert!(kinds.contains(&expected), "no {expected} step: {steps:#?}");
    }
    // Kill points: each step's first line, and the middle of the download.
    let mut points: Vec<usize> = Vec::new();
    for (i, kind) in kinds.iter().enumerate() {
        if i == 0 || kinds[i - 1] != *kind {
            points.push(i);
        }
    }
    let downloading: Vec<usize> = (0..kinds.len())
        .filter(|&i| kinds[i] == "downloading")
        .collect();
    points.push(downloading[downloading.len() / 2]);

    for point in points {
        std::fs::remove_dir_all(&bench.data).expect("reset");
        let _ = std::fs::remove_dir_all(bench.data.with_file_name("slots"));
        copy_dir(&pristine, &bench.data);
        let printed = apply_killed_at(&bench, Some(point));
        let status = bench.status();
        let starts = status["starts"].as_str().unwrap_or_default().to_owned();
        assert!(
            starts.starts_with("the packaged kiosk")
                || starts.contains("0.2.0 from slot a (on trial)"),
            "killed after {:?}: {status:#}",
            printed.last()
        );
        if kinds[point] == "downloading" && point != downloading[0] {
            let partial = bench.data.join("updates/downloads");
            let kept: u64 = std::fs::read_dir(&partial)
                .map(|d| {
                    d.flatten()
                        .filter_map(|e| e.metadata().ok())
                        .map(|m| m.len())
                        .sum()
                })
                .unwrap_or(0);
            assert!(kept > 0, "a download cut in the middle keeps what it has");
        }
        // Started again, the install finishes (or says the release is on trial already).
        let again = bench.kiosk(&["update", "apply", "--version", "0.2.0", "--no-restart"]);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&again.stdout),
            String::from_utf8_lossy(&again.stderr)
        );
        assert!(
            text.contains("switched") || text.contains("is on trial"),
            "after a kill at {:?}: {text}",
            printed.last()
        );
        if kinds[point] == "downloading" && point != downloading[0] {
            let first = text
                .lines()
                .find(|l| l.starts_with("downloading"))
                .unwrap_or_default()
                .to_owned();
            let done: u64 = first
                .trim_start_matches("downloading: ")
                .split('/')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            assert!(done > 0, "the download resumed, not restarted: {text}");
        }
        let status = bench.status();
        assert_eq!(status["trial"]["release"]["version"], "0.2.0", "{status:#}");
        assert_eq!(status["trial"]["starts"], 0, "{status:#}");
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[test]
fn a_release_whose_bytes_or_metadata_were_tampered_with_is_refused_and_nothing_changes() {
    let bench = Bench::new();
    let good = bench.dir.path().join("kiosk-0.2.0");
    std::fs::copy(program("kiosk").expect("kiosk"), &good).expect("copy");
    bench.publish(&good, "0.2.0");

    // The served file swapped for other bytes of the same size (a mirror or disk gone bad).
    let targets = bench.repo.join("targets");
    let served = std::fs::read_dir(&targets)
        .expect("targets")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().contains("kiosk-0.2.0"))
        .expect("the published file");
    let original = std::fs::read(&served).expect("read");
    let mut bad = original.clone();
    let middle = bad.len() / 2;
    bad[middle] ^= 0xff;
    std::fs::write(&served, &bad).expect("tamper");
    let out = bench.kiosk(&["update", "apply", "--version", "0.2.0", "--no-restart"]);
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "a tampered release was installed");
    assert!(said.contains("hash") || said.contains("SHA-256"), "{said}");
    let status = bench.status();
    assert!(status["trial"].is_null(), "{status:#}");
    assert!(status["committed"].is_null(), "{status:#}");
    assert!(
        status["failed"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("hash_mismatch")),
        "{status:#}"
    );
    assert_eq!(
        std::fs::read_dir(bench.data.join("updates/downloads"))
            .map(|d| d.count())
            .unwrap_or(0),
        0,
        "the bad download is not kept"
    );
    std::fs::write(&served, &original).expect("restore");

    // The signed release list altered on the server: its signature no longer holds.
    let metadata = bench.repo.join("metadata");
    let newest_targets = std::fs::read_dir(&metadata)
        .expect("metadata")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".targets.json"))
        .max_by_key(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.split('.').next())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        })
        .expect("targets metadata");
    let text = std::fs::read_to_string(&newest_targets).expect("read");
    std::fs::write(&newest_targets, text.replace("0.2.0", "0.2.1")).expect("tamper");
    let out = bench.kiosk(&["update", "check"]);
    let said = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(!out.status.success(), "altered metadata was believed");
    assert!(
        said.contains("not signed") || said.contains("signature"),
        "{said}"
    );
    assert!(said.len() < 1000, "one readable line, not a wall: {said}");
    let status = bench.status();
    assert!(
        status["trial"].is_null() && status["committed"].is_null(),
        "{status:#}"
    );
}

#[test]
fn a_platform_serving_releases_signed_by_other_keys_cannot_push_them_to_a_terminal() {
    let bench = Bench::new();
    let good = bench.dir.path().join("kiosk-0.2.0");
    std::fs::copy(program("kiosk").expect("kiosk"), &good).expect("copy");
    bench.publish(&good, "0.2.0");

    // Someone who took over the platform's server, but not the release keys, builds a
    // repository of their own and serves it in place of the real one.
    let forged_keys = bench.dir.path().join("forged-keys");
    let forged = bench.dir.path().join("forged-repository");
    new_repository(&forged_keys, &forged);
    let evil = crashing_release(bench.dir.path());
    publish(&forged, &forged_keys, &evil, "9.9.9", &bench.db());
    std::fs::remove_dir_all(&bench.repo).expect("replace");
    copy_dir(&forged, &bench.repo);

    let out = bench.kiosk(&["update", "apply", "--version", "9.9.9", "--no-restart"]);
    let said = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(
        !out.status.success(),
        "a forged release was installed: {said}"
    );
    assert!(
        said.contains("sign") || said.contains("root"),
        "the refusal names the signature: {said}"
    );
    let status = bench.status();
    assert!(
        status["trial"].is_null() && status["committed"].is_null(),
        "{status:#}"
    );
    assert!(
        !bench.data.with_file_name("slots").join("a/kiosk").exists(),
        "nothing of it reached a slot"
    );
}

/// A stand-in for RAUC at the process boundary: it logs its arguments to `calls` and answers
/// as RAUC does for a bundle of system version `version`.
fn rauc_stand_in(dir: &Path, calls: &Path, version: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let program = dir.join("rauc");
    std::fs::write(
        &program,
        format!(
            "#!/bin/sh\necho \"$*\" >> {calls}\ncase \"$1 $2\" in\n  \"info --output-format=json\") echo '{{\"compatible\":\"lianyibao-terminal-amd64\",\"version\":\"{version}\"}}';;\n  \"status --output-format=json\") echo '{{\"booted\":\"A\"}}';;\nesac\n",
            calls = calls.display()
        ),
    )
    .expect("write rauc");
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).expect("mode");
    program
}

#[test]
fn a_system_image_older_than_the_running_system_is_refused_unless_a_technician_allows_it() {
    let bench = Bench::new();
    let dir = bench.dir.path();
    let calls = dir.join("rauc-calls");
    let rauc = rauc_stand_in(dir, &calls, "2026.6.1");
    let os_release = dir.join("os-release");
    std::fs::write(
        &os_release,
        "ID=debian\nVERSION_ID=12\nIMAGE_ID=lianyibao-terminal\nIMAGE_VERSION=2026.11.2\n",
    )
    .expect("os-release");
    std::fs::write(
        &bench.config,
        format!(
            "data_dir = \"{}\"\n[updates]\nhealth_deadline_secs = 40\nrauc = \"{}\"\nos_release = \"{}\"\n{}",
            bench.data.display(),
            rauc.display(),
            os_release.display(),
            own_slots(&bench.data)
        ),
    )
    .expect("config");
    // A platform (or whoever holds its keys for a moment) offers an older, validly signed
    // system image, perhaps one with a known hole.
    let bundle = dir.join("os-2026.6.1.raucb");
    std::fs::write(&bundle, b"an older system image").expect("bundle");
    publish_kind(
        &bench.repo,
        &bench.keys,
        &bundle,
        "2026.6.1",
        "os",
        &bench.db(),
    );

    let apply = [
        "update",
        "apply",
        "--kind",
        "os",
        "--version",
        "2026.6.1",
        "--no-restart",
    ];
    let out = bench.kiosk(&apply);
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "an older system image was installed");
    assert!(said.contains("older than 2026.11.2"), "{said}");
    let status = bench.status();
    assert!(
        status["failed"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("downgrade_refused")),
        "{status:#}"
    );
    assert!(status["os_trial"].is_null(), "{status:#}");
    assert!(
        !std::fs::read_to_string(&calls)
            .unwrap_or_default()
            .contains("install"),
        "RAUC was asked to install it"
    );

    // A technician may go back on purpose.
    let mut allowed = apply.to_vec();
    allowed.push("--allow-downgrade");
    ok(
        bench.kiosk(&allowed),
        "kiosk update apply --allow-downgrade",
    );
    let said = std::fs::read_to_string(&calls).expect("rauc calls");
    assert!(said.lines().any(|l| l.starts_with("install ")), "{said}");
    assert_eq!(bench.status()["os_trial"]["version"], "2026.6.1");
}
