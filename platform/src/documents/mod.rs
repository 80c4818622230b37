//! The documents the platform draws itself: PDF pages ([`pdf`]) and the certificates a terminal
//! prints for a citizen ([`certificate`]).

pub mod certificate;
pub mod pdf;
