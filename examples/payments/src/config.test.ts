import { ConfigError } from "@agentauth/examples-kit";
import { describe, expect, it } from "vitest";
import { parsePaymentsConfig } from "./config.js";

const KEY_FILE = { PAYMENTS_VERIFIER_API_KEY_FILE: "/data/examples/demo-payments.api-key" };

describe("parsePaymentsConfig", () => {
  it("applies the documented defaults", () => {
    expect(parsePaymentsConfig(KEY_FILE)).toMatchObject({
      port: 4300,
      serviceProviderId: "demo-payments",
      merchants: ["acme", "globex", "initech"],
    });
  });

  it("reads the merchants, and refuses a malformed list", () => {
    expect(
      parsePaymentsConfig({ ...KEY_FILE, PAYMENTS_MERCHANTS: "acme,corner-shop" }).merchants,
    ).toEqual(["acme", "corner-shop"]);
    for (const list of ["", "acme,", "Acme", "acme,,globex"]) {
      expect(() => parsePaymentsConfig({ ...KEY_FILE, PAYMENTS_MERCHANTS: list }), list).toThrow(
        ConfigError,
      );
    }
  });
});
