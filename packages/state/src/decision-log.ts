/**
 * A verifier decision worth auditing (a denial, a step-up, or a sampled/aggregated allow),
 * carried from verifiers to the registry, which appends it to the audit chain. Plain JSON.
 */
export interface DecisionRecord {
  /** ISO 8601 time of the decision. */
  readonly at: string;
  readonly outcome: "allow" | "deny" | "step_up";
  /** The stable reason code (`ok` for allows). */
  readonly reason: string;
  readonly serviceProviderId: string;
  readonly agentId?: string;
  readonly grantId?: string;
  readonly humanId?: string;
  readonly tokenId?: string;
  /** The action asked for: capability type, resource, and amount for payments. */
  readonly action?: {
    readonly type: string;
    readonly resource: string;
    readonly amount?: { readonly amount: string; readonly currency: string };
  };
  /** For aggregated allows: how many decisions this record stands for (default 1). */
  readonly count?: number;
}

/** One delivered record, with the id to acknowledge once it is safely stored. */
export interface DeliveredDecision {
  readonly id: string;
  readonly record: DecisionRecord;
}

/**
 * A durable queue of decision records (a Redis stream with a consumer group in production).
 * Verifiers `append`; the registry `read`s, stores each record in its audit log, then `ack`s.
 * A record read but never acknowledged (the registry died before storing it) is delivered again
 * after `redeliverAfterMs`, so nothing is lost; one stored twice is the consumer's to detect
 * (each delivered id is stable).
 */
export interface DecisionLog {
  append(records: readonly DecisionRecord[]): Promise<void>;
  /**
   * Up to `count` records for `consumer`: first those delivered earlier but unacknowledged for
   * longer than `redeliverAfterMs`, then new ones, waiting up to `blockMs` when there are none.
   */
  read(options: {
    readonly consumer: string;
    readonly count: number;
    readonly blockMs: number;
    readonly redeliverAfterMs: number;
  }): Promise<DeliveredDecision[]>;
  ack(ids: readonly string[]): Promise<void>;
}
