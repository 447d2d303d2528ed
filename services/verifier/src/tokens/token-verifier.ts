import {
  AgentAuthError,
  decodeCompactJws,
  type KeyCache,
  type VerifyAccessTokenResult,
  verifyAccessToken,
} from "@agentauth/core";
import type { JwksCache } from "./jwks-cache.js";

/** As core allows: longer texts are refused before any parsing. */
const MAX_TOKEN_LENGTH = 64 * 1024;

export interface TokenVerifierOptions {
  readonly jwks: JwksCache;
  /** The registry's issuer identifier. */
  readonly issuer: string;
  readonly clockSkewSeconds: number;
  readonly keyCache: KeyCache;
  /** Verified tokens remembered; 0 disables the cache. */
  readonly cacheSize: number;
}

export interface VerifiedToken extends VerifyAccessTokenResult {
  /** Whether this token's signature was checked on an earlier request (the warm path). */
  readonly cached: boolean;
}

/**
 * Verifies access tokens for one audience at a time, remembering each verified token by its
 * exact text and audience: a warm token costs a map lookup and an expiry check instead of a
 * signature (what was checked once — signature, issuer, claim shapes, audience — cannot change;
 * expiry can, and is checked on every use). A token naming an unknown `kid` makes the JWKS cache
 * refetch (rate-limited) once. The cache is emptied whenever the key set changes, so a key
 * removed from the JWKS stops vouching for tokens at once.
 */
export interface TokenVerifier {
  verify(token: string, audience: string, now: Date): Promise<VerifiedToken>;
  readonly size: number;
}

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const verified = new Map<string, VerifyAccessTokenResult>();
  options.jwks.onChange(() => verified.clear());

  const verifyWithKeys = (token: string, audience: string, now: Date) => {
    const keys = options.jwks.current();
    if (keys === undefined) {
      throw new AgentAuthError("ERR_TOKEN_KID_UNKNOWN", "The registry's keys are not known yet");
    }
    return verifyAccessToken(token, {
      keys,
      expectedIssuer: options.issuer,
      expectedAudience: audience,
      now,
      clockSkewSeconds: options.clockSkewSeconds,
      keyCache: options.keyCache,
    });
  };

  return {
    async verify(token, audience, now) {
      const cacheKey = `${audience} ${token}`;
      const hit = verified.get(cacheKey);
      if (hit !== undefined) {
        if (now.getTime() / 1000 < hit.claims.exp + options.clockSkewSeconds) {
          return { ...hit, cached: true };
        }
        verified.delete(cacheKey);
        throw new AgentAuthError("ERR_TOKEN_EXPIRED", "The access token has expired");
      }
      let result: VerifyAccessTokenResult;
      try {
        result = await verifyWithKeys(token, audience, now);
      } catch (error) {
        if (!(error instanceof AgentAuthError && error.code === "ERR_TOKEN_KID_UNKNOWN"))
          throw error;
        const kid = decodeCompactJws(token, "ERR_TOKEN_MALFORMED", MAX_TOKEN_LENGTH).header.kid;
        if (typeof kid !== "string" || !(await options.jwks.refreshForKid(kid))) throw error;
        result = await verifyWithKeys(token, audience, now);
      }
      if (options.cacheSize > 0) {
        if (verified.size >= options.cacheSize)
          verified.delete(verified.keys().next().value as string);
        verified.set(cacheKey, result);
      }
      return { ...result, cached: false };
    },
    get size() {
      return verified.size;
    },
  };
}
