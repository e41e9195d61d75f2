#!/usr/bin/env bash
# Builds the two Debian packages (offline; Tauri's bundler ships in
# @tauri-apps/cli), then checks them (scripts/package-check.sh):
#   backup-desk_VERSION_amd64.deb     the desktop app and the `backupdesk` CLI
#   backupdesk-cli_VERSION_amd64.deb  the CLI alone, for servers and cron
#                                     (no GUI libraries); the two conflict
# Each package's Depends come from dpkg-shlibdeps on the built binaries, so
# every library they link (nettle, hogweed, gmp, WebKitGTK, …) is declared.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo=${CARGO:-cargo}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
arch=$(dpkg --print-architecture)
out=target/release/bundle/deb

$cargo build --release -p backupdesk -p backupdesk-app

# dpkg-shlibdeps wants a debian/control around it; a scratch one will do.
shlibs() {
  local scratch; scratch=$(mktemp -d)
  mkdir -p "$scratch/debian"
  printf 'Source: x\n\nPackage: x\nArchitecture: any\n' >"$scratch/debian/control"
  local bins=(); for b in "$@"; do bins+=("$PWD/$b"); done
  (cd "$scratch" && dpkg-shlibdeps -O -e "${bins[@]}" 2>/dev/null) | sed -n 's/^shlibs:Depends=//p'
  rm -rf "$scratch"
}
app_depends=$(shlibs target/release/backupdesk-app target/release/backupdesk)
cli_depends=$(shlibs target/release/backupdesk)
echo "deb: backup-desk depends on: gnupg, $app_depends"
echo "deb: backupdesk-cli depends on: gnupg, $cli_depends"

# The app's package: Tauri's bundler, with the depends and the CLI added.
json_list() { python3 -c 'import json,sys; print(json.dumps(["gnupg"] + [d.strip() for d in sys.argv[1].split(",") if d.strip()]))' "$1"; }
config=$(cat <<JSON
{"bundle": {"linux": {"deb": {
  "depends": $(json_list "$app_depends"),
  "files": {"/usr/bin/backupdesk": "../target/release/backupdesk"},
  "provides": ["backupdesk-cli"], "conflicts": ["backupdesk-cli"], "replaces": ["backupdesk-cli"]
}}}}
JSON
)
rm -f "$out"/*.deb
(cd src-tauri && ../ui/node_modules/.bin/tauri build --bundles deb --config "$config")
# Tauri names the file after the product ("Backup Desk_…"); the package is backup-desk.
mv "$out/Backup Desk_${version}_${arch}.deb" "$out/backup-desk_${version}_${arch}.deb"

# The CLI's package, for servers: the binary, its depends, nothing else.
stage=target/deb-cli/backupdesk-cli
rm -rf "$stage"
install -D -m 0755 target/release/backupdesk "$stage/usr/bin/backupdesk"
install -d "$stage/DEBIAN"
cat >"$stage/DEBIAN/control" <<CONTROL
Package: backupdesk-cli
Version: $version
Architecture: $arch
Maintainer: Backup Desk <backupdesk@localhost>
Installed-Size: $(du -sk "$stage/usr" | cut -f1)
Depends: gnupg, $cli_depends
Conflicts: backup-desk
Section: admin
Priority: optional
Description: Encrypted, verified backups of Server Monitor databases (command line)
 backupdesk backs up, lists, verifies, restores and prunes the SQLite database
 of a Server Monitor installation: OpenPGP backups that gpg -d reads, restores
 with a safety backup and automatic rollback. For servers and cron.
CONTROL
dpkg-deb --root-owner-group --build "$stage" "$out/backupdesk-cli_${version}_${arch}.deb" >/dev/null
ls -l "$out"/*.deb

scripts/package-check.sh "$out"/backup-desk_*.deb "$out/backupdesk-cli_${version}_${arch}.deb"
