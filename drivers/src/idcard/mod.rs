//! The resident ID-card reader (二代证 SAM protocol, as in GA/T 467-style readers).
//!
//! - [`frame`]: the sans-IO frame codec, used by the driver and by the simulator;
//! - [`card`]: the card data, its validation and its redacting, self-wiping types;
//! - [`reader`]: the driver, one find → select → read attempt at a time over a [`Transport`];
//! - [`serial`] and [`usb`]: the transports for readers on a serial port (or a simulator's
//!   pty) and on USB bulk endpoints;
//! - [`sim`]: the simulated reader that `kiosk-sim idcard` serves on a pty.

pub mod card;
pub mod frame;
pub mod reader;
pub mod serial;
pub mod sim;
pub mod usb;

pub use card::{
    CardError, CardKind, ForeignerCard, IdCard, IdNumber, IdNumberError, Nation, PermitCard,
    PersonalText, Photo, ResidentCard, Sex, ValidUntil, Validity, encode_text, gb11643_check_digit,
};
pub use frame::{
    Command, CommandDecoder, FrameDecoder, FrameError, Response, Sw3, encode_command,
    encode_response,
};
pub use reader::{ReadError, ReadOutcome, Reader, ReaderConfig, Transport};
pub use serial::{SerialTransport, serial_wire_time};
pub use sim::{SimControl, SimError, SimReader, TestCard, TestCardError};
pub use usb::{UsbError, UsbReaderAddress, UsbTransport};
