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
# The test binary itself, not `cargo test`: cargo holds the artifact
# directory's lock while its tests run, so a second cargo would wait for
# the first (measured: 6 min blocked).
e2e=$($CARGO test -p backupdesk-e2e --test e2e --no-run --message-format=json 2>/dev/null \
    | grep '"kind":\["test"\]' | grep '"name":"e2e"' \
    | grep -o '"executable":"[^"]*"' | tail -1 | cut -d'"' -f4)
if [ -z "$e2e" ] || [ ! -x "$e2e" ]; then
    echo "run-tests: the e2e test binary was not found (cargo build --workspace --all-targets first)" >&2
    exit 1
fi
(cd tests && exec "$e2e" --test-threads 1 gui::) > "$gui_log" 2>&1 &
gui=$!
$CARGO test --workspace -- --skip gui::
rest=$?
wait "$gui"
windows=$?
echo "---- the window tests (gui::), run beside the others; their output: $gui_log"
cat "$gui_log"
if [ "$rest" -ne 0 ]; then exit "$rest"; fi
exit "$windows"
