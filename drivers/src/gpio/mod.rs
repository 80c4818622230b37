//! The cabinet's GPIO: presence sensor, door switch, status light and printer power relay.
//!
//! - The presence sensor wakes the screen from the attract loop when someone steps up.
//! - The door switch raises a tamper alarm when the cabinet is opened.
//! - The status light (ready / busy / fault) tells staff across the hall how the kiosk is.
//! - The relay lets the kiosk power-cycle a printer that has stopped answering.
//!
//! [`Gpio`] is the pin access, in logical terms (active = someone present, door open, light
//! or power on; the configuration's polarity is applied by the implementation).
//! [`SimGpio`] simulates the pins for tests and demos; `PiGpio` (cargo feature
//! `rppal-gpio`, off by default) drives a Raspberry Pi's pins through `rppal`. The feature is
//! off by default because `rppal` builds anywhere but refuses to start on anything that is
//! not a Raspberry Pi, which would make every non-Pi build carry a driver that can only fail.
//!
//! [`InputMonitor`] debounces the inputs and turns level changes into [`GpioEvent`]s; it is
//! sans-IO (time is passed in), and [`GpioWatcher`] runs it on a thread.

pub mod config;
#[cfg(feature = "rppal-gpio")]
pub mod pi;
pub mod sim;

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use config::{ConfigError, GpioConfig, InputConfig, OutputConfig, Pull};
#[cfg(feature = "rppal-gpio")]
pub use pi::PiGpio;
pub use sim::{SimGpio, SocketGpio};

/// An input of the cabinet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Input {
    /// Active while someone is in front of the kiosk.
    Presence,
    /// Active while the cabinet door is open.
    Door,
}

impl Input {
    pub const ALL: [Input; 2] = [Input::Presence, Input::Door];

    pub const fn name(self) -> &'static str {
        match self {
            Input::Presence => "presence sensor",
            Input::Door => "door switch",
        }
    }
}

/// An output of the cabinet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Output {
    LightReady,
    LightBusy,
    LightFault,
    /// On = the receipt printer is powered.
    PrinterRelay,
}

impl Output {
    pub const ALL: [Output; 4] = [
        Output::LightReady,
        Output::LightBusy,
        Output::LightFault,
        Output::PrinterRelay,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Output::LightReady => "ready light",
            Output::LightBusy => "busy light",
            Output::LightFault => "fault light",
            Output::PrinterRelay => "printer power relay",
        }
    }
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a pin could not be used.
#[derive(Debug, thiserror::Error)]
pub enum GpioError {
    /// The configuration is not usable.
    #[error("invalid GPIO configuration: {0}")]
    Config(#[from] ConfigError),
    /// The GPIO hardware could not be opened or a pin claimed (not a Raspberry Pi, no access to
    /// `/dev/gpiomem`, a pin held by another program).
    #[error("GPIO unavailable: {0}")]
    Unavailable(String),
    /// Reading or writing a pin failed.
    #[error("GPIO {pin} failed: {reason}")]
    Pin { pin: u8, reason: String },
}

/// Pin access in logical terms; see the module docs.
pub trait Gpio: Send {
    /// Whether `input` is active now (raw, not debounced).
    fn read(&mut self, input: Input) -> Result<bool, GpioError>;

    /// Switches `output` on or off.
    fn write(&mut self, output: Output, on: bool) -> Result<(), GpioError>;
}

/// GPIO shared between the input watcher and whoever drives the outputs.
pub type SharedGpio = Arc<Mutex<dyn Gpio>>;

/// What the inputs report, once debounced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GpioEvent {
    PresenceDetected,
    PresenceLost,
    DoorOpened,
    DoorClosed,
}

impl GpioEvent {
    fn of(input: Input, active: bool) -> GpioEvent {
        match (input, active) {
            (Input::Presence, true) => GpioEvent::PresenceDetected,
            (Input::Presence, false) => GpioEvent::PresenceLost,
            (Input::Door, true) => GpioEvent::DoorOpened,
            (Input::Door, false) => GpioEvent::DoorClosed,
        }
    }
}

