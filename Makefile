# 连易办 kiosk: two commands (see README.md).
#   make demo  installs what is missing, builds in release, runs the kiosk on simulated devices
#   make test  formatting, lints, and every test (the platform's on SQLite and on PostgreSQL)

CARGO ?= cargo

.PHONY: demo test deps

deps:
	@scripts/install-deps

demo: deps
	$(CARGO) build --release --workspace --bins
	@scripts/demo

test: deps
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) build --workspace --bins
	scripts/test-postgres $(CARGO) test --workspace
