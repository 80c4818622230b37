//! The cabinet's GPIO as the kiosk sees it: presence wakes the screen, an opened door raises
//! the tamper alarm, the status light follows the kiosk's state, and the printer's power
//! relay can be cycled when the printer stops answering.
//!
//! One thread owns the pins: it samples the inputs (debounced by the driver's
//! [`InputMonitor`]), carries out light and relay requests, and, when the GPIO goes away (the
//! simulator's socket gone, a board that reset), reports it and reopens it with back-off. A
//! tamper alarm is a health state of the GPIO (`faulted`, "tamper alarm: cabinet door open"),
//! so technicians see it in `kiosk devices` and on the health board, and the light shows fault
//! while it lasts; it is logged without any personal data (there is none here).

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kiosk_drivers::gpio::{
    GpioConfig, GpioError, GpioEvent, Input, InputMonitor, MIN_POWER_OFF, Output, SharedGpio,
    SocketGpio, StatusLight, power_cycle, show_status,
};

use crate::devices::health::{DeviceHealth, DeviceKind, HealthState};

/// Where the cabinet's GPIO is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GpioPort {
    /// The Raspberry Pi's own pins, wired as given (needs the `rppal-gpio` build feature).
    Pins(GpioConfig),
    /// The simulator's control socket (`kiosk-sim gpio --socket PATH`).
    Simulator(PathBuf),
}

impl std::fmt::Display for GpioPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GpioPort::Pins(c) => write!(
                f,
                "pins presence {} door {} lights {}/{}/{} relay {}",
                c.presence.pin,
                c.door.pin,
                c.light_ready.pin,
                c.light_busy.pin,
                c.light_fault.pin,
                c.printer_relay.pin
            ),
            GpioPort::Simulator(path) => write!(f, "{} (simulator)", path.display()),
        }
    }
}

impl GpioPort {
    /// The wiring: debounce times come from it.
    fn wiring(&self) -> GpioConfig {
        match self {
            GpioPort::Pins(config) => *config,
            GpioPort::Simulator(_) => GpioConfig::default(),
        }
    }

    /// Opens the GPIO.
    pub fn open(&self) -> Result<SharedGpio, GpioError> {
        match self {
            GpioPort::Simulator(path) => Ok(Arc::new(Mutex::new(SocketGpio::connect(path)?))),
            #[cfg(feature = "rppal-gpio")]
            GpioPort::Pins(config) => Ok(Arc::new(Mutex::new(kiosk_drivers::gpio::PiGpio::open(
                config,
            )?))),
            #[cfg(not(feature = "rppal-gpio"))]
            GpioPort::Pins(_) => Err(GpioError::Unavailable(
                "this kiosk was built without pin support (cargo feature rppal-gpio)".into(),
            )),
        }
    }

    /// The health of a GPIO that could not be opened or read.
    fn lost(&self, error: &GpioError) -> DeviceHealth {
        let state = match self {
            GpioPort::Simulator(path) if !path.exists() => HealthState::Absent,
            _ => HealthState::Faulted,
        };
        DeviceHealth::new(DeviceKind::Gpio, state, error.to_string())
    }

    /// Reads both inputs once: the door's state as health, for `kiosk devices`.
    pub fn probe(&self) -> DeviceHealth {
        match self.open().and_then(|gpio| read_inputs(&gpio)) {
            Ok((_presence, door)) => inputs_health(door),
            Err(e) => self.lost(&e),
        }
    }

    /// The self-test: reads the inputs and blinks each lamp, then leaves the light off (the
    /// running kiosk sets it again within a second). The door being open is no failure here:
    /// the technician running this has usually opened it.
    pub fn exercise(&self) -> Result<String, GpioError> {
        let gpio = self.open()?;
        let (presence, door) = read_inputs(&gpio)?;
        for light in [StatusLight::Ready, StatusLight::Busy, StatusLight::Fault] {
            with_pins(&gpio, |pins| show_status(pins, light))?;
            std::thread::sleep(Duration::from_millis(300));
        }
        with_pins(&gpio, |pins| show_status(pins, StatusLight::Off))?;
        Ok(format!(
            "inputs read (presence {}, door {}), lights blinked",
            if presence { "on" } else { "off" },
            if door { "open" } else { "closed" }
        ))
    }
}

fn with_pins<T>(
    gpio: &SharedGpio,
    f: impl FnOnce(&mut dyn kiosk_drivers::gpio::Gpio) -> Result<T, GpioError>,
) -> Result<T, GpioError> {
    let mut pins = gpio
        .lock()
        .map_err(|_| GpioError::Unavailable("the GPIO lock is poisoned".into()))?;
    f(&mut *pins)
}

fn read_inputs(gpio: &SharedGpio) -> Result<(bool, bool), GpioError> {
    with_pins(gpio, |pins| {
        Ok((pins.read(Input::Presence)?, pins.read(Input::Door)?))
    })
}

