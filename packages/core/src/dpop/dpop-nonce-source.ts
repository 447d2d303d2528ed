import { platform } from "#platform";
import { constantTimeEqual } from "../crypto/constant-time-equal.js";
import { encodeBase64Url } from "../encoding/base64url.js";
import type { HmacKeyHandle } from "../platform/platform.js";

/** Issues and checks DPoP server nonces (RFC 9449 §8). */
export interface DpopNonceSource {
  /** The nonce to hand out now (`DPoP-Nonce` header). */
  issue(now: Date): Promise<string>;
  /** Whether `nonce` was issued in the current or the previous window. */
  verify(nonce: string, now: Date): Promise<boolean>;
}

export interface CreateDpopNonceSourceOptions {
  /** HMAC key shared by every replica; at least 32 bytes. */
  secret: Uint8Array;
  /** Lifetime of one nonce window. Default 300 s; a nonce stays valid for 1–2 windows. */
  windowSeconds?: number;
}

/**
 * Stateless nonces: HMAC-SHA-256(secret, window counter), accepting the current and previous
 * window, the design node-oidc-provider uses. Replicas that share the secret agree on every nonce
 * without a shared store.
 */
export function createDpopNonceSource(options: CreateDpopNonceSourceOptions): DpopNonceSource {
  const windowSeconds = options.windowSeconds ?? 300;
  if (!(options.secret instanceof Uint8Array) || options.secret.length < 32) {
    throw new TypeError("The DPoP nonce secret must be at least 32 bytes");
  }
  if (!Number.isSafeInteger(windowSeconds) || windowSeconds < 1) {
    throw new TypeError("windowSeconds must be a positive integer");
  }
  let key: Promise<HmacKeyHandle> | undefined;
  // Only two windows are ever valid, so two memoised nonces avoid an HMAC per request.
  const memo = new Map<number, Promise<string>>();

  const nonceFor = (counter: number): Promise<string> => {
    let nonce = memo.get(counter);
    if (nonce === undefined) {
      key ??= platform.importHmacKey(options.secret);
      nonce = key.then(async (handle) =>
        encodeBase64Url(await platform.hmacSha256(handle, `agentauth-dpop-nonce:${counter}`)),
      );
      memo.set(counter, nonce);
      for (const old of memo.keys()) if (old < counter - 1 || old > counter + 1) memo.delete(old);
    }
    return nonce;
  };
  const counterAt = (now: Date): number => Math.floor(now.getTime() / 1000 / windowSeconds);

  return {
    issue(now) {
      return nonceFor(counterAt(now));
    },
    async verify(nonce, now) {
      const counter = counterAt(now);
      const [current, previous] = await Promise.all([nonceFor(counter), nonceFor(counter - 1)]);
      // Both comparisons always run, so timing does not say which window matched.
      const matchesCurrent = constantTimeEqual(nonce, current);
      const matchesPrevious = constantTimeEqual(nonce, previous);
      return matchesCurrent || matchesPrevious;
    },
  };
}
