import { describe, expect, it } from "vitest";
import type { TableDiff } from "../src/lib/bindings/TableDiff";
import type { PartialPlan } from "../src/lib/bindings/PartialPlan";
import { cellText, changedCells, differs, diffWords, keyText, planSentence, restoreChanges } from "../src/lib/inside";

function diff(over: Partial<TableDiff>): TableDiff {
  return {
    table: "servers", rows_old: 10, rows_new: 10, inserted: 0, deleted: 0, updated: 0,
    columns_added: [], columns_dropped: [], note: null, changes: [], more: false, ...over,
  };
}

describe("cells and keys", () => {
  it("shows NULL, numbers, text cut with an ellipsis", () => {
    expect(cellText(null)).toBe("NULL");
    expect(cellText(42)).toBe("42");
    expect(cellText("x'00ff'")).toBe("x'00ff'");
    expect(cellText("abcdef", 4)).toBe("abc…");
  });
  it("names each key column", () => {
    expect(keyText([4], ["id"])).toBe("id = 4");
    expect(keyText([2, 7], ["server_id", "tag_id"])).toBe("server_id = 2, tag_id = 7");
  });
});

describe("a table compared", () => {
  it("says what changed, or that nothing did", () => {
    expect(diffWords(diff({}))).toBe("no change");
    expect(differs(diff({}))).toBe(false);
    expect(diffWords(diff({ inserted: 1, deleted: 1200, updated: 3 }))).toBe("1 inserted · 1,200 deleted · 3 updated");
    expect(diffWords(diff({ rows_new: null }), "the backup", "live")).toBe("only in the backup");
    expect(diffWords(diff({ rows_old: null }), "the backup", "live")).toBe("only in live");
    expect(diffWords(diff({ columns_added: ["note"] }))).toBe("columns added: note");
    expect(differs(diff({ columns_added: ["note"] }))).toBe(true);
  });
  it("finds an update's changed cells by column", () => {
    const cells = changedCells({ change: "updated", key: [3], columns: [{ column: "status", old: "up", new: "maintenance" }] });
    expect(cells.get("status")).toEqual({ old: "up", new: "maintenance" });
    expect(cells.has("name")).toBe(false);
  });
});

describe("a partial restore's plan", () => {
  const plan = (tables: PartialPlan["tables"]): PartialPlan => ({ backup: "b", mode: "merge", where_sql: null, tables });
  it("says per table what it inserts, updates and deletes", () => {
    expect(planSentence(plan([
      { table: "servers", insert: 1, update: 4, delete: 0, parent: false, referenced_by: ["alerts"] },
      { table: "groups", insert: 2, update: 0, delete: 0, parent: true, referenced_by: [] },
    ]))).toBe("servers: inserts 1 row, updates 4 rows; groups (referenced rows): inserts 2 rows. Every other row stays as it is.");
    expect(planSentence(plan([{ table: "tags", insert: 0, update: 0, delete: 1, parent: false, referenced_by: [] }]), true))
      .toBe("tags: deleted 1 row. Every other row stays as it is.");
  });
  it("never says it changes something when nothing differs", () => {
    expect(planSentence(plan([{ table: "tags", insert: 0, update: 0, delete: 0, parent: false, referenced_by: [] }])))
      .toBe("Nothing to change: live already holds these rows.");
  });
});

describe("what a full restore changes, by key", () => {
  it("names what comes back, what goes, what is put back, worst first", () => {
    const report = {
      old: "b", new: "live", changed_tables: 3,
      tables: [
        diff({ table: "alerts", rows_old: 182, rows_new: 91, deleted: 91 }),
        diff({ table: "monitoring_history", rows_old: 75000, rows_new: 75500, inserted: 500 }),
        diff({ table: "servers", updated: 8 }),
        diff({ table: "tags", inserted: 1 }),
        diff({ table: "users" }),
      ],
    };
    const changes = restoreChanges(report);
    expect(changes.sentence).toBe(
      "Restoring brings back 91 alerts rows; removes 500 newer monitoring_history rows and 1 newer tags row; puts back 8 servers rows as they were.",
    );
    expect(changes.tables.map((t) => t.table)).toEqual(["monitoring_history", "servers", "tags", "alerts"]);
    expect(changes.tables[0].words).toBe("removes 500 newer");
  });
  it("says when nothing changes", () => {
    expect(restoreChanges({ old: "b", new: "live", changed_tables: 0, tables: [diff({})] }).sentence)
      .toBe("Restoring changes no row: live holds what the backup holds.");
  });
});
