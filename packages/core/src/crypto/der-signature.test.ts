import { generateKeyPairSync, sign, verify } from "node:crypto";
import { describe, expect, it } from "vitest";
import { derToJoseSignature } from "./der-signature.js";

describe("derToJoseSignature", () => {
  it("produces signatures Node verifies in IEEE P1363 form, including short r and s", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    let shortComponents = 0;
    // Keep signing until a component shorter than 32 bytes has been seen (1 in 128 per signature).
    for (let i = 0; i < 20_000 && shortComponents < 3; i++) {
      const data = Buffer.from(`message ${i}`);
      const der = sign("sha256", data, { key: privateKey, dsaEncoding: "der" });
      const rLength = der[3] as number;
      const sLength = der[5 + rLength] as number;
      if (rLength < 32 || sLength < 32) shortComponents++;
      const jose = derToJoseSignature(der);
      expect(jose).toHaveLength(64);
      expect(verify("sha256", data, { key: publicKey, dsaEncoding: "ieee-p1363" }, jose)).toBe(
        true,
      );
    }
    expect(shortComponents).toBe(3);
  });

  it.each([
    ["empty", []],
    ["not a sequence", [0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]],
    ["a wrong sequence length", [0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]],
    ["a negative integer", [0x30, 0x06, 0x02, 0x01, 0x81, 0x02, 0x01, 0x01]],
    ["a non-minimal integer", [0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01]],
    ["trailing bytes", [0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00]],
    [
      "an oversized integer",
      [0x30, 0x26, 0x02, 0x21, 0x01, ...new Array(32).fill(1), 0x02, 0x01, 0x01],
    ],
  ])("rejects %s", (_name, bytes) => {
    expect(() => derToJoseSignature(new Uint8Array(bytes))).toThrow(TypeError);
  });
});
