#!/usr/bin/env bash
# Runs every test of the workspace (after `cargo build --workspace
# --all-targets`): the WebKit window tests (`gui::`, one window at a time by
# their own lock) beside all the others, instead of inside the same run.
# In one run libtest sorts them together, so for their whole stretch one of
# the two test threads only waited for the window lock (measured: 864 s of
# e2e, about 450 s of it the window tests alone). Both outputs are kept;
# the exit code is the first failure's.
set -uo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
mkdir -p target
gui_log=target/gui-tests.log
$CARGO test -p backupdesk-e2e --test e2e -- --test-threads 1 gui:: > "$gui_log" 2>&1 &
gui=$!
$CARGO test --workspace -- --skip gui::
rest=$?
wait "$gui"
windows=$?
echo "---- the window tests (gui::), run beside the others; their output: $gui_log"
cat "$gui_log"
if [ "$rest" -ne 0 ]; then exit "$rest"; fi
exit "$windows"
