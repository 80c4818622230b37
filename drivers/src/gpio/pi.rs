//! [`PiGpio`]: the cabinet's pins on a Raspberry Pi, through `rppal` (cargo feature
//! `rppal-gpio`).
//!
//! Not tested on a Pi here: the build machines are amd64 and `rppal` refuses to start on
//! anything that is not a Raspberry Pi. The code compiles and lints on amd64 with the feature
//! on; the logic it relies on (polarity, debounce, events, power cycle) is tested through
//! [`SimGpio`](super::SimGpio).

use rppal::gpio::{InputPin, OutputPin};

use super::config::{InputConfig, OutputConfig, Pull};
use super::{Gpio, GpioConfig, GpioError, Input, Output};

/// The cabinet's pins on the Pi's 40-pin header.
#[derive(Debug)]
pub struct PiGpio {
    config: GpioConfig,
    presence: InputPin,
    door: InputPin,
    /// In [`Output::ALL`] order.
    outputs: [OutputPin; 4],
}

impl PiGpio {
    /// Claims the configured pins, and sets the outputs to the kiosk's power-up state: lamps
    /// off, printer powered.
    ///
    /// Outputs are not reset when the driver is dropped (rppal's default would turn them back
    /// into floating inputs): a kiosk process that restarts must not cut the printer's power
    /// or leave the relay to chance.
    pub fn open(config: &GpioConfig) -> Result<PiGpio, GpioError> {
        config.validate()?;
        let gpio = rppal::gpio::Gpio::new().map_err(|e| GpioError::Unavailable(e.to_string()))?;
        let claim = |pin: u8| {
            gpio.get(pin).map_err(|e| GpioError::Pin {
                pin,
                reason: e.to_string(),
            })
        };
        let input = |cfg: &InputConfig| {
            let pin = claim(cfg.pin)?;
            Ok::<_, GpioError>(match cfg.pull {
                Pull::None => pin.into_input(),
                Pull::Up => pin.into_input_pullup(),
                Pull::Down => pin.into_input_pulldown(),
            })
        };
        let output = |which: Output| {
            let cfg: &OutputConfig = config.output(which);
            let on = which == Output::PrinterRelay;
            let mut pin = if on != cfg.active_low {
                claim(cfg.pin)?.into_output_high()
            } else {
                claim(cfg.pin)?.into_output_low()
            };
            pin.set_reset_on_drop(false);
            Ok::<_, GpioError>(pin)
        };
        Ok(PiGpio {
            config: *config,
            presence: input(&config.presence)?,
            door: input(&config.door)?,
            outputs: [
                output(Output::LightReady)?,
                output(Output::LightBusy)?,
                output(Output::LightFault)?,
                output(Output::PrinterRelay)?,
            ],
        })
    }
}

impl Gpio for PiGpio {
    fn read(&mut self, input: Input) -> Result<bool, GpioError> {
        let (pin, cfg) = match input {
            Input::Presence => (&self.presence, &self.config.presence),
            Input::Door => (&self.door, &self.config.door),
        };
        Ok(pin.is_high() != cfg.active_low)
    }

    fn write(&mut self, output: Output, on: bool) -> Result<(), GpioError> {
        let active_low = self.config.output(output).active_low;
        let index = Output::ALL
            .iter()
            .position(|o| *o == output)
            .unwrap_or_default();
        let pin = &mut self.outputs[index];
        if on != active_low {
            pin.set_high();
        } else {
            pin.set_low();
        }
        Ok(())
    }
}
