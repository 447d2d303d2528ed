import { hash } from "node:crypto";
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
  /** The token's RFC 9449 `ath` (SHA-256, base64url), computed once per token. */
  readonly ath: string;
}

interface CachedToken {
  readonly token: string;
  readonly audience: string;
  /** What a later request is answered: the result, marked as cached. */
  readonly hit: VerifiedToken;
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
  /** Whether `token` (its exact text) has been verified and is remembered. */
  has(token: string): boolean;
  readonly size: number;
}

// Entries are found by the token's signature segment, far shorter to hash than the whole token
// and as distinctive; the whole text is then compared.
const signatureOf = (token: string) => token.slice(token.lastIndexOf(".") + 1);

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  // By the token's signature; an AgentAuth token has one audience, kept with it.
  const verified = new Map<string, CachedToken>();
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
      const signature = signatureOf(token);
      const cached = verified.get(signature);
      if (cached !== undefined && cached.token === token && cached.audience === audience) {
        const { hit } = cached;
        if (now.getTime() / 1000 < hit.claims.exp + options.clockSkewSeconds) return hit;
        verified.delete(signature);
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
      const ath = hash("sha256", token, "base64url");
      if (options.cacheSize > 0) {
        if (cached === undefined && verified.size >= options.cacheSize)
          verified.delete(verified.keys().next().value as string);
        verified.set(signature, { token, audience, hit: { ...result, cached: true, ath } });
      }
      return { ...result, cached: false, ath };
    },
    has(token) {
      return verified.get(signatureOf(token))?.token === token;
    },
    get size() {
      return verified.size;
    },
  };
}
