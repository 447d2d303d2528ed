// Dates and durations as people read them. Times show in the viewer's own locale and zone.

const UNITS: readonly (readonly [string, number])[] = [
  ["day", 86_400],
  ["hour", 3_600],
  ["minute", 60],
  ["second", 1],
];

/** "1 day", "2 hours 30 minutes", "45 seconds": at most two units, largest first. */
export function formatDuration(totalSeconds: number): string {
  let rest = Math.max(0, Math.round(totalSeconds));
  const parts: string[] = [];
  for (const [unit, size] of UNITS) {
    if (parts.length === 2) break;
    const count = Math.floor(rest / size);
    if (count > 0) {
      parts.push(`${count} ${unit}${count === 1 ? "" : "s"}`);
      rest -= count * size;
    }
  }
  return parts.length === 0 ? "0 seconds" : parts.join(" ");
}

export function formatDateTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? iso
    : date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** "in 4 minutes", "3 hours ago". */
export function formatRelative(iso: string, now: Date = new Date()): string {
  const seconds = (new Date(iso).getTime() - now.getTime()) / 1000;
  if (Number.isNaN(seconds)) return iso;
  const text = formatDuration(Math.abs(seconds)).split(" ").slice(0, 2).join(" ");
  return seconds >= 0 ? `in ${text}` : `${text} ago`;
}
