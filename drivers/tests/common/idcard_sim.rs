//! `kiosk-sim idcard` on a link in a scratch folder, for the pty tests and the read benchmark
//! (which includes this file by path; not every user calls every helper).

#![allow(dead_code)]

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use kiosk_drivers::idcard::{ReadError, Reader, ReaderConfig, SerialTransport};
use kiosk_testkit::Simulator;

static NEXT: AtomicUsize = AtomicUsize::new(0);

pub fn scratch_dir() -> PathBuf {
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("kiosk-idcard-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// The simulated reader and the folder its link is in; the simulator's controls through
/// [`Deref`]. The simulator quits (removing its link) before the folder goes.
pub struct IdcardSim {
    sim: Option<Simulator>,
    pub dir: PathBuf,
    pub link: PathBuf,
}

impl IdcardSim {
    pub fn start() -> IdcardSim {
        IdcardSim::start_with(|_| Vec::new())
    }

    /// Starts the simulator; `extra` gets the scratch dir and returns more arguments.
    pub fn start_with(extra: impl FnOnce(&Path) -> Vec<String>) -> IdcardSim {
        let dir = scratch_dir();
        let link = dir.join("idcard");
        let mut command = Command::new(env!("CARGO_BIN_EXE_kiosk-sim"));
        command
            .arg("idcard")
            .arg("--link")
            .arg(&link)
            .args(extra(&dir))
            .env("RUST_LOG", "warn");
        let sim = Simulator::spawn(command);
        assert_eq!(
            sim.ready(),
            format!("idcard reader ready at {}", link.display())
        );
        IdcardSim {
            sim: Some(sim),
            dir,
            link,
        }
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
}

impl Deref for IdcardSim {
    type Target = Simulator;

    fn deref(&self) -> &Simulator {
        self.sim.as_ref().expect("running until dropped")
    }
}

impl DerefMut for IdcardSim {
    fn deref_mut(&mut self) -> &mut Simulator {
        self.sim.as_mut().expect("running until dropped")
    }
}

impl Drop for IdcardSim {
    fn drop(&mut self) {
        drop(self.sim.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
