import { describe, expect, it } from "vitest";
import { isAgentAuthExpressError } from "./errors.js";
import { parsePublicUrl, type RequestLine, resolveRequestUrl } from "./request-url.js";

const line = (originalUrl: string, headers: RequestLine["headers"] = {}): RequestLine => ({
  originalUrl,
  headers,
});
const publicUrl = (base: string) => ({ kind: "public-url", base: parsePublicUrl(base) }) as const;
const forwarded = { kind: "forwarded-headers" } as const;

describe("parsePublicUrl", () => {
  it("keeps the origin and path, without a trailing slash", () => {
    expect(parsePublicUrl("https://api.example.com")).toBe("https://api.example.com");
    expect(parsePublicUrl("https://api.example.com/")).toBe("https://api.example.com");
    expect(parsePublicUrl("https://api.example.com/pay//")).toBe("https://api.example.com/pay");
    expect(parsePublicUrl("HTTPS://API.example.com:443/pay")).toBe("https://api.example.com/pay");
  });

  it.each([
    "api.example.com",
    "ftp://api.example.com",
    "https://api.example.com/?q=1",
    "https://api.example.com/#x",
    "https://user:pass@api.example.com",
  ])("refuses %s with a TypeError", (url) => {
    expect(() => parsePublicUrl(url)).toThrow(TypeError);
  });
});

describe("resolveRequestUrl", () => {
  it("is the public URL followed by the request's path and query", () => {
    const source = publicUrl("https://api.example.com/pay/");
    expect(resolveRequestUrl(source, line("/v1/payments?ref=1"))).toBe(
      "https://api.example.com/pay/v1/payments?ref=1",
    );
    // A path that looks like an authority stays a path.
    expect(resolveRequestUrl(source, line("//evil.example.com/x"))).toBe(
      "https://api.example.com/pay//evil.example.com/x",
    );
  });

  it("ignores the authority of an absolute-form target and every header", () => {
    const source = publicUrl("https://api.example.com");
    const headers = { host: "evil.example.com", "x-forwarded-host": "evil.example.com" };
    expect(resolveRequestUrl(source, line("http://evil.example.com/v1/x?y=1", headers))).toBe(
      "https://api.example.com/v1/x?y=1",
    );
    expect(resolveRequestUrl(source, line("*"))).toBe("https://api.example.com/");
  });

  it("takes the last X-Forwarded-Proto and X-Forwarded-Host when told to", () => {
    expect(
      resolveRequestUrl(
        forwarded,
        line("/v1/x", {
          "x-forwarded-proto": "http, HTTPS",
          "x-forwarded-host": "evil.example.com, api.example.com:8443",
        }),
      ),
    ).toBe("https://api.example.com:8443/v1/x");
    expect(
      resolveRequestUrl(
        forwarded,
        line("/v1/x", { "x-forwarded-proto": "https", "x-forwarded-host": "[2001:db8::1]" }),
      ),
    ).toBe("https://[2001:db8::1]/v1/x");
  });

  it.each([
    [{}],
    [{ "x-forwarded-proto": "https" }],
    [{ "x-forwarded-host": "api.example.com" }],
    [{ "x-forwarded-proto": "ftp", "x-forwarded-host": "api.example.com" }],
    [{ "x-forwarded-proto": "https", "x-forwarded-host": "api.example.com/evil" }],
    [{ "x-forwarded-proto": "https", "x-forwarded-host": "user@api.example.com" }],
    [{ "x-forwarded-proto": "https", "x-forwarded-host": "api.example.com," }],
  ])("refuses unusable forwarded headers %j with ERR_REQUEST_URL_UNKNOWN", (headers) => {
    let thrown: unknown;
    try {
      resolveRequestUrl(forwarded, line("/v1/x", headers));
    } catch (error) {
      thrown = error;
    }
    expect(isAgentAuthExpressError(thrown, "ERR_REQUEST_URL_UNKNOWN")).toBe(true);
  });
});
