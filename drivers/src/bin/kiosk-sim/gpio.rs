//! `kiosk-sim gpio`: the cabinet's pins (presence sensor, door switch, status lamps, printer
//! relay) in a process of their own, reached by the kiosk over a Unix socket.
//!
//! The kiosk connects to the socket with `SocketGpio` and reads and sets the pins with the
//! same line protocol a technician can type; stdin drives the cabinet's side (someone steps
//! up, the door opens) and can pull the socket away and bring it back.

use std::io::{self, BufRead, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use kiosk_drivers::gpio::sim::{ControlSocket, SimPins};
use kiosk_drivers::gpio::{GpioConfig, SimGpio};

/// The cabinet's GPIO behind a Unix socket
///
/// Serves the pins' control protocol at --socket and prints `gpio ready at PATH`.
///
/// Control commands, one per line on stdin, each answered `ok …` or `error: …`:
///   presence on|off         (someone steps up / walks away)
///   door open|closed        (the cabinet door)
///   show                    (answers `ok` and the pins' state)
///   history NAME            (answers `ok` and every state of ready, busy, fault or printer)
///   set NAME on|off         (switches an output, as the kiosk does)
///   unplug                  (remove the socket, cut its connections)
///   replug                  (serve the socket again)
///   quit                    (also on end of input)
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Where to serve the control socket (what the kiosk's `[gpio] simulator` names)
    #[arg(long)]
    socket: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    let (_kiosk_side, pins) =
        SimGpio::new(&GpioConfig::default()).context("the reference wiring")?;
    let mut socket = Some(serve(&pins, &args.socket)?);
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "gpio ready at {}", args.socket.display())?;
    stdout.flush()?;
    for line in io::stdin().lock().lines() {
        let line = line.context("reading control commands")?;
        let answer = match line.trim() {
            "" => continue,
            "quit" => break,
            "unplug" => match socket.take() {
                Some(gone) => {
                    drop(gone);
                    "ok".to_owned()
                }
                None => "error: the GPIO is already unplugged".to_owned(),
            },
            "replug" if socket.is_some() => "error: the GPIO is already plugged in".to_owned(),
            "replug" => match serve(&pins, &args.socket) {
                Ok(served) => {
                    socket = Some(served);
                    "ok".to_owned()
                }
                Err(e) => format!("error: {e:#}"),
            },
            other => match pins.control(other) {
                Ok(state) if state == "ok" => state,
                Ok(state) => format!("ok {state}"),
                Err(e) => format!("error: {e}"),
            },
        };
        writeln!(stdout, "{answer}")?;
        stdout.flush()?;
    }
    drop(socket);
    writeln!(stdout, "ok")?;
    Ok(())
}

fn serve(pins: &SimPins, path: &std::path::Path) -> Result<ControlSocket> {
    pins.serve(path)
        .with_context(|| format!("serving the GPIO socket at {}", path.display()))
}
