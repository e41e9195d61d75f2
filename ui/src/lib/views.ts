/** View logic, kept out of the components so it can be unit-tested. */
import type { Profile } from "./bindings/Profile";
import type { Condition } from "./bindings/Condition";
import type { FleetTile } from "./bindings/FleetTile";
import type { KeepReason } from "./bindings/KeepReason";
import type { ListItem } from "./bindings/ListItem";
import type { BackupState } from "./bindings/BackupState";
import type { ProgressEvent } from "./bindings/ProgressEvent";
import type { RestorePlanned } from "./bindings/RestorePlanned";
import type { RestorePlan } from "./bindings/RestorePlan";
import type { TableChange } from "./bindings/TableChange";
import type { SshRestorePlan } from "./bindings/SshRestorePlan";
import type { RestoreDone } from "./bindings/RestoreDone";
import type { RemoteRestoreReport } from "./bindings/RemoteRestoreReport";
import type { RemoteRestoreOutcome } from "./bindings/RemoteRestoreOutcome";
import type { Evidence } from "./bindings/Evidence";
import type { RetentionPolicy } from "./bindings/RetentionPolicy";
import type { RotationReport } from "./bindings/RotationReport";
import type { RewrapReport } from "./bindings/RewrapReport";
import type { KeyCreated } from "./bindings/KeyCreated";
import type { RotationState } from "./bindings/RotationState";
import type { BackupSummary } from "./bindings/BackupSummary";
import type { ActivityQuery } from "./bindings/ActivityQuery";
import type { LogLevel } from "./bindings/LogLevel";
import type { LogName } from "./bindings/LogName";
import { ageHuman, localTime, secondsSince, sizeHuman } from "./format";

/** How a backup is drawn on the timeline. */
export type Category = "pre_restore" | "pinned" | "failed" | "verified" | "unverified";

/** Every category that holds for `b`, failure first, from the states core
 *  derived from all its evidence (`ListItem::derive_states`): a failed
 *  backup stays failed when it is also pinned or a safety backup. */
export function categories(b: ListItem): Category[] {
  const has = (s: BackupState) => b.states.includes(s);
  const all: Category[] = [];
  if (has("failed_verification")) all.push("failed");
  if (has("pre_restore")) all.push("pre_restore");
  if (has("pinned")) all.push("pinned");
  if (has("deep_verified") || has("quick_verified")) all.push("verified");
  if (has("unverified")) all.push("unverified");
  return all;
}

/** The first of [`categories`]: how `b` is drawn on the timeline. */
export function category(b: ListItem): Category {
  return categories(b)[0] ?? "unverified";
}

/** All that holds for `b`, in words, failure first ("failed verification · pinned"): core's states. */
export function stateWords(b: ListItem): string {
  return b.states.map((s) => STATE_LABEL[s]).join(" · ");
}

/** Core's `BackupState::words`, for the screens. */
export const STATE_LABEL: Record<BackupState, string> = {
  failed_verification: "failed verification",
  drill_failed: "drill failed",
  no_longer_proven: "no longer proven restorable",
  plaintext: "plaintext",
  no_meta: "no .meta",
  pre_restore: "pre-restore",
  pinned: "pinned",
  proven_restorable: "proven restorable",
  deep_verified: "verified (deep)",
  quick_verified: "verified (quick)",
  unverified: "not verified",
};

export const CATEGORY_LABEL: Record<Category, string> = {
  verified: "verified",
  unverified: "not verified",
  failed: "failed verification",
  pinned: "pinned",
  pre_restore: "pre-restore",
};

/** Timeline points per category: x = time taken, y = size in bytes. */
export function timeline(backups: ListItem[]): Record<Category, { x: number; y: number; name: string }[]> {
  const out: Record<Category, { x: number; y: number; name: string }[]> = {
    verified: [], unverified: [], failed: [], pinned: [], pre_restore: [],
  };
  for (const b of backups) {
    out[category(b)].push({ x: localTime(b.taken_at).getTime(), y: b.size, name: b.filename });
  }
  for (const points of Object.values(out)) points.sort((a, b) => a.x - b.x);
  return out;
}

export type SortKey = "time" | "size" | "name" | "state";

