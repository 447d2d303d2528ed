import {
  type AccessTokenClaims,
  AgentAuthError,
  type Capability,
  type DpopNonceSource,
  type EnvelopeDecision,
  type EnvelopeSpendRemaining,
  findMatchingCapability,
  type KeyCache,
  type Money,
  verifyDpopProof,
} from "@agentauth/core";
import { type AdmissionStore, type RevocationSet, StateError } from "@agentauth/state";
import type { Clock } from "../clock.js";
import { type DenyReason, reasonForCoreError, responseForReason } from "../decisions/reasons.js";
import { prepareEnvelope, settleEnvelope } from "../envelope/enforce-envelope.js";
import type { TokenVerifier, VerifiedToken } from "../tokens/token-verifier.js";
import type { CheckedVerifyRequest } from "./verify-request-shape.js";

/** The verifier's answer: a decision, its reason, and what to tell the agent. */
export interface VerifyAnswer {
  readonly decision: "allow" | "deny";
  readonly reason: "ok" | DenyReason;
  readonly message: string;
  readonly agent?: string;
  readonly grant?: string;
  readonly human?: string;
  readonly token_id?: string;
  /** The granted capability that allowed the action. */
  readonly capability?: Capability;
  readonly remaining?: { readonly requests?: number; readonly spend?: EnvelopeSpendRemaining[] };
  /** For `step_up_required`: the amount above which a fresh approval is needed. */
  readonly step_up?: { readonly above: Money };
  /** What the service provider sends back to the agent: status and headers. */
  readonly respond: { readonly status: number; readonly headers: Record<string, string> };
}

export interface VerifyRequestDeps {
  readonly clock: Clock;
  readonly tokens: TokenVerifier;
  readonly revocations: RevocationView;
  /** Marks each proof's `jti` and counts the envelope's quotas, in one atomic step. */
  readonly admissions: AdmissionStore;
  readonly keyCache: KeyCache;
  /** Set when proofs must carry a server nonce. */
  readonly nonceSource: DpopNonceSource | undefined;
  readonly clockSkewSeconds: number;
}

/** The local revocation set, and whether it is known to be complete. */
export interface RevocationView {
  readonly set: RevocationSet;
  /** False while the subscription is down: revocations may be missing, so nothing is allowed. */
  isCurrent(): boolean;
}

const DPOP_ALGS = 'algs="ES256 EdDSA Ed25519"';

/**
 * Decides one agent request for service provider `audience`: token (signature, `typ`, `iss`,
 * `aud`, expiry), revocation of token, grant and agent, the DPoP proof by every RFC 9449 rule
 * (`ath`, `cnf.jkt`, `jti` replay shared by every replica, server nonce), the capability match,
 * then the envelope, counted atomically. Throws only when shared state is unavailable
 * (`StateError`, answered 503): a decision is never made on partial knowledge.
 *
 * The proof's `jti` is marked, and the envelope's counters checked and added to, in one atomic
 * admission: core's `verifyDpopProof` runs every other rule of the proof and hands over the
 * replay record it would write last, and a replay found then answers `dpop_jti_replayed` exactly
 * as if it had been found first. A proof refused by another rule never uses up its `jti`; one
 * whose request is refused by the capability or the envelope does, as it was presented.
 */
export async function verifyRequest(
  deps: VerifyRequestDeps,
  audience: string,
  request: CheckedVerifyRequest,
): Promise<VerifyAnswer> {
  const now = deps.clock.now();
  const nonce = deps.nonceSource === undefined ? undefined : await deps.nonceSource.issue(now);
  const deny = (reason: DenyReason, message: string, extra: Partial<VerifyAnswer> = {}) =>
    denial(reason, message, nonce, extra);

  const authorization = request.authorization;
  if (authorization === undefined || authorization === "")
    return deny("token_missing", "The request carries no access token");
  const token = readDpopToken(authorization, deps.tokens);
  if (token === undefined) {
    return deny(
      "dpop_scheme_required",
      "AgentAuth tokens are DPoP-bound: send them as Authorization: DPoP <token>",
    );
  }

  let verified: VerifiedToken;
  try {
    verified = await deps.tokens.verify(token, audience, now);
  } catch (error) {
    return deniedBy(error, deny);
  }
  const { claims } = verified;
  const who: Partial<VerifyAnswer> = {
    agent: claims.sub,
    grant: claims.grant_id,
    human: claims.human_id,
    token_id: claims.jti,
  };

  const revocation = findRevocation(deps.revocations, claims, now);
  if (revocation !== undefined) return deny(revocation.reason, revocation.message, who);

  let replayKey = "";
  let replayExpiresAt = now;
  try {
    await verifyDpopProof({
      proof: request.dpop,
      expectedMethod: request.method,
      expectedUrl: request.url,
      now,
      accessToken: token,
      accessTokenHash: verified.ath,
      expectedJkt: claims.cnf.jkt,
      // Called last, once every other rule has passed: the record is written by the admission.
      markJtiUsed: (jti, { jkt, expiresAt }) => {
        replayKey = `dpop:${jkt}:${jti}`;
        replayExpiresAt = expiresAt;
        return FRESH;
      },
      keyCache: deps.keyCache,
      clockSkewSeconds: deps.clockSkewSeconds,
      nonceSource: deps.nonceSource,
    });
  } catch (error) {
    return deniedBy(error, deny, who);
  }
  const replayed = () => deny("dpop_jti_replayed", "The DPoP proof has been used before", who);
  const markOnly = async () =>
    (await deps.admissions.admit({ replayKey, replayExpiresAt, quotas: [] })).replayed;

  const capability = findMatchingCapability(verified.authorization.capabilities, request.action);
  if (capability === undefined) {
    if (await markOnly()) return replayed();
    return deny(
      "capability_not_granted",
      `The grant does not allow ${request.action.action} on ${request.action.resource}`,
      who,
    );
  }
  const envelope = verified.authorization.envelope;
  const prepared = prepareEnvelope(claims.grant_id, envelope, request.action, now);
  let decision: EnvelopeDecision;
  if (prepared.decided !== undefined) {
    if (await markOnly()) return replayed();
    decision = prepared.decided;
  } else {
    const admitted = await deps.admissions.admit({
      replayKey,
      replayExpiresAt,
      quotas: prepared.entries,
      dryRun: prepared.dryRun,
    });
    if (admitted.replayed) return replayed();
    decision = settleEnvelope(prepared, admitted.withinLimits, admitted.before);
  }
  switch (decision.outcome) {
    case "deny":
      return deny(decision.reason, decision.message, {
        ...who,
        ...(decision.retryAfterSeconds === undefined
          ? {}
          : { retryAfterSeconds: decision.retryAfterSeconds }),
      } as Partial<VerifyAnswer>);
    case "step_up":
      return deny("step_up_required", decision.message, {
        ...who,
        ...(envelope?.step_up_above === undefined
          ? {}
          : { step_up: { above: envelope.step_up_above } }),
      });
    case "allow":
      return {
        decision: "allow",
        reason: "ok",
        message: "Allowed",
        agent: claims.sub,
        grant: claims.grant_id,
        human: claims.human_id,
        token_id: claims.jti,
        capability,
        remaining: decision.remaining,
        respond: { status: 200, headers: nonce === undefined ? {} : { "DPoP-Nonce": nonce } },
      };
  }
}