/// Health of working GPIO with the door open or not.
fn inputs_health(door_open: bool) -> DeviceHealth {
    if door_open {
        DeviceHealth::new(
            DeviceKind::Gpio,
            HealthState::Faulted,
            "tamper alarm: cabinet door open",
        )
    } else {
        DeviceHealth::new(DeviceKind::Gpio, HealthState::Ok, "ready")
    }
}

/// What the cabinet reports.
#[derive(Debug)]
pub enum CabinetReport {
    /// Someone stepped up to the kiosk.
    Presence,
    /// The GPIO's health changed (including the tamper alarm).
    Health(DeviceHealth),
}

/// Why the printer's power was not cycled.
#[derive(Debug, thiserror::Error)]
pub enum PowerCycleError {
    /// The cabinet's thread is gone (it only ends with the process).
    #[error("the cabinet thread has stopped")]
    Stopped,
    /// The cabinet's thread did not say it was done in time.
    #[error("the cabinet did not answer")]
    NoAnswer,
    /// The GPIO is not open (lost, or never found).
    #[error("the cabinet's GPIO is not available")]
    NoGpio,
    /// Switching the relay failed.
    #[error("{0}")]
    Relay(#[source] GpioError),
}

enum Request {
    Light(StatusLight),
    PowerCyclePrinter(Sender<Result<(), PowerCycleError>>),
    Reopen,
}

/// Handle to the cabinet's thread.
#[derive(Debug, Clone)]
pub struct Cabinet(Sender<Request>);

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Request::Light(_) => "Light",
            Request::PowerCyclePrinter(_) => "PowerCyclePrinter",
            Request::Reopen => "Reopen",
        })
    }
}

/// How often the inputs are sampled: well under the debounce times, cheap over a socket.
const SAMPLE: Duration = Duration::from_millis(25);
/// First and longest wait before reopening a GPIO that went away.
const REOPEN_MIN: Duration = Duration::from_millis(200);
const REOPEN_MAX: Duration = Duration::from_secs(5);

impl Cabinet {
    /// Shows `light` (the tamper alarm's fault light wins while the door is open).
    pub fn show(&self, light: StatusLight) {
        // The thread only ends with the process.
        let _ = self.0.send(Request::Light(light));
    }

    /// Switches the printer's power off for [`MIN_POWER_OFF`] and on again; blocks until done.
    pub fn power_cycle_printer(&self) -> Result<(), PowerCycleError> {
        let (tx, rx) = mpsc::channel();
        self.0
            .send(Request::PowerCyclePrinter(tx))
            .map_err(|_| PowerCycleError::Stopped)?;
        rx.recv_timeout(MIN_POWER_OFF + Duration::from_secs(10))
            .map_err(|_| PowerCycleError::NoAnswer)?
    }

    /// Try to reopen a lost GPIO at once (a hotplug event).
    pub fn nudge(&self) {
        let _ = self.0.send(Request::Reopen);
    }
}

/// Starts the cabinet's thread; reports go to `report`.
pub fn spawn(port: GpioPort, report: impl Fn(CabinetReport) + Send + 'static) -> Cabinet {
    let (tx, rx) = mpsc::channel();
    let started = std::thread::Builder::new()
        .name("cabinet-gpio".into())
        .spawn(move || CabinetLoop::new(port, report).run(&rx));
    if let Err(e) = started {
        tracing::error!(error = %e, "cannot start the cabinet's GPIO thread");
    }
    Cabinet(tx)
}

struct CabinetLoop<F> {
    port: GpioPort,
    report: F,
    gpio: Option<SharedGpio>,
    monitor: InputMonitor,
    light: StatusLight,
    shown: Option<StatusLight>,
    door_open: bool,
    last: Option<DeviceHealth>,
    backoff: Duration,
    reopen_at: Instant,
}

impl<F: Fn(CabinetReport)> CabinetLoop<F> {
    fn new(port: GpioPort, report: F) -> Self {
        let monitor = InputMonitor::new(&port.wiring());
        Self {
            port,
            report,
            gpio: None,
            monitor,
            light: StatusLight::Ready,
            shown: None,
            door_open: false,
            last: None,
            backoff: REOPEN_MIN,
            reopen_at: Instant::now(),
        }
    }