/// A debounced binary input: a new level counts once it has held for the debounce time.
#[derive(Debug, Clone)]
pub struct Debounced {
    debounce: Duration,
    stable: bool,
    /// A level different from `stable`, and since when it has been seen.
    candidate: Option<(bool, Instant)>,
}

impl Debounced {
    /// Starts in `initial` state.
    pub fn new(debounce: Duration, initial: bool) -> Debounced {
        Debounced {
            debounce,
            stable: initial,
            candidate: None,
        }
    }

    pub fn state(&self) -> bool {
        self.stable
    }

    /// Feeds a raw sample taken at `now`; returns the new stable state when it changed.
    pub fn update(&mut self, raw: bool, now: Instant) -> Option<bool> {
        if raw == self.stable {
            // A bounce back: whatever was building up is forgotten.
            self.candidate = None;
            return None;
        }
        let since = match self.candidate {
            Some((level, since)) if level == raw => since,
            _ => {
                self.candidate = Some((raw, now));
                now
            }
        };
        if now.saturating_duration_since(since) >= self.debounce {
            self.stable = raw;
            self.candidate = None;
            return Some(raw);
        }
        None
    }
}

/// Debounces both inputs and reports their changes as events.
///
/// Both inputs start in their idle state (nobody present, door closed), so an open door or
/// someone standing there at start-up is reported like any other change: a kiosk that boots
/// with its door open raises the alarm.
#[derive(Debug, Clone)]
pub struct InputMonitor {
    presence: Debounced,
    door: Debounced,
}

impl InputMonitor {
    pub fn new(config: &GpioConfig) -> InputMonitor {
        InputMonitor {
            presence: Debounced::new(config.presence.debounce(), false),
            door: Debounced::new(config.door.debounce(), false),
        }
    }

    /// Samples both inputs at `now` and returns the events of stable changes.
    pub fn poll(&mut self, gpio: &mut dyn Gpio, now: Instant) -> Result<Vec<GpioEvent>, GpioError> {
        let mut events = Vec::new();
        for input in Input::ALL {
            let raw = gpio.read(input)?;
            if let Some(active) = self.debounced(input).update(raw, now) {
                events.push(GpioEvent::of(input, active));
            }
        }
        Ok(events)
    }

    /// The current debounced state of `input`.
    pub fn state(&self, input: Input) -> bool {
        match input {
            Input::Presence => self.presence.state(),
            Input::Door => self.door.state(),
        }
    }

    fn debounced(&mut self, input: Input) -> &mut Debounced {
        match input {
            Input::Presence => &mut self.presence,
            Input::Door => &mut self.door,
        }
    }
}

/// What the status light shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StatusLight {
    Off,
    Ready,
    Busy,
    Fault,
}

/// Lights exactly the lamp for `status` (none for `Off`). The others are switched off first,
/// so there is never a moment with two lamps lit.
pub fn show_status(gpio: &mut dyn Gpio, status: StatusLight) -> Result<(), GpioError> {
    let lit = match status {
        StatusLight::Off => None,
        StatusLight::Ready => Some(Output::LightReady),
        StatusLight::Busy => Some(Output::LightBusy),
        StatusLight::Fault => Some(Output::LightFault),
    };
    for lamp in [Output::LightReady, Output::LightBusy, Output::LightFault] {
        if Some(lamp) != lit {
            gpio.write(lamp, false)?;
        }
    }
    if let Some(lamp) = lit {
        gpio.write(lamp, true)?;
    }
    Ok(())
}

/// The shortest power-off that reliably resets a receipt printer: its supply's capacitors
/// must drain, or it comes back in the same wedged state.
pub const MIN_POWER_OFF: Duration = Duration::from_secs(2);

/// Switches `relay` off, waits `off_for` (at least [`MIN_POWER_OFF`]), and on again. Blocks
/// for that long. If switching off fails, nothing else is done; if switching back on fails,
/// the error says so, since the device is then left without power.
pub fn power_cycle(gpio: &SharedGpio, relay: Output, off_for: Duration) -> Result<(), GpioError> {
    power_cycle_with(gpio, relay, off_for, std::thread::sleep)
}

