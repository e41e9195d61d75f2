# Backup Desk. Two commands set up everything on a fresh Debian 12 machine:
#   make run    installs what is missing, builds the UI and the app, starts it
#   make test   installs what is missing, runs every check and test
SHELL := /bin/bash
CARGO ?= cargo
NPM ?= npm
SIZE ?= 512MiB

.PHONY: run test bench lint ui ui-deps ui-check bindings deb demo deps-build deps-test

deps-build:
	@scripts/bootstrap.sh build

deps-test:
	@scripts/bootstrap.sh test

# npm packages exactly as locked; reinstalled only when the lock changed.
ui/node_modules/.package-lock.json: ui/package-lock.json
	cd ui && $(NPM) ci --no-audit --no-fund
	@touch $@

ui-deps: ui/node_modules/.package-lock.json

# The built UI, embedded into the app binary at compile time.
ui: ui-deps
	cd ui && $(NPM) run build

run: deps-build ui
	$(CARGO) build -p backupdesk -p backupdesk-app
	@if [ -z "$${DISPLAY:-}$${WAYLAND_DISPLAY:-}" ]; then \
	  echo "make run: no display (DISPLAY/WAYLAND_DISPLAY unset): the app is built at target/debug/backupdesk-app;" \
	       "start it from a desktop session, or try: Xvfb :99 & DISPLAY=:99 target/debug/backupdesk-app"; \
	  exit 1; \
	fi
	target/debug/backupdesk-app

# The CLI tour on a fresh demo installation (what `make run` was before the app).
demo: deps-build
	$(CARGO) build -p backupdesk
	scripts/demo.sh target/debug/backupdesk target/demo

lint: ui
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# tsc --noEmit, svelte-check, and the UI unit tests (vitest, IPC mocked).
ui-check: ui-deps
	cd ui && $(NPM) run check
	cd ui && $(NPM) test

# The binaries the end-to-end tests run are built with every target (tests
# included), so cargo resolves one feature set for the build and the tests
# (dev-dependencies unify features) and `cargo test` compiles nothing again:
# `build --bins` then `test` compiled 112 crates twice (6.5 min on 2 cores).
# Clippy runs inside that build: the workspace's own crates are compiled by
# clippy-driver (as `cargo clippy` runs it, with code generation too) with
# -D warnings, the dependencies by rustc, once. A separate `cargo clippy`
# checked every dependency a second time (11 min of a 40 min fresh run).
# The window tests run beside the others (scripts/run-tests.sh).
CLIPPY_BUILD = RUSTC_WORKSPACE_WRAPPER="$$($(RUSTC) --print sysroot)/bin/clippy-driver" \
	CLIPPY_ARGS='-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__'
RUSTC ?= rustc

test: deps-test ui ui-check
	$(CARGO) fmt --all --check
	$(CLIPPY_BUILD) $(CARGO) build --workspace --all-targets
	$(CLIPPY_BUILD) CARGO=$(CARGO) scripts/run-tests.sh

# Regenerates the TypeScript bindings from the Rust types (commit them).
bindings:
	BACKUPDESK_BLESS=1 $(CARGO) test -p backupdesk-app bindings

# The .debs (the app with the CLI; the CLI alone for servers), offline
# (Tauri's bundler ships in @tauri-apps/cli), then the package check: each
# unpacked into a scratch root, its libraries declared, the CLI and the app
# started from there (scripts/package-check.sh). A release build: not part
# of `make test`, which CI must finish well under 40 minutes.
deb: deps-test ui
	scripts/deb.sh

bench: deps-test ui
	scripts/bootstrap.sh bench
	$(CARGO) build --release --workspace --bins
	target/release/backupdesk-bench --size $(SIZE)
	target/release/backupdesk-list-bench
	target/release/backupdesk-fleet-bench
	target/release/backupdesk-offsite-bench
	target/release/backupdesk-surgery-bench --size $(SIZE)
	target/release/backupdesk-rewrap-bench
