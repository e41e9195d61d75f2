#!/usr/bin/env bash
# `make run` until the desktop app exists: a short tour of the CLI on a
# freshly generated Server Monitor data directory.
set -euo pipefail
bin=${1:?usage: demo.sh BACKUPDESK_BINARY DEMO_DIR}
dir=${2:?usage: demo.sh BACKUPDESK_BINARY DEMO_DIR}

rm -rf "$dir"
mkdir -p "$dir"
passfile="$dir/passphrase"
( umask 077; head -c 24 /dev/urandom | base64 > "$passfile" )
root="$dir/server-monitor"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Creating a demo Server Monitor installation in $root"
"$bin" demo init "$root" --size 20MiB
say "Making an encrypted backup (passphrase in $passfile, mode 0600)"
"$bin" --data-dir "$root" --passphrase-file "$passfile" backup
say "Listing backups"
"$bin" --data-dir "$root" list
say "Deep verification (decrypt, checksum, SQLite integrity and foreign keys)"
"$bin" --data-dir "$root" --passphrase-file "$passfile" verify --all --deep
say "Reading the backup with plain gpg, as an admin could without Backup Desk"
if command -v gpg >/dev/null; then
  scratch=$(mktemp -d); trap 'rm -rf "$scratch"' EXIT
  newest=$(ls -1 "$root/data/backups/"*.db.gpg | tail -n 1)
  GNUPGHOME="$scratch" gpg --batch --quiet --passphrase-fd 0 -o "$scratch/plain.db" -d "$newest" < "$passfile"
  echo "gpg -d $newest: $(stat -c %s "$scratch/plain.db") bytes, monitoring_history rows: $(sqlite3 "$scratch/plain.db" 'SELECT count(*) FROM monitoring_history')"
  rm -f "$scratch/plain.db"
fi
say "Done"
echo "Demo installation: $root"
echo "Backups:           $root/data/backups"
echo "Log:               $root/logs/backup.log"
echo "Try: $bin --data-dir $root --passphrase-file $passfile verify --all"