/** The table: filtered by text and category, sorted. */
export function tableRows(backups: ListItem[], filter: string, only: Category | "all", sort: SortKey, descending: boolean): ListItem[] {
  const needle = filter.trim().toLowerCase();
  const rows = backups.filter(
    (b) => (only === "all" || categories(b).includes(only)) && (needle === "" || b.filename.toLowerCase().includes(needle)),
  );
  const key = (b: ListItem): number | string => {
    switch (sort) {
      case "size": return b.size;
      case "name": return b.filename;
      case "state": return category(b);
      default: return localTime(b.taken_at).getTime();
    }
  };
  rows.sort((a, b) => {
    const [ka, kb] = [key(a), key(b)];
    const c = ka < kb ? -1 : ka > kb ? 1 : 0;
    return descending ? -c : c;
  });
  return rows;
}

/** Problems first (error, warning, ok), then by name: the fleet order. */
export function fleetOrder(tiles: FleetTile[]): FleetTile[] {
  const rank = { error: 0, warning: 1, unknown: 2, ok: 3 } as const;
  return [...tiles].sort((a, b) => rank[a.status] - rank[b.status] || a.profile.localeCompare(b.profile));
}

/** How the fleet is narrowed and ordered. */
export type FleetSort = "problems" | "name" | "newest" | "storage";
export type FleetQuery = { search: string; state: "all" | "ok" | "warning" | "error" | "unknown" | Condition; sort: FleetSort };

/** The fleet as the admin asked to see it: searched (name or location), filtered by status or condition, sorted. */
export function fleetView(tiles: FleetTile[], q: FleetQuery): FleetTile[] {
  const needle = q.search.trim().toLowerCase();
  const shown = tiles.filter((t) => {
    if (needle && !t.profile.toLowerCase().includes(needle) && !t.location.toLowerCase().includes(needle)) return false;
    if (q.state === "all") return true;
    if (q.state === "ok" || q.state === "warning" || q.state === "error" || q.state === "unknown") return t.status === q.state;
    return t.problems.some((p) => p.condition === q.state);
  });
  switch (q.sort) {
    case "name": return shown.sort((a, b) => a.profile.localeCompare(b.profile));
    case "newest": return shown.sort((a, b) => (a.newest_age_seconds ?? Infinity) - (b.newest_age_seconds ?? Infinity) || a.profile.localeCompare(b.profile));
    case "storage": return shown.sort((a, b) => b.storage_bytes - a.storage_bytes || a.profile.localeCompare(b.profile));
    default: return fleetOrder(shown);
  }
}

/** The fleet with `tile` in place of its profile's old one (or added). */
export function mergeTile(tiles: FleetTile[], tile: FleetTile): FleetTile[] {
  const i = tiles.findIndex((t) => t.profile === tile.profile);
  if (i < 0) return [...tiles, tile];
  const next = [...tiles];
  next[i] = tile;
  return next;
}

/** Words for each condition (the filter's options and the problem badges). */
export const CONDITION_LABEL: Record<Condition, string> = {
  unreachable: "unreachable",
  needs_login: "needs login",
  unreadable: "unreadable",
  unhealthy: "unhealthy",
  no_backup: "no backup",
  drill_failed: "drill failed",
  busy: "busy",
  overdue: "overdue",
  verification_failed: "verification failed",
  never_verified: "never verified",
  never_drilled: "never drilled",
  drill_overdue: "drill overdue",
  health_unknown: "health unknown",
  offsite_failed: "off-site failed",
  rotation_unfinished: "rotation unfinished",
  passphrase_opens_no_backup: "passphrase opens no backup",
  schedule_missing: "no schedule",
  latest_backup_failed: "latest backup failed",
};

/** "as of 14:02" for a tile whose state is the last known one, else null. */
export function asOf(t: FleetTile, now: Date = new Date()): string | null {
  if (!t.from_cache) return null;
  if (!t.read_at) return "never read yet";
  const at = new Date(t.read_at);
  const sameDay = at.toDateString() === now.toDateString();
  const p = (n: number) => String(n).padStart(2, "0");
  const time = `${p(at.getHours())}:${p(at.getMinutes())}`;
  return sameDay ? `as of ${time}` : `as of ${at.getFullYear()}-${p(at.getMonth() + 1)}-${p(at.getDate())} ${time}`;
}

