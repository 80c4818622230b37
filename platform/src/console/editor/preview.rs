//! The editor's preview pictures: `kiosk-preview` (the terminal's own screen code, a binary of
//! the kiosk crate) run as a child process, so Slint never runs inside the platform.
//!
//! What one costs: a process drawing one 1080×1920 page, about half a second of one core. So
//! one draws at a time (others wait, at most [`WAIT`]), a child that takes longer than
//! [`TIMEOUT`] is killed, its answer is read up to [`MAX_PICTURE`] bytes, and the last
//! [`CACHED`] pictures are kept by a digest of what was asked (a page reloaded, or a draft
//! not changed since, costs nothing).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;

/// Longest a drawing may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Longest a request waits for the drawing before it.
const WAIT: Duration = Duration::from_secs(60);
/// Largest picture read (a full-screen PNG is well under 1 MiB).
const MAX_PICTURE: u64 = 16 * 1024 * 1024;
/// Pictures kept: a matter's guide and a few form pages in every language and orientation
/// (each PNG some hundred KiB, so at most a few MiB).
const CACHED: usize = 32;
/// Environment variable naming the program, when it is not beside the platform's own.
pub const PROGRAM_ENV: &str = "KIOSK_PREVIEW";

/// Why no picture came.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PreviewFailure {
    /// `kiosk-preview` is not installed beside the platform (nor named by [`PROGRAM_ENV`]).
    #[error("预览程序未安装 The preview program (kiosk-preview) is not installed")]
    Missing,
    /// Too many previews are being drawn.
    #[error("预览繁忙，请稍后 Previews are busy, try again shortly")]
    Busy,
    /// The program failed or took too long.
    #[error("预览失败 The preview could not be drawn: {0}")]
    Failed(String),
}

/// A picture kept, by the digest of its request.
type Kept = ([u8; 32], Arc<Vec<u8>>);

/// The preview program's runner: one drawing at a time, and the last pictures.
pub(crate) struct Previews {
    program: Option<PathBuf>,
    gate: Semaphore,
    cache: Mutex<VecDeque<Kept>>,
}

/// Where the platform's Debian package installs `kiosk-preview`.
pub const INSTALLED: &str = "/usr/bin/kiosk-preview";

/// Finds `kiosk-preview`: [`PROGRAM_ENV`], else beside the running program (or one directory
/// up, where cargo puts binaries beside a test's), else where the package installs it.
fn program() -> Option<PathBuf> {
    if let Some(named) = std::env::var_os(PROGRAM_ENV) {
        return Some(PathBuf::from(named)).filter(|p| p.is_file());
    }
    let exe = std::env::current_exe().ok();
    exe.iter()
        .flat_map(|exe| exe.ancestors().skip(1).take(2))
        .map(|dir| dir.join("kiosk-preview"))
        .chain([PathBuf::from(INSTALLED)])
        .find(|p| p.is_file())
}

/// Whether the preview program is there, so the editor's page can say so instead of showing
/// broken pictures.
pub(crate) fn installed() -> bool {
    program().is_some()
}

impl Default for Previews {
    fn default() -> Self {
        Self {
            program: program(),
            gate: Semaphore::new(1),
            cache: Mutex::new(VecDeque::new()),
        }
    }
}

impl Previews {
    /// The PNG `kiosk-preview` draws for `request` (its JSON input).
    pub(crate) async fn picture(&self, request: &[u8]) -> Result<Arc<Vec<u8>>, PreviewFailure> {
        let program = self.program.as_ref().ok_or(PreviewFailure::Missing)?;
        let key: [u8; 32] = Sha256::digest(request).into();
        if let Some(found) = self.cached(&key) {
            return Ok(found);
        }
        let _turn = tokio::time::timeout(WAIT, self.gate.acquire())
            .await
            .map_err(|_| PreviewFailure::Busy)?
            .map_err(|_| PreviewFailure::Busy)?;
        if let Some(found) = self.cached(&key) {
            return Ok(found);
        }
        let picture = Arc::new(
            tokio::time::timeout(TIMEOUT, draw(program, request))
                .await
                .map_err(|_| PreviewFailure::Failed("took too long".into()))??,
        );
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHED {
                cache.pop_front();
            }
            cache.push_back((key, picture.clone()));
        }
        Ok(picture)
    }

    fn cached(&self, key: &[u8; 32]) -> Option<Arc<Vec<u8>>> {
        let cache = self.cache.lock().ok()?;
        cache.iter().find(|(k, _)| k == key).map(|(_, p)| p.clone())
    }
}

/// Runs the program once; killed when dropped (on the timeout).
async fn draw(program: &PathBuf, request: &[u8]) -> Result<Vec<u8>, PreviewFailure> {
    let failed = |e: std::io::Error| PreviewFailure::Failed(e.to_string());
    let mut child = tokio::process::Command::new(program)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(failed)?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| PreviewFailure::Failed("no input".into()))?;
    let input = request.to_vec();
    let writer = tokio::spawn(async move {
        let _ = stdin.write_all(&input).await;
    });
    let mut picture = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        stdout
            .take(MAX_PICTURE)
            .read_to_end(&mut picture)
            .await
            .map_err(failed)?;
    }
    let mut why = String::new();
    if let Some(stderr) = child.stderr.take() {
        let _ = stderr.take(4096).read_to_string(&mut why).await;
    }
    let _ = writer.await;
    let status = child.wait().await.map_err(failed)?;
    if !status.success() || !picture.starts_with(b"\x89PNG") {
        return Err(PreviewFailure::Failed(
            why.lines().next().unwrap_or("no picture").to_owned(),
        ));
    }
    Ok(picture)
}
