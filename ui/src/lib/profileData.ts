/** Per-profile data, loaded once and shared by every screen: the backup
 * list and the retention policy. A screen that changes something (a
 * backup, a verification, a pin, a delete, a restore, a new policy) calls
 * `invalidate(profile)`, and the next read loads afresh. What changes
 * outside the app (the scheduled backup, the CLI) shows within `FRESH_MS`:
 * older entries are loaded again. A failed load is not kept. */
import { api } from "./api";
import type { ListItem } from "./bindings/ListItem";
import type { RetentionPolicy } from "./bindings/RetentionPolicy";

/** How long a loaded entry is used without asking again. */
export const FRESH_MS = 15_000;

const cache = new Map<string, { at: number; value: Promise<unknown> }>();

function cached<T>(key: string, load: () => Promise<T>): Promise<T> {
  const hit = cache.get(key);
  if (hit && Date.now() - hit.at < FRESH_MS) return hit.value as Promise<T>;
  const value = load();
  const entry = { at: Date.now(), value };
  cache.set(key, entry);
  value.catch(() => {
    if (cache.get(key) === entry) cache.delete(key);
  });
  return value;
}

export const profileData = {
  backups: (profile: string): Promise<ListItem[]> => cached(`${profile}\0backups`, () => api.listBackups(profile)),
  retentionPolicy: (profile: string): Promise<RetentionPolicy> =>
    cached(`${profile}\0retention`, () => api.retentionPolicy(profile)),
  /** Forgets what was loaded for `profile` (after a change). */
  invalidate(profile: string): void {
    for (const key of [...cache.keys()]) if (key.startsWith(`${profile}\0`)) cache.delete(key);
  },
};
