import { platform } from "#platform";
import { decodeCompactJws, signCompactJws } from "../crypto/compact-jws.js";
import { isAlgorithmForJwk, type PublicJwk } from "../crypto/jwk.js";
import { type KeyCache, resolveKey } from "../crypto/key-cache.js";
import type { JwsSigner } from "../crypto/signer.js";
import { AgentAuthError } from "../errors.js";
import type { SignatureAlgorithm } from "../platform/platform.js";

/** RFC 7523 §2.2: the `client_assertion_type` of a JWT client assertion. */
export const CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

export interface CreateClientAssertionOptions {
  key: JwsSigner;
  clientId: string;
  /** The authorization server's issuer identifier. */
  audience: string;
  now: Date;
  /** A fresh random identifier. */
  jti: string;
  /** Default 60 s. */
  lifetimeSeconds?: number;
}

/** Creates a `private_key_jwt` client assertion (RFC 7523 §3, OpenID Connect Core §9). */
export function createClientAssertion(options: CreateClientAssertionOptions): Promise<string> {
  const iat = Math.floor(options.now.getTime() / 1000);
  return signCompactJws(
    { typ: "JWT" },
    {
      iss: options.clientId,
      sub: options.clientId,
      aud: options.audience,
      iat,
      exp: iat + (options.lifetimeSeconds ?? 60),
      jti: options.jti,
    },
    options.key,
  );
}

export interface VerifyClientAssertionOptions {
  /** Values `aud` may hold: the issuer identifier and the URL of the endpoint it was sent to. */
  expectedAudiences: readonly string[];
  now: Date;
  /** The registered key of a client, or `undefined` for an unknown or disabled client. */
  resolveClientKey(clientId: string): Promise<PublicJwk | undefined>;
  /** Records the assertion's `jti` atomically; `false` for a replay. Called last. */
  markJtiUsed(jti: string, context: { clientId: string; expiresAt: Date }): Promise<boolean>;
  /** Longest accepted `exp - now`. Default 300 s. */
  maxLifetimeSeconds?: number;
  /** Default 5 s. */
  clockSkewSeconds?: number;
  /** Default ES256, EdDSA, Ed25519. */
  allowedAlgorithms?: readonly SignatureAlgorithm[];
  keyCache?: KeyCache;
}

export interface VerifyClientAssertionResult {
  readonly clientId: string;
  readonly jti: string;
  readonly expiresAt: Date;
}

const DEFAULT_ALGORITHMS: readonly SignatureAlgorithm[] = ["ES256", "EdDSA", "Ed25519"];
// JWTs of other kinds must never pass as a client assertion (RFC 8725 §3.11).
const FOREIGN_TYPES = new Set(["dpop+jwt", "at+jwt", "application/at+jwt"]);

/**
 * Verifies a `private_key_jwt` client assertion (RFC 7523 §3): `iss` = `sub` = a known client,
 * `aud` one of the expected values, `exp` in the future and not too far, `iat`/`nbf` not in the
 * future, the signature under the client's registered key, and `jti` single-use.
 */
export async function verifyClientAssertion(
  assertion: string,
  options: VerifyClientAssertionOptions,
): Promise<VerifyClientAssertionResult> {
  const skew = options.clockSkewSeconds ?? 5;
  const maxLifetime = options.maxLifetimeSeconds ?? 300;
  const allowed = options.allowedAlgorithms ?? DEFAULT_ALGORITHMS;
  const { header, payload, signingInput, signature } = decodeCompactJws(
    assertion,
    "ERR_CLIENT_ASSERTION_INVALID",
    8192,
  );
  if (typeof header.typ === "string" && FOREIGN_TYPES.has(header.typ.toLowerCase())) {
    invalid(`A "${header.typ}" JWT is not a client assertion`);
  }
  if (!(allowed as readonly unknown[]).includes(header.alg))
    invalid(`"alg" must be one of ${allowed.join(", ")}`);
  const alg = header.alg as SignatureAlgorithm;
  const { iss, sub, aud, exp, iat, nbf, jti } = payload;
  if (typeof iss !== "string" || iss === "" || sub !== iss)
    invalid('"iss" and "sub" must both be the client id');
  if (typeof exp !== "number" || typeof iat !== "number")
    invalid('"exp" and "iat" must be numbers');
  if (typeof jti !== "string" || jti.length < 16 || jti.length > 256)
    invalid('"jti" must be 16 to 256 characters');
  if (nbf !== undefined && typeof nbf !== "number") invalid('"nbf" must be a number');

  const audiences = Array.isArray(aud) ? aud : [aud];
  if (
    !audiences.some(
      (value) => typeof value === "string" && options.expectedAudiences.includes(value),
    )
  ) {
    throw new AgentAuthError(
      "ERR_CLIENT_ASSERTION_AUDIENCE_MISMATCH",
      'The client assertion "aud" is not this server',
    );
  }
  const now = options.now.getTime() / 1000;
  if (exp <= now - skew)
    throw new AgentAuthError("ERR_CLIENT_ASSERTION_EXPIRED", "The client assertion has expired");
  if (
    exp > now + maxLifetime + skew ||
    iat > now + skew ||
    (typeof nbf === "number" && nbf > now + skew)
  ) {
    invalid(`The client assertion must be valid now and for at most ${maxLifetime} seconds`);
  }

  const jwk = await options.resolveClientKey(iss);
  if (jwk === undefined)
    throw new AgentAuthError("ERR_CLIENT_UNKNOWN", "Unknown or disabled client");
  if (!isAlgorithmForJwk(alg, jwk)) {
    throw new AgentAuthError(
      "ERR_CLIENT_ASSERTION_SIGNATURE_INVALID",
      `The client's key does not sign with "${alg}"`,
    );
  }
  const { key } = await resolveKey(jwk, alg, options.keyCache);
  if (!(await platform.verifySignature(key, signature, signingInput))) {
    throw new AgentAuthError(
      "ERR_CLIENT_ASSERTION_SIGNATURE_INVALID",
      "The client assertion signature is invalid",
    );
  }
  const expiresAt = new Date((exp + skew) * 1000);
  if (!(await options.markJtiUsed(jti, { clientId: iss, expiresAt }))) {
    throw new AgentAuthError(
      "ERR_CLIENT_ASSERTION_REPLAYED",
      "The client assertion has been used before",
    );
  }
  return { clientId: iss, jti, expiresAt };
}

function invalid(message: string): never {
  throw new AgentAuthError("ERR_CLIENT_ASSERTION_INVALID", message);
}
