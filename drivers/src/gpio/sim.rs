//! Simulated GPIO pins, for tests and for demos on a machine without a cabinet.
//!
//! [`SimGpio`] is the [`Gpio`] the kiosk drives; [`SimPins`] is the other side, the cabinet:
//! a test flips the sensors and reads the lamps through it, and a demo does the same through
//! a line protocol, on a Unix socket ([`SimPins::serve`]) or any other line source
//! ([`SimPins::control`]):
//!
//! | line | effect |
//! | --- | --- |
//! | `presence on` / `presence off` | someone steps up / walks away |
//! | `door open` / `door closed` | the cabinet door |
//! | `show` | answers the pins' state, e.g. `presence=off door=closed ready=on busy=off fault=off printer=on` |
//! | `set ready\|busy\|fault\|printer on\|off` | switches an output, as the kiosk does |
//! | `history ready\|busy\|fault\|printer` | answers every state the output has had, oldest first, e.g. `on off on` |
//!
//! Each line is answered `ok`, the state (for `show`), or `error: …`.
//!
//! [`SocketGpio`] is the kiosk's side of that socket: a [`Gpio`] whose pins are in another
//! process (`kiosk-sim gpio`), so a kiosk configured with the simulator's socket cannot tell it
//! from a cabinet, and a socket that vanishes looks like a GPIO board that went away.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{Gpio, GpioConfig, GpioError, Input, Output};

/// The most output changes remembered per output, for tests.
const HISTORY_LIMIT: usize = 1024;

#[derive(Debug, Default)]
struct Pins {
    inputs: HashMap<Input, bool>,
    outputs: HashMap<Output, Vec<bool>>,
    failing: HashMap<Output, bool>,
}

/// The kiosk's side: a [`Gpio`] over simulated pins.
#[derive(Debug)]
pub struct SimGpio {
    config: GpioConfig,
    pins: Arc<Mutex<Pins>>,
}

/// The cabinet's side of the simulated pins; cheap to clone.
#[derive(Debug, Clone)]
pub struct SimPins {
    pins: Arc<Mutex<Pins>>,
}

impl SimGpio {
    /// Validates `config` (a simulated kiosk refuses a bad wiring as the real one does) and
    /// starts with the outputs as the kiosk sets them at power-up: lamps off, printer powered.
    pub fn new(config: &GpioConfig) -> Result<(SimGpio, SimPins), GpioError> {
        config.validate()?;
        let mut pins = Pins::default();
        for output in Output::ALL {
            pins.outputs
                .insert(output, vec![output == Output::PrinterRelay]);
        }
        let pins = Arc::new(Mutex::new(pins));
        Ok((
            SimGpio {
                config: *config,
                pins: Arc::clone(&pins),
            },
            SimPins { pins },
        ))
    }
}

fn lock(pins: &Mutex<Pins>) -> MutexGuard<'_, Pins> {
    // The state is plain data, valid whatever a panicking holder was doing.
    pins.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Gpio for SimGpio {
    fn read(&mut self, input: Input) -> Result<bool, GpioError> {
        Ok(lock(&self.pins)
            .inputs
            .get(&input)
            .copied()
            .unwrap_or(false))
    }

    fn write(&mut self, output: Output, on: bool) -> Result<(), GpioError> {
        let mut pins = lock(&self.pins);
        if pins.failing.get(&output).copied().unwrap_or(false) {
            return Err(GpioError::Pin {
                pin: self.config.output(output).pin,
                reason: "simulated failure".into(),
            });
        }
        let history = pins.outputs.entry(output).or_default();
        if history.len() >= HISTORY_LIMIT {
            history.remove(0);
        }
        history.push(on);
        Ok(())
    }
}

/// Why a control line was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown command; expected presence on|off, door open|closed, set ready|busy|fault|printer on|off, history NAME, or show"
)]
pub struct UnknownControl;

impl SimPins {
    /// Sets an input's (raw) level.
    pub fn set_input(&self, input: Input, active: bool) {
        lock(&self.pins).inputs.insert(input, active);
    }

    /// An output's current state.
    pub fn output(&self, output: Output) -> bool {
        lock(&self.pins)
            .outputs
            .get(&output)
            .and_then(|h| h.last().copied())
            .unwrap_or(false)
    }

    /// Every state an output has had, the initial one first (the last 1024).
    pub fn history(&self, output: Output) -> Vec<bool> {
        lock(&self.pins)
            .outputs
            .get(&output)
            .cloned()
            .unwrap_or_default()
    }

    /// Makes writes to `output` fail (or work again), as a broken driver transistor would.
    pub fn fail_output(&self, output: Output, failing: bool) {
        lock(&self.pins).failing.insert(output, failing);
    }

