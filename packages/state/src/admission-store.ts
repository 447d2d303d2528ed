import type { QuotaEntry } from "./quota-store.js";

/** One request to admit: a single-use value to mark, and the quota counters it would use up. */
export interface AdmissionRequest {
  /** The single-use value (a DPoP proof's `dpop:<jkt>:<jti>`), as a {@link ReplayStore} key. */
  readonly replayKey: string;
  /** Until when the mark is kept; a time already passed keeps none (as `ReplayStore.markUsed`). */
  readonly replayExpiresAt: Date;
  /** The counters to check and add to when the value is fresh, as `QuotaStore.consume`; may be empty. */
  readonly quotas: readonly QuotaEntry[];
  /** Check the counters without adding to them (the value is still marked). Default false. */
  readonly dryRun?: boolean;
}

/** What {@link AdmissionStore.admit} decided. */
export type AdmissionResult =
  /** The value was marked already: nothing was changed or counted. */
  | { readonly replayed: true }
  /** The value is marked now, and the counters were judged as `QuotaStore.consume` judges them. */
  | {
      readonly replayed: false;
      /** Every counter had room (and, unless a dry run, was added to). */
      readonly withinLimits: boolean;
      /** Each counter's value before this call, in the order of `quotas`. */
      readonly before: readonly number[];
    };

/**
 * A {@link ReplayStore} and a {@link QuotaStore} in one atomic step, for the verifier's hot path:
 * `admit` marks a single-use value and, only when it was fresh, checks every counter and adds to
 * all of them if all fit — one round trip to the shared store instead of two. A replayed value
 * is refused without counting anything; a value whose counters refuse stays marked (the proof
 * was presented and must not be presented again). Atomic across replicas: N replicas admitting
 * concurrently allow exactly a counter's limit, and each value once.
 *
 * Marks and counters are the ones a `ReplayStore` and a `QuotaStore` of the same technology and
 * key prefix see: `markUsed(replayKey)` after an admit reports a replay, and `consume` counts on
 * from what admits added. Bad arguments reject with `TypeError`; an unreachable or full store
 * with a `StateError`, before anything is changed.
 */
export interface AdmissionStore {
  admit(request: AdmissionRequest): Promise<AdmissionResult>;
}