/** SVG polyline points of a sparkline `width` x `height`. */
export function sparkline(values: number[], width: number, height: number): string {
  if (values.length === 0) return "";
  const max = Math.max(...values);
  const min = Math.min(...values);
  const span = max - min || 1;
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  return values
    .map((v, i) => `${(i * step).toFixed(1)},${(height - ((v - min) / span) * (height - 2) - 1).toFixed(1)}`)
    .join(" ");
}

/**
 * Why the wizard may not restore this backup yet (null: it may). Local
 * backups must pass a verification in the wizard first; a server's backups
 * cannot be verified here, the remote safeguards apply instead.
 */
export function restoreBlocker(b: ListItem | undefined, verifiedNow: boolean | null, remote: boolean): string | null {
  if (!b) return "Choose a backup first.";
  if (verifiedNow === false || b.verified.state === "failed") return "This backup failed verification: it cannot be restored.";
  if (!remote && verifiedNow !== true) return "Verify the backup first.";
  return null;
}

/** A plan with row counts: made here, or by the engine on an SSH profile's server. */
export function isLocalPlan(p: RestorePlanned): p is ({ target: "local" } & RestorePlan) | ({ target: "ssh" } & SshRestorePlan) {
  return p.target === "local" || p.target === "ssh";
}

/** A remote restore's settled report (tagged by core: `target`). */
export function isRemoteDone(d: RestoreDone): d is { target: "remote" } & RemoteRestoreReport {
  return d.target === "remote";
}

/** The heading of a remote restore's outcome. */
export const REMOTE_OUTCOME_TITLE: Record<RemoteRestoreOutcome["kind"], string> = {
  restored: "Restored",
  not_restored: "Not restored",
  data_at_risk: "Restore failed: data at risk",
  unverified: "Restore unverified",
};

/** What decided a remote restore's outcome, in words. */
export const EVIDENCE_LABEL: Record<Evidence, string> = {
  backup_record: "the backup's recorded size and row counts",
  before_only: "the database as it was before the restore",
  database_state: "the state of the server's database",
  nothing: "nothing: the server's database could not be read to the end",
};

/** "keep last", "daily 2026-11-20"... for a retention decision. */
export function reasonLabel(r: KeepReason): string {
  switch (r.rule) {
    case "daily":
    case "weekly":
    case "monthly":
      return `${r.rule} ${r.period}`;
    case "newest_deep_verified":
      return "newest deep-verified";
    case "newest_drilled":
      return "newest drilled";
    case "future_dated":
      return "future-dated";
    case "pre_restore":
      return "pre-restore";
    default:
      return r.rule;
  }
}

/**
 * What a policy settles at with one backup a day: distinct backups kept
 * (daily/weekly/monthly slots overlap by one each) times the average size,
 * plus the pre-restore copies.
 */
export function settledFootprint(policy: RetentionPolicy, averageSize: number): { backups: number; bytes: number } {
  const regular =
    Math.max(policy.keep_last, policy.daily) + Math.max(policy.weekly - 1, 0) + Math.max(policy.monthly - 1, 0);
  const backups = regular + policy.pre_restore;
  return { backups, bytes: Math.round(backups * averageSize) };
}

/** Percent (0-100) of a progress event, or null when the total is unknown. */
export function percent(e: ProgressEvent | null): number | null {
  if (!e || !e.total) return null;
  return Math.min(100, Math.round((e.done / e.total) * 100));
}

export const PHASE_LABEL: Record<string, string> = {
  snapshot: "Taking a consistent snapshot",
  encrypt: "Compressing and encrypting",
  decrypt: "Decrypting and checking",
  integrity_check: "Running SQLite's integrity checks",
  upload: "Copying off-site",
  download: "Fetching from off-site",
};

