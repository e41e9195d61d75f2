/** What the UI says for each error kind: never the raw text alone. */
import type { ErrorKind } from "./bindings/ErrorKind";
import type { IpcError } from "./bindings/IpcError";

const ADVICE: Record<ErrorKind, string> = {
  engine_incompatible: "The server's backupdesk is another version. Update it: Settings → Install the engine there (or backupdesk profile install PROFILE).",
  engine_missing: "Backup Desk is not installed on that server yet: Settings → Install the engine there (or backupdesk profile install PROFILE).",
  host_key_changed: "The server's SSH host key changed. Find out why (reinstall? attack?) before removing the old key.",
  host_key_unknown: "Check the fingerprint against the server's own, then accept it once with ssh.",
  ssh_failed: "The SSH connection failed. Try `ssh HOST` in a terminal to see why.",
  authentication_required: "The server wants a new login. Log in again in Settings (keep the password to let Backup Desk renew the token itself).",
  backup_altered: "The backup file is not the one that was written (its checksum differs): do not restore it.",
  backup_exists: "A backup of that name exists already. Wait a second and try again.",
  backup_folder_full: "The disk is full. Free some space (prune old backups) and try again.",
  backup_folder_not_writable: "Backup Desk cannot write into the backup folder. Check its owner and permissions.",
  backup_folder_unreadable: "Backup Desk cannot read the backup folder. Check its owner and permissions.",
  backup_name_required: "Pick a backup first.",
  backup_not_found: "That backup no longer exists. Refresh the list.",
  bad_ca_certificate: "The CA certificate file could not be used. Give a PEM file with the server's CA.",
  bad_response: "The server answered something that is not Server Monitor's API. Check the URL (and any proxy in between).",
  busy: "Another Backup Desk operation runs on this installation. Try again when it has finished.",
  cancelled: "Cancelled. Nothing was changed.",
  checksum_mismatch: "The backup's content does not match its checksum: do not restore it.",
  command_failed: "A command Backup Desk ran failed. The message says which and why.",
  confirmation_mismatch: "Type the profile name exactly to confirm.",
  confirmation_required: "This needs a confirmation. Confirm it to go ahead.",
  corrupt_backup: "The backup file is damaged: do not restore it. Pick another backup.",
  database_busy: "The live database is kept busy by another process. Try again when it is idle, or stop the service.",
  database_exists: "That folder already holds a database. Pick an empty folder.",
  database_missing: "There is no live database at this installation. Check the folder.",
  default_passphrase_refused: "Choose your own passphrase: Server Monitor's well-known default protects nothing.",
  delete_failed: "The backup could not be deleted. The message says why.",
  drill_mismatch: "The restore drill restored a database whose row counts differ from what the backup recorded: this backup cannot be trusted. Drill and verify another one, and keep this one for inspection.",
  empty_passphrase: "Type a passphrase: an empty one protects nothing.",
  error: "Something failed. The message says what; nothing else was changed.",
  integrity_check_failed: "The database inside the backup fails SQLite's integrity check: do not restore it.",
  internal: "Backup Desk failed inside. Try again; if it keeps failing, report it with the message.",
  invalid_name: "That is not a backup name in this folder (no paths, no '..').",
  invalid_profile_name: "Use letters, digits, '-', '_' and '.' only.",
  invalid_time: "Give a time as HH:MM.",
  invalid_url: "Give an http:// or https:// address.",
  io: "A file could not be read or written. The message names it.",
  keychain: "The keychain failed. Try again, or use a passphrase file.",
  keychain_denied: "The keychain's prompt was dismissed. Try again and accept it, or keep the passphrase for this session only.",
  keychain_locked: "Unlock your keyring and try again, or keep the passphrase for this session only.",
  keychain_unavailable: "No keychain answers here. Start one (gnome-keyring, KeePassXC), or keep the passphrase for this session only.",
  ledger_damaged: "Backup Desk's records (pins, verifications) are damaged: repair or move aside data/.backupdesk/ledger.json before pruning.",
  login_failed: "The server refused the user name or password.",
  malformed_config: "A Backup Desk settings file is damaged. The message names it: repair or move it aside.",
  malformed_meta: "The backup's .meta file is damaged or no regular file. The backup itself may be fine: verify it.",
  meta_too_large: "The backup's .meta file is far too large to be real. Move it aside and verify the backup.",
  no_backups: "There are no backups yet. Make one first.",
  no_passphrase_stored: "No backup passphrase is stored for this profile. Set one in Settings.",
  not_a_backup_name: "That is not a Server Monitor backup name (servers_db_YYYYMMDD_HHMMSS.db.gpg).",
  not_a_regular_file: "Something named like a backup in the backup folder is a link, a folder or a FIFO. Backup Desk reads only regular files there: replace it with the real file.",
  not_a_sqlite_database: "The file is not a SQLite database. Pick another backup, or check the installation.",
  not_admin: "This account is not an administrator on the server.",
  not_an_installation: "That folder is no Server Monitor installation. Check the path.",
  not_confirmed: "Not confirmed: nothing was changed.",
  not_openpgp: "The file is not an encrypted backup at all. Pick another backup.",
  not_remote: "This works on remote servers only.",
  offsite_credentials_missing: "No key for that off-site location: give AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY when adding it.",
  offsite_denied: "The off-site store refused the key: check the access key, its secret and the bucket's policy.",
  offsite_exists: "An off-site location of that name exists already. Pick another name.",
  offsite_failed: "The off-site store failed. Check its address and try again; nothing local was changed.",
  offsite_not_found: "No off-site location of that name. See backupdesk offsite list.",
  invalid_rate: "That is no rate: write a number and a unit, e.g. 5MiB/s or 800KB/s.",
  offsite_full: "The off-site folder is full. Free space there (or prune its copies); the partial copy resumes next time.",
  offsite_read_only: "The off-site login may not write into that folder. Check the folder's owner and the SFTP server's settings.",
  passphrase_file_missing: "The passphrase file does not exist. Check its path.",
  passphrase_file_not_private: "The passphrase file can be read by others. Make it readable by you only (chmod 600).",
  passphrase_file_not_text: "The passphrase file is not a text file with the passphrase on its first line.",
  passphrase_file_required: "Without a terminal, give the passphrase with --passphrase-file.",
  passphrase_file_too_long: "The passphrase file has no line end in its first 4 KiB: it is no passphrase file.",
  passphrase_file_unreadable: "The passphrase file cannot be read (missing, a folder, or a pipe nobody writes to).",
  passphrase_mismatch: "The two passphrases differ. Type the same one twice.",
  passphrase_required: "This needs the backup passphrase. Store one in Settings.",
  password_required: "Give the server account's password.",
  pre_restore_backup_failed: "The safety backup before the restore could not be made, so nothing was restored. Free space or fix the backup folder.",
  profile_exists: "A profile with that name exists already. Pick another name.",
  profile_not_found: "There is no profile of that name. Refresh the list.",
  rate_limited: "The server asks to slow down. Wait a minute and try again.",
  redirected: "The server redirects elsewhere. If that is its real address, change the profile's URL to it.",
  remote_restore_failed: "The server's database is empty or lost its data after the restore. Restore the safety backup named in the report now.",
  remote_restore_not_done: "The server did not restore: its database is as it was. Nothing was lost.",
  remote_unsupported: "This works on local installations only.",
  restore_unverified: "Backup Desk could not confirm what the server's restore did. Check the server before relying on it.",
  rollback_failed: "Restore the named pre-restore backup to get the previous state back.",
  rolled_back: "Nothing was lost: the database was put back as it was. The message names the file that also holds the old state.",
  safety_backup_failed: "The server's safety backup before the restore could not be confirmed, so nothing was restored. Check the server's disk and try again.",
  same_passphrase: "The new passphrase is the one the backups already use: choose another.",
  schedule_of_another_folder: "One schedule per account: this account's jobs back up another folder. Remove them from that folder's profile first, or install this folder's in their place.",
  server_error: "The server failed (an HTTP 5xx). Check its logs; the message has its answer.",
  size_mismatch: "The backup file's size differs from what was written: do not restore it.",
  sqlite: "SQLite failed on the database. The message says why.",
  stop_command_failed: "The stop command failed, so nothing was restored. Check the command.",
  swap_failed_unchanged: "Nothing was lost: the live database was not changed (another process kept it locked). Stop the service, or try again when it is idle.",
  tampered_backup: "The backup file was altered or damaged: do not restore it.",
  timeout: "The server did not answer in time. It may be busy; try again.",
  truncated_backup: "The backup file is incomplete: do not restore it.",
  unexpected: "Something unexpected failed in the window. Try again.",
  unreachable: "The server cannot be reached. Check the URL and the network.",
  unsafe_path: "That path is not safe to use here (a link, or outside the installation).",
  unsupported_format: "This file is an OpenPGP message of a kind Server Monitor backups never are. Pick another backup.",
  verification_failed: "This backup failed verification and cannot be restored. Pick another backup.",
  wrong_passphrase: "The passphrase does not open this backup. Check the passphrase in Settings, or use the one the backup was made with.",
};

/** Turns whatever a command threw into an IpcError. */
export function asIpcError(e: unknown): IpcError {
  if (e && typeof e === "object" && "kind" in e && "message" in e) {
    return { kind: (e as IpcError).kind, message: String((e as IpcError).message) };
  }
  return { kind: "unexpected", message: e instanceof Error ? e.message : String(e) };
}

/** What to do next for an error kind (a kind from a newer core than this
 * UI was built with still gets the general advice). */
export function advice(kind: ErrorKind): string {
  return ADVICE[kind] ?? "Check the message above; nothing else was changed.";
}

/** Whether the keychain cannot keep secrets here now (none, locked, refused): the app offers this session's memory instead. */
export function keychainUnusable(kind: ErrorKind): boolean {
  return kind === "keychain_unavailable" || kind === "keychain_locked" || kind === "keychain_denied";
}
