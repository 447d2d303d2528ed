const LEVELS: Readonly<Record<number, string>> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO ",
  40: "WARN ",
  50: "ERROR",
  60: "FATAL",
};
// pino's own fields, shown in the line's layout rather than as key=value pairs.
const LAYOUT_FIELDS = new Set(["level", "time", "msg", "pid", "hostname", "service", "v"]);

/** One output line of a service, as the launcher shows it. */
export interface FormattedLine {
  /** Which part wrote it: a pino line's `service`, else the process's name. */
  readonly source: string;
  readonly text: string;
}

/**
 * Makes a service's output line readable: a pino JSON line becomes
 * `12:04:05.123 INFO  registry listening url=http://localhost:4000 redis=false` (an error
 * field shows its message), anything else is kept as it is.
 */
export function formatLogLine(line: string, processName: string): FormattedLine {
  const record = parseRecord(line);
  if (record === undefined) return { source: processName, text: line };
  const source = typeof record.service === "string" ? record.service : processName;
  const time = typeof record.time === "number" ? new Date(record.time) : undefined;
  const level =
    typeof record.level === "number" ? (LEVELS[record.level] ?? String(record.level)) : "";
  const fields = Object.entries(record)
    .filter(([key]) => !LAYOUT_FIELDS.has(key))
    .map(([key, value]) => `${key}=${show(value)}`);
  const parts = [
    time === undefined ? undefined : time.toISOString().slice(11, 23),
    level,
    typeof record.msg === "string" ? record.msg : undefined,
    ...fields,
  ].filter((part): part is string => part !== undefined && part !== "");
  return { source, text: parts.join(" ") };
}

function parseRecord(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function show(value: unknown): string {
  if (typeof value === "string") return /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  if (typeof value === "object" && value !== null && "message" in value) {
    const { message } = value as { message: unknown };
    if (typeof message === "string") return JSON.stringify(message);
  }
  return JSON.stringify(value) ?? String(value);
}
