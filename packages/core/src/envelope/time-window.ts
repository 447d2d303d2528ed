import { type TimeWindow, WEEKDAYS } from "./envelope.js";

const MINUTES_PER_DAY = 24 * 60;
export const MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY;

const CLOCK_TIME = /^([01][0-9]|2[0-3]):([0-5][0-9])$/;
// IANA names are letters, digits and _+-/ ("Etc/GMT+5"); this also rules out offsets like
// "+01:00", which some runtimes accept but which are not zones and have no DST.
const TIME_ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/;
const MAX_TIME_ZONE_LENGTH = 64;
// Intl formatters are slow to build and validation and evaluation need one per zone on every
// request, so they are kept per zone name. The cap bounds memory should many spellings show up
// ("Europe/Paris", "europe/paris", …).
const MAX_CACHED_ZONES = 512;
const zones = new Map<string, Zone>();

/** Short English day names in WEEKDAYS order; also what the en-US formatter prints. */
export const WEEKDAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] as const;
const WEEKDAY_INDEX = new Map(WEEKDAY_NAMES.map((name, index) => [name as string, index]));

/** Minutes since midnight of an "HH:MM" time (00:00–23:59), or `undefined` if malformed. */
export function parseClockTime(text: string): number | undefined {
  const match = typeof text === "string" ? CLOCK_TIME.exec(text) : null;
  if (match === null) return undefined;
  return Number(match[1]) * 60 + Number(match[2]);
}

/** Whether this runtime knows `name` as an IANA time zone. */
export function isKnownTimeZone(name: string): boolean {
  return getZone(name) !== undefined;
}

/**
 * Local wall-clock minute of the week (Monday 00:00 is 0) of instant `now` in `timeZone`, as the
 * zone's rules (DST included) have it, or `undefined` for a zone this runtime does not know.
 */
export function localMinuteOfWeek(now: Date, timeZone: string): number | undefined {
  const zone = getZone(timeZone);
  if (zone === undefined) return undefined;
  // Zone offsets are whole seconds, so the local minute cannot change within a UTC second:
  // under load most calls reuse the last answer instead of formatting (~10 µs) again.
  const second = Math.floor(now.getTime() / 1000);
  if (zone.second === second) return zone.minuteOfWeek;
  let day: number | undefined;
  let hour = 0;
  let minute = 0;
  for (const part of zone.formatter.formatToParts(now)) {
    if (part.type === "weekday") day = WEEKDAY_INDEX.get(part.value);
    else if (part.type === "hour") hour = Number(part.value);
    else if (part.type === "minute") minute = Number(part.value);
  }
  if (day === undefined) return undefined;
  zone.second = second;
  zone.minuteOfWeek = day * MINUTES_PER_DAY + hour * 60 + minute;
  return zone.minuteOfWeek;
}

interface Zone {
  formatter: Intl.DateTimeFormat;
  /** The last UTC second asked about, and its answer. */
  second: number;
  minuteOfWeek: number;
}

function getZone(timeZone: string): Zone | undefined {
  const cached = zones.get(timeZone);
  if (cached !== undefined) return cached;
  if (
    typeof timeZone !== "string" ||
    timeZone.length > MAX_TIME_ZONE_LENGTH ||
    !TIME_ZONE_NAME.test(timeZone)
  ) {
    return undefined;
  }
  let formatter: Intl.DateTimeFormat;
  try {
    formatter = createFormatter(timeZone);
  } catch {
    return undefined; // RangeError: unknown time zone
  }
  if (zones.size >= MAX_CACHED_ZONES) zones.clear();
  const zone = { formatter, second: Number.NaN, minuteOfWeek: 0 };
  zones.set(timeZone, zone);
  return zone;
}

function createFormatter(timeZone: string): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat("en-US", {
    timeZone,
    weekday: "short",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  });
}

/** A stretch of the week: its first minute-of-week and its length in minutes. */
export interface WeeklyInterval {
  opensAt: number;
  length: number;
}

/**
 * The stretches of the week a window covers, one per day: from `start` on that day for the
 * window's length, running past midnight (and past Sunday into Monday) when `end` is before
 * `start`. A malformed window covers nothing. Evaluation and narrowing both build on this.
 */
export function listWeeklyIntervals(window: TimeWindow): WeeklyInterval[] {
  const start = parseClockTime(window.start);
  const end = parseClockTime(window.end);
  if (start === undefined || end === undefined || start === end) return [];
  const length = (end - start + MINUTES_PER_DAY) % MINUTES_PER_DAY;
  return window.days.flatMap((day) => {
    const index = WEEKDAYS.indexOf(day);
    return index < 0 ? [] : [{ opensAt: index * MINUTES_PER_DAY + start, length }];
  });
}

/** Whether local minute-of-week `minute` lies in `window`. */
export function windowCovers(window: TimeWindow, minute: number): boolean {
  return listWeeklyIntervals(window).some(
    ({ opensAt, length }) => (minute - opensAt + MINUTES_PER_WEEK) % MINUTES_PER_WEEK < length,
  );
}

/** "Mon 08:05" for a minute of the week. */
export function formatMinuteOfWeek(minute: number): string {
  const day = WEEKDAY_NAMES[Math.floor(minute / MINUTES_PER_DAY)] ?? "?";
  const ofDay = minute % MINUTES_PER_DAY;
  return `${day} ${formatClockTime(ofDay)}`;
}

function formatClockTime(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
}