    fn run(mut self, requests: &Receiver<Request>) {
        loop {
            self.ensure_open();
            if self.gpio.is_some() {
                self.sample();
                self.refresh_light();
            }
            match requests.recv_timeout(SAMPLE) {
                Ok(Request::Light(light)) => self.light = light,
                Ok(Request::PowerCyclePrinter(answer)) => {
                    let _ = answer.send(self.power_cycle());
                }
                Ok(Request::Reopen) => {
                    self.backoff = REOPEN_MIN;
                    self.reopen_at = Instant::now();
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    fn ensure_open(&mut self) {
        if self.gpio.is_some() || Instant::now() < self.reopen_at {
            return;
        }
        // Opened is not enough: a board (or simulator) that cannot answer a read is not ready,
        // and declaring it so would flap between ready and faulted on every reopen.
        let opened = self
            .port
            .open()
            .and_then(|gpio| read_inputs(&gpio).map(|_| gpio));
        match opened {
            Ok(gpio) => {
                tracing::info!(gpio = %self.port, "cabinet GPIO ready");
                self.gpio = Some(gpio);
                self.backoff = REOPEN_MIN;
                self.shown = None;
                // The inputs start over from idle: a door found open is reported afresh.
                self.monitor = InputMonitor::new(&self.port.wiring());
                self.door_open = false;
                self.set_health(inputs_health(false));
            }
            Err(e) => self.fail(&e),
        }
    }

    fn fail(&mut self, error: &GpioError) {
        self.gpio = None;
        let health = self.port.lost(error);
        if self.last.as_ref().map(|h| h.state) != Some(health.state) {
            tracing::warn!(gpio = %self.port, error = %error, "cabinet GPIO unavailable");
        }
        self.set_health(health);
        self.reopen_at = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(REOPEN_MAX);
    }

    fn set_health(&mut self, health: DeviceHealth) {
        if self.last.as_ref() != Some(&health) {
            self.last = Some(health.clone());
            (self.report)(CabinetReport::Health(health));
        }
    }

    fn sample(&mut self) {
        let Some(gpio) = self.gpio.clone() else {
            return;
        };
        let polled = with_pins(&gpio, |pins| self.monitor.poll(pins, Instant::now()));
        match polled {
            Ok(events) => {
                for event in events {
                    self.input_event(event);
                }
            }
            Err(e) => self.fail(&e),
        }
    }

    fn input_event(&mut self, event: GpioEvent) {
        match event {
            GpioEvent::PresenceDetected => {
                tracing::debug!("presence detected");
                (self.report)(CabinetReport::Presence);
            }
            GpioEvent::PresenceLost => tracing::debug!("presence lost"),
            GpioEvent::DoorOpened => {
                tracing::warn!("tamper alarm: the cabinet door was opened");
                self.door_open = true;
                self.set_health(inputs_health(true));
            }
            GpioEvent::DoorClosed => {
                tracing::info!("the cabinet door was closed");
                self.door_open = false;
                self.set_health(inputs_health(false));
            }
        }
    }

    fn refresh_light(&mut self) {
        let wanted = if self.door_open {
            StatusLight::Fault
        } else {
            self.light
        };
        if self.shown == Some(wanted) {
            return;
        }
        let Some(gpio) = self.gpio.clone() else {
            return;
        };
        match with_pins(&gpio, |pins| show_status(pins, wanted)) {
            Ok(()) => self.shown = Some(wanted),
            Err(e) => self.fail(&e),
        }
    }

    fn power_cycle(&mut self) -> Result<(), PowerCycleError> {
        let Some(gpio) = self.gpio.clone() else {
            return Err(PowerCycleError::NoGpio);
        };
        tracing::warn!("power-cycling the receipt printer");
        power_cycle(&gpio, Output::PrinterRelay, MIN_POWER_OFF).map_err(|e| {
            self.fail(&e);
            PowerCycleError::Relay(e)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::net::UnixListener;

    fn next_health(rx: &Receiver<CabinetReport>) -> DeviceHealth {
        loop {
            match rx.recv_timeout(Duration::from_secs(10)) {
                Ok(CabinetReport::Health(h)) => return h,
                Ok(CabinetReport::Presence) => {}
                Err(e) => panic!("no health report: {e}"),
            }
        }
    }

    #[test]
    fn a_simulator_talking_nonsense_is_a_fault_with_a_reason_not_a_panic() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("gpio.sock");
        let listener = UnixListener::bind(&path).expect("bind");
        // A misbehaving peer: answers every line with a state in no known words.
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let mut writer = stream.try_clone().expect("clone");
                for _ in BufReader::new(stream).lines().map_while(Result::ok) {
                    if writer.write_all(b"presence=perhaps door=\x07\n").is_err() {
                        break;
                    }
                }
            }
        });
        let (tx, rx) = mpsc::channel();
        let cabinet = spawn(GpioPort::Simulator(path.clone()), move |r| {
            let _ = tx.send(r);
        });
        // The socket answers, but not in the protocol: never ready, faulted with a reason.
        let health = next_health(&rx);
        assert_eq!(health.state, HealthState::Faulted, "{health:?}");
        assert!(health.reason.contains("unexpected answer"), "{health:?}");
        assert!(!health.reason.contains("perhaps"), "not echoed: {health:?}");
        // The relay cannot be trusted to a GPIO that talks nonsense.
        assert!(cabinet.power_cycle_printer().is_err());
    }
}
