import { describe, expect, it } from "vitest";
import {
  formatMinuteOfWeek,
  isKnownTimeZone,
  listWeeklyIntervals,
  localMinuteOfWeek,
  parseClockTime,
  windowCovers,
} from "./time-window.js";

const DAY = 24 * 60;

describe("parseClockTime", () => {
  it("reads HH:MM from 00:00 to 23:59 only", () => {
    expect(parseClockTime("00:00")).toBe(0);
    expect(parseClockTime("23:59")).toBe(23 * 60 + 59);
    for (const text of ["24:00", "9:00", "09:60", "09:00:00", " 09:00", "0900", ""]) {
      expect(parseClockTime(text), text).toBeUndefined();
    }
  });
});

describe("isKnownTimeZone", () => {
  it("accepts IANA names the runtime knows", () => {
    for (const name of ["Europe/Paris", "America/Argentina/Buenos_Aires", "UTC", "Etc/GMT+5"]) {
      expect(isKnownTimeZone(name), name).toBe(true);
    }
  });

  it("rejects unknown names, offsets and junk", () => {
    for (const name of [
      "Mars/Olympus_Mons",
      "+01:00",
      "UTC+1",
      "",
      "Europe/Paris ",
      "x".repeat(65),
      "../etc",
    ]) {
      expect(isKnownTimeZone(name), name).toBe(false);
    }
  });
});

describe("localMinuteOfWeek", () => {
  it("counts from Monday 00:00 local time", () => {
    expect(localMinuteOfWeek(new Date("2026-03-02T00:00:00Z"), "UTC")).toBe(0);
    expect(localMinuteOfWeek(new Date("2026-03-08T23:59:59Z"), "UTC")).toBe(7 * DAY - 1);
    expect(localMinuteOfWeek(new Date("2026-03-01T23:30:00Z"), "Europe/Paris")).toBe(30); // Mon 00:30
    expect(localMinuteOfWeek(new Date("2026-03-02T00:30:00Z"), "America/New_York")).toBe(
      6 * DAY + 19 * 60 + 30,
    );
  });

  it("returns undefined for unknown zones", () => {
    expect(
      localMinuteOfWeek(new Date("2026-03-02T00:00:00Z"), "Mars/Olympus_Mons"),
    ).toBeUndefined();
  });
});

describe("windowCovers", () => {
  const window = (days: ("mon" | "sat" | "sun")[], start: string, end: string) => ({
    days,
    start,
    end,
    time_zone: "UTC",
  });

  it("covers start inclusive to end exclusive", () => {
    expect(windowCovers(window(["mon"], "09:00", "17:00"), 9 * 60)).toBe(true);
    expect(windowCovers(window(["mon"], "09:00", "17:00"), 17 * 60 - 1)).toBe(true);
    expect(windowCovers(window(["mon"], "09:00", "17:00"), 17 * 60)).toBe(false);
    expect(windowCovers(window(["mon"], "09:00", "17:00"), DAY + 10 * 60)).toBe(false);
  });

  it("wraps past midnight and from Sunday into Monday", () => {
    const sundayNight = window(["sun"], "22:00", "02:00");
    expect(listWeeklyIntervals(sundayNight)).toEqual([{ opensAt: 6 * DAY + 22 * 60, length: 240 }]);
    expect(windowCovers(sundayNight, 6 * DAY + 23 * 60)).toBe(true);
    expect(windowCovers(sundayNight, 60)).toBe(true); // Monday 01:00
    expect(windowCovers(sundayNight, 120)).toBe(false);
    expect(windowCovers(sundayNight, 6 * DAY + 60)).toBe(false); // Sunday 01:00 belongs to Saturday
  });

  it("covers nothing when malformed", () => {
    expect(windowCovers(window(["mon"], "09:00", "09:00"), 9 * 60)).toBe(false);
    expect(windowCovers(window(["mon"], "9:00", "17:00"), 10 * 60)).toBe(false);
    expect(
      listWeeklyIntervals({
        days: ["monday" as "mon"],
        start: "09:00",
        end: "17:00",
        time_zone: "UTC",
      }),
    ).toEqual([]);
  });
});

describe("formatMinuteOfWeek", () => {
  it("names the day and time", () => {
    expect(formatMinuteOfWeek(0)).toBe("Mon 00:00");
    expect(formatMinuteOfWeek(6 * DAY + 23 * 60 + 59)).toBe("Sun 23:59");
  });
});
