import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeBase64Url, decodeUtf8, encodeBase64Url, encodeUtf8 } from "./base64url.js";

describe("base64url", () => {
  it("matches Node's encoder for every length", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const encoded = encodeBase64Url(bytes);
        expect(encoded).toBe(Buffer.from(bytes).toString("base64url"));
        expect(decodeBase64Url(encoded)).toEqual(bytes);
      }),
    );
  });

  it.each([
    ["padding", "YQ=="],
    ["standard alphabet", "a+b/"],
    ["white space", "YW Jj"],
    ["impossible length", "YWJjZ"],
    ["non-zero trailing bits", "YR"],
    ["non-ASCII", "YWJé"],
  ])("rejects %s", (_name, input) => {
    expect(decodeBase64Url(input)).toBeUndefined();
  });

  it("decodes UTF-8 strictly", () => {
    expect(decodeUtf8(encodeUtf8("é€😀"))).toBe("é€😀");
    expect(decodeUtf8(new Uint8Array([0xc3, 0x28]))).toBeUndefined();
  });
});
