import { StateError } from "./state-error.js";

export interface ExpiringEntry<V> {
  value: V;
  expiresAtMs: number;
}

export interface ExpiringMapOptions {
  /** Live entries the map may hold; past it, adding a key fails. Default unbounded. */
  maxEntries?: number;
  /** Names the store in the capacity error, e.g. "replay store". */
  label: string;
}

// Below this size a sweep is not worth its cost.
const MIN_SWEEP_SIZE = 1024;

/**
 * An in-process map whose entries expire: an expired entry is dropped when it is read, and the
 * whole map is swept each time it has doubled since the last sweep, which keeps sweeping at
 * amortised O(1) per write. It never drops a live entry: when it holds `maxEntries` live ones,
 * adding another throws `ERR_STATE_CAPACITY_EXCEEDED`.
 */
export class ExpiringMap<V> {
  readonly #entries = new Map<string, ExpiringEntry<V>>();
  readonly #maxEntries: number;
  readonly #label: string;
  #sweepAtSize = MIN_SWEEP_SIZE;
  // A lower bound on every entry's expiry: until it passes, a sweep cannot free anything, so a
  // full map refuses in O(1) instead of rescanning itself on every attempt.
  #earliestExpiryMs = Number.POSITIVE_INFINITY;

  constructor(options: ExpiringMapOptions) {
    const maxEntries = options.maxEntries ?? Number.POSITIVE_INFINITY;
    if (
      maxEntries !== Number.POSITIVE_INFINITY &&
      (!Number.isSafeInteger(maxEntries) || maxEntries < 1)
    ) {
      throw new TypeError("maxEntries must be a positive integer");
    }
    this.#maxEntries = maxEntries;
    this.#label = options.label;
  }

  /** Entries held, live or not yet swept. */
  get size(): number {
    return this.#entries.size;
  }

  /** The live entry under `key` at `nowMs`, if any. */
  get(key: string, nowMs: number): ExpiringEntry<V> | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs > nowMs) return entry;
    this.#entries.delete(key);
    return undefined;
  }

  /** Stores `value` under `key` until `expiresAtMs`; throws when full of live entries. */
  set(key: string, value: V, expiresAtMs: number, nowMs: number): void {
    if (!this.#entries.has(key)) this.assertRoomFor(1, nowMs);
    this.#entries.set(key, { value, expiresAtMs });
    if (expiresAtMs < this.#earliestExpiryMs) this.#earliestExpiryMs = expiresAtMs;
    if (this.#entries.size >= this.#sweepAtSize) {
      this.#sweep(nowMs);
      this.#sweepAtSize = Math.max(MIN_SWEEP_SIZE, this.#entries.size * 2);
    }
  }

  /**
   * Throws `ERR_STATE_CAPACITY_EXCEEDED` unless `count` new keys fit at `nowMs`, so a caller
   * about to add several can refuse them all before adding any.
   */
  assertRoomFor(count: number, nowMs: number): void {
    if (this.#entries.size + count <= this.#maxEntries) return;
    this.#sweep(nowMs);
    if (this.#entries.size + count > this.#maxEntries) {
      throw new StateError(
        "ERR_STATE_CAPACITY_EXCEEDED",
        `The ${this.#label} holds ${this.#maxEntries} live entries and refuses more`,
      );
    }
  }

  /** The live entries at `nowMs`, as `[key, entry]` pairs. */
  *entries(nowMs: number): IterableIterator<[string, ExpiringEntry<V>]> {
    for (const pair of this.#entries) if (pair[1].expiresAtMs > nowMs) yield pair;
  }

  #sweep(nowMs: number): void {
    if (nowMs < this.#earliestExpiryMs) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAtMs <= nowMs) this.#entries.delete(key);
      else if (entry.expiresAtMs < earliest) earliest = entry.expiresAtMs;
    }
    this.#earliestExpiryMs = earliest;
  }
}