/** The notifications worth sending after a fleet refresh: failures and overdue only, each once. */
export function notificationsFor(tiles: FleetTile[], alreadySent: Set<string>): { key: string; title: string; body: string }[] {
  const out: { key: string; title: string; body: string }[] = [];
  for (const t of tiles) {
    if (t.overdue) {
      const key = `${t.profile}:overdue:${t.newest_backup}`;
      if (!alreadySent.has(key)) out.push({ key, title: `${t.profile}: backup overdue`, body: t.problems[0]?.message ?? "The newest backup is too old." });
    }
    if (t.status === "error") {
      const key = `${t.profile}:error:${t.problems.map((p) => p.condition).join("|")}`;
      if (!alreadySent.has(key)) out.push({ key, title: `${t.profile}: problem`, body: t.problems[0]?.message ?? "Something is wrong." });
    }
    // Each change of what drills prove is told once: a failed drill, or
    // none passed for too long.
    if (t.last_drill_at && t.last_drill_passed === false) {
      const key = `${t.profile}:drill-failed:${t.last_drill_at}`;
      if (!alreadySent.has(key)) out.push({ key, title: `${t.profile}: restore drill failed`, body: "The latest restore drill failed: the backup it tried cannot be restored." });
    } else if (t.drill_overdue) {
      const key = `${t.profile}:drill-overdue:${t.last_drill_at ?? "never"}`;
      if (!alreadySent.has(key)) out.push({ key, title: `${t.profile}: restore drill overdue`, body: `No restore drill passed in the last ${t.drill_overdue_after_days} days.` });
    }
  }
  return out;
}

/**
 * A tick label for a time axis whose ticks are `stepMs` apart: dates when
 * ticks are a day or more apart, times (with the date where the day
 * changes) when closer, so neighbouring ticks never read the same.
 */
export function timeTick(valueMs: number, stepMs: number, previousMs: number | null): string {
  const d = new Date(valueMs);
  const p = (n: number) => String(n).padStart(2, "0");
  const date = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  if (stepMs >= 86_400_000) return date;
  const time = `${p(d.getHours())}:${p(d.getMinutes())}`;
  const newDay = previousMs === null || new Date(previousMs).toDateString() !== d.toDateString();
  return newDay ? `${date} ${time}` : time;
}

/** Chart.js tick options for a time axis in ms: at most 8 ticks, labels from {@link timeTick}. */
export function timeTicks(): { maxTicksLimit: number; callback: (v: string | number, i: number, ticks: { value: number }[]) => string } {
  return {
    maxTicksLimit: 8,
    callback: (v, i, ticks) => {
      const step = ticks.length > 1 ? Math.abs(ticks[1].value - ticks[0].value) : 86_400_000;
      return timeTick(Number(v), step, i > 0 ? ticks[i - 1].value : null);
    },
  };
}

/** One page of `rows` (0-based `page` of `size`), and where it stands. */
export function pageOf<T>(rows: T[], page: number, size: number): { rows: T[]; page: number; pages: number; from: number; to: number } {
  const pages = Math.max(1, Math.ceil(rows.length / size));
  const current = Math.min(Math.max(0, page), pages - 1);
  const from = current * size;
  const slice = rows.slice(from, from + size);
  return { rows: slice, page: current, pages, from: rows.length ? from + 1 : 0, to: from + slice.length };
}

/** The time axis around `xs` (ms), padded so one backup is not lost in years. */
export function timeAxis(xs: number[]): { min?: number; max?: number } {
  if (xs.length === 0) return {};
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  const pad = Math.max((hi - lo) * 0.05, 12 * 3600 * 1000);
  return { min: lo - pad, max: hi + pad };
}

/** What restore drills have proven for one installation, from its backup list. */
export type DrillSummary =
  | { state: "never" }
  | { state: "passed"; filename: string; at: string; restoreMs: number | null }
  | { state: "failed"; filename: string; at: string; errorKind: string | null }
  | { state: "no_longer"; filename: string; at: string; errorKind: string | null };

/** The newest drill of any backup decides: passed (with its restore time)
 *  or failed; a pass no longer holds once that backup failed a check since
 *  (its bytes, or the passphrase that opens it, changed). */
export function drillSummary(backups: ListItem[]): DrillSummary {
  let newest: ListItem | null = null;
  for (const b of backups) {
    if (b.drill && (!newest || !newest.drill || b.drill.at > newest.drill.at)) newest = b;
  }
  if (!newest || !newest.drill) return { state: "never" };
  const d = newest.drill;
  if (!d.ok) return { state: "failed", filename: newest.filename, at: d.at, errorKind: d.error_kind };
  if (newest.verified.state === "failed") return { state: "no_longer", filename: newest.filename, at: d.at, errorKind: newest.verified.error_kind };
  return { state: "passed", filename: newest.filename, at: d.at, restoreMs: d.restore_ms };
}

