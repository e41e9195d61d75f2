#!/usr/bin/env bash
# Installs the Debian packages Backup Desk needs, and only the missing ones.
# A no-op (no apt call at all) when everything is already there.
#
#   scripts/bootstrap.sh build   # what building the CLI needs
#   scripts/bootstrap.sh test    # build + the reference tools the tests run
set -euo pipefail

build_pkgs=(build-essential pkg-config nettle-dev libclang-dev)
test_pkgs=(sqlite3 gnupg)

want=("${build_pkgs[@]}")
case "${1:-build}" in
  build) ;;
  test) want+=("${test_pkgs[@]}") ;;
  *) echo "usage: $0 build|test" >&2; exit 2 ;;
esac

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
