//! `kiosk-sim printer`: the virtual ESC/POS receipt printer, and offline decoding of captures.

use std::fs;
use std::io::{self, BufRead, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;
use std::thread::JoinHandle;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use kiosk_drivers::printer::escpos::{Decoder, Element};
use kiosk_drivers::printer::raster::Paper;
use kiosk_drivers::printer::sim::{HostConfig, PrintedReceipt, SimCondition, VirtualPrinterHost};

/// Virtual ESC/POS receipt printer on a pty and/or a TCP port
///
/// With --link, creates a pty, symlinks its device there and prints `printer ready at PATH`;
/// with --tcp, listens like a network printer's port 9100 and prints
/// `printer listening on ADDRESS` (the real port when :0 was given). Every cut
/// receipt is written to --out as receipt-NNNN.txt (the printed text lines), receipt-NNNN.png
/// (a picture of the paper, --width dots wide) and receipt-NNNN.json (the decoded elements:
/// text lines in UTF-8, QR payloads, image sizes, cuts, …); the .json appears last.
///
/// Control commands, one per line on stdin, each answered `ok` or `error: …`:
///   state ready|near-end|paper-out|cover-open|offline|off
///   unplug    (close the pty, remove the link, drop the TCP client)
///   replug    (new pty at the same link)
///   quit      (also on end of input)
#[derive(Args)]
#[command(
    verbatim_doc_comment,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct PrinterArgs {
    #[command(subcommand)]
    command: Option<PrinterCommand>,
    /// Where to symlink the pty's device (what the driver opens)
    #[arg(long, required_unless_present = "tcp")]
    link: Option<PathBuf>,
    /// Address to listen on for TCP clients, e.g. 127.0.0.1:9100
    #[arg(long, value_name = "ADDR")]
    tcp: Option<SocketAddr>,
    /// Directory for the printed receipts
    #[arg(long, required = true)]
    out: Option<PathBuf>,
    /// Condition at power-up
    #[arg(long, default_value_t = SimCondition::Ready)]
    state: SimCondition,
    /// Print head width in dots, for the receipt PNGs
    #[arg(long, default_value_t = 576, value_parser = parse_width)]
    width: u32,
}

/// Print heads run from 2 inches (384 dots) to 4 inches (832 dots); anything in 8–2048 dots is
/// accepted so captures from unusual printers can still be drawn.
fn parse_width(s: &str) -> Result<u32, BadWidth> {
    s.parse::<u32>()
        .ok()
        .filter(|w| (8..=2048).contains(w))
        .ok_or_else(|| BadWidth(s.to_owned()))
}

/// A `--width` that is no print width.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a print width in dots (8–2048, e.g. 384, 512, 576)")]
struct BadWidth(String);

#[derive(Subcommand)]
enum PrinterCommand {
    /// Decode a captured ESC/POS byte stream: a PNG of the paper, and a list of what the
    /// printer would do.
    ///
    /// Prints one element per line (text lines, QR codes, images, feeds, cuts, ignored and
    /// unknown commands), or a JSON array with --json. With OUTPUT, also draws the paper into
    /// that PNG (every receipt of the capture, one after the other).
    Render {
        /// File holding the raw bytes sent to the printer
        input: PathBuf,
        /// Where to write the PNG of the paper
        output: Option<PathBuf>,
        /// Print head width in dots
        #[arg(long, default_value_t = 576, value_parser = parse_width)]
        width: u32,
        /// Print the elements as JSON
        #[arg(long)]
        json: bool,
        /// Treat bytes 0x80 and up as GB18030 even without FS & (printers sold in China often
        /// power up in Chinese mode, and some libraries rely on that)
        #[arg(long)]
        chinese_default: bool,
    },
}

pub fn run(args: PrinterArgs) -> Result<()> {
    match (args.command, args.link, args.out) {
        (
            Some(PrinterCommand::Render {
                input,
                output,
                width,
                json,
                chinese_default,
            }),
            _,
            _,
        ) => render(&input, output.as_deref(), width, json, chinese_default),
        (None, link, Some(out)) => {
            let config = HostConfig {
                link,
                tcp: args.tcp,
            };
            serve(config, &out, args.state, args.width)
        }
        // clap requires --out, and --link or --tcp, when there is no subcommand.
        (None, _, None) => bail!("--out is required"),
    }
}

fn render(
    input: &Path,
    output: Option<&Path>,
    width: u32,
    json: bool,
    chinese_default: bool,
) -> Result<()> {
    let bytes = fs::read(input).with_context(|| format!("reading {}", input.display()))?;
    let mut decoder = Decoder::with_chinese_default(chinese_default);
    let mut elements = decoder.push(&bytes);
    elements.extend(decoder.finish());
    if let Some(output) = output {
        // A capture may hold several receipts: draw them all, each piece after the last.
        let mut paper = Paper::new(width);
        for receipt in elements.split_inclusive(|e| *e == Element::Cut) {
            paper.print_elements(receipt);
        }
        if paper.truncated() {
            tracing::warn!("the capture is longer than the paper drawn; its end is missing");
        }
        let png = paper.into_image().to_png().context("encoding the PNG")?;
        write_atomically(output, &png)?;
    }
    let mut stdout = io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut stdout, &elements)?;
        writeln!(stdout)?;
    } else {
        for element in &elements {
            writeln!(stdout, "{element}")?;
        }
    }
    stdout.flush()?;
    Ok(())
}