/** "proven restorable 2 days ago, restore ≈ 4.2 s" and its kin, for tiles and the backups screen. */
export function drillText(s: DrillSummary, now: Date = new Date()): string {
  switch (s.state) {
    case "never": return "no restore drill yet";
    case "passed": {
      const age = ageHuman(secondsSince(new Date(s.at), now));
      return s.restoreMs === null ? `proven restorable ${age}` : `proven restorable ${age}, restore ≈ ${(s.restoreMs / 1000).toFixed(1)} s`;
    }
    case "failed": return `restore drill failed ${ageHuman(secondsSince(new Date(s.at), now))}`;
    case "no_longer": return `not proven restorable: ${s.filename}, drilled ${ageHuman(secondsSince(new Date(s.at), now))}, has failed verification since${s.errorKind ? ` (${s.errorKind.replaceAll("_", " ")})` : ""}`;
  }
}

/** The fleet tile's drill line. */
export function tileDrillText(t: FleetTile, now: Date = new Date()): string {
  if (t.remote) return "not possible through the API";
  if (!t.last_drill_at) return "never";
  const age = ageHuman(secondsSince(new Date(t.last_drill_at), now));
  if (!t.last_drill_passed) return `failed ${age}`;
  const estimate = t.restore_estimate_ms === null ? "" : `, restore ≈ ${(t.restore_estimate_ms / 1000).toFixed(1)} s`;
  return `proven restorable ${age}${estimate}${t.drill_overdue ? " (overdue)" : ""}`;
}

/** What a tile says of its profile, in words. A profile never read (no
 *  answer yet, none cached) says "unknown" for every fact, never "none" or
 *  "0 B in 0 backups": nothing was learnt, so nothing is stated. */
export type TileFacts = { health: string; newest: string; verification: string; drill: string; proven: string; storage: string; storageShort: string };

/** How a tile's installation seals new backups, in words ("" when not
 *  known: a server reached through its API). */
export function encryptionText(t: FleetTile): string {
  const e = t.encryption;
  if (!e) return "";
  if (e.problem) return "policy unusable: backups stop";
  if (e.keys === 0) return "passphrase only (one way in)";
  return e.passphrase ? `${e.keys} key(s) and the passphrase` : `${e.keys} key(s), no passphrase: keeps no secret`;
}

/** The newest proof that a backup reads back whole, in words: how, when,
 *  and whose key it took ("on the server": the installation's own). */
export function provenText(t: FleetTile, now: Date = new Date()): string {
  const p = t.last_proven;
  if (!p) return "never";
  const how = p.drill ? "restore drill" : "deep verification";
  return `${how} ${ageHuman(secondsSince(new Date(p.at), now))}, by ${p.by ?? (t.over_ssh || t.remote ? "the server itself" : "this machine")}`;
}

export function tileFacts(t: FleetTile, now: Date = new Date()): TileFacts {
  if (t.read_at === null) {
    return { health: "unknown", newest: "unknown", verification: "unknown", drill: "unknown", proven: "unknown", storage: "unknown", storageShort: "unknown" };
  }
  const verification = t.last_verified_at
    ? `${t.last_verification_passed ? "passed" : "failed"} ${ageHuman(secondsSince(new Date(t.last_verified_at), now))}`
    : "never";
  const newest = t.newest_age_seconds === null ? "none" : `${ageHuman(t.newest_age_seconds)}${t.overdue ? " (overdue)" : ""}`;
  return {
    health: t.healthy === null ? "unknown" : t.healthy ? "healthy" : "unhealthy",
    newest,
    verification,
    drill: tileDrillText(t, now),
    proven: provenText(t, now),
    storage: `${sizeHuman(t.storage_bytes)} in ${t.backup_count} backups`,
    storageShort: sizeHuman(t.storage_bytes),
  };
}

