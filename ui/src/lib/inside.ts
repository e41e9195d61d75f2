/** What the "Look inside" screen says, kept out of its components so it can be unit-tested. */
import type { PartialPlan } from "./bindings/PartialPlan";
import type { RowChange } from "./bindings/RowChange";
import type { TableDiff } from "./bindings/TableDiff";

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