fn serve(config: HostConfig, out: &Path, state: SimCondition, width: u32) -> Result<()> {
    fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let (sim, receipts) = VirtualPrinterHost::serve(config.clone()).with_context(|| {
        match (&config.link, &config.tcp) {
            (Some(link), _) => format!("creating the printer's pty at {}", link.display()),
            (None, Some(tcp)) => format!("listening on {tcp}"),
            (None, None) => "starting the printer".to_owned(),
        }
    })?;
    sim.set_condition(state)?;
    let writer = spawn_receipt_writer(out.to_path_buf(), width, receipts)?;

    let mut stdout = io::stdout().lock();
    if let Some(link) = sim.link() {
        writeln!(stdout, "printer ready at {}", link.display())?;
    }
    if let Some(address) = sim.tcp_address() {
        writeln!(stdout, "printer listening on {address}")?;
    }
    stdout.flush()?;
    for line in io::stdin().lock().lines() {
        let line = line.context("reading control commands")?;
        let command = line.trim();
        if command.is_empty() {
            continue;
        }
        let (answer, quit) = match control(&sim, command) {
            Ok(quit) => ("ok".to_owned(), quit),
            Err(e) => (format!("error: {e:#}"), false),
        };
        writeln!(stdout, "{answer}")?;
        stdout.flush()?;
        if quit {
            break;
        }
    }
    // Stopping the printer closes the receipt channel, which ends the writer.
    drop(sim);
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("the receipt writer panicked"))?;
    Ok(())
}

/// Applies one control command; `Ok(true)` means quit.
fn control(sim: &VirtualPrinterHost, command: &str) -> Result<bool> {
    let mut words = command.split_whitespace();
    let verb = words.next().unwrap_or_default();
    let arg = words.next();
    if words.next().is_some() {
        bail!("too many words in {command:?}");
    }
    match (verb, arg) {
        ("state", Some(name)) => sim.set_condition(name.parse()?)?,
        ("state", None) => {
            bail!("state needs one of ready, near-end, paper-out, cover-open, offline, off")
        }
        ("unplug", None) => sim.unplug()?,
        ("replug", None) => sim.replug().context("replugging")?,
        ("quit", None) => return Ok(true),
        _ => bail!("unknown command {command:?} (expected state …, unplug, replug or quit)"),
    }
    Ok(false)
}

fn spawn_receipt_writer(
    out: PathBuf,
    width: u32,
    receipts: Receiver<PrintedReceipt>,
) -> Result<JoinHandle<()>> {
    let mut number = first_free_number(&out);
    let handle = std::thread::Builder::new().name("receipt-writer".into()).spawn(move || {
        for receipt in receipts {
            if let Err(e) = write_receipt(&out, number, width, &receipt) {
                tracing::error!(error = %format!("{e:#}"), number, "could not write a printed receipt");
            }
            number += 1;
        }
    })?;
    Ok(handle)
}

/// Continues after receipts left by an earlier run instead of overwriting them.
fn first_free_number(out: &Path) -> u32 {
    (1..u32::MAX)
        .find(|n| !out.join(format!("receipt-{n:04}.json")).exists())
        .unwrap_or(1)
}

/// Writes the .txt, the .png, then the .json, each atomically (write, then rename), so a reader
/// that sees the .json can rely on all three being complete.
fn write_receipt(out: &Path, number: u32, width: u32, receipt: &PrintedReceipt) -> Result<()> {
    let stem = format!("receipt-{number:04}");
    let mut text = String::new();
    for line in receipt.text_lines() {
        text.push_str(line);
        text.push('\n');
    }
    write_atomically(&out.join(format!("{stem}.txt")), text.as_bytes())?;
    let png = receipt.paper(width).to_png().context("encoding the PNG")?;
    write_atomically(&out.join(format!("{stem}.png")), &png)?;
    let json = serde_json::to_vec_pretty(receipt)?;
    write_atomically(&out.join(format!("{stem}.json")), &json)?;
    Ok(())
}

fn write_atomically(path: &Path, contents: &[u8]) -> Result<()> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    fs::write(&partial, contents).with_context(|| format!("writing {}", partial.display()))?;
    fs::rename(&partial, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}
