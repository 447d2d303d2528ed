import { createHash, createPublicKey, verify } from "node:crypto";
import { decodeBase64Url } from "@agentauth/core";
import {
  decodeAttestationObject,
  decodeCredentialPublicKey,
  parseAuthenticatorData,
} from "@simplewebauthn/server/helpers";
import { describe, expect, it } from "vitest";
import {
  createSoftwareAuthenticator,
  rawEcdsaSignatureToDer,
} from "../kit/software-authenticator.js";

// The test kit's authenticator is only worth something if what it emits is real WebAuthn: these
// checks read its output with node:crypto and byte offsets from the spec, not with our verifier.

const creation = {
  challenge: "Y2hhbGxlbmdlLWJ5dGVzLTMyLWxvbmctLS0tLS0tLS0",
  rp: { id: "example.com", name: "Example" },
  user: { id: "dXNlci1oYW5kbGU", name: "ada", displayName: "Ada" },
  pubKeyCredParams: [{ type: "public-key", alg: -7 }],
  extensions: { credProps: true },
};

function bytes(base64url: string): Uint8Array {
  const decoded = decodeBase64Url(base64url);
  if (decoded === undefined) throw new Error(`not base64url: ${base64url}`);
  return decoded;
}

describe("software authenticator", () => {
  it("registers with authenticator data laid out as WebAuthn L3 §6.1 says", async () => {
    const authenticator = createSoftwareAuthenticator({
      rpId: "example.com",
      origin: "https://login.example.com",
    });
    const response = await authenticator.register(creation);
    const clientData = JSON.parse(
      Buffer.from(bytes(response.response.clientDataJSON)).toString("utf8"),
    );
    expect(clientData).toEqual({
      type: "webauthn.create",
      challenge: creation.challenge,
      origin: "https://login.example.com",
      crossOrigin: false,
    });

    const attestation = decodeAttestationObject(
      new Uint8Array(bytes(response.response.attestationObject)),
    );
    expect(attestation.get("fmt")).toBe("none");
    expect(attestation.get("attStmt").size).toBe(0);
    const authData = attestation.get("authData");
    expect(Buffer.from(authData.subarray(0, 32))).toEqual(
      createHash("sha256").update("example.com").digest(),
    );
    expect(authData[32]).toBe(0x01 | 0x04 | 0x40); // UP, UV, AT
    expect(Buffer.from(authData.subarray(33, 37)).readUInt32BE()).toBe(0);
    expect(Buffer.from(authData.subarray(37, 53))).toEqual(Buffer.alloc(16)); // AAGUID
    const idLength = Buffer.from(authData.subarray(53, 55)).readUInt16BE();
    expect(Buffer.from(authData.subarray(55, 55 + idLength)).toString("base64url")).toBe(
      response.id,
    );
    expect(response.rawId).toBe(response.id);

    const parsed = parseAuthenticatorData(authData);
    const cose = decodeCredentialPublicKey(
      parsed.credentialPublicKey as Uint8Array<ArrayBuffer>,
    ) as unknown as Map<number, unknown>;
    expect([...cose.keys()]).toEqual([1, 3, -1, -2, -3]); // CTAP2 canonical order
    expect([cose.get(1), cose.get(3), cose.get(-1)]).toEqual([2, -7, 1]); // EC2, ES256, P-256
    // The COSE key and the SPKI public key are the same key.
    const jwk = createPublicKey({
      key: Buffer.from(bytes(response.response.publicKey)),
      format: "der",
      type: "spki",
    }).export({ format: "jwk" });
    expect(Buffer.from(cose.get(-2) as Uint8Array).toString("base64url")).toBe(jwk.x);
    expect(Buffer.from(cose.get(-3) as Uint8Array).toString("base64url")).toBe(jwk.y);
    expect(response.clientExtensionResults).toEqual({ credProps: { rk: true } });
  });

  it("signs assertions with ES256 in DER over authenticatorData ‖ SHA-256(clientDataJSON)", async () => {
    const authenticator = createSoftwareAuthenticator({
      rpId: "example.com",
      origin: "https://example.com",
    });
    const registration = await authenticator.register(creation);
    const spki = createPublicKey({
      key: Buffer.from(bytes(registration.response.publicKey)),
      format: "der",
      type: "spki",
    });
    for (let i = 1; i <= 20; i++) {
      const assertion = await authenticator.assert({ challenge: "AAAA", rpId: "example.com" });
      const authData = bytes(assertion.response.authenticatorData);
      expect(authData.length).toBe(37);
      expect(Buffer.from(authData.subarray(33, 37)).readUInt32BE()).toBe(i);
      const clientDataHash = createHash("sha256")
        .update(bytes(assertion.response.clientDataJSON))
        .digest();
      const signed = Buffer.concat([authData, clientDataHash]);
      expect(
        verify(
          "sha256",
          signed,
          { key: spki, dsaEncoding: "der" },
          bytes(assertion.response.signature),
        ),
      ).toBe(true);
      expect(assertion.response.userHandle).toBe(creation.user.id);
    }
  });

  it("signs EdDSA assertions with Ed25519", async () => {
    const authenticator = createSoftwareAuthenticator({
      rpId: "example.com",
      origin: "https://example.com",
      algorithms: ["EdDSA"],
    });
    const registration = await authenticator.register({
      ...creation,
      pubKeyCredParams: [{ type: "public-key", alg: -8 }],
    });
    const spki = createPublicKey({
      key: Buffer.from(bytes(registration.response.publicKey)),
      format: "der",
      type: "spki",
    });
    const assertion = await authenticator.assert({ challenge: "AAAA" });
    const signed = Buffer.concat([
      bytes(assertion.response.authenticatorData),
      createHash("sha256").update(bytes(assertion.response.clientDataJSON)).digest(),
    ]);
    expect(verify(null, signed, spki, bytes(assertion.response.signature))).toBe(true);
  });

  it("behaves like a browser: refuses foreign RP IDs, excluded credentials and unsupported algorithms", async () => {
    const authenticator = createSoftwareAuthenticator({
      rpId: "example.com",
      origin: "https://example.com",
    });
    await expect(
      authenticator.register({ ...creation, rp: { id: "evil.example", name: "x" } }),
    ).rejects.toThrow(/SecurityError/);
    await expect(
      authenticator.register({
        ...creation,
        pubKeyCredParams: [{ type: "public-key", alg: -257 }],
      }),
    ).rejects.toThrow(/NotSupportedError/);
    const registration = await authenticator.register(creation);
    await expect(
      authenticator.register({
        ...creation,
        excludeCredentials: [{ id: registration.id, type: "public-key" }],
      }),
    ).rejects.toThrow(/InvalidStateError/);
    await expect(
      authenticator.assert({ challenge: "AAAA", allowCredentials: [{ id: "other" }] }),
    ).rejects.toThrow(/NotAllowedError/);
  });

  it("applies the defect knobs", async () => {
    const authenticator = createSoftwareAuthenticator({
      rpId: "example.com",
      origin: "https://example.com",
    });
    await authenticator.register(creation);
    const assertion = await authenticator.assert(
      { challenge: "AAAA" },
      { origin: "https://evil.example", rpId: "evil.example", userVerified: false, counter: 42 },
    );
    const authData = bytes(assertion.response.authenticatorData);
    expect(Buffer.from(authData.subarray(0, 32))).toEqual(
      createHash("sha256").update("evil.example").digest(),
    );
    expect(authData[32]).toBe(0x01);
    expect(Buffer.from(authData.subarray(33, 37)).readUInt32BE()).toBe(42);
    expect(
      JSON.parse(Buffer.from(bytes(assertion.response.clientDataJSON)).toString("utf8")).origin,
    ).toBe("https://evil.example");
  });

  it("encodes ECDSA signatures as minimal DER integers", () => {
    const r = new Uint8Array(32).fill(0x80);
    const s = new Uint8Array(32);
    s[31] = 0x01;
    s[1] = 0x7f;
    const der = rawEcdsaSignatureToDer(new Uint8Array([...r, ...s]));
    // r gets a 0x00 pad (high bit set); s loses its one leading zero byte.
    expect(Buffer.from(der).toString("hex")).toBe(
      `3044022100${"80".repeat(32)}021f7f${"00".repeat(29)}01`,
    );
  });
});
