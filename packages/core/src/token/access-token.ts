import { platform } from "#platform";
import {
  type AuthorizationDetails,
  parseAuthorizationDetails,
  toAuthorizationDetails,
} from "../capabilities/authorization-details.js";
import { decodeCompactJws, signCompactJws } from "../crypto/compact-jws.js";
import { isAlgorithmForJwk, parsePublicJwk } from "../crypto/jwk.js";
import { type KeyCache, resolveKey } from "../crypto/key-cache.js";
import type { Signer } from "../crypto/signer.js";
import { AgentAuthError } from "../errors.js";
import type { SignatureAlgorithm } from "../platform/platform.js";

/** RFC 9068 caps nothing, but AgentAuth tokens live at most 15 minutes. */
export const MAX_ACCESS_TOKEN_LIFETIME_SECONDS = 900;

/** Claims of an AgentAuth access token (RFC 9068 `at+jwt`, DPoP-bound by `cnf.jkt`). */
export interface AccessTokenClaims {
  readonly iss: string;
  /** The agent id. */
  readonly sub: string;
  /** The service provider id. */
  readonly aud: string;
  /** The agent id again: the OAuth client the token was issued to. */
  readonly client_id: string;
  readonly iat: number;
  readonly exp: number;
  readonly jti: string;
  readonly cnf: { readonly jkt: string };
  /** Capabilities plus the envelope entry (RFC 9396). */
  readonly authorization_details: readonly unknown[];
  readonly grant_id: string;
  /** The human whose passkey approved the grant. */
  readonly human_id: string;
}

export interface BuildAccessTokenClaimsOptions {
  issuer: string;
  agentId: string;
  serviceProviderId: string;
  grantId: string;
  humanId: string;
  /** Thumbprint of the agent's key: the only key that can use the token. */
  jkt: string;
  authorization: AuthorizationDetails;
  now: Date;
  /** Requested lifetime, at most {@link MAX_ACCESS_TOKEN_LIFETIME_SECONDS}. */
  lifetimeSeconds: number;
  /** When the grant ends; the token never outlives it. */
  grantExpiresAt: Date;
  /** A fresh random token id. */
  jti: string;
}

/** Builds the claims of an access token, clamping its lifetime to the grant's. */
export function buildAccessTokenClaims(options: BuildAccessTokenClaimsOptions): AccessTokenClaims {
  const { lifetimeSeconds } = options;
  if (
    !Number.isSafeInteger(lifetimeSeconds) ||
    lifetimeSeconds < 1 ||
    lifetimeSeconds > MAX_ACCESS_TOKEN_LIFETIME_SECONDS
  ) {
    throw new TypeError(
      `lifetimeSeconds must be an integer from 1 to ${MAX_ACCESS_TOKEN_LIFETIME_SECONDS}`,
    );
  }
  const iat = Math.floor(options.now.getTime() / 1000);
  const exp = Math.min(iat + lifetimeSeconds, Math.floor(options.grantExpiresAt.getTime() / 1000));
  if (exp <= iat) throw new TypeError("The grant has already ended");
  return {
    iss: options.issuer,
    sub: options.agentId,
    aud: options.serviceProviderId,
    client_id: options.agentId,
    iat,
    exp,
    jti: options.jti,
    cnf: { jkt: options.jkt },
    authorization_details: toAuthorizationDetails(options.authorization),
    grant_id: options.grantId,
    human_id: options.humanId,
  };
}

/** Signs access token claims with the registry's {@link Signer} (`typ: at+jwt`, its `kid`). */
export function signAccessToken(claims: AccessTokenClaims, signer: Signer): Promise<string> {
  return signCompactJws({ typ: "at+jwt", kid: signer.kid }, { ...claims }, signer);
}

/** A JWK Set (RFC 7517 §5) as served at the registry's `jwks_uri`. */
export interface JsonWebKeySet {
  readonly keys: readonly Readonly<Record<string, unknown>>[];
}

export interface VerifyAccessTokenOptions {
  /** The registry's current key set. An unknown `kid` throws `ERR_TOKEN_KID_UNKNOWN`. */
  keys: JsonWebKeySet;
  expectedIssuer: string;
  /** This service provider's id. */
  expectedAudience: string;
  now: Date;
  /** Default 5 s. */
  clockSkewSeconds?: number;
  /** Default ES256, EdDSA, Ed25519 and RS256 (which RFC 9068 §4 requires verifiers to accept). */
  allowedAlgorithms?: readonly SignatureAlgorithm[];
  keyCache?: KeyCache;
}

export interface VerifyAccessTokenResult {
  readonly claims: AccessTokenClaims;
  readonly authorization: AuthorizationDetails;
  readonly kid: string;
}

const DEFAULT_ALGORITHMS: readonly SignatureAlgorithm[] = ["ES256", "EdDSA", "Ed25519", "RS256"];
const MAX_TOKEN_LENGTH = 64 * 1024;

/**
 * Verifies an access token per RFC 9068 §4: `typ`, allowed `alg`, signature under the `kid` from
 * the key set, `iss`, `aud`, `exp`/`nbf`/`iat` with skew, the lifetime cap, and the shape of
 * every claim AgentAuth relies on. DPoP binding (`cnf.jkt`) is checked by `verifyDpopProof`.
 */
