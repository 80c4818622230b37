//! Touch UI.
