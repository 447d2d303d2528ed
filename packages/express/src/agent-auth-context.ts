import type { Capability } from "@agentauth/core";
import { AgentAuthExpressError } from "./errors.js";
import type { VerificationAction } from "./verification.js";

/** What remains of one spend cap once this request is counted. */
export interface RemainingSpend {
  readonly currency: string;
  readonly windowSeconds: number;
  /** Decimal string, e.g. `"187.50"`. */
  readonly remaining: string;
}

/** Who is asking and under which grant: set on `req.agentAuth` when the verifier allows. */
export interface AgentAuthContext {
  /** The agent id (`agt_…`), the token's `sub`. */
  readonly agent: string;
  /** The grant the token was issued under (`grt_…`). */
  readonly grant: string;
  /** The human who approved the grant with a passkey (`hum_…`). */
  readonly human: string;
  /** The access token's `jti`: what to revoke it by. */
  readonly tokenId: string;
  /** The granted capability that allowed the action. */
  readonly capability: Capability;
  /** The action that was checked, as the route computed it from the request. */
  readonly action: VerificationAction;
  /** What the envelope leaves after this request: requests in the rate window, spend per cap. */
  readonly remaining: {
    readonly requests?: number;
    readonly spend: readonly RemainingSpend[];
  };
}

declare global {
  // Express merges this into its Request type (as express-session and passport do).
  namespace Express {
    interface Request {
      /** Set by `requireCapability` when the verifier allowed the request. */
      agentAuth?: AgentAuthContext;
    }
  }
}

/**
 * The verified agent of a request that `requireCapability` let through; throws
 * `ERR_NOT_VERIFIED` on any other request (a route mounted without the middleware).
 */
export function getAgentAuth(req: { agentAuth?: AgentAuthContext }): AgentAuthContext {
  const context = req.agentAuth;
  if (context === undefined) {
    throw new AgentAuthExpressError(
      "ERR_NOT_VERIFIED",
      "This request was not allowed by requireCapability",
    );
  }
  return context;
}
