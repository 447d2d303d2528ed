import { platform } from "#platform";
import {
  decodeJwsHeader,
  decodeJwsPayload,
  decodeJwsSignature,
  splitCompactJws,
} from "../crypto/compact-jws.js";
import { isAlgorithmForJwk, type PublicJwk, parsePublicJwk } from "../crypto/jwk.js";
import { type KeyCache, type ResolvedKey, resolveKey } from "../crypto/key-cache.js";
import { encodeBase64Url, encodeUtf8 } from "../encoding/base64url.js";
import { AgentAuthError } from "../errors.js";
import type { DpopNonceSource } from "./dpop-nonce-source.js";
import { normalizeHtu } from "./normalize-htu.js";

/** Algorithms a DPoP proof may use: asymmetric only, never `none` or a MAC. */
export type DpopAlgorithm = "ES256" | "EdDSA" | "Ed25519";

/** The payload of a verified DPoP proof. */
export interface DpopProofClaims {
  readonly jti: string;
  readonly htm: string;
  readonly htu: string;
  readonly iat: number;
  readonly ath?: string;
  readonly nonce?: string;
}

/**
 * Records a proof's `jti` as used, atomically (e.g. Redis `SET NX` with expiry). Resolves `true`
 * the first time a (`jkt`, `jti`) pair is seen and `false` for a replay. It is called last, for
 * proofs that passed every other check, so rejected proofs never use up a `jti`.
 */
export type MarkDpopJtiUsed = (
  jti: string,
  context: { jkt: string; expiresAt: Date },
) => Promise<boolean>;

export interface VerifyDpopProofOptions {
  /** The `DPoP` header value(s) as received; more than one is refused (§4.3 rule 1). */
  proof: string | readonly string[] | undefined;
  /** The request's method, e.g. "POST". */
  expectedMethod: string;
  /** The request's absolute URL as this server sees it; query and fragment are ignored. */
  expectedUrl: string;
  now: Date;
  markJtiUsed: MarkDpopJtiUsed;
  /** The access token sent with the proof: `ath` must be its hash. Requires `expectedJkt`. */
  accessToken?: string;
  /**
   * The `ath` of `accessToken` (its SHA-256, base64url), when the caller has computed it already
   * — e.g. once per cached token — so it is not hashed again for every proof. It must be that
   * token's hash; requires `accessToken`.
   */
  accessTokenHash?: string;
  /** The RFC 7638 thumbprint the proof key must have (`cnf.jkt` of the token, or an agent's key). */
  expectedJkt?: string;
  /** Requires a valid server nonce when set (§8). */
  nonceSource?: DpopNonceSource;
  /** How old a proof's `iat` may be. Default 60 s. */
  maxAgeSeconds?: number;
  /** Tolerated clock difference in both directions. Default 5 s. */
  clockSkewSeconds?: number;
  /** Default ["ES256", "EdDSA", "Ed25519"]. */
  allowedAlgorithms?: readonly DpopAlgorithm[];
  /** Imported-key cache; without one every proof imports its key (cold path). */
  keyCache?: KeyCache;
}

export interface VerifyDpopProofResult {
  /** RFC 7638 thumbprint of the proof key. */
  readonly jkt: string;
  readonly jwk: PublicJwk;
  readonly alg: DpopAlgorithm;
  readonly claims: DpopProofClaims;
}

const DEFAULT_ALGORITHMS: readonly DpopAlgorithm[] = ["ES256", "EdDSA", "Ed25519"];
const MAX_PROOF_LENGTH = 4096;
const MIN_JTI_LENGTH = 16;
const MAX_JTI_LENGTH = 256;

/**
 * Verifies a DPoP proof by every check of RFC 9449 §4.3, plus `jti` replay (§11.1), `ath` and
 * the `cnf.jkt` binding (§4.3 rule 12, §7.1). Throws an {@link AgentAuthError} whose code names
 * the first rule broken; cheap checks run before the signature, the replay record last.
 *
 * @example
 * const { jkt } = await verifyDpopProof({ proof: req.headers.dpop, expectedMethod: "POST",
 *   expectedUrl: "https://as.example/oauth/token", now: new Date(), markJtiUsed });
 */