/** Where a profile's backups are, for humans: a folder, a URL, ssh://user@host/path. */
export function profileLocation(p: Profile): string {
  switch (p.kind) {
    case "local":
      return p.data_dir;
    case "remote":
      return p.base_url;
    case "ssh":
      return `ssh://${p.destination}${p.port ? `:${p.port}` : ""}${p.data_dir}`;
  }
}

/** An unfinished rotation in words: "Rotation in progress: the new
 *  passphrase added to 3 of 6 backups" (as core's RotationState::words). */
export function rotationStateWords(r: RotationState): string {
  switch (r.stage) {
    case "adding":
      return `Rotation in progress: the new passphrase added to ${r.done} of ${r.total} backups (both passphrases stay stored until all open with the new one)`;
    case "removing":
      return `Rotation in progress: the old passphrase removed from ${r.done} of ${r.total} backups`;
    case "rewrapping":
      return `Rewrap in progress: ${r.done} of ${r.total} backups given the encryption policy's ways in (each opens under its old ways in or the new)`;
  }
}

/** A rotation's whole answer in words: how far it got (in progress: N of
 *  M), each backup left alone or not given the new passphrase, by name
 *  (none is dropped), and which passphrase is stored. */
export function rotationWords(r: RotationReport): string {
  const named = (list: { filename: string; message: string }[]) => list.map((s) => `${s.filename} (${s.message})`).join("; ");
  const given = r.rotated.length + r.already_rotated.length;
  let words: string;
  if (r.failed.length) {
    words = `Rotation in progress: ${given} of ${given + r.failed.length} backup(s) open with the new passphrase; ${r.failed.length} could not be given it — ${named(r.failed)}. Every backup still opens with the old passphrase, which stays stored (the new one beside it). Run the rotation again.`;
  } else if (r.old_kept.length) {
    words = `Every backup opens with the new passphrase, which is stored; the old one is still in ${r.old_kept.length} of them (${r.old_kept.join(", ")}). Run the rotation again to remove it.`;
  } else {
    const parts = [`The new passphrase given to ${r.rotated.length} backup(s)`];
    if (r.already_rotated.length) parts.push(`${r.already_rotated.length} already had it`);
    words = `${parts.join(", ")}; the old one removed from every backup; the new passphrase is stored.`;
  }
  if (r.skipped.length) words += ` Left alone (opened by neither passphrase): ${named(r.skipped)}.`;
  return words;
}

/** A rewrap's answer in words: how many backups were given the policy's
 *  ways in, how many had them, each one left as it was (named, with why). */
/** The encryption policy form as typed: recipients one per line, the
 *  passphrase kept or not, a recovery passphrase typed twice. */
export interface PolicyForm {
  recipients: string;
  keepPassphrase: boolean;
  recovery: string;
  recoveryAgain: string;
  folder: string;
}

/** The form's recipients, blank lines left out. */
export function formRecipients(form: PolicyForm): string[] {
  return form.recipients.split("\n").map((r) => r.trim()).filter((r) => r !== "");
}

/** Why the policy form cannot be sent yet, or null (core checks again:
 *  a certificate that cannot be read is its refusal). */
export function policyFormProblem(form: PolicyForm): string | null {
  if (form.recovery !== form.recoveryAgain) return "The two recovery passphrases differ.";
  if (form.recovery !== "" && form.folder.trim() === "") return "Choose the folder the recovery sheet goes to.";
  const ways = formRecipients(form).length + (form.keepPassphrase ? 1 : 0) + (form.recovery !== "" ? 1 : 0);
  if (ways < 2) return `A policy needs at least two ways in (this one has ${ways}): losing that one key would lose every backup.`;
  return null;
}

/** A key just made, in words: where each part went. */
export function keyCreatedWords(k: KeyCreated): string {
  return `Key made: ${k.user_id} (${k.fingerprint}); its secret part is in the keychain. Certificate: ${k.certificate}. ` +
    `Recovery sheet: ${k.recovery_sheet} (readable by you alone): print it, keep the paper safe, then delete the file.`;
}

