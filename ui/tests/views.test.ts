import type { ErrorKind } from "../src/lib/bindings/ErrorKind";
import { describe, expect, it } from "vitest";
import type { FleetTile } from "../src/lib/bindings/FleetTile";
import type { ListItem } from "../src/lib/bindings/ListItem";
import type { BackupState } from "../src/lib/bindings/BackupState";
import type { RestoreDone } from "../src/lib/bindings/RestoreDone";
import { ageHuman, localTime, sizeHuman } from "../src/lib/format";
import { advice, asIpcError } from "../src/lib/errors";
import {
  asOf, category, drillSummary, drillText, fleetView, tileFacts, activityQuery, restoreLosses, tableChangeWords, deleteWarnings, mergeTile, pageOf, timeTick, tileDrillText, EVIDENCE_LABEL, fleetOrder, isRemoteDone, REMOTE_OUTCOME_TITLE, timeAxis, notificationsFor, percent, reasonLabel, restoreBlocker, settledFootprint, sparkline, tableRows, timeline,
  profileLocation, rotationWords, rotationStateWords, rewrapWords, shellQuoted, jobWhen, emptyTableWords, categories, stateWords, backupWords, policyProblems,
  policyFormProblem, formRecipients, keyCreatedWords, provenText, encryptionText,
} from "../src/lib/views";

