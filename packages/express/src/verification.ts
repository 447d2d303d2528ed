import type { Capability, CapabilityRequest, CapabilityType, Money } from "@agentauth/core";

/**
 * What the route is about to do, in the verifier's `action` form (docs/verifier.md): core's
 * capability request with the capability type as `type` (`{type, resource, amount?, …}`).
 */
export type VerificationAction = Readonly<Omit<CapabilityRequest, "action">> & {
  readonly type: CapabilityType;
};

/** One agent request as the verifier needs it: what the agent sent, and what it asks for. */
export interface VerificationRequest {
  /** The agent's `Authorization` header, as received. */
  readonly authorization?: string;
  /** The agent's `DPoP` header(s), as received (several are refused by the verifier). */
  readonly dpop?: string | readonly string[];
  /** The request method and absolute URL the agent used (the proof's `htm` and `htu`). */
  readonly method: string;
  readonly url: string;
  readonly action: VerificationAction;
}

/** What remains of one spend cap after an allowed request. */
export interface SpendRemaining {
  readonly currency: string;
  readonly window_seconds: number;
  /** Decimal string in the currency's minor units, e.g. `"187.50"`. */
  readonly remaining: string;
}

/** The verifier's decision, exactly as `POST /v1/verify` answers it (docs/verifier.md). */
export interface VerificationAnswer {
  readonly decision: "allow" | "deny";
  /** `ok` on allow, else a stable deny reason (`capability_not_granted`, `dpop_jti_replayed`…). */
  readonly reason: string;
  /** Human-readable; never contains a secret. */
  readonly message: string;
  readonly agent?: string;
  readonly grant?: string;
  readonly human?: string;
  readonly token_id?: string;
  /** The granted capability that allowed the action (on allow). */
  readonly capability?: Capability;
  readonly remaining?: { readonly requests?: number; readonly spend?: readonly SpendRemaining[] };
  /** On `step_up_required`: the amount above which the human must approve afresh. */
  readonly step_up?: { readonly above: Money };
  /** What to answer the agent with: status, and headers such as `WWW-Authenticate`. */
  readonly respond: { readonly status: number; readonly headers: Readonly<Record<string, string>> };
}

/**
 * Where decisions come from: the verifier over HTTP (`createRemoteVerification`) or the same
 * checks in this process (`@agentauth/express/in-process`). Both answer every request with a
 * decision, or reject with an `AgentAuthExpressError` when none could be made — never an allow
 * on partial knowledge.
 */
export interface Verification {
  /** Decides one request; rejects with `ERR_VERIFIER_*` when no decision could be made. */
  verify(request: VerificationRequest): Promise<VerificationAnswer>;
  /** Releases what the adapter holds (connections, subscriptions). */
  close(): Promise<void>;
}
