import type { RequestHandler } from "express";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** The registry's Prometheus metrics, on a registry of their own (no global state). */
export interface RegistryMetrics {
  readonly registry: Registry;
  readonly tokensIssued: Counter<"grant_type">;
  readonly verifierDecisions: VerifierDecisionMetrics;
  /** Times every request by route and status class. */
  readonly observeRequests: RequestHandler;
}

/** How the consumer of the verifiers' decision log keeps up. */
export interface VerifierDecisionMetrics {
  /** Batches stored and acknowledged. */
  readonly batches: Counter;
  /** Delivered records, by `result`: `audited`, or `duplicate` (delivered again, skipped). */
  readonly records: Counter<"result">;
  /** Age of the oldest decision in the last batch; 0 when the log was found empty. */
  readonly lagSeconds: Gauge;
  /** Batches that failed (database or log unavailable); their records are delivered again. */
  readonly failures: Counter;
}

export function createRegistryMetrics(): RegistryMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "agentauth_registry_" });
  const duration = new Histogram({
    name: "agentauth_registry_http_request_duration_seconds",
    help: "HTTP request duration by route and status",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  const tokensIssued = new Counter({
    name: "agentauth_registry_tokens_issued_total",
    help: "Access tokens issued, by grant type",
    labelNames: ["grant_type"] as const,
    registers: [registry],
  });
  const verifierDecisions: VerifierDecisionMetrics = {
    batches: new Counter({
      name: "agentauth_registry_verifier_decision_batches_total",
      help: "Batches of verifier decisions audited and acknowledged",
      registers: [registry],
    }),
    records: new Counter({
      name: "agentauth_registry_verifier_decisions_total",
      help: "Verifier decisions delivered, by result: audited, or duplicate (skipped)",
      labelNames: ["result"] as const,
      registers: [registry],
    }),
    lagSeconds: new Gauge({
      name: "agentauth_registry_verifier_decision_lag_seconds",
      help: "Age of the oldest verifier decision in the last batch (0 when caught up)",
      registers: [registry],
    }),
    failures: new Counter({
      name: "agentauth_registry_verifier_decision_failures_total",
      help: "Batches of verifier decisions that failed and will be delivered again",
      registers: [registry],
    }),
  };
  const observeRequests: RequestHandler = (req, res, next) => {
    const end = duration.startTimer();
    res.on("finish", () => {
      // The matched route pattern, never the raw path: ids must not explode label cardinality.
      const route = (req.route as { path?: string } | undefined)?.path ?? "unmatched";
      end({ method: req.method, route, status: `${Math.floor(res.statusCode / 100)}xx` });
    });
    next();
  };
  return { registry, tokensIssued, verifierDecisions, observeRequests };
}
