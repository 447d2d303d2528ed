import { platform } from "#platform";
import { base64UrlByteLength, decodeBase64Url, encodeBase64Url } from "../encoding/base64url.js";
import { AgentAuthError, type ErrorCode } from "../errors.js";
import type { SignatureAlgorithm } from "../platform/platform.js";

/** A P-256 public key (RFC 7518 §6.2). */
export interface EcPublicJwk {
  readonly kty: "EC";
  readonly crv: "P-256";
  readonly x: string;
  readonly y: string;
}

/** An Ed25519 public key (RFC 8037). */
export interface OkpPublicJwk {
  readonly kty: "OKP";
  readonly crv: "Ed25519";
  readonly x: string;
}

/** An RSA public key (RFC 7518 §6.3), at least 2048 bits. */
export interface RsaPublicJwk {
  readonly kty: "RSA";
  readonly n: string;
  readonly e: string;
}

/** A public key reduced to the members that define it (the RFC 7638 required members). */
export type PublicJwk = EcPublicJwk | OkpPublicJwk | RsaPublicJwk;

/** Members that only a private or symmetric JWK has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037). */
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] as const;

export interface ParsePublicJwkOptions {
  /** Code for a malformed or unsupported key. */
  invalidCode?: ErrorCode;
  /** Code for a key that carries private material. */
  privateCode?: ErrorCode;
}

/**
 * Validates an untrusted JWK and returns its public, required members only. Rejects any key that
 * carries private members, unsupported key types and curves, and coordinates of the wrong size.
 */
export function parsePublicJwk(value: unknown, options: ParsePublicJwkOptions = {}): PublicJwk {
  const invalid = options.invalidCode ?? "ERR_JWK_INVALID";
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new AgentAuthError(invalid, "The JWK must be a JSON object");
  }
  const jwk = value as Record<string, unknown>;
  for (const member of PRIVATE_MEMBERS) {
    if (member in jwk) {
      throw new AgentAuthError(
        options.privateCode ?? "ERR_JWK_PRIVATE",
        `The JWK must be a public key, but it has the private member "${member}"`,
      );
    }
  }
  switch (jwk.kty) {
    case "EC":
      if (jwk.crv !== "P-256")
        throw new AgentAuthError(invalid, 'Only the EC curve "P-256" is supported');
      return {
        kty: "EC",
        crv: "P-256",
        x: member(jwk, "x", 32, invalid),
        y: member(jwk, "y", 32, invalid),
      };
    case "OKP":
      if (jwk.crv !== "Ed25519")
        throw new AgentAuthError(invalid, 'Only the OKP curve "Ed25519" is supported');
      return { kty: "OKP", crv: "Ed25519", x: member(jwk, "x", 32, invalid) };
    case "RSA": {
      const n = member(jwk, "n", undefined, invalid);
      const modulus = decodeBase64Url(n) as Uint8Array;
      if (modulus.length < 256 || modulus[0] === 0) {
        throw new AgentAuthError(
          invalid,
          "An RSA modulus must be at least 2048 bits, without leading zeros",
        );
      }
      return { kty: "RSA", n, e: member(jwk, "e", undefined, invalid) };
    }
    default:
      throw new AgentAuthError(invalid, 'The JWK "kty" must be "EC", "OKP" or "RSA"');
  }
}

function member(
  jwk: Record<string, unknown>,
  name: string,
  size: number | undefined,
  code: ErrorCode,
): string {
  const value = jwk[name];
  const length = typeof value === "string" ? base64UrlByteLength(value) : undefined;
  if (length === undefined || length === 0 || (size !== undefined && length !== size)) {
    const expected = size === undefined ? "base64url" : `${size} bytes of base64url`;
    throw new AgentAuthError(code, `The JWK member "${name}" must be ${expected}`);
  }
  return value as string;
}

/** Whether `alg` is a signature algorithm for keys of this type. */
export function isAlgorithmForJwk(alg: SignatureAlgorithm, jwk: PublicJwk): boolean {
  switch (jwk.kty) {
    case "EC":
      return alg === "ES256";
    case "OKP":
      return alg === "EdDSA" || alg === "Ed25519";
    case "RSA":
      return alg === "RS256";
  }
}

/**
 * The RFC 7638 thumbprint input: the required members in lexicographic order, no white space.
 * It identifies the key material exactly, so it also keys the imported-key cache.
 */
export function thumbprintInput(jwk: PublicJwk): string {
  // Members were validated as base64url, so they need no JSON escaping.
  switch (jwk.kty) {
    case "EC":
      return `{"crv":"${jwk.crv}","kty":"EC","x":"${jwk.x}","y":"${jwk.y}"}`;
    case "OKP":
      return `{"crv":"${jwk.crv}","kty":"OKP","x":"${jwk.x}"}`;
    case "RSA":
      return `{"e":"${jwk.e}","kty":"RSA","n":"${jwk.n}"}`;
  }
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url): the key's identity in `cnf.jkt`. */
export async function computeJwkThumbprint(jwk: PublicJwk): Promise<string> {
  return encodeBase64Url(await platform.sha256(thumbprintInput(jwk)));
}
