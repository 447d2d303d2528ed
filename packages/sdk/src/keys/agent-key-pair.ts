import { decodeBase64Url } from "@agentauth/core";
import { AgentAuthSdkError } from "../errors.js";

const P256 = { name: "ECDSA", namedCurve: "P-256" } as const;
const ES256 = { name: "ECDSA", hash: "SHA-256" } as const;

/** A P-256 private key as a JWK (RFC 7518 §6.2.2), with the agent id as `kid` once enrolled. */
export interface PrivateAgentJwk {
  readonly kty: "EC";
  readonly crv: "P-256";
  readonly x: string;
  readonly y: string;
  readonly d: string;
  readonly kid?: string;
}

/** A new ECDSA P-256 key pair; `extractable` only so a file store can write it once. */
export async function generateAgentKeyPair(extractable: boolean): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(P256, extractable, ["sign", "verify"])) as CryptoKeyPair;
}

/** A new key pair whose private key is not extractable, for a store; else `ERR_KEY_STORE`. */
export async function generateStoredAgentKeyPair(): Promise<CryptoKeyPair> {
  try {
    return await generateAgentKeyPair(false);
  } catch (cause) {
    throw new AgentAuthSdkError("ERR_KEY_STORE", "Could not generate a P-256 key", { cause });
  }
}

/**
 * What keeps `value` from being a key pair a store can hold — `CryptoKey`s, ECDSA P-256, a
 * private key that signs and cannot be exported — or `undefined` if nothing does.
 */
export function keyPairProblem(value: unknown): string | undefined {
  const { privateKey, publicKey } = (value ?? {}) as Partial<CryptoKeyPair>;
  const algorithm = privateKey?.algorithm as EcKeyAlgorithm | undefined;
  if (
    !(privateKey instanceof CryptoKey) ||
    !(publicKey instanceof CryptoKey) ||
    algorithm?.name !== "ECDSA" ||
    algorithm.namedCurve !== "P-256" ||
    !privateKey.usages.includes("sign")
  ) {
    return "keyPair must be an ECDSA P-256 CryptoKeyPair that can sign";
  }
  if (privateKey.extractable) return "keyPair's private key must not be extractable";
  return undefined;
}

/** The private JWK of an extractable key pair, for writing to a key file. */
export async function exportPrivateAgentJwk(keyPair: CryptoKeyPair): Promise<PrivateAgentJwk> {
  const { x, y, d } = await crypto.subtle.exportKey("jwk", keyPair.privateKey);
  if (x === undefined || y === undefined || d === undefined) {
    throw new TypeError("The key pair is not an extractable P-256 key pair");
  }
  return { kty: "EC", crv: "P-256", x, y, d };
}

/**
 * Checks that `value` is a P-256 private JWK (32-byte canonical base64url coordinates and
 * scalar, an optional string `kid`) without ever quoting it: an error names what is wrong, never
 * the key. `where` says where the value came from, for the message.
 */
export function parsePrivateAgentJwk(value: unknown, where: string): PrivateAgentJwk {
  const invalid = (problem: string) =>
    new AgentAuthSdkError("ERR_KEY_STORE", `${where} does not hold an agent key: ${problem}`);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid("it is not a JSON object");
  }
  const jwk = value as Record<string, unknown>;
  if (jwk.kty !== "EC" || jwk.crv !== "P-256")
    throw invalid('it must be "kty": "EC", "crv": "P-256"');
  for (const member of ["x", "y", "d"] as const) {
    const field = jwk[member];
    if (typeof field !== "string" || decodeBase64Url(field)?.length !== 32) {
      throw invalid(`"${member}" must be 32 bytes of base64url`);
    }
  }
  if (jwk.kid !== undefined && typeof jwk.kid !== "string") throw invalid('"kid" must be a string');
  return {
    kty: "EC",
    crv: "P-256",
    x: jwk.x as string,
    y: jwk.y as string,
    d: jwk.d as string,
    ...(jwk.kid === undefined ? {} : { kid: jwk.kid as string }),
  };
}

/**
 * Imports a private JWK as a key pair whose private key is not extractable, and checks that the
 * public and private halves belong together (a signature by one verifies under the other).
 */
export async function importAgentKeyPair(
  jwk: PrivateAgentJwk,
  where: string,
): Promise<CryptoKeyPair> {
  const { kty, crv, x, y, d } = jwk;
  let keyPair: CryptoKeyPair;
  try {
    keyPair = {
      privateKey: await crypto.subtle.importKey("jwk", { kty, crv, x, y, d }, P256, false, [
        "sign",
      ]),
      publicKey: await crypto.subtle.importKey("jwk", { kty, crv, x, y }, P256, true, ["verify"]),
    };
  } catch {
    // The platform's message is about the key's bytes: not repeated.
    throw new AgentAuthSdkError("ERR_KEY_STORE", `${where} holds a P-256 key that does not import`);
  }
  const probe = crypto.getRandomValues(new Uint8Array(32));
  const signature = await crypto.subtle.sign(ES256, keyPair.privateKey, probe);
  if (!(await crypto.subtle.verify(ES256, keyPair.publicKey, signature, probe))) {
    throw new AgentAuthSdkError(
      "ERR_KEY_STORE",
      `${where} holds a private key that does not match its public key ("x", "y")`,
    );
  }
  return keyPair;
}
