/** The one runner of long operations (backup, verify, restore): an id to
 * cancel by, the progress channel, the latest progress event, and whether
 * it runs. Screens show `progress` and call `cancel()`; the result or the
 * error comes back from `run`. */
import type { Channel } from "@tauri-apps/api/core";
import { api, operation } from "./api";
import type { ProgressEvent } from "./bindings/ProgressEvent";

export class OperationRunner {
  /** The running operation's label, or null when none runs. */
  label = $state<string | null>(null);
  /** Its latest progress event. */
  progress = $state<ProgressEvent | null>(null);
  #op: string | null = null;

  /** Runs `start` with a fresh operation id and progress channel; one at a time. */
  async run<T>(label: string, start: (op: string, channel: Channel<ProgressEvent>) => Promise<T>): Promise<T> {
    this.progress = null;
    const { op, onProgress } = operation((e) => (this.progress = e));
    this.#op = op;
    this.label = label;
    try {
      return await start(op, onProgress);
    } finally {
      this.#op = null;
      this.label = null;
    }
  }

  /** Asks the running operation to stop (it ends with kind `cancelled`). */
  cancel(): void {
    if (this.#op) void api.cancel(this.#op);
  }
}
