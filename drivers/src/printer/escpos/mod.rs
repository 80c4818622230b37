//! ESC/POS, the command language of receipt printers, as pure byte codecs.
//!
//! Nothing here touches a device: [`EscPos`] turns intentions into bytes, [`Decoder`] turns
//! bytes back into printed elements (the virtual printer and offline analysis use it), and
//! [`status`] interprets the one-byte real-time status replies. The transports that carry these
//! bytes live in [`crate::printer`].

pub mod decode;
pub mod encode;
pub mod status;

pub use decode::{Decoder, Element};
pub use encode::{Align, EcLevel, EncodeError, EscPos, PaperWidth, text_columns};
pub use status::{PrinterState, PrinterStatus, StatusError, StatusRequest};

/// Control bytes that start ESC/POS commands; shared by the encoder and the decoder so the two
/// sides cannot drift apart.
pub(crate) mod ascii {
    pub const HT: u8 = 0x09;
    pub const LF: u8 = 0x0A;
    pub const FF: u8 = 0x0C;
    pub const CR: u8 = 0x0D;
    pub const DLE: u8 = 0x10;
    pub const EOT: u8 = 0x04;
    pub const ENQ: u8 = 0x05;
    pub const DC4: u8 = 0x14;
    pub const CAN: u8 = 0x18;
    pub const ESC: u8 = 0x1B;
    pub const FS: u8 = 0x1C;
    pub const GS: u8 = 0x1D;
}

/// Function codes of the QR part (`cn` = 49) of `GS ( k`.
pub(crate) mod qr_fn {
    /// `cn` selecting QR Code among the 2D symbols of `GS ( k`.
    pub const CN_QR: u8 = 49;
    pub const SELECT_MODEL: u8 = 65;
    pub const MODULE_SIZE: u8 = 67;
    pub const ERROR_LEVEL: u8 = 69;
    pub const STORE: u8 = 80;
    pub const PRINT: u8 = 81;
    pub const REPORT_SIZE: u8 = 82;
    /// Model 2, the only model every QR reader understands.
    pub const MODEL_2: u8 = 50;
    /// Longest payload any QR Code model 2 symbol can hold (numeric mode, version 40-L); the
    /// printer's `GS ( k` store function has the same upper bound.
    pub const MAX_STORE_LEN: usize = 7089;
}
