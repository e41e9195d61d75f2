/** Long operations that outlive the screen that started them: one job per
 *  profile at a time, app-wide. A screen shows its profile's running job
 *  (progress, Cancel) and, once, how the last one ended; the header shows
 *  every running job; `ended` counts finished jobs so screens read their
 *  lists again when one ends (also one started elsewhere). */
import type { Channel } from "@tauri-apps/api/core";
import { api, operation } from "./api";
import { asIpcError } from "./errors";
import type { IpcError } from "./bindings/IpcError";
import type { ProgressEvent } from "./bindings/ProgressEvent";

export type Job = { profile: string; label: string; progress: ProgressEvent | null; op: string };
export type JobEnd = { profile: string; label: string; notice: string | null; error: IpcError | null };

/** Why a second job for a profile is not started. */
export class JobRunning extends Error {
  constructor(readonly job: Job) {
    super(`${job.label} of ${job.profile} is still running: wait for it, or cancel it`);
  }
}

export class Jobs {
  running = $state<Job[]>([]);
  /** How the last job of each profile ended, until its screen took it. */
  last = $state<Record<string, JobEnd>>({});
  /** Bumped when any job ends. */
  ended = $state(0);

  of(profile: string): Job | null {
    return this.running.find((j) => j.profile === profile) ?? null;
  }

  /** Runs `start` as `profile`'s job; `words` says its result. Resolves
   *  with how it ended (also kept in `last` for a screen opened later). */
  async run<T>(
    profile: string,
    label: string,
    start: (op: string, channel: Channel<ProgressEvent>) => Promise<T>,
    words: (result: T) => string,
  ): Promise<JobEnd> {
    const busy = this.of(profile);
    if (busy) throw new JobRunning(busy);
    const { op, onProgress } = operation((e) => this.#update(op, e));
    this.running = [...this.running, { profile, label, progress: null, op }];
    let end: JobEnd;
    try {
      end = { profile, label, notice: words(await start(op, onProgress)), error: null };
    } catch (e) {
      end = { profile, label, notice: null, error: asIpcError(e) };
    }
    this.running = this.running.filter((j) => j.op !== op);
    this.last = { ...this.last, [profile]: end };
    this.ended += 1;
    return end;
  }

  /** How `profile`'s last job ended, once (null when already taken). */
  take(profile: string): JobEnd | null {
    const end = this.last[profile] ?? null;
    if (end) {
      const rest = { ...this.last };
      delete rest[profile];
      this.last = rest;
    }
    return end;
  }

  /** Asks `profile`'s running job to stop (it ends with kind `cancelled`). */
  cancel(profile: string): void {
    const job = this.of(profile);
    if (job) void api.cancel(job.op);
  }

  #update(op: string, event: ProgressEvent) {
    this.running = this.running.map((j) => (j.op === op ? { ...j, progress: event } : j));
  }
}

export const jobs = new Jobs();
