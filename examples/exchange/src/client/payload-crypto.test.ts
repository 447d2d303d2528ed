import { describe, expect, it } from "vitest";
import { createExchangeKey, openPayload, openPayloadText, sealPayload } from "./payload-crypto.js";

describe("sealing payloads", () => {
  it("opens what it sealed, with the same key and namespace", async () => {
    const key = createExchangeKey();
    const sealed = await sealPayload({ key, namespace: "trip-42", plaintext: "Gate B12, 9:40" });
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain("Gate");
    expect(await openPayloadText({ key, namespace: "trip-42", sealed })).toBe("Gate B12, 9:40");
  });

  it("seals bytes, each time with a fresh IV", async () => {
    const key = createExchangeKey();
    const bytes = new Uint8Array([0, 1, 2, 255]);
    const one = await sealPayload({ key, namespace: "n", plaintext: bytes });
    const two = await sealPayload({ key, namespace: "n", plaintext: bytes });
    expect(one).not.toBe(two);
    expect(await openPayload({ key, namespace: "n", sealed: two })).toEqual(bytes);
  });

  it("refuses another key, another namespace and a flipped byte", async () => {
    const key = createExchangeKey();
    const sealed = await sealPayload({ key, namespace: "trip-42", plaintext: "secret" });
    const refused = { code: "ERR_DECRYPTION_FAILED" };
    await expect(
      openPayload({ key: createExchangeKey(), namespace: "trip-42", sealed }),
    ).rejects.toMatchObject(refused);
    await expect(openPayload({ key, namespace: "trip-43", sealed })).rejects.toMatchObject(refused);
    const last = sealed.at(-2) === "A" ? "B" : "A";
    const tampered = `${sealed.slice(0, -2)}${last}${sealed.slice(-1)}`;
    await expect(
      openPayload({ key, namespace: "trip-42", sealed: tampered }),
    ).rejects.toMatchObject(refused);
  });

  it("refuses what is not a sealed payload, and a key of the wrong size", async () => {
    const key = createExchangeKey();
    for (const sealed of ["", "v2.AAAAAAAAAAAAAAAA.AAAA", "v1.AAAA.AAAA", "v1.a.b.c"]) {
      await expect(openPayload({ key, namespace: "n", sealed })).rejects.toMatchObject({
        code: "ERR_DECRYPTION_FAILED",
      });
    }
    await expect(sealPayload({ key: "c2hvcnQ", namespace: "n", plaintext: "x" })).rejects.toThrow(
      TypeError,
    );
  });
});
