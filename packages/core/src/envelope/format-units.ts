// Largest unit first, so 7200 seconds reads "2 hours" rather than "120 minutes".
const UNITS = [
  ["week", 604_800],
  ["day", 86_400],
  ["hour", 3_600],
  ["minute", 60],
  ["second", 1],
] as const;

function splitSeconds(seconds: number): { count: number; unit: string } {
  const [unit, size] = UNITS.find(([, size]) => seconds % size === 0) ?? ["second", 1];
  return { count: seconds / size, unit };
}

/** "1 request", "2 requests": English plurals of the nouns used here. */
export function formatCount(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** "1 minute", "10 minutes", "90 seconds". */
export function formatDuration(seconds: number): string {
  const { count, unit } = splitSeconds(seconds);
  return formatCount(count, unit);
}

/**
 * A fixed window as a rate: "a minute" / "an hour" with `"a"`, "per minute" with `"per"`, and
 * "per 90 seconds" or "per 2 hours" for anything that is not one whole unit.
 */
export function formatWindow(seconds: number, style: "a" | "per"): string {
  const { count, unit } = splitSeconds(seconds);
  if (count !== 1) return `per ${formatDuration(seconds)}`;
  if (style === "per") return `per ${unit}`;
  return unit === "hour" ? "an hour" : `a ${unit}`;
}