/// [`power_cycle`] with the waiting passed in, so tests need not wait. The lock is not held
/// while waiting, so the status light and the input watcher keep working meanwhile.
pub fn power_cycle_with(
    gpio: &SharedGpio,
    relay: Output,
    off_for: Duration,
    sleep: impl FnOnce(Duration),
) -> Result<(), GpioError> {
    let write = |on: bool| {
        gpio.lock()
            .map_err(|_| GpioError::Unavailable("the GPIO lock is poisoned".into()))?
            .write(relay, on)
    };
    write(false)?;
    tracing::info!(output = %relay, ?off_for, "power-cycling");
    sleep(off_for.max(MIN_POWER_OFF));
    write(true)
}

/// Runs an [`InputMonitor`] on a thread, sampling every `interval` and sending events.
/// Dropping it stops the thread.
#[derive(Debug)]
pub struct GpioWatcher {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl GpioWatcher {
    /// The sampling interval: well under any debounce time, cheap on a Pi.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(10);

    /// Starts watching. A read error is logged and retried on the next sample (it is reported
    /// once per run of failures, not once per sample).
    pub fn spawn(
        gpio: SharedGpio,
        config: &GpioConfig,
        interval: Duration,
        events: Sender<GpioEvent>,
    ) -> std::io::Result<GpioWatcher> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let mut monitor = InputMonitor::new(config);
        let thread = std::thread::Builder::new()
            .name("gpio-watcher".into())
            .spawn(move || {
                let mut failing = false;
                while !flag.load(Ordering::Relaxed) {
                    let polled = match gpio.lock() {
                        Ok(mut pins) => monitor.poll(&mut *pins, Instant::now()),
                        Err(_) => return,
                    };
                    match polled {
                        Ok(list) => {
                            failing = false;
                            for event in list {
                                tracing::info!(?event, "gpio");
                                if events.send(event).is_err() {
                                    return;
                                }
                            }
                        }
                        Err(e) => {
                            if !failing {
                                tracing::warn!(error = %e, "reading the GPIO inputs failed");
                            }
                            failing = true;
                        }
                    }
                    std::thread::sleep(interval);
                }
            })?;
        Ok(GpioWatcher {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for GpioWatcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpio::sim::SimGpio;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn debounce_needs_the_level_to_hold() {
        let t0 = Instant::now();
        let mut d = Debounced::new(50 * MS, false);
        assert_eq!(d.update(true, t0), None);
        assert_eq!(d.update(true, t0 + 49 * MS), None);
        assert_eq!(d.update(true, t0 + 50 * MS), Some(true));
        assert!(d.state());
        // Bounces shorter than the debounce time never count.
        assert_eq!(d.update(false, t0 + 60 * MS), None);
        assert_eq!(d.update(true, t0 + 70 * MS), None);
        assert_eq!(d.update(false, t0 + 80 * MS), None);
        assert_eq!(
            d.update(true, t0 + 125 * MS),
            None,
            "the bounce back reset it"
        );
        assert_eq!(d.update(false, t0 + 130 * MS), None);
        assert_eq!(d.update(false, t0 + 180 * MS), Some(false));
        let mut instant = Debounced::new(Duration::ZERO, false);
        assert_eq!(instant.update(true, t0), Some(true));
    }

    #[test]
    fn event_sequence_from_simulated_pins() {
        let config = GpioConfig::default();
        let (mut gpio, pins) = SimGpio::new(&config).expect("valid config");
        let mut monitor = InputMonitor::new(&config);
        let t0 = Instant::now();
        let mut events = Vec::new();
        let mut at = |gpio: &mut SimGpio, ms: u32| {
            events.extend(monitor.poll(gpio, t0 + ms * MS).expect("poll"));
        };
        at(&mut gpio, 0);
        pins.set_input(Input::Presence, true);
        at(&mut gpio, 10);
        at(&mut gpio, 60);
        at(&mut gpio, 110); // presence debounce is 100 ms
        pins.set_input(Input::Door, true);
        at(&mut gpio, 120);
        pins.set_input(Input::Door, false); // a rattle, not an opening
        at(&mut gpio, 130);
        pins.set_input(Input::Door, true);
        at(&mut gpio, 140);
        at(&mut gpio, 195);
        pins.set_input(Input::Presence, false);
        pins.set_input(Input::Door, false);
        at(&mut gpio, 200);
        at(&mut gpio, 260);
        at(&mut gpio, 310);
        assert_eq!(
            events,
            vec![
                GpioEvent::PresenceDetected,
                GpioEvent::DoorOpened,
                GpioEvent::DoorClosed,
                GpioEvent::PresenceLost,
            ]
        );
    }

    #[test]
    fn door_open_at_boot_raises_the_alarm() {
        let config = GpioConfig::default();
        let (mut gpio, pins) = SimGpio::new(&config).expect("valid config");
        pins.set_input(Input::Door, true);
        let mut monitor = InputMonitor::new(&config);
        let t0 = Instant::now();
        assert!(monitor.poll(&mut gpio, t0).expect("poll").is_empty());
        assert_eq!(
            monitor.poll(&mut gpio, t0 + 50 * MS).expect("poll"),
            vec![GpioEvent::DoorOpened]
        );
        assert!(monitor.state(Input::Door));
        assert!(!monitor.state(Input::Presence));
    }

    #[test]
    fn status_light_shows_one_lamp() {
        let (mut gpio, pins) = SimGpio::new(&GpioConfig::default()).expect("valid config");
        for (status, lit) in [
            (StatusLight::Ready, Some(Output::LightReady)),
            (StatusLight::Busy, Some(Output::LightBusy)),
            (StatusLight::Fault, Some(Output::LightFault)),
            (StatusLight::Off, None),
        ] {
            show_status(&mut gpio, status).expect("lights");
            for lamp in [Output::LightReady, Output::LightBusy, Output::LightFault] {
                assert_eq!(pins.output(lamp), Some(lamp) == lit, "{status:?} {lamp}");
            }
        }
    }

    #[test]
    fn power_cycle_switches_off_waits_and_on() {
        let (gpio, pins) = SimGpio::new(&GpioConfig::default()).expect("valid config");
        let shared: SharedGpio = Arc::new(Mutex::new(gpio));
        assert!(
            pins.output(Output::PrinterRelay),
            "printer powered at start"
        );
        let mut waited = None;
        power_cycle_with(&shared, Output::PrinterRelay, 100 * MS, |d| {
            assert!(!pins.output(Output::PrinterRelay), "off while waiting");
            waited = Some(d);
        })
        .expect("power cycle");
        assert_eq!(
            waited,
            Some(MIN_POWER_OFF),
            "never shorter than the minimum"
        );
        assert!(pins.output(Output::PrinterRelay));
        assert_eq!(
            pins.history(Output::PrinterRelay),
            vec![true, false, true],
            "initial, off, on"
        );

        // A relay that cannot be switched off is not waited on.
        pins.fail_output(Output::PrinterRelay, true);
        let result = power_cycle_with(&shared, Output::PrinterRelay, 5 * MS, |_| {
            panic!("must not wait after a failed switch-off")
        });
        assert!(matches!(result, Err(GpioError::Pin { pin: 25, .. })));
    }

    #[test]
    fn watcher_sends_debounced_events() {
        let mut config = GpioConfig::default();
        config.presence.debounce_ms = 20;
        let (gpio, pins) = SimGpio::new(&config).expect("valid config");
        let (tx, rx) = std::sync::mpsc::channel();
        let _watcher =
            GpioWatcher::spawn(Arc::new(Mutex::new(gpio)), &config, 2 * MS, tx).expect("spawn");
        pins.set_input(Input::Presence, true);
        let wait = Duration::from_secs(5);
        assert_eq!(
            rx.recv_timeout(wait).ok(),
            Some(GpioEvent::PresenceDetected)
        );
        pins.set_input(Input::Presence, false);
        assert_eq!(rx.recv_timeout(wait).ok(), Some(GpioEvent::PresenceLost));
    }
}
