//! 证明打印: a certificate the platform issues as a PDF, rasterised for the receipt printer.
//!
//! The platform lays the certificate out for the roll (`?paper=roll80`: 72 mm wide, type of
//! 9 points or more; see [`crate::uplink::platform_link::PlatformLink::certificate`]). Poppler's
//! `pdftoppm` (Debian `poppler-utils`; the CJK character maps of `poppler-data` and a Song or
//! Sans CJK face such as `fonts-noto-cjk` for the reader font `STSong-Light` the PDF names)
//! renders it: the PDF goes in on its standard input and the pages come back as 8-bit grey
//! PGM on its standard output, scaled to exactly the paper's width in dots. The certificate
//! holds the citizen's name and ID number, so it never touches a file.
//!
//! Each page is turned into printer dots by a threshold, not by error diffusion: the pages are
//! text and rules, whose anti-aliased edges dithering would turn into speckle on thermal
//! paper. Pages print one after another as `GS v 0` raster bands, then the paper is fed and
//! cut.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kiosk_drivers::printer::escpos::{EncodeError, EscPos};
use kiosk_drivers::printer::raster::DotImage;
use kiosk_drivers::printer::{PrintError, Printer, PrinterAddress, PrinterLink};
use zeroize::Zeroizing;

use crate::devices::printer_monitor::{self, PrinterPort};

/// The renderer: Poppler's `pdftoppm`, found on `PATH`.
pub const PDFTOPPM: &str = "pdftoppm";

/// Most pages of one certificate that are printed (a roll page is up to about 56 cm).
pub const MAX_PAGES: usize = 8;

/// Grey levels darker than this become ink (0 black … 255 white). Above the middle, so the
/// thin anti-aliased strokes of small Chinese type stay whole.
const INK_BELOW: u8 = 160;

/// How long rendering may take before it is abandoned.
const RENDER_TIMEOUT: Duration = Duration::from_secs(20);

/// Most bytes of rendered pages read back (far above what [`MAX_PAGES`] pages need).
const MAX_RENDERED_BYTES: usize = 64 * 1024 * 1024;

/// Lines fed after the certificate before the cut, as after a receipt.
const END_FEED_LINES: u8 = 4;

/// Why a certificate cannot be rasterised or printed.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    /// The renderer is not installed.
    #[error(
        "cannot render the certificate: {program} is not installed (Debian packages poppler-utils and poppler-data)"
    )]
    RendererMissing {
        /// The program looked for.
        program: String,
    },
    /// The renderer could not be run, or ran too long.
    #[error("the certificate renderer {program} failed: {detail}")]
    Renderer {
        /// The program.
        program: String,
        /// What went wrong.
        detail: String,
    },
    /// The bytes are not a PDF the renderer can read.
    #[error("the certificate is not a readable PDF: {0}")]
    Malformed(String),
    /// The paper width asked for is impossible.
    #[error("cannot rasterise for paper {0} dots wide")]
    BadWidth(u32),
    /// More pages than are printed.
    #[error("the certificate has {0} pages; at most {MAX_PAGES} are printed")]
    TooLong(usize),
    /// The pages cannot be encoded for the printer.
    #[error("the certificate cannot be encoded for the printer: {0}")]
    Encode(#[from] EncodeError),
    /// The printer did not print it.
    #[error("the certificate was not printed: {0}")]
    Print(#[from] PrintError),
}

/// Renders every page of `pdf` `dots_wide` dots wide as 1-bit printer images, top to bottom,
/// by piping it through `pdftoppm` (never through a file).
pub fn rasterise(pdf: &[u8], dots_wide: u32) -> Result<Vec<DotImage>, CertificateError> {
    rasterise_with(PDFTOPPM, pdf, dots_wide)
}

/// [`rasterise`] with the renderer `program` (a path, or a name looked up on `PATH`).
pub fn rasterise_with(
    program: &str,
    pdf: &[u8],
    dots_wide: u32,
) -> Result<Vec<DotImage>, CertificateError> {
    if !(8..=4096).contains(&dots_wide) {
        return Err(CertificateError::BadWidth(dots_wide));
    }
    if !pdf.starts_with(b"%PDF-") {
        return Err(CertificateError::Malformed(
            "it does not begin with %PDF-".to_owned(),
        ));
    }
    let rendered = run_renderer(program, pdf, dots_wide)?;
    let pages = parse_pgm_pages(&rendered)
        .map_err(|detail| renderer_failed(program, format!("unexpected output: {detail}")))?;
    if pages.is_empty() {
        return Err(CertificateError::Malformed("it has no pages".to_owned()));
    }
    if pages.len() > MAX_PAGES {
        return Err(CertificateError::TooLong(pages.len()));
    }
    Ok(pages.iter().map(|page| page.to_dots(dots_wide)).collect())
}

fn renderer_failed(program: &str, detail: String) -> CertificateError {
    CertificateError::Renderer {
        program: program.to_owned(),
        detail,
    }
}

/// Runs `program` with `pdf` on its standard input; its standard output, all of it.
fn run_renderer(
    program: &str,
    pdf: &[u8],
    dots_wide: u32,
) -> Result<Zeroizing<Vec<u8>>, CertificateError> {
    let width = dots_wide.to_string();
    let mut child = Command::new(program)
        // 8-bit grey, exactly `dots_wide` wide, height to scale, anti-aliased; from stdin to
        // stdout.
        .args([
            "-gray",
            "-r",
            "203",
            "-scale-to-x",
            &width,
            "-scale-to-y",
            "-1",
        ])
        .args(["-aa", "yes", "-aaVector", "yes", "-"])
        .env("LC_ALL", "C")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => CertificateError::RendererMissing {
                program: program.to_owned(),
            },
            _ => renderer_failed(program, e.to_string()),
        })?;
    let (Some(mut stdin), Some(mut stdout), Some(mut stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(renderer_failed(program, "no pipes to the renderer".into()));
    };
    let input = Zeroizing::new(pdf.to_vec());
    // Feed, read and wait at once: a renderer blocked writing its output while we block
    // writing its input would never finish.
    let writer = std::thread::spawn(move || {
        // A renderer that stops reading (a malformed file) closes the pipe: not an error here,
        // its exit status says what happened.
        let _ = stdin.write_all(&input);
    });
    let reader = std::thread::spawn(move || {
        let mut out = Zeroizing::new(Vec::new());
        let mut buffer = [0u8; 64 * 1024];
        loop {
            match stdout.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if out.len() + n > MAX_RENDERED_BYTES {
                        return Err(out.len() + n);
                    }
                    out.extend_from_slice(&buffer[..n]);
                }
            }
        }
        Ok(out)
    });
    let errors = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stderr.by_ref().take(64 * 1024).read_to_end(&mut text);
        text
    });
    let deadline = Instant::now() + RENDER_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(renderer_failed(
                    program,
                    format!("no result within {} s", RENDER_TIMEOUT.as_secs()),
                ));
            }
            Err(e) => {
                let _ = child.kill();
                return Err(renderer_failed(program, e.to_string()));
            }
        }
    };
    let _ = writer.join();
    let output = reader
        .join()
        .map_err(|_| renderer_failed(program, "its output could not be read".into()))?
        .map_err(|n| renderer_failed(program, format!("more than {n} bytes of output")))?;
    let stderr = errors.join().unwrap_or_default();
    if !status.success() {
        return Err(CertificateError::Malformed(format!(
            "{program} exited with {status}{}",
            summary(&stderr)
        )));
    }
    Ok(output)
}

