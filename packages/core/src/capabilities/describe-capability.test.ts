import { describe, expect, it } from "vitest";
import type { Capability } from "./capability.js";
import { describeCapability } from "./describe-capability.js";

describe("describeCapability", () => {
  it.each<[Capability, string, string]>([
    [{ type: "read", resource: "calendar/work" }, "Read calendar/work", "low"],
    [{ type: "read", resource: "calendar/*" }, "Read everything under calendar/", "low"],
    [{ type: "read", resource: "*" }, "Read everything", "high"],
    [{ type: "write", resource: "notes/today" }, "Write to notes/today", "medium"],
    [
      { type: "write", resource: "notes/*", max_items: 10, append_only: true },
      "Write to everything under notes/ (append only, at most 10 items per request)",
      "medium",
    ],
    [
      { type: "write", resource: "*", append_only: true },
      "Write to everything (append only)",
      "high",
    ],
    [{ type: "delete", resource: "files/tmp/*" }, "Delete everything under files/tmp/", "high"],
    [
      { type: "transact", resource: "merchant/acme", max_amount: "50.00", currency: "EUR" },
      "Make payments to merchant/acme of at most 50.00 EUR each",
      "high",
    ],
    [
      { type: "transact", resource: "merchant/*", max_amount: "500", currency: "JPY" },
      "Make payments to anyone under merchant/ of at most 500 JPY each",
      "high",
    ],
    [
      { type: "transact", resource: "*", max_amount: "1.250", currency: "BHD" },
      "Make payments to anyone of at most 1.250 BHD each",
      "high",
    ],
    [
      { type: "custom", resource: "services/api", namespace: "com.example", name: "deploy" },
      'Perform "deploy" (com.example) on services/api',
      "medium",
    ],
    [
      {
        type: "custom",
        resource: "services/*",
        namespace: "com.example",
        name: "deploy",
        params: { region: "eu", env: "prod" },
      },
      'Perform "deploy" (com.example) on everything under services/ with parameters {"env":"prod","region":"eu"}',
      "medium",
    ],
    [
      { type: "custom", resource: "*", namespace: "com.example", name: "deploy" },
      'Perform "deploy" (com.example) on everything',
      "high",
    ],
  ])("describes %j", (capability, text, risk) => {
    expect(describeCapability(capability)).toEqual({ text, risk });
  });
});
