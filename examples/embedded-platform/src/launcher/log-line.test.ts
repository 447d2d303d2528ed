import { describe, expect, it } from "vitest";
import { formatLogLine } from "./log-line.js";

describe("formatLogLine", () => {
  it("lays a pino line out as time, level, message and fields, labelled by its service", () => {
    const line = JSON.stringify({
      level: 30,
      time: Date.UTC(2026, 0, 2, 12, 4, 5, 123),
      pid: 42,
      hostname: "box",
      service: "verifier",
      url: "http://localhost:4100",
      redis: false,
      msg: "verifier listening",
    });
    expect(formatLogLine(line, "platform")).toEqual({
      source: "verifier",
      text: "12:04:05.123 INFO  verifier listening url=http://localhost:4100 redis=false",
    });
  });

  it("shows an error field by its message and quotes values with spaces", () => {
    const line = JSON.stringify({
      level: 40,
      service: "registry",
      err: { type: "Error", message: "connection refused", stack: "Error: …" },
      reason: "two words",
      msg: "redis connection error",
    });
    expect(formatLogLine(line, "x").text).toBe(
      'WARN  redis connection error err="connection refused" reason="two words"',
    );
  });

  it("keeps the process name for a line without a service, and plain text as it is", () => {
    expect(formatLogLine(JSON.stringify({ level: 50, msg: "boom" }), "exchange")).toEqual({
      source: "exchange",
      text: "ERROR boom",
    });
    expect(formatLogLine("  http://localhost:4000/enrol#abc", "platform")).toEqual({
      source: "platform",
      text: "  http://localhost:4000/enrol#abc",
    });
    expect(formatLogLine("{not json", "platform").text).toBe("{not json");
  });
});
