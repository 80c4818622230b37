//! `kiosk-sim idcard` as a child process driven through its stdin, for the pty tests and the
//! read benchmark (which includes this file by path; not every user calls every helper).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kiosk_drivers::idcard::{ReadError, Reader, ReaderConfig, SerialTransport};

static NEXT: AtomicUsize = AtomicUsize::new(0);

pub fn scratch_dir() -> PathBuf {
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("kiosk-idcard-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A running `kiosk-sim idcard`, driven through its stdin.
pub struct Sim {
    pub child: Child,
    pub stdin: Option<ChildStdin>,
    pub stdout: BufReader<ChildStdout>,
    pub dir: PathBuf,
    pub link: PathBuf,
}

impl Sim {
    pub fn start() -> Sim {
        Sim::start_with(|_| Vec::new())
    }

    /// Starts the simulator; `extra` gets the scratch dir and returns more arguments.
    pub fn start_with(extra: impl FnOnce(&Path) -> Vec<String>) -> Sim {
        let dir = scratch_dir();
        let link = dir.join("idcard");
        let mut child = Command::new(env!("CARGO_BIN_EXE_kiosk-sim"))
            .arg("idcard")
            .arg("--link")
            .arg(&link)
            .args(extra(&dir))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn kiosk-sim");
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut ready = String::new();
        stdout.read_line(&mut ready).expect("ready line");
        assert_eq!(
            ready.trim_end(),
            format!("idcard reader ready at {}", link.display())
        );
        Sim {
            child,
            stdin,
            stdout,
            dir,
            link,
        }
    }

    pub fn control(&mut self, line: &str) -> String {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("send control");
        stdin.flush().expect("flush control");
        let mut answer = String::new();
        self.stdout.read_line(&mut answer).expect("control answer");
        answer.trim_end().to_owned()
    }

    pub fn ok(&mut self, line: &str) {
        assert_eq!(self.control(line), "ok", "control `{line}`");
    }

    pub fn link(&self) -> &str {
        self.link.to_str().expect("utf-8 path")
    }

    pub fn open(&self, config: ReaderConfig) -> Result<Reader<SerialTransport>, ReadError> {
        let transport = SerialTransport::open(self.link(), SerialTransport::DEFAULT_BAUD)?;
        Reader::open(transport, config)
    }

    pub fn reader(&self, config: ReaderConfig) -> Reader<SerialTransport> {
        self.open(config).expect("open reader")
    }

    pub fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "simulator did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = writeln!(stdin, "quit");
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
