import { describe, expect, it } from "vitest";
import { parseServiceProviderApiKey } from "./api-key.js";

describe("parseServiceProviderApiKey", () => {
  const prefix = "AbC-_0123xy";
  const secret = `${"s".repeat(42)}Z`;

  it("splits a well-formed key into prefix and secret", () => {
    expect(parseServiceProviderApiKey(`aask_${prefix}_${secret}`)).toEqual({ prefix, secret });
  });

  it.each([
    ["another scheme", `sk_${prefix}_${secret}`],
    ["a short prefix", `aask_${prefix.slice(1)}_${secret}`],
    ["a short secret", `aask_${prefix}_${secret.slice(1)}`],
    ["a long secret", `aask_${prefix}_${secret}A`],
    ["characters outside base64url", `aask_${prefix}_${secret.slice(1)}=`],
    ["surrounding space", ` aask_${prefix}_${secret}`],
    ["nothing", ""],
  ])("refuses %s", (_, key) => {
    expect(parseServiceProviderApiKey(key)).toBeUndefined();
  });
});