export async function verifyDpopProof(
  options: VerifyDpopProofOptions,
): Promise<VerifyDpopProofResult> {
  // One read of each option: callers often pass spread objects, whose repeated property reads
  // measurably slow this hot path down.
  const {
    proof: proofHeader,
    expectedMethod,
    expectedUrl,
    now,
    markJtiUsed,
    accessToken,
    accessTokenHash,
    expectedJkt,
    nonceSource,
    keyCache,
    maxAgeSeconds: maxAge = 60,
    clockSkewSeconds: skew = 5,
    allowedAlgorithms: allowed = DEFAULT_ALGORITHMS,
  } = options;
  if (accessToken !== undefined && expectedJkt === undefined) {
    throw new TypeError("expectedJkt is required when an access token is presented");
  }
  if (accessTokenHash !== undefined && accessToken === undefined) {
    throw new TypeError("accessTokenHash is the hash of accessToken, which is missing");
  }

  // Rules 1 and 2: exactly one header holding one well-formed JWT.
  const segments = splitCompactJws(
    singleProof(proofHeader),
    "ERR_DPOP_MALFORMED",
    MAX_PROOF_LENGTH,
  );
  const payload = decodeJwsPayload(segments.payload, "ERR_DPOP_MALFORMED");
  const signature = decodeJwsSignature(segments.signature, "ERR_DPOP_MALFORMED");
  // Rules 4, 5 and 7: typ, alg and a public key of the alg's type. An agent sends the same header
  // with every proof, so the validated header and its imported key are cached by its text.
  const { alg, jwk, jkt, key } = await (keyCache === undefined
    ? readProofHeader(segments.header, allowed)
    : keyCache.getOrCompute(`dpop-header:${segments.header}`, () =>
        readProofHeader(segments.header, allowed, keyCache),
      ));
  if (!allowed.includes(alg)) throw algNotAllowed(allowed);

  // Rule 3: required claims, with their types.
  const claims = readClaims(payload);

  // Rule 8: htm. Rule 9: htu, ignoring query and fragment, after normalisation.
  if (claims.htm !== expectedMethod) {
    throw new AgentAuthError(
      "ERR_DPOP_HTM_MISMATCH",
      `The DPoP proof "htm" does not match ${expectedMethod}`,
    );
  }
  const expectedHtu = normalizeExpectedUrl(expectedUrl);
  if (expectedHtu === undefined) throw new TypeError("expectedUrl must be an absolute http(s) URL");
  if (claims.htu !== expectedHtu && normalizeHtu(claims.htu) !== expectedHtu) {
    throw new AgentAuthError(
      "ERR_DPOP_HTU_MISMATCH",
      `The DPoP proof "htu" does not match ${expectedHtu}`,
    );
  }

  // Rule 11: created within the accepted window.
  const nowSeconds = now.getTime() / 1000;
  if (claims.iat > nowSeconds + skew || claims.iat < nowSeconds - maxAge - skew) {
    throw new AgentAuthError(
      "ERR_DPOP_IAT_OUT_OF_WINDOW",
      'The DPoP proof "iat" is outside the accepted window',
      {
        details: { maxAgeSeconds: maxAge, clockSkewSeconds: skew },
      },
    );
  }

  // Rule 12: bound to the presented access token and its key.
  if (accessToken !== undefined) {
    if (claims.ath === undefined)
      throw new AgentAuthError("ERR_DPOP_ATH_MISSING", 'The DPoP proof has no "ath"');
    const ath = accessTokenHash ?? encodeBase64Url(await platform.sha256(accessToken));
    if (claims.ath !== ath) {
      throw new AgentAuthError(
        "ERR_DPOP_ATH_MISMATCH",
        'The DPoP proof "ath" is not the hash of the access token',
      );
    }
  }
  if (expectedJkt !== undefined && jkt !== expectedJkt) {
    throw new AgentAuthError(
      "ERR_DPOP_JKT_MISMATCH",
      "The DPoP proof key is not the key the token is bound to",
    );
  }

  // Rule 10: the server nonce, when one is required.
  if (nonceSource !== undefined) {
    if (claims.nonce === undefined)
      throw new AgentAuthError("ERR_DPOP_NONCE_REQUIRED", "A DPoP nonce is required");
    if (!(await nonceSource.verify(claims.nonce, now))) {
      throw new AgentAuthError(
        "ERR_DPOP_NONCE_INVALID",
        'The DPoP proof "nonce" is invalid or expired',
      );
    }
  }

  // Rule 6: the signature, under the embedded key.
  if (!(await platform.verifySignature(key, signature, encodeUtf8(segments.signingInput)))) {
    throw new AgentAuthError("ERR_DPOP_SIGNATURE_INVALID", "The DPoP proof signature is invalid");
  }

  // §11.1: single use, remembered until the proof would be too old anyway.
  const expiresAt = new Date((claims.iat + maxAge + skew) * 1000);
  if (!(await markJtiUsed(claims.jti, { jkt, expiresAt }))) {
    throw new AgentAuthError("ERR_DPOP_JTI_REPLAYED", "The DPoP proof has been used before");
  }
  return { jkt, jwk, alg, claims };
}

