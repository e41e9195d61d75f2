/** Human-readable sizes and times, shared by every screen. */

const UNITS = ["B", "KB", "MB", "GB", "TB"];

/** 1536 -> "1.50 KB": 1024-based with two decimals and the server's unit
 *  names, exactly as the server's size_human and the CLI write sizes
 *  (contract §3), so one backup has one size everywhere. */
export function sizeHuman(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "?";
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(2)} ${UNITS[unit]}`;
}

/** Seconds -> "just now", "5 minutes ago", "3 hours ago", "2 days ago". */
export function ageHuman(seconds: number): string {
  if (seconds < 0) return "in the future";
  if (seconds < 60) return "just now";
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"} ago`;
  if (seconds < 3600) return plural(Math.floor(seconds / 60), "minute");
  if (seconds < 86400) return plural(Math.floor(seconds / 3600), "hour");
  return plural(Math.floor(seconds / 86400), "day");
}

/** A naive local date-time from Rust (`taken_at`: "2026-11-26T02:00:00",
 * the time in a backup's name, which core parsed) as a local Date. */
export function localTime(naive: string): Date {
  const [date, time = "00:00:00"] = naive.split("T");
  const [y, mo, d] = date.split("-").map(Number);
  const [h, mi, s] = time.split(":").map((part) => Math.floor(Number(part)));
  return new Date(y, mo - 1, d, h, mi, s);
}

/** Seconds between `then` and `now`. */
export function secondsSince(then: Date, now: Date = new Date()): number {
  return Math.floor((now.getTime() - then.getTime()) / 1000);
}

/** "2026-11-26 02:00:00" for a tooltip. */
export function absolute(date: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())} ${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}`;
}