export function rewrapWords(r: RewrapReport): string {
  const named = (list: { filename: string; message: string }[]) => list.map((s) => `${s.filename} (${s.message})`).join("; ");
  const ways = `${r.key_ids.length} key packet(s)${r.passphrase ? " and the passphrase" : ", no passphrase"}`;
  const parts = [`${r.rewrapped.length} backup(s) given the policy's ways in (${ways})`];
  if (r.already.length) parts.push(`${r.already.length} had them already`);
  let words = `${parts.join("; ")}; their encrypted contents untouched.`;
  const left = [...r.skipped, ...r.failed];
  if (left.length) words += ` Left as they were: ${named(left)}.`;
  if (r.in_progress) words += ` ${rotationStateWords(r.in_progress)}: run it again to finish.`;
  return words;
}

/** A backup's whole answer in words: made, what the automatic retention
 *  pruned (each name), every off-site copy and warning (none dropped). */
export function backupWords(r: BackupSummary): string {
  const parts = [`Backup created: ${r.filename} (${sizeHuman(r.size)})`];
  if (r.target === "local" && r.pruned) {
    const p = r.pruned;
    if (p.deleted.length) parts.push(`pruned ${p.deleted.length} older backup(s) under the retention policy, ${sizeHuman(p.bytes_freed)} freed: ${p.deleted.join(", ")}`);
    for (const [name, why] of p.failed) parts.push(`could not prune ${name}: ${why}`);
  }
  for (const o of r.offsite) {
    parts.push(o.ok ? `off-site: ${o.location} ok (${o.copied} copied)` : `off-site: ${o.location} FAILED — ${o.error?.message ?? "unknown error"}`);
  }
  for (const w of r.warnings) if (!w.startsWith("the off-site copy to ")) parts.push(w);
  return parts.join(" · ");
}

/** What is wrong with each field of a retention policy being typed (a
 *  count from 0 to 1000, a whole number); empty when it can be previewed. */
export function policyProblems(policy: Record<string, unknown>): Record<string, string> {
  const problems: Record<string, string> = {};
  for (const [key, value] of Object.entries(policy)) {
    if (typeof value !== "number" || Number.isNaN(value)) problems[key] = "a number is needed";
    else if (!Number.isInteger(value)) problems[key] = "a whole number is needed";
    else if (value < 0) problems[key] = "cannot be negative";
    else if (value > 1000) problems[key] = "at most 1000";
  }
  return problems;
}

/** The Activity screen's filters as typed. */
export type ActivityForm = { log: LogName | "all"; level: LogLevel | "all"; search: string; since: string; limit: number };

/** The query of the Activity screen's form, or why it is not one (a
 *  date that is not YYYY-MM-DD or YYYY-MM-DDTHH:MM is said, not sent). */
export function activityQuery(form: ActivityForm): ActivityQuery | string {
  const since = form.since.trim();
  let at: string | null = null;
  if (since !== "") {
    const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2})(?::(\d{2}))?)?$/.exec(since);
    const day = m ? new Date(`${m[1]}T00:00:00Z`) : null;
    const real = day !== null && !Number.isNaN(day.getTime()) && day.toISOString().slice(0, 10) === m![1];
    const [hh, mm, ss] = [m?.[2]?.slice(0, 2), m?.[2]?.slice(3), m?.[3]].map((v) => Number(v ?? 0));
    if (!m || !real || hh > 23 || mm > 59 || ss > 59) {
      return `"${since}" is not a date: use YYYY-MM-DD or YYYY-MM-DD HH:MM`;
    }
    at = `${m[1]}T${m[2] ?? "00:00"}:${m[3] ?? "00"}`;
  }
  return {
    since: at,
    search: form.search,
    min_level: form.level === "all" ? null : form.level,
    logs: form.log === "all" ? [] : [form.log],
    limit: Math.min(Math.max(Math.trunc(form.limit) || 1, 1), 10_000),
  };
}

/** A table's change in a restore preview, in words: "count unchanged" (a
 *  count never says the content is the same), "+12", "−3,600", "only in
 *  the backup", "only live". */
export function tableChangeWords(t: TableChange): string {
  if (t.backup_rows === null && t.live_rows === null) return "—";
  if (t.backup_rows === null) return `only live: ${t.live_rows!.toLocaleString("en")} rows lost`;
  if (t.live_rows === null) return "only in the backup";
  const d = t.backup_rows - t.live_rows;
  if (d === 0) return "count unchanged";
  return d > 0 ? `+${d.toLocaleString("en")}` : `−${(-d).toLocaleString("en")}`;
}

