import {
  computeGrantDigest,
  decodeBase64Url,
  decodeUtf8,
  deriveApprovalChallenge,
  derToJoseSignature,
  encodeBase64Url,
  parseAuthorizationDetails,
} from "@agentauth/core";
import type { GrantReceipt } from "../api/types.js";

/** One thing checked about a receipt, in words, and whether it held. */
export interface ReceiptCheck {
  readonly label: string;
  readonly ok: boolean;
  readonly detail?: string;
}

/**
 * Re-verifies an approval receipt in this browser, trusting nothing the registry says about it:
 * the grant digest is recomputed from the grant (RFC 8785, docs/protocol.md §3), the WebAuthn
 * challenge from the digest and nonce, and the passkey's signature is checked over the
 * authenticator data and client data with the passkey's public key (COSE, ES256 or Ed25519).
 */
export async function verifyReceipt(
  receipt: GrantReceipt,
  options: { expectedOrigin: string },
): Promise<ReceiptCheck[]> {
  const checks: ReceiptCheck[] = [];
  const check = async (label: string, run: () => Promise<true | string> | true | string) => {
    try {
      const outcome = await run();
      checks.push(outcome === true ? { label, ok: true } : { label, ok: false, detail: outcome });
    } catch (error) {
      checks.push({
        label,
        ok: false,
        detail: error instanceof Error ? error.message : String(error),
      });
    }
  };
  const { final_grant: grant, receipt: signed } = receipt;

  await check("The digest is the hash of this exact grant", async () => {
    const digest = await computeGrantDigest({
      requestId: grant.request_id,
      agentJkt: grant.agent_jkt,
      serviceProviderId: grant.service_provider,
      authorization: parseAuthorizationDetails(grant.authorization_details),
      expiresAt: new Date(grant.expires_at * 1000),
    });
    return digest === receipt.digest || `recomputed ${digest}`;
  });
  await check("The passkey challenge was derived from that digest", async () => {
    const challenge = encodeBase64Url(await deriveApprovalChallenge(receipt.digest, signed.nonce));
    return challenge === signed.challenge || `derived ${challenge}`;
  });

  const clientDataBytes = decodeBase64Url(signed.client_data_json);
  const clientData = parseClientData(clientDataBytes);
  await check("The browser signed that challenge, for this site (a WebAuthn assertion)", () => {
    if (clientData === undefined) return "client data is not JSON";
    if (clientData.type !== "webauthn.get") return `type ${String(clientData.type)}`;
    if (clientData.challenge !== signed.challenge) return "another challenge";
    if (clientData.origin !== options.expectedOrigin) return `origin ${String(clientData.origin)}`;
    return true;
  });

  const authenticatorData = decodeBase64Url(signed.authenticator_data);
  await check("The authenticator saw you and verified you (user presence and verification)", () => {
    const flags = authenticatorData?.[32];
    if (flags === undefined) return "authenticator data too short";
    if ((flags & 0x01) === 0) return "user not present";
    if ((flags & 0x04) === 0) return "user not verified";
    return true;
  });

  await check("The signature is valid for your passkey's public key", async () => {
    if (receipt.passkey_public_key === null) {
      return "the passkey was removed; only someone who kept its public key can check this";
    }
    const coseKey = decodeBase64Url(receipt.passkey_public_key);
    const signature = decodeBase64Url(signed.signature);
    if (coseKey === undefined || signature === undefined || authenticatorData === undefined)
      return "malformed receipt";
    if (clientDataBytes === undefined) return "malformed client data";
    const clientDataHash = new Uint8Array(
      await crypto.subtle.digest("SHA-256", new Uint8Array(clientDataBytes)),
    );
    const data = new Uint8Array(authenticatorData.length + clientDataHash.length);
    data.set(authenticatorData);
    data.set(clientDataHash, authenticatorData.length);
    return (await verifyCoseSignature(coseKey, signature, data)) || "signature does not verify";
  });
  return checks;
}

function parseClientData(bytes: Uint8Array | undefined): Record<string, unknown> | undefined {
  const text = bytes === undefined ? undefined : decodeUtf8(bytes);
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

async function verifyCoseSignature(
  coseKey: Uint8Array,
  signature: Uint8Array,
  data: Uint8Array,
): Promise<boolean> {
  const key = decodeCoseKey(coseKey);
  const alg = key.get(3);
  if (alg === -7) {
    const x = key.get(-2);
    const y = key.get(-3);
    if (
      key.get(1) !== 2 ||
      key.get(-1) !== 1 ||
      !(x instanceof Uint8Array) ||
      !(y instanceof Uint8Array)
    )
      throw new Error("not a P-256 key");
    const publicKey = await crypto.subtle.importKey(
      "jwk",
      { kty: "EC", crv: "P-256", x: encodeBase64Url(x), y: encodeBase64Url(y) },
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["verify"],
    );
    return crypto.subtle.verify(
      { name: "ECDSA", hash: "SHA-256" },
      publicKey,
      new Uint8Array(derToJoseSignature(signature)),
      new Uint8Array(data),
    );
  }
  if (alg === -8) {
    const x = key.get(-2);
    if (key.get(1) !== 1 || key.get(-1) !== 6 || !(x instanceof Uint8Array))
      throw new Error("not an Ed25519 key");
    const publicKey = await crypto.subtle.importKey(
      "jwk",
      { kty: "OKP", crv: "Ed25519", x: encodeBase64Url(x) },
      { name: "Ed25519" },
      false,
      ["verify"],
    );
    return crypto.subtle.verify(
      { name: "Ed25519" },
      publicKey,
      new Uint8Array(signature),
      new Uint8Array(data),
    );
  }
  throw new Error(`unsupported COSE algorithm ${String(alg)}`);
}

/**
 * Decodes a COSE_Key (RFC 9052): a CBOR map of integer labels to integers or byte strings, the
 * only shapes a WebAuthn EC2 or OKP public key has.
 */
export function decodeCoseKey(bytes: Uint8Array): Map<number, number | Uint8Array> {
  let offset = 0;
  const next = (): number => {
    const value = bytes[offset++];
    if (value === undefined) throw new Error("truncated COSE key");
    return value;
  };
  const argument = (info: number): number => {
    if (info < 24) return info;
    const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : 0;
    if (size === 0) throw new Error("unsupported CBOR length");
    let value = 0;
    for (let index = 0; index < size; index++) value = value * 256 + next();
    return value;
  };
  const item = (): number | Uint8Array => {
    const head = next();
    const major = head >> 5;
    const value = argument(head & 0x1f);
    if (major === 0) return value;
    if (major === 1) return -1 - value;
    if (major === 2) {
      if (offset + value > bytes.length) throw new Error("truncated COSE key");
      const slice = bytes.slice(offset, offset + value);
      offset += value;
      return slice;
    }
    throw new Error("unexpected CBOR item in COSE key");
  };
  const head = next();
  if (head >> 5 !== 5) throw new Error("a COSE key is a CBOR map");
  const size = argument(head & 0x1f);
  const map = new Map<number, number | Uint8Array>();
  for (let index = 0; index < size; index++) {
    const label = item();
    if (typeof label !== "number") throw new Error("COSE labels are integers");
    map.set(label, item());
  }
  return map;
}
