import { describe, expect, it } from "vitest";
import type { Capability } from "./capability.js";
import {
  type CapabilityRequest,
  findMatchingCapability,
  matchesCapabilities,
} from "./match-capability.js";

const readWork: Capability = { type: "read", resource: "calendar/work" };
const readCalendars: Capability = { type: "read", resource: "calendar/*" };
const writeNotes: Capability = { type: "write", resource: "notes/*", max_items: 10 };
const appendLog: Capability = { type: "write", resource: "log", append_only: true };
const pay: Capability = {
  type: "transact",
  resource: "merchant/acme",
  max_amount: "50.00",
  currency: "EUR",
};
const deploy: Capability = {
  type: "custom",
  resource: "services/*",
  namespace: "com.example",
  name: "deploy",
};

const matches = (capability: Capability, request: CapabilityRequest) =>
  matchesCapabilities([capability], request);

describe("findMatchingCapability", () => {
  it("returns the first capability that allows the request", () => {
    const capabilities = [readWork, readCalendars, writeNotes];
    expect(
      findMatchingCapability(capabilities, { action: "read", resource: "calendar/work" }),
    ).toBe(readWork);
    expect(
      findMatchingCapability(capabilities, { action: "read", resource: "calendar/home" }),
    ).toBe(readCalendars);
    expect(
      findMatchingCapability(capabilities, { action: "write", resource: "calendar/home" }),
    ).toBeUndefined();
  });

  it("matches resources segment by segment", () => {
    expect(matches(readWork, { action: "read", resource: "calendar/work" })).toBe(true);
    expect(matches(readWork, { action: "read", resource: "calendar/work/x" })).toBe(false);
    expect(matches(readWork, { action: "read", resource: "calendar/workshop" })).toBe(false);
    expect(matches(readCalendars, { action: "read", resource: "calendar/work/x" })).toBe(true);
    expect(matches(readCalendars, { action: "read", resource: "calendar" })).toBe(false);
    expect(matches(readCalendars, { action: "read", resource: "calendarx/a" })).toBe(false);
    expect(
      matches({ type: "read", resource: "*" }, { action: "read", resource: "anything/at/all" }),
    ).toBe(true);
  });

  it("never matches a malformed or pattern request resource", () => {
    const everything: Capability = { type: "read", resource: "*" };
    for (const resource of [
      "calendar/*",
      "*",
      "calendar/../secrets",
      "calendar//work",
      "",
      "a b",
      "x".repeat(300),
    ]) {
      expect(matches(everything, { action: "read", resource }), resource).toBe(false);
    }
    expect(matches(everything, { action: "read", resource: 42 as unknown as string })).toBe(false);
    expect(matchesCapabilities([everything], null as unknown as CapabilityRequest)).toBe(false);
  });

  it("requires the same type", () => {
    expect(matches(readWork, { action: "write", resource: "calendar/work" })).toBe(false);
    expect(matches(readWork, { action: "delete", resource: "calendar/work" })).toBe(false);
  });

  describe("write", () => {
    it("caps items per request, and then needs the count", () => {
      expect(matches(writeNotes, { action: "write", resource: "notes/a", items: 10 })).toBe(true);
      expect(matches(writeNotes, { action: "write", resource: "notes/a", items: 11 })).toBe(false);
      expect(matches(writeNotes, { action: "write", resource: "notes/a" })).toBe(false);
      expect(
        matches({ type: "write", resource: "notes/*" }, { action: "write", resource: "notes/a" }),
      ).toBe(true);
    });

    it("rejects malformed item counts and operations", () => {
      const unlimited: Capability = { type: "write", resource: "notes/*" };
      for (const items of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
        expect(
          matches(unlimited, { action: "write", resource: "notes/a", items }),
          String(items),
        ).toBe(false);
      }
      const operation = "delete" as "append";
      expect(matches(unlimited, { action: "write", resource: "notes/a", operation })).toBe(false);
    });

    it("lets append-only capabilities accept only appends", () => {
      expect(matches(appendLog, { action: "write", resource: "log", operation: "append" })).toBe(
        true,
      );
      expect(matches(appendLog, { action: "write", resource: "log", operation: "replace" })).toBe(
        false,
      );
      expect(matches(appendLog, { action: "write", resource: "log" })).toBe(false);
      const any: Capability = { type: "write", resource: "log" };
      expect(matches(any, { action: "write", resource: "log", operation: "replace" })).toBe(true);
    });
  });

  describe("transact", () => {
    const payment = (amount: string, currency = "EUR"): CapabilityRequest => ({
      action: "transact",
      resource: "merchant/acme",
      amount: { amount, currency },
    });

    it("allows amounts up to max_amount in the same currency", () => {
      expect(matches(pay, payment("50.00"))).toBe(true);
      expect(matches(pay, payment("0.01"))).toBe(true);
      expect(matches(pay, payment("50.01"))).toBe(false);
      expect(matches(pay, payment("50.00", "USD"))).toBe(false);
      expect(matches(pay, payment("50", "JPY"))).toBe(false);
    });

    it("never matches a missing or malformed amount", () => {
      expect(matches(pay, { action: "transact", resource: "merchant/acme" })).toBe(false);
      for (const amount of ["50.001", "-1", "-1.00", "1e3", "50", "5.0", " 5.00", "050.00", ""]) {
        expect(matches(pay, payment(amount)), amount).toBe(false);
      }
      expect(matches(pay, payment("5.00", "eur"))).toBe(false);
      const hostile = {
        action: "transact",
        resource: "merchant/acme",
        amount: null,
      } as unknown as CapabilityRequest;
      expect(matches(pay, hostile)).toBe(false);
      const numeric = {
        ...payment("1.00"),
        amount: { amount: 1, currency: "EUR" },
      } as unknown as CapabilityRequest;
      expect(matches(pay, numeric)).toBe(false);
    });
  });

  describe("custom", () => {
    it("needs the same namespace and name", () => {
      const request = {
        action: "custom",
        resource: "services/api",
        namespace: "com.example",
        name: "deploy",
      } as const;
      expect(matches(deploy, request)).toBe(true);
      expect(matches(deploy, { ...request, name: "destroy" })).toBe(false);
      expect(matches(deploy, { ...request, namespace: "com.evil" })).toBe(false);
      expect(matches(deploy, { action: "custom", resource: "services/api" })).toBe(false);
    });
  });
});