    /// Carries out one control line (see the module docs) and returns the answer.
    pub fn control(&self, line: &str) -> Result<String, UnknownControl> {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["presence", "on"] => self.set_input(Input::Presence, true),
            ["presence", "off"] => self.set_input(Input::Presence, false),
            ["door", "open"] => self.set_input(Input::Door, true),
            ["door", "closed"] => self.set_input(Input::Door, false),
            ["show"] => return Ok(self.describe()),
            ["history", name] => {
                let output = output_named(name).ok_or(UnknownControl)?;
                let states: Vec<&str> = self
                    .history(output)
                    .into_iter()
                    .map(|on| if on { "on" } else { "off" })
                    .collect();
                return Ok(states.join(" "));
            }
            ["set", name, level @ ("on" | "off")] => {
                let output = output_named(name).ok_or(UnknownControl)?;
                let mut pins = lock(&self.pins);
                let history = pins.outputs.entry(output).or_default();
                if history.len() >= HISTORY_LIMIT {
                    history.remove(0);
                }
                history.push(*level == "on");
            }
            _ => return Err(UnknownControl),
        }
        Ok("ok".into())
    }

    fn describe(&self) -> String {
        let pins = lock(&self.pins);
        let input = |i: Input| pins.inputs.get(&i).copied().unwrap_or(false);
        let output = |o: Output| {
            let on = pins
                .outputs
                .get(&o)
                .and_then(|h| h.last().copied())
                .unwrap_or(false);
            if on { "on" } else { "off" }
        };
        format!(
            "presence={} door={} ready={} busy={} fault={} printer={}",
            if input(Input::Presence) { "on" } else { "off" },
            if input(Input::Door) { "open" } else { "closed" },
            output(Output::LightReady),
            output(Output::LightBusy),
            output(Output::LightFault),
            output(Output::PrinterRelay),
        )
    }

    /// Accepts control connections on a Unix socket at `path` (a stale socket there is
    /// replaced, any other file is not). Stops, and removes the socket, when dropped.
    pub fn serve(&self, path: impl AsRef<Path>) -> io::Result<ControlSocket> {
        let path = path.as_ref().to_path_buf();
        if let Ok(meta) = std::fs::symlink_metadata(&path) {
            if !meta.file_type().is_socket() {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} exists and is not a socket", path.display()),
                ));
            }
            std::fs::remove_file(&path)?;
        }
        let listener = UnixListener::bind(&path)?;
        let stop = Arc::new(AtomicBool::new(false));
        let connections: Arc<Mutex<Vec<UnixStream>>> = Arc::default();
        let (pins, flag, open) = (self.clone(), Arc::clone(&stop), Arc::clone(&connections));
        let thread = std::thread::Builder::new()
            .name("sim-gpio-control".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if flag.load(Ordering::Relaxed) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    if let Ok(handle) = stream.try_clone() {
                        open.lock()
                            .unwrap_or_else(|poisoned| poisoned.into_inner())
                            .push(handle);
                    }
                    let pins = pins.clone();
                    std::thread::spawn(move || serve_connection(&pins, stream));
                }
            })?;
        Ok(ControlSocket {
            path,
            stop,
            connections,
            thread: Some(thread),
        })
    }
}

fn serve_connection(pins: &SimPins, stream: UnixStream) {
    let Ok(reader) = stream.try_clone() else {
        return;
    };
    let mut writer = stream;
    for line in BufReader::new(reader).lines() {
        let Ok(line) = line else { return };
        if line.trim().is_empty() {
            continue;
        }
        let answer = pins
            .control(&line)
            .unwrap_or_else(|e| format!("error: {e}"));
        if writeln!(writer, "{answer}").is_err() {
            return;
        }
    }
}

/// A running control socket; see [`SimPins::serve`].
#[derive(Debug)]
pub struct ControlSocket {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    /// Every accepted connection, shut down when the socket goes, as a board's cable pulled
    /// cuts every conversation with it.
    connections: Arc<Mutex<Vec<UnixStream>>>,
    thread: Option<JoinHandle<()>>,
}

impl ControlSocket {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = UnixStream::connect(&self.path);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = std::fs::remove_file(&self.path);
        let open = std::mem::take(
            &mut *self
                .connections
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        for connection in open {
            let _ = connection.shutdown(std::net::Shutdown::Both);
        }
    }
}

fn output_named(name: &str) -> Option<Output> {
    match name {
        "ready" => Some(Output::LightReady),
        "busy" => Some(Output::LightBusy),
        "fault" => Some(Output::LightFault),
        "printer" => Some(Output::PrinterRelay),
        _ => None,
    }
}

fn output_word(output: Output) -> &'static str {
    match output {
        Output::LightReady => "ready",
        Output::LightBusy => "busy",
        Output::LightFault => "fault",
        Output::PrinterRelay => "printer",
    }
}