/** The time in a backup name, as core's `taken_at` gives it. */
function nameTime(filename: string): string {
  const m = /_(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})\.db/.exec(filename);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}` : "1970-01-01T00:00:00";
}

/** A listed backup as core sends it: its `states` as core derives them
 *  for the evidence given (the derivation itself is tested in core). */
function item(filename: string, over: Partial<ListItem> = {}): ListItem {
  const b: ListItem = {
    filename, path: `/x/${filename}`, taken_at: nameTime(filename), size: 1000, size_human: "1.00 KB", created_at: "", encrypted: true, checksum: null,
    timestamp: null, kind: "encrypted", has_meta: true, meta_problem: null, db_size: 4000,
    verified: { state: "never", depth: null, at: null, error_kind: null, deep_passed_at: null, by: null }, pinned: false, drill: null, states: [], ...over,
  };
  if (over.states) return b;
  const v = b.verified;
  const failed = v.state === "failed";
  const states: BackupState[] = [];
  if (failed) states.push("failed_verification");
  if (b.drill) states.push(!b.drill.ok ? "drill_failed" : failed ? "no_longer_proven" : "proven_restorable");
  if (b.kind === "pre_restore_encrypted" || b.kind === "pre_restore_plain") states.push("pre_restore");
  if (b.pinned) states.push("pinned");
  if (v.state === "passed") states.push(v.depth === "deep" ? "deep_verified" : "quick_verified");
  if (v.state === "never") states.push("unverified");
  return { ...b, states };
}

function tile(profile: string, over: Partial<FleetTile> = {}): FleetTile {
  return {
    profile, location: "/opt/x", remote: false, over_ssh: false, status: "ok", problems: [], read_at: "2026-12-02T10:00:00Z", from_cache: false, healthy: true, newest_backup: "b", newest_taken_at: null, newest_age_seconds: 60,
    overdue_after_hours: 26, overdue: false, last_verified_at: null, last_verification_passed: null, storage_bytes: 0, backup_count: 1,
    sizes: [], error_kind: null, last_drill_at: null, last_drill_passed: null, restore_estimate_ms: null,
    drill_overdue_after_days: 8, drill_overdue: false, offsite: null, last_proven: null, encryption: null, ...over,
  };
}

describe("format", () => {
  it("sizes are decimal like the server's size_human", () => {
    // The server's (and the CLI's) own format: one unit system everywhere.
    expect(sizeHuman(0)).toBe("0.00 B");
    expect(sizeHuman(1023)).toBe("1023.00 B");
    expect(sizeHuman(225280)).toBe("220.00 KB");
    expect(sizeHuman(1536)).toBe("1.50 KB");
    expect(sizeHuman(1024 * 1024 * 3 / 2)).toBe("1.50 MB");
    expect(sizeHuman(537436160)).toBe("512.54 MB");
  });
  it("ages read naturally", () => {
    expect(ageHuman(5)).toBe("just now");
    expect(ageHuman(60)).toBe("1 minute ago");
    expect(ageHuman(7200)).toBe("2 hours ago");
    expect(ageHuman(3 * 86400)).toBe("3 days ago");
    expect(ageHuman(-1)).toBe("in the future");
  });
  it("the time comes from the backup name", () => {
    expect(localTime("2026-11-26T02:03:04").getHours()).toBe(2);
    expect(localTime("2026-11-26T02:03:04").getDate()).toBe(26);
    expect(localTime("2026-11-26T02:03:04.123456").getSeconds()).toBe(4);
  });
});

describe("backups", () => {
  const list = [
    item("servers_db_20261120_020000.db.gpg", { verified: { state: "passed", depth: "quick", at: "x", error_kind: null, deep_passed_at: null, by: null } }),
    item("servers_db_20261121_020000.db.gpg", { size: 3000, pinned: true }),
    item("servers_db_20261122_020000.db.gpg", { verified: { state: "failed", depth: "deep", at: "y", error_kind: "checksum_mismatch", deep_passed_at: null, by: null } }),
    item("prerestore_20261123_020000.db.gpg", { kind: "pre_restore_encrypted", size: 2000 }),
    item("servers_db_20261124_020000.db.gpg", { size: 500 }),
  ];
  it("each backup has one category on the timeline", () => {
    expect(list.map(category)).toEqual(["verified", "pinned", "failed", "pre_restore", "unverified"]);
    const t = timeline(list);
    expect(t.verified).toHaveLength(1);
    expect(t.pre_restore[0].y).toBe(2000);
  });
  it("a failed backup is failed first, whatever else holds, and every filter that holds finds it", () => {
    const failed = { state: "failed", depth: "deep", at: "y", error_kind: "wrong_passphrase", deep_passed_at: null, by: null } as const;
    const pinnedFailed = item("servers_db_20261125_020000.db.gpg", { pinned: true, verified: failed });
    const safetyFailed = item("prerestore_20261126_020000.db.gpg", { kind: "pre_restore_encrypted", verified: failed });
    expect(category(pinnedFailed)).toBe("failed");
    expect(category(safetyFailed)).toBe("failed");
    expect(categories(pinnedFailed)).toEqual(["failed", "pinned", ]);
    expect(stateWords(pinnedFailed)).toBe("failed verification · pinned");
    const rows = [...list, pinnedFailed, safetyFailed];
    expect(tableRows(rows, "", "failed", "time", true).map((b) => b.filename)).toEqual([
      "prerestore_20261126_020000.db.gpg", "servers_db_20261125_020000.db.gpg", "servers_db_20261122_020000.db.gpg",
    ]);
    expect(tableRows(rows, "", "pinned", "time", true).map((b) => b.filename)).toContain("servers_db_20261125_020000.db.gpg");
  });
  it("the table filters and sorts", () => {
    expect(tableRows(list, "", "all", "size", true).map((b) => b.size)).toEqual([3000, 2000, 1000, 1000, 500]);
    expect(tableRows(list, "prerestore", "all", "time", true)).toHaveLength(1);
    expect(tableRows(list, "", "failed", "time", true).map((b) => b.filename)).toEqual(["servers_db_20261122_020000.db.gpg"]);
    expect(tableRows(list, "", "all", "time", false)[0].filename).toBe("servers_db_20261120_020000.db.gpg");
  });
});

describe("restore wizard", () => {
  it("a remote report is told apart by its target tag, and every outcome and evidence has words", () => {
    const remote = { target: "remote", outcome: { kind: "data_at_risk", evidence: "database_state", detail: "0-byte" } } as unknown as RestoreDone;
    const local = { target: "local", backup: "b", pre_restore_backup: "p" } as unknown as RestoreDone;
    expect(isRemoteDone(remote)).toBe(true);
    expect(isRemoteDone(local)).toBe(false);
    expect(REMOTE_OUTCOME_TITLE.data_at_risk).toContain("data at risk");
    expect(Object.keys(REMOTE_OUTCOME_TITLE).sort()).toEqual(["data_at_risk", "not_restored", "restored", "unverified"]);
    expect(Object.keys(EVIDENCE_LABEL).sort()).toEqual(["backup_record", "before_only", "database_state", "nothing"]);
  });

  const good = item("servers_db_20261120_020000.db.gpg");
  const failed = item("servers_db_20261121_020000.db.gpg", { verified: { state: "failed", depth: "deep", at: "x", error_kind: "checksum_mismatch", deep_passed_at: null, by: null } });
  it("a local backup must pass verification first", () => {
    expect(restoreBlocker(undefined, null, false)).toMatch(/Choose/);
    expect(restoreBlocker(good, null, false)).toMatch(/Verify/);
    expect(restoreBlocker(good, true, false)).toBeNull();
  });
  it("a backup that failed verification can never be restored", () => {
    expect(restoreBlocker(good, false, false)).toMatch(/failed/);
    expect(restoreBlocker(failed, true, false)).toMatch(/failed/);
    expect(restoreBlocker(failed, null, true)).toMatch(/failed/);
  });
  it("a server's backup goes on to the safeguards", () => {
    expect(restoreBlocker(good, null, true)).toBeNull();
  });
});

describe("fleet", () => {
  it("problems come first", () => {
    const order = fleetOrder([tile("b"), tile("a", { status: "warning" }), tile("c", { status: "error" }), tile("a2")]);
    expect(order.map((t) => t.profile)).toEqual(["c", "a", "a2", "b"]);
  });
  it("the sparkline spans the box", () => {
    expect(sparkline([], 100, 20)).toBe("");
    const pts = sparkline([1, 3, 2], 100, 20).split(" ");
    expect(pts[0]).toBe("0.0,19.0");
    expect(pts[1]).toBe("50.0,1.0");
    expect(pts[2].startsWith("100.0,")).toBe(true);
  });
  it("notifications: failures and overdue only, each once", () => {
    const sent = new Set<string>();
    const tiles = [
      tile("ok"),
      tile("late", { status: "warning", overdue: true, problems: [{ condition: "overdue", message: "older than 26 hours" }] }),
      tile("down", { status: "error", problems: [{ condition: "unreachable", message: "cannot reach" }] }),
    ];
    const first = notificationsFor(tiles, sent);
    expect(first.map((n) => n.title)).toEqual(["late: backup overdue", "down: problem"]);
    first.forEach((n) => sent.add(n.key));
    expect(notificationsFor(tiles, sent)).toEqual([]);
  });
});

describe("retention and progress", () => {
  it("reasons read like the CLI's", () => {
    expect(reasonLabel({ rule: "daily", period: "2026-11-20" })).toBe("daily 2026-11-20");
    expect(reasonLabel({ rule: "newest_deep_verified" })).toBe("newest deep-verified");
  });
  it("the settled footprint counts overlapping slots once", () => {
    expect(settledFootprint({ keep_last: 3, daily: 7, weekly: 4, monthly: 12, pre_restore: 3 }, 1000)).toEqual({ backups: 24, bytes: 24000 });
  });
  it("percent needs a total", () => {
    expect(percent(null)).toBeNull();
    expect(percent({ phase: "encrypt", done: 50, total: null })).toBeNull();
    expect(percent({ phase: "encrypt", done: 50, total: 200 })).toBe(25);
  });
});

describe("errors", () => {
  it("every error becomes {kind, message} with advice by kind", () => {
    expect(asIpcError({ kind: "wrong_passphrase", message: "m" })).toEqual({ kind: "wrong_passphrase", message: "m" });
    expect(asIpcError(new Error("boom")).kind).toBe("unexpected");
    expect(advice("wrong_passphrase")).toMatch(/passphrase/);
    // A kind from a newer core than this UI still gets the general advice.
    expect(advice("something_new" as ErrorKind)).toMatch(/nothing else was changed/);
  });
});

describe("time axis", () => {
  it("a single backup gets half a day either side", () => {
    expect(timeAxis([])).toEqual({});
    expect(timeAxis([0])).toEqual({ min: -43200000, max: 43200000 });
    const span = timeAxis([0, 100 * 86400000]);
    expect(span.min).toBe(-5 * 86400000);
  });
});

describe("restore drills", () => {
  const now = new Date("2026-12-02T12:00:00Z");
  it("the newest drill decides, with the restore estimate", () => {
    expect(drillSummary([item("servers_db_20261201_020000.db.gpg")])).toEqual({ state: "never" });
    const passed = item("servers_db_20261130_020000.db.gpg", { drill: { ok: true, at: "2026-11-30T03:00:00Z", restore_ms: 4200, error_kind: null } });
    const failed = item("servers_db_20261201_020000.db.gpg", { drill: { ok: false, at: "2026-12-01T03:00:00Z", restore_ms: null, error_kind: "backup_altered" } });
    const s = drillSummary([passed]);
    expect(drillText(s, now)).toBe("proven restorable 2 days ago, restore ≈ 4.2 s");
    const worst = drillSummary([failed, passed]);
    expect(worst.state).toBe("failed");
    expect(drillText(worst, now)).toBe("restore drill failed 1 day ago");
    expect(drillText({ state: "never" }, now)).toBe("no restore drill yet");
  });

  it("a drill's proof no longer holds once its backup failed verification since", () => {
    const broken = item("servers_db_20261130_020000.db.gpg", {
      drill: { ok: true, at: "2026-11-30T03:00:00Z", restore_ms: 4200, error_kind: null },
      verified: { state: "failed", depth: "deep", at: "2026-12-02T11:00:00Z", error_kind: "wrong_passphrase", deep_passed_at: null, by: null },
    });
    const s = drillSummary([broken]);
    expect(s.state).toBe("no_longer");
    const words = drillText(s, now);
    expect(words).not.toContain("proven restorable 2");
    expect(words).toBe("not proven restorable: servers_db_20261130_020000.db.gpg, drilled 2 days ago, has failed verification since (wrong passphrase)");
  });

  it("tiles say what drills prove, and a server says why it cannot", () => {
    expect(tileDrillText(tile("a"), now)).toBe("never");
    expect(tileDrillText(tile("s", { remote: true }), now)).toBe("not possible through the API");
    const ok = tile("b", { last_drill_at: "2026-11-30T03:00:00Z", last_drill_passed: true, restore_estimate_ms: 4000 });
    expect(tileDrillText(ok, now)).toBe("proven restorable 2 days ago, restore ≈ 4.0 s");
    expect(tileDrillText({ ...ok, drill_overdue: true }, now)).toContain("(overdue)");
    expect(tileDrillText({ ...ok, last_drill_passed: false }, now)).toBe("failed 2 days ago");
  });

  it("a server never read says unknown, never 'none' or '0 B in 0 backups'", () => {
    const never = tile("gone", { read_at: null, status: "error", healthy: null, newest_backup: null, newest_age_seconds: null, backup_count: 0, storage_bytes: 0,
      problems: [{ condition: "unreachable", message: "connection refused" }] });
    const f = tileFacts(never, now);
    expect(f).toEqual({ health: "unknown", newest: "unknown", verification: "unknown", drill: "unknown", proven: "unknown", storage: "unknown", storageShort: "unknown" });
    const read = tileFacts(tile("empty", { newest_backup: null, newest_age_seconds: null, backup_count: 0 }), now);
    expect(read.newest).toBe("none");
    expect(read.storage).toBe("0.00 B in 0 backups");
  });

  it("a failed or overdue drill is notified once per change", () => {
    const sent = new Set<string>();
    const failed = tile("f", { last_drill_at: "2026-12-01T03:00:00Z", last_drill_passed: false });
    const late = tile("l", { drill_overdue: true });
    const first = notificationsFor([failed, late], sent);
    expect(first.map((n) => n.title)).toEqual(["f: restore drill failed", "l: restore drill overdue"]);
    first.forEach((n) => sent.add(n.key));
    expect(notificationsFor([failed, late], sent)).toEqual([]);
    const again = tile("f", { last_drill_at: "2026-12-02T03:00:00Z", last_drill_passed: false });
    expect(notificationsFor([again], sent).map((n) => n.title)).toEqual(["f: restore drill failed"]);
  });
});

describe("the fleet at scale", () => {
  const fleet = [
    tile("web-01", { location: "https://web-01.example.org:9083" }),
    tile("db-02", { status: "error", problems: [{ condition: "unreachable", message: "refused" }], newest_age_seconds: null }),
    tile("app-03", { status: "warning", problems: [{ condition: "busy", message: "no answer" }], storage_bytes: 9000, newest_age_seconds: 4000 }),
    tile("local", { location: "/srv/monitor", status: "warning", problems: [{ condition: "never_verified", message: "never" }], storage_bytes: 10 }),
  ];
  it("searches names and locations, filters by status or condition, sorts", () => {
    const names = (q: Parameters<typeof fleetView>[1]) => fleetView(fleet, q).map((t) => t.profile);
    expect(names({ search: "", state: "all", sort: "problems" })).toEqual(["db-02", "app-03", "local", "web-01"]);
    expect(names({ search: "EXAMPLE.org", state: "all", sort: "problems" })).toEqual(["web-01"]);
    expect(names({ search: "", state: "warning", sort: "name" })).toEqual(["app-03", "local"]);
    expect(names({ search: "", state: "busy", sort: "problems" })).toEqual(["app-03"]);
    expect(names({ search: "", state: "all", sort: "storage" })[0]).toBe("app-03");
    expect(names({ search: "", state: "all", sort: "newest" })).toEqual(["local", "web-01", "app-03", "db-02"]);
  });
  it("a streamed tile replaces its cached one", () => {
    const cached = fleet.map((t) => ({ ...t, from_cache: true }));
    const next = mergeTile(cached, tile("db-02"));
    expect(next.find((t) => t.profile === "db-02")?.from_cache).toBe(false);
    expect(next).toHaveLength(4);
    expect(mergeTile(cached, tile("new"))).toHaveLength(5);
  });
  it("a cached tile says as of when", () => {
    const now = new Date(2026, 11, 2, 15, 0, 0);
    const at = new Date(2026, 11, 2, 14, 2, 0).toISOString();
    expect(asOf(tile("a", { from_cache: true, read_at: at }), now)).toBe("as of 14:02");
    expect(asOf(tile("a", { from_cache: true, read_at: null }), now)).toBe("never read yet");
    expect(asOf(tile("a"), now)).toBeNull();
    expect(asOf(tile("a", { from_cache: true, read_at: new Date(2026, 10, 30, 9, 5).toISOString() }), now)).toBe("as of 2026-11-30 09:05");
  });
  it("time ticks never repeat: dates a day apart, times within a day", () => {
    const day = new Date(2026, 11, 1, 0, 0).getTime();
    const hours = [0, 4, 8, 12, 16, 20, 24, 28].map((h) => day + h * 3600_000);
    const labels = hours.map((v, i) => timeTick(v, 4 * 3600_000, i > 0 ? hours[i - 1] : null));
    labels.slice(1).forEach((label, i) => expect(label).not.toBe(labels[i]));
    expect(labels[0]).toBe("2026-12-01 00:00");
    expect(labels[1]).toBe("04:00");
    expect(labels[6]).toBe("2026-12-02 00:00");
    const days = [0, 1, 2].map((d) => day + d * 86_400_000);
    expect(days.map((v, i) => timeTick(v, 86_400_000, i > 0 ? days[i - 1] : null))).toEqual(["2026-12-01", "2026-12-02", "2026-12-03"]);
  });
  it("2,000 backups are shown a page at a time", () => {
    const rows = Array.from({ length: 2000 }, (_, i) => i);
    const first = pageOf(rows, 0, 100);
    expect([first.rows.length, first.pages, first.from, first.to]).toEqual([100, 20, 1, 100]);
    const last = pageOf(rows, 99, 100);
    expect([last.page, last.from, last.to]).toEqual([19, 1901, 2000]);
    expect(pageOf([], 0, 100)).toMatchObject({ pages: 1, from: 0, to: 0 });
  });
});

describe("profileLocation", () => {
  const base = { overdue_after_hours: 26, drill_overdue_after_days: 8 };
  it("names each kind of profile by where its backups are", () => {
    expect(profileLocation({ ...base, kind: "local", data_dir: "/opt/server-monitor" })).toBe("/opt/server-monitor");
    expect(profileLocation({ ...base, kind: "remote", base_url: "https://m.example.org", username: "admin" })).toBe("https://m.example.org");
    expect(profileLocation({ ...base, kind: "ssh", destination: "root@m", port: 2222, data_dir: "/opt/sm" })).toBe("ssh://root@m:2222/opt/sm");
    expect(profileLocation({ ...base, kind: "ssh", destination: "m", data_dir: "/opt/sm" })).toBe("ssh://m/opt/sm");
  });
});

describe("shellQuoted", () => {
  it("makes any folder one shell word", () => {
    expect(shellQuoted("/opt/server-monitor")).toBe("'/opt/server-monitor'");
    expect(shellQuoted("/srv/it's here")).toBe("'/srv/it'\\''s here'");
  });
});

describe("rewrapWords", () => {
  const none = { dry_run: false, rewrapped: [], already: [], skipped: [], failed: [], key_ids: ["A1", "B2"], passphrase: false, in_progress: null };
  it("says how many backups were given the policy's ways in, and which ones", () => {
    const words = rewrapWords({ ...none, rewrapped: ["a", "b"], already: ["c"] });
    expect(words).toContain("2 backup(s) given the policy's ways in (2 key packet(s), no passphrase)");
    expect(words).toContain("1 had them already");
    expect(words).toContain("encrypted contents untouched");
    expect(words).not.toContain("Left as they were");
  });
  it("names every backup left as it was, with why, and an unfinished run", () => {
    const words = rewrapWords({
      ...none, passphrase: true, rewrapped: ["a"],
      skipped: [{ filename: "servers_db_20261201_000000.db.gpg", kind: "no_decryption_key", message: "no key here opens it" }],
      in_progress: { stage: "rewrapping", done: 1, total: 3 },
    });
    expect(words).toContain("and the passphrase");
    expect(words).toContain("servers_db_20261201_000000.db.gpg (no key here opens it)");
    expect(words).toContain("run it again to finish");
  });
});

describe("rotationWords", () => {
  const none = { rotated: [], already_rotated: [], skipped: [], failed: [], old_kept: [], in_progress: null };
  it("says the rotation is in progress, N of M, and names every backup not given the new passphrase", () => {
    const words = rotationWords({ ...none, rotated: ["a", "b"], failed: [{ filename: "servers_db_20261201_000000.db.gpg", kind: "backup_folder_full", message: "no space left" }] });
    expect(words).toContain("Rotation in progress: 2 of 3 backup(s) open with the new passphrase");
    expect(words).toContain("servers_db_20261201_000000.db.gpg (no space left)");
    expect(words).toContain("still opens with the old passphrase, which stays stored");
  });
  it("says an unfinished rotation's stage as N of M", () => {
    expect(rotationStateWords({ stage: "adding", done: 3, total: 6 })).toContain("the new passphrase added to 3 of 6 backups");
    expect(rotationStateWords({ stage: "removing", done: 1, total: 6 })).toContain("the old passphrase removed from 1 of 6 backups");
  });
  it("says where the old passphrase is still kept", () => {
    const words = rotationWords({ ...none, rotated: ["a"], old_kept: ["a"] });
    expect(words).toContain("the old one is still in 1 of them (a)");
  });
  it("counts what was rotated and names what was left alone", () => {
    const words = rotationWords({ ...none, rotated: ["a", "b", "c"], skipped: [{ filename: "x.db.gpg", kind: "wrong_passphrase", message: "wrong passphrase" }] });
    expect(words).toContain("The new passphrase given to 3 backup(s)");
    expect(words).toContain("the old one removed from every backup");
    expect(words).toContain("Left alone (opened by neither passphrase): x.db.gpg (wrong passphrase)");
  });
});

describe("backupWords", () => {
  it("says what the automatic retention pruned, by name, and each off-site outcome", () => {
    const made = {
      filename: "servers_db_20261203_120000.db.gpg", path: "/x", size: 2000, size_human: "2.00 KB", checksum: null, timestamp: null, duration_ms: 10,
      warnings: ["the off-site copy to cold failed (the backup is made; `backupdesk offsite push` tries again): denied"],
      offsite: [{ location: "cold", ok: false, copied: 0, error: { kind: "offsite_denied", message: "denied" } }],
      target: "local", meta_path: "/x.meta", leftovers_removed: 0, snapshot: "backup_api",
      pruned: { deleted: ["servers_db_20261101_000000.db.gpg", "servers_db_20261102_000000.db.gpg"], bytes_freed: 3000, failed: [] },
      meta: {},
    } as unknown as Parameters<typeof backupWords>[0];
    const words = backupWords(made);
    expect(words).toContain("Backup created: servers_db_20261203_120000.db.gpg");
    expect(words).toContain("pruned 2 older backup(s) under the retention policy, 2.93 KB freed: servers_db_20261101_000000.db.gpg, servers_db_20261102_000000.db.gpg");
    expect(words).toContain("off-site: cold FAILED — denied");
    expect(words.match(/cold/g)?.length).toBe(1);
  });
});

describe("policyProblems", () => {
  it("refuses negative, fractional, empty and huge counts in the form", () => {
    const ok = { keep_last: 3, daily: 7, weekly: 4, monthly: 12, pre_restore: 3 };
    expect(policyProblems(ok)).toEqual({});
    expect(policyProblems({ ...ok, keep_last: -1 })).toEqual({ keep_last: "cannot be negative" });
    expect(policyProblems({ ...ok, daily: 1.5 })).toEqual({ daily: "a whole number is needed" });
    expect(policyProblems({ ...ok, weekly: null })).toEqual({ weekly: "a number is needed" });
    expect(policyProblems({ ...ok, monthly: 5000 })).toEqual({ monthly: "at most 1000" });
  });
});

describe("the activity log's filters", () => {
  const form = { log: "all" as const, level: "all" as const, search: "", since: "", limit: 500 };
  it("all by default; a log, a level, a day or a minute narrow it", () => {
    expect(activityQuery(form)).toEqual({ since: null, search: "", min_level: null, logs: [], limit: 500 });
    expect(activityQuery({ ...form, log: "verify", level: "warning", since: "2026-12-01" })).toEqual({
      since: "2026-12-01T00:00:00", search: "", min_level: "warning", logs: ["verify"], limit: 500,
    });
    expect(activityQuery({ ...form, since: " 2026-12-01 14:05 " })).toMatchObject({ since: "2026-12-01T14:05:00" });
    expect(activityQuery({ ...form, limit: -3 })).toMatchObject({ limit: 1 });
  });
  it("a date that is not one is said, never sent", () => {
    expect(activityQuery({ ...form, since: "yesterday" })).toBe('"yesterday" is not a date: use YYYY-MM-DD or YYYY-MM-DD HH:MM');
    for (const bad of ["2026-13-45", "2026-02-30", "2026-12-01 25:00", "2026-12-01T10:61"]) expect(typeof activityQuery({ ...form, since: bad })).toBe("string");
  });
});

describe("the restore preview in words", () => {
  const tables = [
    { name: "monitoring_history", backup_rows: 6395, live_rows: 10000 },
    { name: "servers", backup_rows: 20, live_rows: 21 },
    { name: "alerts", backup_rows: 100, live_rows: 88 },
    { name: "system_settings", backup_rows: 5, live_rows: 5 },
    { name: "new_table", backup_rows: null, live_rows: 7 },
  ];
  it("losses are totalled and named, worst first; gains too", () => {
    const l = restoreLosses(tables);
    expect(l.lost).toBe(3613);
    expect(l.lostTables).toEqual([["monitoring_history", 3605], ["new_table", 7], ["servers", 1]]);
    expect(l.sentence).toBe("You lose 3,613 rows in 3 tables (monitoring_history −3,605, new_table −7, servers −1) and get back 12 rows in 1 table. A count unchanged does not mean the content is the same.");
    expect(restoreLosses([tables[3]]).sentence).toMatch(/^You lose no rows by count\./);
  });
  it("a same count is never read as the same content", () => {
    expect(tables.map(tableChangeWords)).toEqual(["−3,605", "−1", "+12", "count unchanged", "only live: 7 rows lost"]);
  });
});

describe("a delete says what it loses", () => {
  it("pinned, newest, drilled, off-site copies", () => {
    const b = item("servers_db_20261201_020000.db.gpg", { pinned: true, drill: { ok: true, at: "2026-12-01T03:00:00Z", restore_ms: 1, error_kind: null } });
    expect(deleteWarnings(b, true, ["cold", "sftp"])).toEqual([
      "it is pinned: retention keeps it on purpose",
      "it is the newest backup",
      "a restore drill proved it restorable",
      "its off-site copies at cold, sftp stay there",
    ]);
    expect(deleteWarnings(item("servers_db_20261101_020000.db.gpg"), false, [])).toEqual([]);
  });
});

describe("jobWhen", () => {
  it("says a crontab line's and a timer's time in words", () => {
    expect(jobWhen("5 3 * * * /usr/bin/backupdesk --data-dir /a backup # backupdesk-backup", "cron")).toBe("daily at 03:05");
    expect(jobWhen("30 14 * * 0 x", "cron")).toBe("Sun at 14:30");
    expect(jobWhen("*-*-* 02:30:00", "systemd")).toBe("daily at 02:30");
    expect(jobWhen("Sun *-*-* 04:30:00", "systemd")).toBe("Sun at 04:30");
  });
  it("keeps what it cannot read as written", () => {
    expect(jobWhen("@daily x", "cron")).toBe("@daily x");
    expect(jobWhen("Mon..Fri 02:00", "systemd")).toBe("Mon..Fri 02:00");
  });
});

describe("emptyTableWords", () => {
  it("never says there are no backups while a filter hides them", () => {
    expect(emptyTableWords(0, "", "all")).toBe("No backups yet.");
    expect(emptyTableWords(1, "x", "all")).toBe('No backup whose name contains "x" among the 1 backup: clear the filter to see them.');
    expect(emptyTableWords(5, "", "failed")).toBe("No backup marked failed verification among the 5 backups: clear the filter to see them.");
    expect(emptyTableWords(5, " y ", "pinned")).toBe('No backup whose name contains "y" and marked pinned among the 5 backups: clear the filter to see them.');
  });
});

describe("policyFormProblem", () => {
  const form = { recipients: "", keepPassphrase: false, recovery: "", recoveryAgain: "", folder: "" };
  it("counts the ways in as core does and refuses fewer than two", () => {
    expect(policyFormProblem({ ...form, recipients: "/k/ops.pub.asc" })).toBe(
      "A policy needs at least two ways in (this one has 1): losing that one key would lose every backup.");
    expect(policyFormProblem({ ...form, recipients: "/k/ops.pub.asc\n\n  \n" , keepPassphrase: true })).toBeNull();
    expect(policyFormProblem({ ...form, recipients: "A\nB" })).toBeNull();
    expect(policyFormProblem({ ...form, recipients: "A", recovery: "r", recoveryAgain: "r", folder: "/k" })).toBeNull();
    expect(formRecipients({ ...form, recipients: " A \n\nB\n" })).toEqual(["A", "B"]);
  });
  it("needs the recovery passphrase twice alike, and a folder for its sheet", () => {
    expect(policyFormProblem({ ...form, recipients: "A", recovery: "r", recoveryAgain: "s", folder: "/k" })).toBe("The two recovery passphrases differ.");
    expect(policyFormProblem({ ...form, recipients: "A", recovery: "r", recoveryAgain: "r", folder: " " })).toBe(
      "Choose the folder the recovery sheet goes to.");
  });
});

describe("keyCreatedWords", () => {
  it("says where the certificate and the recovery sheet went", () => {
    expect(keyCreatedWords({ fingerprint: "AB12", user_id: "Ops", key_ids: ["CD34"], certificate: "/k/Ops.pub.asc", recovery_sheet: "/k/Ops.recovery.txt" })).toBe(
      "Key made: Ops (AB12); its secret part is in the keychain. Certificate: /k/Ops.pub.asc. Recovery sheet: /k/Ops.recovery.txt (readable by you alone): print it, keep the paper safe, then delete the file.");
  });
});

describe("provenText", () => {
  const now = new Date("2026-12-02T12:00:00Z");
  it("says how, when and whose key proved a backup", () => {
    expect(provenText(tile("a"), now)).toBe("never");
    const proof = { at: "2026-12-02T10:00:00Z", backup: "b", drill: true, by: "ops@laptop" };
    expect(provenText(tile("a", { over_ssh: true, last_proven: proof }), now)).toBe("restore drill 2 hours ago, by ops@laptop");
    expect(provenText(tile("a", { over_ssh: true, last_proven: { ...proof, drill: false, by: null } }), now)).toBe(
      "deep verification 2 hours ago, by the server itself");
    expect(provenText(tile("a", { last_proven: { ...proof, by: null } }), now)).toBe("restore drill 2 hours ago, by this machine");
  });
});

describe("encryptionText", () => {
  it("says how new backups are sealed, and nothing when unknown", () => {
    expect(encryptionText(tile("a"))).toBe("");
    expect(encryptionText(tile("a", { encryption: { keys: 0, passphrase: true, problem: null } }))).toBe("passphrase only (one way in)");
    expect(encryptionText(tile("a", { encryption: { keys: 2, passphrase: false, problem: null } }))).toBe("2 key(s), no passphrase: keeps no secret");
    expect(encryptionText(tile("a", { encryption: { keys: 1, passphrase: true, problem: null } }))).toBe("1 key(s) and the passphrase");
    expect(encryptionText(tile("a", { encryption: { keys: 0, passphrase: true, problem: "x" } }))).toBe("policy unusable: backups stop");
  });
});
