/** Desktop notifications: failures and overdue backups only, each once. */
import { isPermissionGranted, requestPermission, sendNotification } from "@tauri-apps/plugin-notification";
import type { FleetTile } from "./bindings/FleetTile";
import { notificationsFor } from "./views";

const sent = new Set<string>();

export async function notifyFleet(tiles: FleetTile[]): Promise<number> {
  const pending = notificationsFor(tiles, sent);
  if (pending.length === 0) return 0;
  let granted = false;
  try {
    granted = (await isPermissionGranted()) || (await requestPermission()) === "granted";
  } catch {
    granted = false;
  }
  for (const n of pending) {
    sent.add(n.key);
    if (granted) sendNotification({ title: n.title, body: n.body });
  }
  return pending.length;
}

/** A failed long operation. */
export async function notifyFailure(title: string, body: string): Promise<void> {
  try {
    if ((await isPermissionGranted()) || (await requestPermission()) === "granted") sendNotification({ title, body });
  } catch {
    /* no notification daemon: the error is on screen anyway */
  }
}
