//! Device drivers of the 连易办 kiosk.
//!
//! Each device protocol is a pure encoder/decoder over bytes (sans-IO); transports (serial ports,
//! ptys, USB, TCP) are thin and interchangeable, and every simulator reuses the same codecs from
//! the other side of the wire.

pub mod camera;
pub mod gpio;
pub mod idcard;
pub mod printer;
pub mod pty;
pub mod scanner;
