import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { api, operation } from "../src/lib/api";
import { asIpcError } from "../src/lib/errors";
import { OperationRunner } from "../src/lib/operation.svelte";

describe("commands over the mocked IPC", () => {
  const calls: { cmd: string; args: unknown }[] = [];
  beforeEach(() => {
    calls.length = 0;
    mockIPC((cmd, args) => {
      calls.push({ cmd, args });
      if (cmd === "restore_backup") throw { kind: "confirmation_mismatch", message: "type the profile name (lab) to confirm the restore" };
      if (cmd === "list_backups") return [];
      if (cmd === "cancel_operation") return true;
      return null;
    });
  });
  afterEach(() => clearMocks());

  it("arguments use the command's camelCase names", async () => {
    await api.listBackups("lab");
    await api.setPinned("lab", "b.db.gpg", true);
    expect(calls).toEqual([
      { cmd: "list_backups", args: { profile: "lab" } },
      { cmd: "set_pinned", args: { profile: "lab", name: "b.db.gpg", pinned: true } },
    ]);
  });

  it("a refused restore arrives as {kind, message}", async () => {
    const { op, onProgress } = operation(() => {});
    const error = await api.restore("lab", "b.db.gpg", "wrong", op, onProgress).then(() => null, asIpcError);
    expect(error?.kind).toBe("confirmation_mismatch");
  });

  it("operations get distinct ids and can be cancelled", async () => {
    const a = operation(() => {});
    const b = operation(() => {});
    expect(a.op).not.toBe(b.op);
    expect(await api.cancel(a.op)).toBe(true);
    expect(calls.at(-1)).toEqual({ cmd: "cancel_operation", args: { id: a.op } });
  });

  it("the operation runner runs one operation, cancels it by its id, and clears when it ends", async () => {
    const runner = new OperationRunner();
    let seen = "";
    let release = () => {};
    const running = runner.run("Backup", (op) => {
      seen = op;
      return new Promise<string>((resolve) => (release = () => resolve("done")));
    });
    expect(runner.label).toBe("Backup");
    runner.cancel();
    await Promise.resolve();
    expect(calls.at(-1)).toEqual({ cmd: "cancel_operation", args: { id: seen } });
    release();
    expect(await running).toBe("done");
    expect(runner.label).toBeNull();
    const failed = await runner.run("Verify", () => Promise.reject({ kind: "cancelled", message: "m" })).then(() => null, asIpcError);
    expect(failed?.kind).toBe("cancelled");
    expect(runner.label).toBeNull();
  });
});

describe("per-profile data", () => {
  let lists = 0;
  beforeEach(() => {
    lists = 0;
    mockIPC((cmd) => {
      if (cmd === "list_backups") {
        lists += 1;
        return [];
      }
      return null;
    });
  });
  afterEach(() => clearMocks());

  it("is loaded once for every screen, and again after a change", async () => {
    const { profileData } = await import("../src/lib/profileData");
    profileData.invalidate("lab");
    await profileData.backups("lab");
    await profileData.backups("lab");
    expect(lists).toBe(1);
    profileData.invalidate("lab");
    await profileData.backups("lab");
    expect(lists).toBe(2);
    await profileData.backups("other");
    expect(lists).toBe(3);
  });
});