export async function verifyAccessToken(
  token: string,
  options: VerifyAccessTokenOptions,
): Promise<VerifyAccessTokenResult> {
  const skew = options.clockSkewSeconds ?? 5;
  const { header, payload, signingInput, signature } = decodeCompactJws(
    token,
    "ERR_TOKEN_MALFORMED",
    MAX_TOKEN_LENGTH,
  );
  // RFC 9068 §4: "at+jwt" (the "application/" prefix may be present, RFC 7515 §4.1.9).
  if (header.typ !== "at+jwt" && header.typ !== "application/at+jwt") {
    throw new AgentAuthError("ERR_TOKEN_TYP_INVALID", 'The access token "typ" must be "at+jwt"');
  }
  const allowed = options.allowedAlgorithms ?? DEFAULT_ALGORITHMS;
  if (!(allowed as readonly unknown[]).includes(header.alg)) {
    throw new AgentAuthError(
      "ERR_TOKEN_ALG_NOT_ALLOWED",
      `The access token "alg" must be one of ${allowed.join(", ")}`,
    );
  }
  const alg = header.alg as SignatureAlgorithm;
  const kid = header.kid;
  const entry =
    typeof kid === "string" ? options.keys.keys.find((key) => key.kid === kid) : undefined;
  if (entry === undefined) {
    throw new AgentAuthError(
      "ERR_TOKEN_KID_UNKNOWN",
      "The access token was signed by an unknown key",
      { details: { kid } },
    );
  }
  const jwk = parsePublicJwk(entry);
  if (!isAlgorithmForJwk(alg, jwk) || (entry.alg !== undefined && entry.alg !== alg)) {
    throw new AgentAuthError(
      "ERR_TOKEN_ALG_NOT_ALLOWED",
      `Key "${kid as string}" does not sign with "${alg}"`,
    );
  }
  const { key } = await resolveKey(jwk, alg, options.keyCache);
  if (!(await platform.verifySignature(key, signature, signingInput))) {
    throw new AgentAuthError(
      "ERR_TOKEN_SIGNATURE_INVALID",
      "The access token signature is invalid",
    );
  }

  const claims = readClaims(payload);
  if (claims.iss !== options.expectedIssuer) {
    throw new AgentAuthError(
      "ERR_TOKEN_ISSUER_MISMATCH",
      "The access token was issued by another issuer",
    );
  }
  const audience = payload.aud;
  if (
    audience !== options.expectedAudience &&
    !(Array.isArray(audience) && audience.includes(options.expectedAudience))
  ) {
    throw new AgentAuthError(
      "ERR_TOKEN_AUDIENCE_MISMATCH",
      "The access token is for another service provider",
    );
  }
  const now = options.now.getTime() / 1000;
  if (now >= claims.exp + skew)
    throw new AgentAuthError("ERR_TOKEN_EXPIRED", "The access token has expired");
  const nbf = payload.nbf;
  if (claims.iat > now + skew || (typeof nbf === "number" && nbf > now + skew)) {
    throw new AgentAuthError("ERR_TOKEN_NOT_YET_VALID", "The access token is not valid yet");
  }
  if (claims.exp - claims.iat > MAX_ACCESS_TOKEN_LIFETIME_SECONDS) {
    throw new AgentAuthError(
      "ERR_TOKEN_LIFETIME_TOO_LONG",
      "The access token lives longer than 15 minutes",
    );
  }
  return {
    claims,
    authorization: await readTokenAuthorization(claims.authorization_details, options.keyCache),
    kid: kid as string,
  };
}

// The tokens of one grant carry the same details: with a cache, they are validated once per
// exact (serialised) content, and tokens with equal details share the (read-only) result.
function readTokenAuthorization(
  details: readonly unknown[],
  keyCache: KeyCache | undefined,
): AuthorizationDetails | Promise<AuthorizationDetails> {
  if (keyCache === undefined) return parseTokenAuthorization(details);
  return keyCache.getOrCompute(`authorization-details:${JSON.stringify(details)}`, async () =>
    parseTokenAuthorization(details),
  );
}

function readClaims(payload: Readonly<Record<string, unknown>>): AccessTokenClaims {
  const strings = ["iss", "sub", "client_id", "jti", "grant_id", "human_id"] as const;
  for (const name of strings) {
    if (typeof payload[name] !== "string" || payload[name] === "")
      invalidClaim(`"${name}" must be a non-empty string`);
  }
  for (const name of ["iat", "exp"] as const) {
    if (typeof payload[name] !== "number" || !Number.isFinite(payload[name]))
      invalidClaim(`"${name}" must be a number`);
  }
  if (payload.client_id !== payload.sub) invalidClaim('"client_id" must equal "sub"');
  const cnf = payload.cnf as Record<string, unknown> | undefined;
  if (
    typeof cnf !== "object" ||
    cnf === null ||
    typeof cnf.jkt !== "string" ||
    cnf.jkt.length !== 43
  ) {
    invalidClaim(
      '"cnf.jkt" must be an RFC 7638 SHA-256 thumbprint: only DPoP-bound tokens are accepted',
    );
  }
  if (!Array.isArray(payload.authorization_details))
    invalidClaim('"authorization_details" must be an array');
  return payload as unknown as AccessTokenClaims;
}

function parseTokenAuthorization(details: readonly unknown[]): AuthorizationDetails {
  try {
    return parseAuthorizationDetails(details);
  } catch (cause) {
    throw new AgentAuthError(
      "ERR_TOKEN_CLAIMS_INVALID",
      'The access token "authorization_details" are invalid',
      { cause },
    );
  }
}

function invalidClaim(message: string): never {
  throw new AgentAuthError("ERR_TOKEN_CLAIMS_INVALID", `The access token claim ${message}`);
}
