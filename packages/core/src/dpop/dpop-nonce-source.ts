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
  // Only two windows are ever valid, so two memoised nonces avoid an HMAC per request; once
  // computed, a window's nonce is also kept as a string, answered without waiting.
  const memo = new Map<number, { readonly nonce: Promise<string>; text?: string }>();

  const nonceFor = (counter: number) => {
    let entry = memo.get(counter);
    if (entry === undefined) {
      key ??= platform.importHmacKey(options.secret);
      const nonce = key.then(async (handle) =>
        encodeBase64Url(await platform.hmacSha256(handle, `agentauth-dpop-nonce:${counter}`)),
      );
      const created: { readonly nonce: Promise<string>; text?: string } = { nonce };
      void nonce.then(
        (text) => {
          created.text = text;
        },
        () => memo.delete(counter),
      );
      entry = created;
      memo.set(counter, entry);
      for (const old of memo.keys()) if (old < counter - 1 || old > counter + 1) memo.delete(old);
    }
    return entry;
  };
  const counterAt = (now: Date): number => Math.floor(now.getTime() / 1000 / windowSeconds);
  const matches = (nonce: string, current: string, previous: string) => {
    // Both comparisons always run, so timing does not say which window matched.
    const matchesCurrent = constantTimeEqual(nonce, current);
    const matchesPrevious = constantTimeEqual(nonce, previous);
    return matchesCurrent || matchesPrevious;
  };

  return {
    issue(now) {
      const entry = nonceFor(counterAt(now));
      return entry.text === undefined ? entry.nonce : Promise.resolve(entry.text);
    },
    async verify(nonce, now) {
      const counter = counterAt(now);
      const current = nonceFor(counter);
      const previous = nonceFor(counter - 1);
      if (current.text !== undefined && previous.text !== undefined)
        return matches(nonce, current.text, previous.text);
      return matches(nonce, await current.nonce, await previous.nonce);
    },
  };
}
