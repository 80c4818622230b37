//! `kiosk-preview`: one page of a matter as the terminal draws it, for the console's editor.
//!
//! Reads a JSON [`PreviewRequest`] on standard input (at most [`MAX_REQUEST`] bytes), writes
//! the page as a PNG on standard output. Exit status 2 with one line on standard error when
//! the request cannot be drawn (not JSON, an invalid catalog, an unknown matter). The platform
//! runs it as a child process with a time limit, so Slint never runs inside the platform.

use std::io::{Read, Write};
use std::process::ExitCode;

use kiosk_app::screen::preview::{PreviewRequest, render};

/// Largest request read: a whole catalog with the edited matter (the seed is well under 1 MiB).
const MAX_REQUEST: u64 = 8 * 1024 * 1024;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("kiosk-preview: {why}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut input = Vec::new();
    std::io::stdin()
        .take(MAX_REQUEST + 1)
        .read_to_end(&mut input)
        .map_err(|e| format!("cannot read the request: {e}"))?;
    if input.len() as u64 > MAX_REQUEST {
        return Err(format!("the request is larger than {MAX_REQUEST} bytes"));
    }
    let request: PreviewRequest =
        serde_json::from_slice(&input).map_err(|e| format!("not a preview request: {e}"))?;
    let pixels = render(&request).map_err(|e| e.to_string())?;
    let (width, height) = request.size();
    let mut png = Vec::new();
    kiosk_ui::headless::encode_png(&mut png, width, height, &pixels)?;
    let mut out = std::io::stdout().lock();
    out.write_all(&png)
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write the picture: {e}"))
}