/// The renderer's last diagnostic, for the error: only lines that cannot quote the file's
/// content (poppler quotes odd bytes as `<xx>`), shortened.
fn summary(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    text.lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.contains('<') && l.is_ascii())
        .map(|l| format!(": {}", l.chars().take(120).collect::<String>()))
        .unwrap_or_default()
}

/// One rendered page: 8-bit grey, 0 black.
struct GreyPage<'a> {
    width: u32,
    height: u32,
    pixels: &'a [u8],
}

impl GreyPage<'_> {
    /// The page as printer dots, exactly `dots_wide` wide (cut or padded with paper should
    /// the renderer round the width).
    fn to_dots(&self, dots_wide: u32) -> DotImage {
        let mut image = DotImage::new(dots_wide, self.height);
        let width = self.width as usize;
        for y in 0..self.height {
            let row = &self.pixels[y as usize * width..(y as usize + 1) * width];
            for (x, grey) in row.iter().enumerate().take(dots_wide as usize) {
                if *grey < INK_BELOW {
                    image.set(x as u32, y, true);
                }
            }
        }
        image
    }
}

/// Why the renderer's output is not the pages asked for.
#[derive(Debug, thiserror::Error)]
enum PgmError {
    /// A page does not start as binary PGM.
    #[error("page {0} is not a binary PGM")]
    NotBinaryPgm(usize),
    /// A header's width, height or maxval is missing.
    #[error("a PGM header without its numbers")]
    NoNumbers,
    /// A header's numbers are out of range.
    #[error("a PGM page {width}×{height} of {maxval} greys")]
    BadHeader {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Greys.
        maxval: u32,
    },
    /// The pixels end early.
    #[error("a PGM page shorter than its header says")]
    Short,
}

