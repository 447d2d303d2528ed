import {
  type DpopNonceSource,
  type KeyCache,
  type VerifyDpopProofResult,
  verifyDpopProof,
} from "@agentauth/core";
import type { ReplayStore } from "@agentauth/state";
import type { Request } from "express";
import type { Clock } from "../clock.js";

/** What verifying a request's DPoP proof needs; shared by every endpoint that takes one. */
export interface DpopVerification {
  /** The registry's public base URL: `htu` is checked against it, not the Host header. */
  readonly publicUrl: string;
  readonly clock: Clock;
  readonly replayStore: ReplayStore;
  readonly keyCache: KeyCache;
  /** Required server nonces (RFC 9449 §8); endpoints that do not demand one pass `undefined`. */
  readonly nonceSource?: DpopNonceSource;
}

/**
 * Verifies the request's `DPoP` header by every RFC 9449 rule (core's `verifyDpopProof`), with
 * `jti` replay tracked in the shared replay store so it holds across registry replicas.
 */
export function verifyRequestDpop(
  req: Request,
  deps: DpopVerification,
  options: {
    expectedJkt?: string;
    accessToken?: string;
    requireNonce?: boolean;
    /** A proof sent other than in the `DPoP` header (e.g. a second key's, in the body). */
    proof?: string;
  } = {},
): Promise<VerifyDpopProofResult> {
  return verifyDpopProof({
    proof: options.proof ?? req.headers.dpop,
    expectedMethod: req.method,
    expectedUrl: `${deps.publicUrl}${req.originalUrl}`,
    now: deps.clock.now(),
    markJtiUsed: (jti, { jkt, expiresAt }) =>
      deps.replayStore.markUsed(`dpop:${jkt}:${jti}`, expiresAt),
    keyCache: deps.keyCache,
    ...(options.requireNonce === true && deps.nonceSource !== undefined
      ? { nonceSource: deps.nonceSource }
      : {}),
    ...(options.expectedJkt === undefined ? {} : { expectedJkt: options.expectedJkt }),
    ...(options.accessToken === undefined ? {} : { accessToken: options.accessToken }),
  });
}
