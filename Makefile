# Backup Desk. Two commands set up everything on a fresh Debian 12 machine:
#   make run    installs what is missing, builds, runs the demo
#   make test   installs what is missing, runs every check and test
SHELL := /bin/bash
CARGO ?= cargo
DEMO_DIR ?= target/demo
SIZE ?= 512MiB

.PHONY: run test bench lint deps-build deps-test

deps-build:
	@scripts/bootstrap.sh build

deps-test:
	@scripts/bootstrap.sh test

run: deps-build
	$(CARGO) build -p backupdesk
	scripts/demo.sh target/debug/backupdesk $(DEMO_DIR)

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test: deps-test lint
	$(CARGO) build --workspace --bins
	$(CARGO) test --workspace

bench: deps-test
	$(CARGO) build --release --workspace --bins
	target/release/backupdesk-bench --size $(SIZE)
	target/release/backupdesk-list-bench
