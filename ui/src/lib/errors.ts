/** What the UI says for each error kind: never the raw text alone. */
import type { IpcError } from "./bindings/IpcError";

const ADVICE: Record<string, string> = {
  wrong_passphrase: "The passphrase does not open this backup. Check the passphrase in Settings, or use the one the backup was made with.",
  no_passphrase_stored: "No backup passphrase is stored for this profile. Set one in Settings.",
  empty_passphrase: "Type a passphrase: an empty one protects nothing.",
  default_passphrase_refused: "Choose your own passphrase: Server Monitor's well-known default protects nothing.",
  same_passphrase: "The new passphrase is the one the backups already use: choose another.",
  confirmation_mismatch: "Type the profile name exactly to confirm.",
  verification_failed: "This backup failed verification and cannot be restored. Pick another backup.",
  checksum_mismatch: "The backup's content does not match its checksum: do not restore it.",
  tampered_backup: "The backup file was altered or damaged: do not restore it.",
  truncated_backup: "The backup file is incomplete: do not restore it.",
  rolled_back: "Nothing was lost: the database was put back as it was. The message names the file that also holds the old state.",
  rollback_failed: "Restore the named pre-restore backup to get the previous state back.",
  locked: "Another operation runs on this installation. Try again when it has finished.",
  operation_in_progress: "Another operation runs on this installation. Try again when it has finished.",
  keychain_unavailable: "No keychain answers. Start your desktop's keyring (Secret Service) and try again.",
  keychain_locked: "Unlock your keyring and try again.",
  unreachable: "The server cannot be reached. Check the URL and the network.",
  timeout: "The server did not answer in time. It may be busy; try again.",
  unauthorized: "The server refused the token. Log in again in Settings.",
  login_failed: "The server refused the user name or password.",
  not_admin: "This account is not an administrator on the server.",
  rate_limited: "The server asks to slow down. Wait a minute and try again.",
  remote_unsupported: "This works on local installations only.",
  profile_exists: "A profile with that name exists already. Pick another name.",
  invalid_profile_name: "Use letters, digits, '-', '_' and '.' only.",
  invalid_url: "Give an http:// or https:// address.",
  database_exists: "That folder already holds a database. Pick an empty folder.",
  cancelled: "Cancelled. Nothing was changed.",
  backup_not_found: "That backup no longer exists. Refresh the list.",
  not_a_regular_file:
    "Something named like a backup in the backup folder is a link, a folder or a FIFO. Backup Desk reads only regular files there: replace it with the real file.",
  storage_full: "The disk is full. Free some space (prune old backups) and try again.",
  swap_failed_unchanged: "Nothing was lost: the live database was not changed (another process kept it locked). Stop the service, or try again when it is idle.",
  ledger_damaged: "Backup Desk's records (pins, verifications) are damaged: repair or move aside data/.backupdesk/ledger.json before pruning.",
  redirected: "The server redirects elsewhere. If that is its real address, change the profile's URL to it.",
  not_an_installation: "That folder is no Server Monitor installation. Check the path.",
  safety_backup_failed: "The server's safety backup before the restore could not be confirmed, so nothing was restored. Check the server's disk and try again.",
};

/** Turns whatever a command threw into an IpcError. */
export function asIpcError(e: unknown): IpcError {
  if (e && typeof e === "object" && "kind" in e && "message" in e) {
    return { kind: String((e as IpcError).kind), message: String((e as IpcError).message) };
  }
  return { kind: "unexpected", message: e instanceof Error ? e.message : String(e) };
}

/** What to do next for an error kind. */
export function advice(kind: string): string {
  return ADVICE[kind] ?? "Check the message above; nothing else was changed.";
}
