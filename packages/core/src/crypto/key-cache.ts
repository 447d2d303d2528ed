import { platform } from "#platform";
import type { PublicKeyHandle, SignatureAlgorithm } from "../platform/platform.js";
import { computeJwkThumbprint, type PublicJwk, thumbprintInput } from "./jwk.js";

/** A public key ready to verify with, and its RFC 7638 thumbprint. */
export interface ResolvedKey {
  readonly jkt: string;
  readonly key: PublicKeyHandle;
}

/**
 * A bounded LRU of work derived from public keys: imported keys with their thumbprints, and
 * validated DPoP proof headers (an agent sends the same header with every proof); and of the
 * validated `authorization_details` of access tokens (the tokens of one grant carry the same). Importing a
 * JWK costs about twice a signature check and a thumbprint costs a hash, so a warm verification
 * does neither. Entries are keyed by exact input text, so a hit can only return what the same
 * input produced; failed computations are never kept.
 */
export interface KeyCache {
  /** The cached result for `key`, or the result of `compute`, cached when it succeeds. */
  getOrCompute<T>(key: string, compute: () => Promise<T>): Promise<T>;
  readonly size: number;
  readonly hits: number;
  readonly misses: number;
}

export interface CreateKeyCacheOptions {
  /** Maximum number of entries; the least recently used is evicted first. Default 10,000. */
  maxEntries?: number;
}

/** Creates a {@link KeyCache}. Pass one instance to every verification of a process. */
export function createKeyCache(options: CreateKeyCacheOptions = {}): KeyCache {
  const maxEntries = options.maxEntries ?? 10_000;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
    throw new TypeError("maxEntries must be a positive integer");
  }
  // A Map iterates in insertion order; re-inserting on a hit makes its first key the LRU one.
  const entries = new Map<string, Promise<unknown>>();
  let hits = 0;
  let misses = 0;
  return {
    getOrCompute<T>(key: string, compute: () => Promise<T>): Promise<T> {
      const cached = entries.get(key);
      if (cached !== undefined) {
        hits++;
        entries.delete(key);
        entries.set(key, cached);
        return cached as Promise<T>;
      }
      misses++;
      const computed = compute();
      entries.set(key, computed);
      computed.catch(() => entries.delete(key));
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
      return computed;
    },
    get size() {
      return entries.size;
    },
    get hits() {
      return hits;
    },
    get misses() {
      return misses;
    },
  };
}

/** Imports a key and computes its thumbprint, through `cache` when one is given. */
export function resolveKey(
  jwk: PublicJwk,
  alg: SignatureAlgorithm,
  cache?: KeyCache,
): Promise<ResolvedKey> {
  const compute = async (): Promise<ResolvedKey> => {
    const [jkt, key] = await Promise.all([
      computeJwkThumbprint(jwk),
      platform.importPublicKey(jwk, alg),
    ]);
    return { jkt, key };
  };
  // The alg is part of the key so one key material is never used with another algorithm.
  return cache === undefined
    ? compute()
    : cache.getOrCompute(`jwk:${alg}:${thumbprintInput(jwk)}`, compute);
}
