#!/usr/bin/env bash
# Installs the Debian packages Backup Desk needs, and only the missing ones.
# A no-op (no apt call at all) when everything is already there.
#
#   scripts/bootstrap.sh build   # what building the CLI and its demo need
#   scripts/bootstrap.sh test    # build + what the tests need
set -euo pipefail

build_pkgs=(build-essential pkg-config nettle-dev libclang-dev sqlite3 gnupg)
test_pkgs=(time util-linux gnome-keyring dbus-daemon dbus-bin openssl)

want=("${build_pkgs[@]}")
case "${1:-build}" in
  build) ;;
  test) want+=(${test_pkgs[@]+"${test_pkgs[@]}"}) ;;
  *) echo "usage: $0 build|test" >&2; exit 2 ;;
esac

if ! command -v cargo >/dev/null 2>&1; then
  echo "bootstrap: cargo is not installed; install the Rust toolchain (rustup) first" >&2
  exit 1
fi

missing=()
for p in "${want[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "bootstrap: installing missing packages: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