const FRESH = Promise.resolve(true);
const DPOP_SCHEME = /^DPoP $/i;
const ONE_WORD = /^\S+$/;

/**
 * The token of `Authorization: DPoP <token>` (the scheme in any case, one space, one word), or
 * `undefined`. A token verified before is known to be one word without looking at it again.
 */
function readDpopToken(authorization: string, tokens: TokenVerifier): string | undefined {
  if (!DPOP_SCHEME.test(authorization.slice(0, 5))) return undefined;
  const token = authorization.slice(5);
  return tokens.has(token) || ONE_WORD.test(token) ? token : undefined;
}

type Deny = (reason: DenyReason, message: string, extra?: Partial<VerifyAnswer>) => VerifyAnswer;

/**
 * Whether the token, its grant or its agent is revoked. Throws `StateError` while the local
 * revocation list may be incomplete (its subscription is reconnecting): fail closed.
 */
export function findRevocation(
  revocations: RevocationView,
  claims: AccessTokenClaims,
  now: Date,
): { reason: DenyReason; message: string } | undefined {
  if (!revocations.isCurrent()) {
    throw new StateError(
      "ERR_STATE_UNAVAILABLE",
      "The revocation list is not current: its subscription is reconnecting",
    );
  }
  const { set } = revocations;
  if (set.isRevoked("token", claims.jti, now))
    return { reason: "token_revoked", message: "The access token has been revoked" };
  if (set.isRevoked("grant", claims.grant_id, now))
    return {
      reason: "grant_revoked",
      message: "The grant behind the access token has been revoked",
    };
  if (set.isRevoked("agent", claims.sub, now))
    return { reason: "agent_revoked", message: "The agent has been disabled" };
  return undefined;
}

// A failed token or DPoP check is a denial; anything else (a StateError from the replay store)
// is not the agent's fault and propagates.
function deniedBy(error: unknown, deny: Deny, who: Partial<VerifyAnswer> = {}): VerifyAnswer {
  const reason = error instanceof AgentAuthError ? reasonForCoreError(error.code) : undefined;
  if (reason === undefined) throw error;
  return deny(reason, (error as AgentAuthError).message, who);
}

function denial(
  reason: DenyReason,
  message: string,
  nonce: string | undefined,
  extra: Partial<VerifyAnswer> & { retryAfterSeconds?: number },
): VerifyAnswer {
  const { retryAfterSeconds, ...rest } = extra;
  const { status, error } = responseForReason(reason);
  const headers: Record<string, string> = {};
  if (status === 401 || error !== undefined) {
    const parts =
      error === undefined
        ? [DPOP_ALGS]
        : [`error="${error}"`, `error_description="${quotable(message)}"`, DPOP_ALGS];
    headers["WWW-Authenticate"] = `DPoP ${parts.join(", ")}`;
  }
  if (nonce !== undefined) headers["DPoP-Nonce"] = nonce;
  if (retryAfterSeconds !== undefined) headers["Retry-After"] = String(retryAfterSeconds);
  return { decision: "deny", reason, message, ...rest, respond: { status, headers } };
}

// RFC 6750 §3: error_description is a quoted-string of printable ASCII other than " and \.
function quotable(text: string): string {
  return text.replace(/[^\x20-\x7e]|["\\]/g, "'");
}
