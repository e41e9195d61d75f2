import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { api, operation } from "../src/lib/api";
import { asIpcError } from "../src/lib/errors";
import { OperationRunner } from "../src/lib/operation.svelte";
import { JobRunning, Jobs } from "../src/lib/jobs.svelte";

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

describe("jobs that outlive the screen", () => {
  const calls: { cmd: string; args: unknown }[] = [];
  beforeEach(() => {
    calls.length = 0;
    mockIPC((cmd, args) => {
      calls.push({ cmd, args });
      return true;
    });
  });
  afterEach(() => clearMocks());

  it("one job per profile, shown while it runs, its end kept until a screen takes it", async () => {
    const jobs = new Jobs();
    let release = () => {};
    let seen = "";
    const backup = jobs.run("lab", "Backup", (op) => {
      seen = op;
      return new Promise<number>((resolve) => (release = () => resolve(3)));
    }, (n) => `Backup created, ${n} pruned`);
    expect(jobs.of("lab")?.label).toBe("Backup");
    expect(jobs.of("other")).toBeNull();
    // A second job for the same profile is refused, saying which runs.
    const second = await jobs.run("lab", "Verify", () => Promise.resolve(0), () => "").then(() => null, (e) => e);
    expect(second).toBeInstanceOf(JobRunning);
    expect((second as Error).message).toContain("Backup of lab is still running");
    // Another profile's job runs beside it.
    await jobs.run("other", "Verify", () => Promise.resolve(1), () => "verified");
    expect(jobs.ended).toBe(1);
    jobs.cancel("lab");
    expect(calls.at(-1)).toEqual({ cmd: "cancel_operation", args: { id: seen } });
    release();
    const end = await backup;
    expect(end).toEqual({ profile: "lab", label: "Backup", notice: "Backup created, 3 pruned", error: null });
    expect(jobs.running).toEqual([]);
    expect(jobs.ended).toBe(2);
    // The screen opened later takes it once.
    expect(jobs.take("lab")?.notice).toBe("Backup created, 3 pruned");
    expect(jobs.take("lab")).toBeNull();
    const failed = await jobs.run("lab", "Drill", () => Promise.reject({ kind: "cancelled", message: "stopped" }), () => "");
    expect(failed.error?.kind).toBe("cancelled");
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