/** What a restore loses and brings back, totalled: rows live has that the
 *  backup has not (lost, by table, worst first), rows the backup has that
 *  live has not. */
export function restoreLosses(tables: TableChange[]): { lost: number; lostTables: [string, number][]; regained: number; regainedTables: number; sentence: string } {
  const lostTables: [string, number][] = [];
  let regained = 0;
  let regainedTables = 0;
  for (const t of tables) {
    const live = t.live_rows ?? 0;
    const backup = t.backup_rows ?? 0;
    if (live > backup) lostTables.push([t.name, live - backup]);
    if (backup > live) {
      regained += backup - live;
      regainedTables += 1;
    }
  }
  lostTables.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const lost = lostTables.reduce((n, [, rows]) => n + rows, 0);
  const n = (x: number) => x.toLocaleString("en");
  const lostPart = lost === 0
    ? "You lose no rows by count"
    : `You lose ${n(lost)} row${lost === 1 ? "" : "s"} in ${lostTables.length} table${lostTables.length === 1 ? "" : "s"} (${lostTables.slice(0, 3).map(([name, rows]) => `${name} −${n(rows)}`).join(", ")}${lostTables.length > 3 ? ", …" : ""})`;
  const regainedPart = regained === 0 ? "" : ` and get back ${n(regained)} row${regained === 1 ? "" : "s"} in ${regainedTables} table${regainedTables === 1 ? "" : "s"}`;
  return { lost, lostTables, regained, regainedTables, sentence: `${lostPart}${regainedPart}. A count unchanged does not mean the content is the same.` };
}

/** What deleting `b` loses beyond the file, said before it goes: a pin (kept
 *  on purpose), the newest backup, the proof of a drill, off-site copies
 *  (which stay where they are). Empty: nothing more than the file. */
export function deleteWarnings(b: ListItem, newest: boolean, offsiteAt: string[]): string[] {
  const out: string[] = [];
  if (b.pinned) out.push("it is pinned: retention keeps it on purpose");
  if (newest) out.push("it is the newest backup");
  if (b.states.includes("proven_restorable")) out.push("a restore drill proved it restorable");
  if (offsiteAt.length) out.push(`its off-site copies at ${offsiteAt.join(", ")} stay there`);
  return out;
}

/** `text` as one word for a POSIX shell, single-quoted ('it'\''s'). */
export function shellQuoted(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/** When a scheduled job runs, in words, from its crontab line ("5 3 * * 0 …")
 *  or its systemd calendar ("Sun *-*-* 03:05:00"): "Sun at 03:05",
 *  "daily at 03:05"; the definition as written when it is neither. */
export function jobWhen(definition: string, scheduler: "cron" | "systemd"): string {
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
  const p = (n: string) => n.padStart(2, "0");
  if (scheduler === "cron") {
    const [m, h, , , dow] = definition.trim().split(/\s+/);
    if (!/^\d+$/.test(m ?? "") || !/^\d+$/.test(h ?? "")) return definition;
    const day = dow === "*" ? "daily" : (days[Number(dow)] ?? dow);
    return `${day} at ${p(h)}:${p(m)}`;
  }
  const found = /^(?:([A-Za-z]{3}) )?\*-\*-\* (\d\d):(\d\d)(?::\d\d)?$/.exec(definition.trim());
  return found ? `${found[1] ?? "daily"} at ${found[2]}:${found[3]}` : definition;
}

/** What an empty backup table says: none at all, or none the filter and
 *  category let through (never "no backups" while some are hidden). */
export function emptyTableWords(total: number, filter: string, only: Category | "all"): string {
  if (total === 0) return "No backups yet.";
  const wanted = [
    filter.trim() ? `whose name contains "${filter.trim()}"` : null,
    only !== "all" ? `marked ${CATEGORY_LABEL[only]}` : null,
  ].filter((w) => w !== null);
  const all = total === 1 ? "the 1 backup" : `the ${total} backups`;
  return `No backup ${wanted.join(" and ")} among ${all}: clear the filter to see them.`;
}