/// The longest answer accepted from the simulator: a `show` line is under 80 bytes.
const MAX_ANSWER: usize = 256;

/// How long the simulator has to answer one line.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(1);

/// The kiosk's side of a simulated cabinet in another process, over its control socket.
///
/// Each read asks `show` and each write says `set …`. Any failure (the socket gone, no answer
/// in time, an answer that is not the protocol's) is an error; the caller then drops this
/// connection and connects again, as it would reopen a GPIO board that reset.
#[derive(Debug)]
pub struct SocketGpio {
    path: PathBuf,
    stream: UnixStream,
    answers: BufReader<UnixStream>,
}

impl SocketGpio {
    /// Connects to the simulator's control socket at `path`.
    pub fn connect(path: impl AsRef<Path>) -> Result<SocketGpio, GpioError> {
        let path = path.as_ref().to_path_buf();
        let unavailable = |e: io::Error| GpioError::Unavailable(format!("{}: {e}", path.display()));
        let stream = UnixStream::connect(&path).map_err(unavailable)?;
        stream
            .set_read_timeout(Some(ANSWER_TIMEOUT))
            .map_err(unavailable)?;
        stream
            .set_write_timeout(Some(ANSWER_TIMEOUT))
            .map_err(unavailable)?;
        let answers = BufReader::new(stream.try_clone().map_err(unavailable)?);
        Ok(SocketGpio {
            path,
            stream,
            answers,
        })
    }

    /// Where the simulator is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sends one line and returns the one-line answer.
    fn ask(&mut self, line: &str) -> Result<String, GpioError> {
        let lost =
            |what: String| GpioError::Unavailable(format!("{}: {what}", self.path.display()));
        writeln!(self.stream, "{line}").map_err(|e| lost(e.to_string()))?;
        let mut answer = Vec::new();
        let read = (&mut self.answers)
            .take(MAX_ANSWER as u64 + 1)
            .read_until(b'\n', &mut answer)
            .map_err(|e| lost(e.to_string()))?;
        if read == 0 {
            return Err(lost("the simulator closed the connection".into()));
        }
        if answer.last() != Some(&b'\n') {
            return Err(lost(format!(
                "unexpected answer: no line end within {MAX_ANSWER} bytes"
            )));
        }
        String::from_utf8(answer)
            .map(|text| text.trim_end().to_owned())
            .map_err(|_| lost("unexpected answer: not text".into()))
    }
}

/// Reads one input's level from a `show` answer (`presence=on door=closed …`).
pub fn parse_input(answer: &str, input: Input) -> Option<bool> {
    let (key, active, idle) = match input {
        Input::Presence => ("presence", "on", "off"),
        Input::Door => ("door", "open", "closed"),
    };
    answer.split_whitespace().find_map(|word| {
        let (k, v) = word.split_once('=')?;
        if k != key {
            return None;
        }
        match v {
            v if v == active => Some(true),
            v if v == idle => Some(false),
            _ => None,
        }
    })
}

impl Gpio for SocketGpio {
    fn read(&mut self, input: Input) -> Result<bool, GpioError> {
        let answer = self.ask("show")?;
        parse_input(&answer, input).ok_or_else(|| {
            // The answer's length only: it came from another process and is not ours to echo.
            GpioError::Unavailable(format!(
                "{}: unexpected answer to show ({} bytes) without the {}",
                self.path.display(),
                answer.len(),
                input
            ))
        })
    }