// Services verify many proofs for the same few URLs; remembering the last one saves a URL parse.
let lastExpectedUrl: { url: string; htu: string | undefined } | undefined;
function normalizeExpectedUrl(url: string): string | undefined {
  if (lastExpectedUrl?.url !== url) lastExpectedUrl = { url, htu: normalizeHtu(url) };
  return lastExpectedUrl.htu;
}

interface ProofHeader extends ResolvedKey {
  readonly alg: DpopAlgorithm;
  readonly jwk: PublicJwk;
}

async function readProofHeader(
  segment: string,
  allowed: readonly DpopAlgorithm[],
  keyCache?: KeyCache,
): Promise<ProofHeader> {
  const header = decodeJwsHeader(segment, "ERR_DPOP_MALFORMED");
  if (header.typ !== "dpop+jwt")
    throw new AgentAuthError("ERR_DPOP_TYP_INVALID", 'The DPoP proof "typ" must be "dpop+jwt"');
  if (!(allowed as readonly unknown[]).includes(header.alg)) throw algNotAllowed(allowed);
  const alg = header.alg as DpopAlgorithm;
  // Rule 3 requires the jwk; rule 7 that it is a public key (of the type the alg needs).
  if (header.jwk === undefined)
    throw new AgentAuthError("ERR_DPOP_JWK_INVALID", 'The DPoP proof header has no "jwk"');
  const jwk = parsePublicJwk(header.jwk, {
    invalidCode: "ERR_DPOP_JWK_INVALID",
    privateCode: "ERR_DPOP_JWK_PRIVATE",
  });
  if (!isAlgorithmForJwk(alg, jwk)) {
    throw new AgentAuthError(
      "ERR_DPOP_JWK_INVALID",
      `The DPoP proof "jwk" is not a key for "${alg}"`,
    );
  }
  return { alg, jwk, ...(await resolveKey(jwk, alg, keyCache)) };
}

function algNotAllowed(allowed: readonly DpopAlgorithm[]): AgentAuthError {
  return new AgentAuthError(
    "ERR_DPOP_ALG_NOT_ALLOWED",
    `The DPoP proof "alg" must be one of ${allowed.join(", ")}`,
  );
}

function singleProof(proof: string | readonly string[] | undefined): string {
  if (typeof proof === "string") return proof;
  if (proof === undefined || proof.length === 0)
    throw new AgentAuthError("ERR_DPOP_MISSING", "A DPoP proof is required");
  if (proof.length > 1)
    throw new AgentAuthError("ERR_DPOP_MULTIPLE", "Exactly one DPoP header is allowed");
  return proof[0] as string;
}

function readClaims(payload: Readonly<Record<string, unknown>>): DpopProofClaims {
  const { jti, htm, htu, iat, ath, nonce } = payload;
  if (typeof htm !== "string" || typeof htu !== "string") {
    throw new AgentAuthError(
      "ERR_DPOP_CLAIMS_INVALID",
      'The DPoP proof needs string "htm" and "htu" claims',
    );
  }
  if (typeof iat !== "number" || !Number.isFinite(iat)) {
    throw new AgentAuthError(
      "ERR_DPOP_CLAIMS_INVALID",
      'The DPoP proof needs a numeric "iat" claim',
    );
  }
  if (typeof jti !== "string" || jti.length < MIN_JTI_LENGTH || jti.length > MAX_JTI_LENGTH) {
    throw new AgentAuthError(
      "ERR_DPOP_JTI_INVALID",
      `The DPoP proof "jti" must be a string of ${MIN_JTI_LENGTH} to ${MAX_JTI_LENGTH} characters`,
    );
  }
  if (
    (ath !== undefined && typeof ath !== "string") ||
    (nonce !== undefined && typeof nonce !== "string")
  ) {
    throw new AgentAuthError(
      "ERR_DPOP_CLAIMS_INVALID",
      'The DPoP proof "ath" and "nonce" claims must be strings',
    );
  }
  return {
    jti,
    htm,
    htu,
    iat,
    ...(ath === undefined ? {} : { ath }),
    ...(nonce === undefined ? {} : { nonce }),
  };
}
