import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** The verifier's Prometheus metrics, on a registry of their own (no global state). */
export interface VerifierMetrics {
  readonly registry: Registry;
  readonly decisions: Counter<"outcome" | "reason">;
  readonly verifyDuration: Histogram<"outcome">;
  readonly tokenCache: Counter<"result">;
  readonly jwksFetches: Counter<"outcome">;
  readonly stateErrors: Counter<"operation">;
  readonly revocationsReceived: Counter<"kind">;
  readonly revocationReloads: Counter;
  readonly decisionLogBuffered: Gauge;
  readonly decisionLogDropped: Counter;
  readonly decisionLogFailures: Counter;
}

/** How a decision is counted: `step_up` apart from other denials. */
export type DecisionOutcome = "allow" | "deny" | "step_up";

/**
 * Counts one decision and its latency on label children bound once per label value (a lookup
 * instead of prom-client hashing a labels object on every request).
 */
export interface DecisionCounter {
  count(outcome: DecisionOutcome, reason: string, seconds: number): void;
}

export function createDecisionCounter(metrics: VerifierMetrics): DecisionCounter {
  const decisions = new Map<string, ReturnType<VerifierMetrics["decisions"]["labels"]>>();
  const durations = new Map<
    DecisionOutcome,
    ReturnType<VerifierMetrics["verifyDuration"]["labels"]>
  >();
  return {
    count(outcome, reason, seconds) {
      let decision = decisions.get(reason);
      if (decision === undefined) {
        decision = metrics.decisions.labels({ outcome, reason });
        decisions.set(reason, decision);
      }
      decision.inc();
      let duration = durations.get(outcome);
      if (duration === undefined) {
        duration = metrics.verifyDuration.labels({ outcome });
        durations.set(outcome, duration);
      }
      duration.observe(seconds);
    },
  };
}

export interface VerifierMetricsSources {
  /** Decision records waiting to be sent, read at each scrape. */
  readonly bufferedDecisions: () => number;
}

export function createVerifierMetrics(sources: VerifierMetricsSources): VerifierMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "agentauth_verifier_" });
  const registers = [registry];
  return {
    registry,
    decisions: new Counter({
      name: "agentauth_verifier_decisions_total",
      help: "Verification decisions by outcome and reason",
      labelNames: ["outcome", "reason"] as const,
      registers,
    }),
    verifyDuration: new Histogram({
      name: "agentauth_verifier_verify_duration_seconds",
      help: "Time to answer POST /v1/verify, by outcome",
      labelNames: ["outcome"] as const,
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    tokenCache: new Counter({
      name: "agentauth_verifier_token_cache_total",
      help: "Access tokens found verified already (hit) or verified now (miss)",
      labelNames: ["result"] as const,
      registers,
    }),
    jwksFetches: new Counter({
      name: "agentauth_verifier_jwks_fetches_total",
      help: "Fetches of the registry's JWKS, by outcome (changed, unchanged, failed)",
      labelNames: ["outcome"] as const,
      registers,
    }),
    stateErrors: new Counter({
      name: "agentauth_verifier_state_errors_total",
      help: "Shared state (Redis) failures, by operation",
      labelNames: ["operation"] as const,
      registers,
    }),
    revocationsReceived: new Counter({
      name: "agentauth_verifier_revocations_received_total",
      help: "Revocations received from the registry's channel, by kind",
      labelNames: ["kind"] as const,
      registers,
    }),
    revocationReloads: new Counter({
      name: "agentauth_verifier_revocation_reloads_total",
      help: "Full reloads of the revocation set (on subscribe and every reconnection)",
      registers,
    }),
    decisionLogBuffered: new Gauge({
      name: "agentauth_verifier_decision_log_buffered",
      help: "Decision records waiting to be sent to the audit log",
      registers,
      collect() {
        this.set(sources.bufferedDecisions());
      },
    }),
    decisionLogDropped: new Counter({
      name: "agentauth_verifier_decision_log_dropped_total",
      help: "Decision records dropped because the buffer was full while the log was unreachable",
      registers,
    }),
    decisionLogFailures: new Counter({
      name: "agentauth_verifier_decision_log_failures_total",
      help: "Failed appends to the decision log (their records are retried)",
      registers,
    }),
  };
}