    fn write(&mut self, output: Output, on: bool) -> Result<(), GpioError> {
        let answer = self.ask(&format!(
            "set {} {}",
            output_word(output),
            if on { "on" } else { "off" }
        ))?;
        if answer == "ok" {
            Ok(())
        } else {
            Err(GpioError::Unavailable(format!(
                "{}: the simulator refused to set the {output} ({} byte answer)",
                self.path.display(),
                answer.len()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpio::{GpioEvent, InputMonitor};
    use std::time::{Duration, Instant};

    #[test]
    fn control_lines_toggle_inputs_and_show_outputs() {
        let (mut gpio, pins) = SimGpio::new(&GpioConfig::default()).expect("config");
        assert_eq!(pins.control("presence on"), Ok("ok".into()));
        assert_eq!(pins.control(" door   open "), Ok("ok".into()));
        assert!(gpio.read(Input::Presence).expect("read"));
        assert!(gpio.read(Input::Door).expect("read"));
        gpio.write(Output::LightBusy, true).expect("write");
        assert_eq!(
            pins.control("show"),
            Ok("presence=on door=open ready=off busy=on fault=off printer=on".into())
        );
        for bad in ["", "door", "door ajar", "presence on now", "reboot"] {
            assert_eq!(pins.control(bad), Err(UnknownControl), "{bad:?}");
        }
    }

    #[test]
    fn a_bad_wiring_is_refused() {
        let mut config = GpioConfig::default();
        config.door.pin = config.presence.pin;
        assert!(matches!(SimGpio::new(&config), Err(GpioError::Config(_))));
    }

    #[test]
    fn the_socket_drives_the_pins() {
        let dir = std::env::temp_dir().join(format!("kiosk-sim-gpio-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("gpio.sock");
        let config = GpioConfig::default();
        let (mut gpio, pins) = SimGpio::new(&config).expect("config");
        let socket = pins.serve(&path).expect("serve");

        let stream = UnixStream::connect(&path).expect("connect");
        let mut answers = BufReader::new(stream.try_clone().expect("clone")).lines();
        let mut ask = |line: &str| {
            writeln!(&stream, "{line}").expect("send");
            answers.next().expect("answer").expect("line")
        };
        let mut monitor = InputMonitor::new(&config);
        let t0 = Instant::now();
        assert_eq!(ask("door open"), "ok");
        assert!(monitor.poll(&mut gpio, t0).expect("poll").is_empty());
        assert_eq!(
            monitor
                .poll(&mut gpio, t0 + Duration::from_millis(60))
                .expect("poll"),
            vec![GpioEvent::DoorOpened]
        );
        assert!(ask("door wide open").starts_with("error: "));
        assert!(ask("show").contains("door=open"));
        drop(socket);
        assert!(!path.exists(), "the socket is removed");
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn temp_socket(name: &str) -> (PathBuf, PathBuf) {
        let dir =
            std::env::temp_dir().join(format!("kiosk-sim-gpio-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        (dir.join("gpio.sock"), dir)
    }

    #[test]
    fn the_kiosk_drives_pins_in_another_place_through_the_socket() {
        let (path, dir) = temp_socket("client");
        let (_gpio, pins) = SimGpio::new(&GpioConfig::default()).expect("config");
        let socket = pins.serve(&path).expect("serve");
        let mut remote = SocketGpio::connect(&path).expect("connect");
        assert!(!remote.read(Input::Door).expect("read"));
        pins.set_input(Input::Door, true);
        assert!(remote.read(Input::Door).expect("read"));
        assert!(!remote.read(Input::Presence).expect("read"));
        remote.write(Output::LightFault, true).expect("write");
        assert!(pins.output(Output::LightFault));
        remote.write(Output::PrinterRelay, false).expect("write");
        assert!(!pins.output(Output::PrinterRelay));

        // Unplugged: the open connection is cut and a new one refused.
        drop(socket);
        assert!(matches!(
            remote.read(Input::Door),
            Err(GpioError::Unavailable(_))
        ));
        assert!(matches!(
            SocketGpio::connect(&path),
            Err(GpioError::Unavailable(_))
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_bogus_answer_is_a_clear_error_not_a_panic() {
        let (path, dir) = temp_socket("bogus");
        let listener = UnixListener::bind(&path).expect("bind");
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("accept");
            let mut line = String::new();
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            for answer in [
                b"presence=maybe door=ajar\n".to_vec(),
                vec![0xff, 0xfe, b'\n'],
                vec![b'x'; 10 * 1024],
            ] {
                line.clear();
                if reader.read_line(&mut line).is_err() {
                    return;
                }
                let _ = stream.write_all(&answer);
            }
        });
        let mut remote = SocketGpio::connect(&path).expect("connect");
        for expected in ["without the door switch", "not text", "no line end"] {
            match remote.read(Input::Door) {
                Err(GpioError::Unavailable(reason)) => {
                    assert!(reason.contains(expected), "{reason}");
                    assert!(
                        !reason.contains("ajar"),
                        "the answer is not echoed: {reason}"
                    );
                }
                other => panic!("expected an error, got {other:?}"),
            }
        }
        let _ = server.join();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn outputs_are_set_by_name_and_bad_names_refused() {
        let (_gpio, pins) = SimGpio::new(&GpioConfig::default()).expect("config");
        assert_eq!(pins.control("set busy on"), Ok("ok".into()));
        assert!(pins.output(Output::LightBusy));
        assert_eq!(pins.control("history busy"), Ok("off on".into()));
        for bad in ["set", "set busy", "set horn on", "set busy dim"] {
            assert_eq!(pins.control(bad), Err(UnknownControl), "{bad:?}");
        }
        assert_eq!(
            parse_input("presence=on door=closed", Input::Presence),
            Some(true)
        );
        assert_eq!(
            parse_input("presence=on door=closed", Input::Door),
            Some(false)
        );
        assert_eq!(parse_input("door=", Input::Door), None);
    }
}
