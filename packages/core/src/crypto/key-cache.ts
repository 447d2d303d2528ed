import { cryptoBackend } from "#crypto-backend";
import type { PublicKeyHandle, SignatureAlgorithm } from "./crypto-backend.js";
import type { PublicJwk } from "./jwk.js";

/**
 * A bounded LRU of imported public keys, keyed by RFC 7638 thumbprint (which identifies the key
 * material exactly). Importing a JWK costs about twice a signature check, so a warm verification
 * path imports nothing.
 */
export interface KeyCache {
  /** Returns the imported key for `jwk`, importing it on a miss. */
  importKey(thumbprint: string, jwk: PublicJwk, alg: SignatureAlgorithm): Promise<PublicKeyHandle>;
  readonly size: number;
  readonly hits: number;
  readonly misses: number;
}

export interface CreateKeyCacheOptions {
  /** Maximum number of keys kept; the least recently used is evicted first. Default 10,000. */
  maxEntries?: number;
}

/** Creates a {@link KeyCache}. Pass one instance to every verification of a process. */
export function createKeyCache(options: CreateKeyCacheOptions = {}): KeyCache {
  const maxEntries = options.maxEntries ?? 10_000;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
    throw new TypeError("maxEntries must be a positive integer");
  }
  // A Map iterates in insertion order; re-inserting on a hit makes its first key the LRU one.
  // The alg is part of the cache key so one key material can never be used with another alg.
  const entries = new Map<string, Promise<PublicKeyHandle>>();
  let hits = 0;
  let misses = 0;
  return {
    importKey(thumbprint, jwk, alg) {
      const cacheKey = `${alg}.${thumbprint}`;
      const cached = entries.get(cacheKey);
      if (cached !== undefined) {
        hits++;
        entries.delete(cacheKey);
        entries.set(cacheKey, cached);
        return cached;
      }
      misses++;
      const imported = cryptoBackend.importPublicKey(jwk, alg);
      entries.set(cacheKey, imported);
      // A failed import must not poison the cache.
      imported.catch(() => entries.delete(cacheKey));
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value as string);
      return imported;
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
