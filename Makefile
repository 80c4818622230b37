# 连易办 kiosk: two commands (see README.md).
#   make demo  installs what is missing, builds in release, runs the kiosk on simulated devices
#   make test  formatting, lints, and every test (the platform's on SQLite and on PostgreSQL)
# The appliance (docs/FIELD-GUIDE.md; not part of `make test`, which must fit CI's budget):
#   make deb        Debian packages of the kiosk and the platform (amd64), in $(CARGO_TARGET_DIR)/debian
#   make test-deb   install them into a clean Debian chroot and verify their units there
#   make arm64      cross-build the kiosk for arm64 and run its unit tests under qemu-user
#   make image      the amd64 terminal image;  make boot-test  boots it under KVM and checks the screen

CARGO ?= cargo

.PHONY: demo test deps deb test-deb arm64 image boot-test
.PHONY: bench

deps:
	@scripts/install-deps

demo: deps
	$(CARGO) build --release --workspace --bins
	@scripts/demo

test: deps
	$(CARGO) fmt --all --check
	scripts/verify-units
	scripts/check-structure
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) build --workspace --bins
	scripts/test-postgres $(CARGO) test --workspace
	scripts/fuzz-smoke
	scripts/api-fuzz

# cargo-deb is a cargo subcommand: installed once, pinned, from crates.io.
deb: deps
	@command -v cargo-deb >/dev/null || $(CARGO) install cargo-deb --version 3.8.0 --locked
	$(CARGO) deb -p kiosk-app
	$(CARGO) build --release -p kiosk-app --bin kiosk-preview
	$(CARGO) deb -p kiosk-platform

test-deb: deb
	scripts/test-deb

arm64: deps
	scripts/build-arm64 --test

image: deb
	image/build

boot-test: image
	scripts/boot-test

# Release builds, then the screen vs Chromium, the card read, the receipt vs python-escpos, the
# outbox and the platform under load (on PostgreSQL too when scripts/test-postgres can give it
# a database); then docs/PERFORMANCE.md's tables from bench/results.json.
bench: deps
	scripts/test-postgres bench/run --tls --capacity
	bench/performance-doc
