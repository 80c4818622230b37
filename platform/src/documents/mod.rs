//! The documents the platform draws itself: PDF pages ([`pdf`]), the certificates a terminal
//! prints for a citizen ([`certificate`]) and what makes them checkable ([`verification`]: the
//! record of what one certifies and its keyed verification code).

pub mod certificate;
pub mod pdf;
pub mod verification;
