/** What the "Look inside" screen says, kept out of its components so it can be unit-tested. */
import type { PartialPlan } from "./bindings/PartialPlan";
import type { RowChange } from "./bindings/RowChange";
import type { TableDiff } from "./bindings/TableDiff";
import type { DiffReport } from "./bindings/DiffReport";

/** A cell as shown: NULL for null, text cut at `max` characters (with …), blobs as core wrote them (x'…'). */
export function cellText(value: unknown, max = 120): string {
  if (value === null || value === undefined) return "NULL";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A changed row's key in words: "id = 4", "server_id = 2, tag_id = 7". */
export function keyText(key: unknown[], primaryKey: string[]): string {
  return key.map((v, i) => `${primaryKey[i] ?? `key ${i + 1}`} = ${cellText(v, 40)}`).join(", ");
}

/** One table compared, in words: "only in the old", "+3 −1 ~2 rows", "no change", and its column changes. */
export function diffWords(t: TableDiff, oldName = "the old", newName = "the new"): string {
  if (t.rows_new === null) return `only in ${oldName}`;
  if (t.rows_old === null) return `only in ${newName}`;
  const parts: string[] = [];
  if (t.inserted) parts.push(`${t.inserted.toLocaleString("en")} inserted`);
  if (t.deleted) parts.push(`${t.deleted.toLocaleString("en")} deleted`);
  if (t.updated) parts.push(`${t.updated.toLocaleString("en")} updated`);
  if (t.columns_added.length) parts.push(`columns added: ${t.columns_added.join(", ")}`);
  if (t.columns_dropped.length) parts.push(`columns dropped: ${t.columns_dropped.join(", ")}`);
  if (t.note) parts.push(t.note);
  return parts.length ? parts.join(" · ") : "no change";
}

/** Whether a compared table differs at all. */
export function differs(t: TableDiff): boolean {
  return t.rows_old === null || t.rows_new === null || diffWords(t) !== "no change";
}

/** The changed columns of a row, by name (an update's changed cells). */
export function changedCells(change: RowChange): Map<string, { old: unknown; new: unknown }> {
  return new Map(change.columns.map((c) => [c.column, { old: c.old, new: c.new }]));
}

/** What a partial restore does (or did), in one sentence: "Inserts 1 row and updates 4 rows in servers; nothing else changes." */
export function planSentence(plan: PartialPlan, done = false): string {
  const n = (x: number, what: string) => `${x.toLocaleString("en")} ${what}${x === 1 ? "" : "s"}`;
  const verbs = done ? ["inserted", "updated", "deleted"] : ["inserts", "updates", "deletes"];
  const each = plan.tables
    .map((t) => {
      const acts = [
        t.insert ? `${verbs[0]} ${n(t.insert, "row")}` : null,
        t.update ? `${verbs[1]} ${n(t.update, "row")}` : null,
        t.delete ? `${verbs[2]} ${n(t.delete, "row")}` : null,
      ].filter((a) => a !== null);
      return acts.length ? `${t.table}${t.parent ? " (referenced rows)" : ""}: ${acts.join(", ")}` : null;
    })
    .filter((w) => w !== null);
  if (each.length === 0) return done ? "Nothing needed changing: live already held these rows." : "Nothing to change: live already holds these rows.";
  return `${each.join("; ")}. Every other row stays as it is.`;
}

/** What a full restore of the backup does to live, by primary key, from the backup (old)
 *  compared with live (new): rows deleted since come back, rows inserted since go, rows
 *  changed since are put back. Per table, worst (most rows lost) first, and in one sentence
 *  ("Restoring brings back 91 alerts rows; removes 500 newer monitoring_history rows;
 *  puts back 8 servers rows as they were."). */
export function restoreChanges(report: DiffReport): { tables: { table: string; words: string }[]; sentence: string } {
  const n = (x: number) => x.toLocaleString("en");
  const rows = (x: number, table: string) => `${n(x)} ${table} row${x === 1 ? "" : "s"}`;
  const back: string[] = [];
  const removed: string[] = [];
  const reverted: string[] = [];
  const tables: { table: string; words: string; lost: number }[] = [];
  for (const t of report.tables) {
    if (t.rows_old === null) {
      tables.push({ table: t.table, words: `removed (only live has this table): ${n(t.rows_new ?? 0)} rows lost`, lost: t.rows_new ?? 0 });
      removed.push(`the table ${t.table}`);
      continue;
    }
    if (t.rows_new === null) {
      tables.push({ table: t.table, words: `brought back (live lacks this table): ${n(t.rows_old)} rows`, lost: 0 });
      back.push(`the table ${t.table}`);
      continue;
    }
    const words = [
      t.deleted ? `brings back ${n(t.deleted)}` : null,
      t.inserted ? `removes ${n(t.inserted)} newer` : null,
      t.updated ? `puts back ${n(t.updated)} changed` : null,
    ].filter((w) => w !== null);
    if (t.deleted) back.push(rows(t.deleted, t.table));
    if (t.inserted) removed.push(`${n(t.inserted)} newer ${t.table} row${t.inserted === 1 ? "" : "s"}`);
    if (t.updated) reverted.push(rows(t.updated, t.table));
    if (words.length) tables.push({ table: t.table, words: words.join(", "), lost: t.inserted + t.updated });
  }
  tables.sort((a, b) => b.lost - a.lost || a.table.localeCompare(b.table));
  const list = (items: string[]) => (items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`);
  const parts = [
    back.length ? `brings back ${list(back)}` : null,
    removed.length ? `removes ${list(removed)}` : null,
    reverted.length ? `puts back ${list(reverted)} as they were` : null,
  ].filter((p) => p !== null);
  const sentence = parts.length ? `Restoring ${parts.join("; ")}.` : "Restoring changes no row: live holds what the backup holds.";
  return { tables: tables.map(({ table, words }) => ({ table, words })), sentence };
}
