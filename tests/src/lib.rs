//! The end-to-end suites of the 连易办 kiosk live in `tests/`: they drive the same binaries a
//! terminal and a data centre run, built first with `cargo build --workspace --bins` (`make
//! test` does). What they start beside those binaries (the platform process, the programs
//! themselves) comes from the test kit, `kiosk-testkit`.