/// Splits binary PGM (`P5`, maxval below 256) pages written one after another.
fn parse_pgm_pages(bytes: &[u8]) -> Result<Vec<GreyPage<'_>>, PgmError> {
    let mut pages = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at..].iter().all(u8::is_ascii_whitespace) {
            break;
        }
        if !bytes[at..].starts_with(b"P5") {
            return Err(PgmError::NotBinaryPgm(pages.len() + 1));
        }
        at += 2;
        let mut fields = [0u32; 3];
        for field in &mut fields {
            // Whitespace and comments, then a decimal number.
            loop {
                match bytes.get(at) {
                    Some(b) if b.is_ascii_whitespace() => at += 1,
                    Some(b'#') => {
                        while bytes.get(at).is_some_and(|b| *b != b'\n') {
                            at += 1;
                        }
                    }
                    _ => break,
                }
            }
            let start = at;
            while bytes.get(at).is_some_and(u8::is_ascii_digit) {
                at += 1;
            }
            *field = std::str::from_utf8(&bytes[start..at])
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or(PgmError::NoNumbers)?;
        }
        let [width, height, maxval] = fields;
        if maxval == 0 || maxval > 255 || width == 0 || height == 0 {
            return Err(PgmError::BadHeader {
                width,
                height,
                maxval,
            });
        }
        // Exactly one whitespace byte ends the header.
        at += 1;
        let size = width as usize * height as usize;
        let pixels = bytes.get(at..at + size).ok_or(PgmError::Short)?;
        at += size;
        pages.push(GreyPage {
            width,
            height,
            pixels,
        });
    }
    Ok(pages)
}

/// The ESC/POS job printing `pages` one after another, then feeding and cutting.
pub fn certificate_job(pages: &[DotImage]) -> Result<Vec<u8>, CertificateError> {
    let mut job = EscPos::new();
    job.init();
    for page in pages {
        job.raster_compact(page)?;
    }
    job.feed(END_FEED_LINES).cut();
    Ok(job.into_bytes())
}

/// Prints `pages` on `printer`, after its status check (nothing goes to a printer that cannot
/// print).
pub fn print_certificate<L: PrinterLink>(
    printer: &mut Printer<L>,
    pages: &[DotImage],
) -> Result<(), CertificateError> {
    let job = certificate_job(pages)?;
    printer.print_bytes(&job)?;
    Ok(())
}

/// Rasterises `pdf` for the printer at `address`, `dots_wide` dots wide, and prints it under
/// the port lock printing and probing share. What the runtime calls (on a blocking thread)
/// with the bytes [`crate::uplink::platform_link::PlatformLink::certificate`] returned.
pub fn print_pdf(
    pdf: &[u8],
    address: &PrinterAddress,
    port: &PrinterPort,
    dots_wide: u32,
) -> Result<(), CertificateError> {
    let pages = rasterise(pdf, dots_wide)?;
    let _guard = port.lock();
    let mut printer = printer_monitor::open(address)?;
    print_certificate(&mut printer, &pages)?;
    tracing::info!(pages = pages.len(), "certificate printed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pgm_pages_written_one_after_another_are_split() {
        let mut stream = b"P5\n3 2\n255\n".to_vec();
        stream.extend([0, 255, 100, 255, 200, 0]);
        stream.extend_from_slice(b"P5 # a comment\n# another\n2 1 255\n");
        stream.extend([0, 0]);
        let pages = parse_pgm_pages(&stream).expect("pages");
        assert_eq!(pages.len(), 2);
        assert_eq!((pages[0].width, pages[0].height), (3, 2));
        assert_eq!((pages[1].width, pages[1].height), (2, 1));
        let dots = pages[0].to_dots(8);
        assert_eq!((dots.width(), dots.height()), (8, 2));
        let row0: Vec<bool> = (0..3).map(|x| dots.get(x, 0)).collect();
        let row1: Vec<bool> = (0..3).map(|x| dots.get(x, 1)).collect();
        assert_eq!(row0, [true, false, true]);
        assert_eq!(row1, [false, false, true]);
        assert!(!dots.get(7, 0), "padded with paper");
    }

    #[test]
    fn truncated_or_foreign_output_is_an_error() {
        assert!(parse_pgm_pages(b"P5\n3 2\n255\n\x00\x00").is_err());
        assert!(parse_pgm_pages(b"P6\n1 1\n255\n\x00\x00\x00").is_err());
        assert!(parse_pgm_pages(b"P5\n1 1\n65535\n\x00\x00").is_err());
        assert!(parse_pgm_pages(b"").expect("empty").is_empty());
    }

    #[test]
    fn diagnostics_that_could_quote_the_file_are_left_out() {
        let stderr = b"Syntax Error (7): Illegal character <e7> in hex string\nSyntax Error: Couldn't read xref table\n";
        assert_eq!(summary(stderr), ": Syntax Error: Couldn't read xref table");
        assert_eq!(summary(b"Illegal character <41>\n"), "");
    }

    #[test]
    fn a_missing_renderer_and_a_non_pdf_are_named() {
        let err = rasterise_with("/nonexistent/pdftoppm", b"%PDF-1.4\n", 576).expect_err("missing");
        assert!(
            matches!(err, CertificateError::RendererMissing { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("poppler-utils"), "{err}");
        let err = rasterise(b"<html>not a pdf</html>", 576).expect_err("not a pdf");
        assert!(matches!(err, CertificateError::Malformed(_)), "{err}");
        assert!(matches!(
            rasterise(b"%PDF-1.4", 0),
            Err(CertificateError::BadWidth(0))
        ));
    }
}
