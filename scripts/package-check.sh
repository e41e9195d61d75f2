#!/usr/bin/env bash
# Checks the built packages as an admin would use them, without installing
# them on this machine: each is unpacked into a scratch root, then
#  - every library its binaries link is provided by a package it Depends on;
#  - the installed CLI runs: --version, demo init, backup (then gpg -d);
#  - the installed app starts under Xvfb and shows its window.
#   scripts/package-check.sh APP.deb CLI.deb
set -euo pipefail
app_deb=$1 cli_deb=$2
scratch=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$scratch"; }
trap cleanup EXIT
fail() { echo "package check: FAILED: $*" >&2; exit 1; }

check_depends() { # DEB ROOT
  local deb=$1 root=$2 depends
  depends=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/(.*)//; s/|.*//; s/ //g')
  for bin in "$root"/usr/bin/*; do
    for lib in $(readelf -d "$bin" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p'); do
      pkg=$(dpkg -S "*/$lib" 2>/dev/null | head -1 | cut -d: -f1)
      [ -n "$pkg" ] || fail "$(basename "$bin") links $lib, which no installed package provides"
      grep -qx "$pkg" <<<"$depends" || fail "$(basename "$deb"): $(basename "$bin") links $lib ($pkg) but Depends lacks $pkg"
    done
  done
  echo "package check: $(basename "$deb"): every linked library is declared ($(wc -l <<<"$depends") depends)"
}

check_cli() { # ROOT LABEL
  local root=$1 label=$2 cli=$1/usr/bin/backupdesk work="$scratch/$2-work"
  mkdir -p "$work"
  echo "package check: $label: $("$cli" --version)"
  "$cli" demo init "$work/sm" --size 1MiB >/dev/null || fail "$label: demo init"
  printf 'package check passphrase\n' >"$work/pass"; chmod 600 "$work/pass"
  made=$("$cli" --data-dir "$work/sm" --passphrase-file "$work/pass" backup --json) || fail "$label: backup"
  name=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["filename"])' <<<"$made")
  gpg --batch --quiet --homedir "$work" --pinentry-mode loopback --passphrase-file "$work/pass" \
    -d "$work/sm/data/backups/$name" >"$work/check.db" 2>/dev/null || fail "$label: gpg -d of $name"
  [ "$(sqlite3 "$work/check.db" 'PRAGMA integrity_check')" = ok ] || fail "$label: the backup's database"
  echo "package check: $label: demo init, backup $name, gpg -d and integrity_check: ok"
}

for deb in "$app_deb" "$cli_deb"; do
  [ -f "$deb" ] || fail "no package at $deb"
  echo "package check: $(basename "$deb"): $(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version), $(du -h "$deb" | cut -f1)"
done

mkdir -p "$scratch/app-root" "$scratch/cli-root"
dpkg-deb -x "$app_deb" "$scratch/app-root"
dpkg-deb -x "$cli_deb" "$scratch/cli-root"
check_depends "$app_deb" "$scratch/app-root"
check_depends "$cli_deb" "$scratch/cli-root"
[ -x "$scratch/cli-root/usr/bin/backupdesk" ] && [ "$(ls "$scratch/cli-root/usr/bin")" = backupdesk ] \
  || fail "the CLI package holds more than /usr/bin/backupdesk"
check_cli "$scratch/cli-root" cli-package
check_cli "$scratch/app-root" app-package

# The installed app, under its own X server, with its own config folder.
app=$(find "$scratch/app-root/usr/bin" -type f ! -name backupdesk | head -1)
[ -n "$app" ] || fail "no app binary in $app_deb"
exec 3< <(Xvfb -displayfd 1 -screen 0 1280x860x24 -nolisten tcp 2>/dev/null)
read -r display <&3
xvfb_pid=$(pgrep -n Xvfb); pids+=("$xvfb_pid")
DISPLAY=:$display BACKUPDESK_CONFIG_DIR="$scratch/app-config" NO_AT_BRIDGE=1 \
  "$app" >"$scratch/app.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  if DISPLAY=:$display xwininfo -root -tree 2>/dev/null | grep -q '"Backup Desk"'; then break; fi
  kill -0 "${pids[-1]}" 2>/dev/null || fail "the installed app exited: $(cat "$scratch/app.log")"
  sleep 0.2
done
DISPLAY=:$display xwininfo -root -tree | grep -q '"Backup Desk"' || fail "no 'Backup Desk' window after 20 s"
sleep 2
kill -0 "${pids[-1]}" 2>/dev/null || fail "the installed app died after showing its window: $(cat "$scratch/app.log")"
geometry=$(DISPLAY=:$display xwininfo -root -tree | grep '"Backup Desk"' | head -1 | sed 's/.*) *//')
echo "package check: $(basename "$app") started under Xvfb: window \"Backup Desk\" $geometry"
echo "package check: passed"
