import { describe, expect, it } from "vitest";
import { containsResource, isResourceWithin, parseResource, type Resource } from "./resource.js";

function parsed(text: string): Resource {
  const result = parseResource(text);
  if (!result.ok) throw new Error(`${text}: ${result.problem}`);
  return result.resource;
}

describe("parseResource", () => {
  it("splits resources and patterns into segments", () => {
    expect(parsed("calendar/work")).toEqual({ prefix: ["calendar", "work"], wildcard: false });
    expect(parsed("calendar/*")).toEqual({ prefix: ["calendar"], wildcard: true });
    expect(parsed("*")).toEqual({ prefix: [], wildcard: true });
    expect(parsed("a.b~c:d@e-f_g/0")).toEqual({ prefix: ["a.b~c:d@e-f_g", "0"], wildcard: false });
    expect(parsed("x".repeat(256)).prefix).toEqual(["x".repeat(256)]);
  });

  it.each([
    ["", "segment 1 is empty"],
    ["/calendar", "segment 1 is empty"],
    ["calendar/", "segment 2 is empty"],
    ["a//b", "segment 2 is empty"],
    ["*/work", "segment 1 is '*', which is only allowed as the last segment"],
    ["a/*/b", "segment 2 is '*', which is only allowed as the last segment"],
    ["cal*", "segment 1 mixes '*' with other characters"],
    ["calendar/**", "segment 2 mixes '*' with other characters"],
    ["a/./b", "segment 2 is '.'"],
    ["a/..", "segment 2 is '..'"],
    ["a b", "segment 1 has characters outside [A-Za-z0-9._~:@-]"],
    ["a/é", "segment 2 has characters outside [A-Za-z0-9._~:@-]"],
    ["a\\b", "segment 1 has characters outside [A-Za-z0-9._~:@-]"],
    ["a?b=c", "segment 1 has characters outside [A-Za-z0-9._~:@-]"],
    ["x".repeat(257), "must be at most 256 characters"],
  ])("rejects %j: %s", (text, problem) => {
    expect(parseResource(text)).toEqual({ ok: false, problem });
  });
});

describe("containsResource", () => {
  const contains = (outer: string, inner: string) => containsResource(parsed(outer), parsed(inner));

  it("matches exact resources only exactly", () => {
    expect(contains("calendar/work", "calendar/work")).toBe(true);
    expect(contains("calendar/work", "calendar/work/x")).toBe(false);
    expect(contains("calendar/work", "calendar")).toBe(false);
    expect(contains("calendar/work", "calendar/*")).toBe(false);
    expect(contains("calendar/work", "Calendar/work")).toBe(false);
  });

  it("matches patterns segment by segment, one or more segments deep", () => {
    expect(contains("calendar/*", "calendar/work")).toBe(true);
    expect(contains("calendar/*", "calendar/work/x")).toBe(true);
    expect(contains("calendar/*", "calendar")).toBe(false);
    expect(contains("calendar/*", "calendarx/a")).toBe(false);
    expect(contains("calendar/*", "calendarx")).toBe(false);
    expect(contains("calendar/*", "other/calendar/work")).toBe(false);
  });

  it("contains patterns at or under its prefix", () => {
    expect(contains("calendar/*", "calendar/*")).toBe(true);
    expect(contains("calendar/*", "calendar/work/*")).toBe(true);
    expect(contains("calendar/work/*", "calendar/*")).toBe(false);
    expect(contains("calendar/*", "*")).toBe(false);
    expect(contains("calendar/*", "calendarx/*")).toBe(false);
  });

  it("lets `*` contain everything", () => {
    expect(contains("*", "a")).toBe(true);
    expect(contains("*", "a/b/c")).toBe(true);
    expect(contains("*", "a/*")).toBe(true);
    expect(contains("*", "*")).toBe(true);
  });
});

describe("isResourceWithin", () => {
  it("treats malformed resources as contained by nothing and containing nothing", () => {
    expect(isResourceWithin("calendar/work", "calendar/*")).toBe(true);
    expect(isResourceWithin("calendar/../x", "*")).toBe(false);
    expect(isResourceWithin("calendar/work", "cal*")).toBe(false);
  });
});
