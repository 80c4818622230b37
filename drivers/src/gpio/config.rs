//! Which pins the cabinet's sensors, lights and relay are wired to, and how.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Input, Output};

/// A pull resistor for an input pin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pull {
    /// No pull: the sensor drives the line both ways (a PIR module's push-pull output).
    #[default]
    None,
    /// Pull-up: for a switch to ground (a door reed switch).
    Up,
    /// Pull-down: for a switch to 3.3 V.
    Down,
}

/// An input pin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputConfig {
    /// The BCM GPIO number (not the header's physical pin number).
    pub pin: u8,
    /// Whether a low level means "active" (someone present, door open).
    #[serde(default)]
    pub active_low: bool,
    #[serde(default)]
    pub pull: Pull,
    /// How long a new level must hold before it counts, in milliseconds: switches bounce for
    /// a few milliseconds, and a door rattled by a passer-by is no tamper alarm.
    #[serde(default = "default_debounce_ms")]
    pub debounce_ms: u64,
}

impl InputConfig {
    pub fn debounce(&self) -> Duration {
        Duration::from_millis(self.debounce_ms)
    }
}

fn default_debounce_ms() -> u64 {
    50
}

/// An output pin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// The BCM GPIO number.
    pub pin: u8,
    /// Whether "on" is a low level. Most relay boards switch on a low input; a printer on a
    /// normally-closed relay contact is powered while the relay is off, which is also written
    /// as `active_low` for the printer-power output ("on" = printer powered).
    #[serde(default)]
    pub active_low: bool,
}

/// The cabinet's GPIO wiring, as it appears in the kiosk's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GpioConfig {
    /// Presence sensor (PIR or IR proximity): active while someone stands at the kiosk.
    pub presence: InputConfig,
    /// Cabinet door switch: active while the door is open.
    pub door: InputConfig,
    /// Green status light: in service, idle.
    pub light_ready: OutputConfig,
    /// Amber status light: a citizen session is running.
    pub light_busy: OutputConfig,
    /// Red status light: out of service or a device fault.
    pub light_fault: OutputConfig,
    /// The receipt printer's power relay: on = printer powered.
    pub printer_relay: OutputConfig,
}

impl Default for GpioConfig {
    /// The reference cabinet's wiring.
    fn default() -> Self {
        let output = |pin, active_low| OutputConfig { pin, active_low };
        GpioConfig {
            presence: InputConfig {
                pin: 17,
                active_low: false,
                pull: Pull::Down,
                debounce_ms: 100,
            },
            door: InputConfig {
                pin: 27,
                active_low: false,
                pull: Pull::Up,
                debounce_ms: 50,
            },
            light_ready: output(22, false),
            light_busy: output(23, false),
            light_fault: output(24, false),
            printer_relay: output(25, true),
        }
    }
}

/// Why a GPIO configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The pin is not a user GPIO of the 40-pin header.
    #[error(
        "{function} is on GPIO {pin}, which is not usable: BCM GPIO 2–27 are (0 and 1 are reserved for the HAT EEPROM)"
    )]
    PinOutOfRange { function: &'static str, pin: u8 },
    /// Two functions share a pin.
    #[error("GPIO {pin} is given to both {first} and {second}")]
    PinUsedTwice {
        pin: u8,
        first: &'static str,
        second: &'static str,
    },
    /// A debounce time that would make the input useless.
    #[error("{function}: a debounce of {ms} ms is too long (at most {MAX_DEBOUNCE_MS} ms)")]
    DebounceTooLong { function: &'static str, ms: u64 },
}

/// The longest debounce accepted; anything longer hides real events.
pub const MAX_DEBOUNCE_MS: u64 = 2000;

impl GpioConfig {
    /// The pins in use, by function name.
    fn assignments(&self) -> [(&'static str, u8); 6] {
        [
            (Input::Presence.name(), self.presence.pin),
            (Input::Door.name(), self.door.pin),
            (Output::LightReady.name(), self.light_ready.pin),
            (Output::LightBusy.name(), self.light_busy.pin),
            (Output::LightFault.name(), self.light_fault.pin),
            (Output::PrinterRelay.name(), self.printer_relay.pin),
        ]
    }

    /// Checks the pins are usable and distinct, and debounce times sane.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut seen: BTreeMap<u8, &'static str> = BTreeMap::new();
        for (function, pin) in self.assignments() {
            if !(2..=27).contains(&pin) {
                return Err(ConfigError::PinOutOfRange { function, pin });
            }
            if let Some(first) = seen.insert(pin, function) {
                return Err(ConfigError::PinUsedTwice {
                    pin,
                    first,
                    second: function,
                });
            }
        }
        for (function, input) in [
            (Input::Presence.name(), &self.presence),
            (Input::Door.name(), &self.door),
        ] {
            if input.debounce_ms > MAX_DEBOUNCE_MS {
                return Err(ConfigError::DebounceTooLong {
                    function,
                    ms: input.debounce_ms,
                });
            }
        }
        Ok(())
    }

    pub fn input(&self, input: Input) -> &InputConfig {
        match input {
            Input::Presence => &self.presence,
            Input::Door => &self.door,
        }
    }

    pub fn output(&self, output: Output) -> &OutputConfig {
        match output {
            Output::LightReady => &self.light_ready,
            Output::LightBusy => &self.light_busy,
            Output::LightFault => &self.light_fault,
            Output::PrinterRelay => &self.printer_relay,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_wiring_is_valid() {
        assert_eq!(GpioConfig::default().validate(), Ok(()));
    }

    #[test]
    fn a_pin_used_twice_is_refused() {
        let mut config = GpioConfig::default();
        config.light_fault.pin = config.door.pin;
        assert_eq!(
            config.validate(),
            Err(ConfigError::PinUsedTwice {
                pin: 27,
                first: "door switch",
                second: "fault light"
            })
        );
        let mut config = GpioConfig::default();
        config.printer_relay.pin = config.presence.pin;
        assert!(matches!(
            config.validate(),
            Err(ConfigError::PinUsedTwice { pin: 17, .. })
        ));
    }

    #[test]
    fn pins_off_the_header_and_long_debounces_are_refused() {
        for pin in [0, 1, 28, 40, 255] {
            let mut config = GpioConfig::default();
            config.light_busy.pin = pin;
            assert_eq!(
                config.validate(),
                Err(ConfigError::PinOutOfRange {
                    function: "busy light",
                    pin
                })
            );
        }
        let mut config = GpioConfig::default();
        config.door.debounce_ms = 60_000;
        assert!(matches!(
            config.validate(),
            Err(ConfigError::DebounceTooLong { .. })
        ));
    }

    #[test]
    fn parses_from_toml_like_json_with_defaults() {
        let json = r#"{
            "presence": { "pin": 5 },
            "door": { "pin": 6, "pull": "up", "debounce_ms": 30 },
            "light_ready": { "pin": 13 },
            "light_busy": { "pin": 19 },
            "light_fault": { "pin": 26 },
            "printer_relay": { "pin": 21, "active_low": true }
        }"#;
        let config: GpioConfig = serde_json::from_str(json).expect("parses");
        assert_eq!(config.presence.debounce_ms, 50);
        assert_eq!(config.presence.pull, Pull::None);
        assert_eq!(config.door.pull, Pull::Up);
        assert!(config.printer_relay.active_low);
        assert_eq!(config.validate(), Ok(()));
        let typo = json.replace("\"pull\"", "\"pul\"");
        assert!(serde_json::from_str::<GpioConfig>(&typo).is_err());
    }
}
