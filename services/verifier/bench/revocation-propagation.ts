import { Agent } from "node:http";
import {
  type BenchAgentKey,
  createNodeDpopKey,
  httpRequest,
  type LatencySummary,
  summarizeLatencies,
} from "@agentauth/bench-kit";
import type { BenchAdmin, BenchGrant } from "@agentauth/registry/bench";
import { createRedisClient, createRedisRevocationBus } from "@agentauth/state";
import { prepareVerifyRequest, readVerifyAnswer, VERIFY_PATH } from "./verify-request.js";

export interface MeasureRevocationsOptions {
  /** Signed in to the registry, to revoke grants through its API. */
  readonly admin: BenchAdmin;
  /** Base URLs of the verifier processes, each subscribed to the revocation channel. */
  readonly verifiers: readonly string[];
  readonly apiKey: string;
  /** One grant per revocation; each is revoked once. */
  readonly grants: readonly BenchGrant[];
  /** The Redis the registry publishes on: the bench listens too, to timestamp each publication. */
  readonly redisUrl: string;
  /** The verifiers' DPoP nonce. */
  readonly nonce: string;
}

export interface RevocationFigures {
  readonly revocations: number;
  /** From sending the revoke request to each point, in ms. */
  readonly apiAnswered: LatencySummary;
  readonly published: LatencySummary;
  /** Per verifier: the first refusing answer. */
  readonly refusedBy: readonly LatencySummary[];
  /** Per revocation, the slowest verifier: when it was visible on every replica. */
  readonly refusedByAll: LatencySummary;
  /** Verify requests the pollers sent while waiting, per revocation per verifier (mean). */
  readonly pollsPerWait: number;
}

const GIVE_UP_MS = 5_000;

/**
 * How long a revocation takes to reach every verifier: for each grant, its token is allowed by
 * every verifier; then the grant is revoked through the registry's API (`POST
 * /api/grants/:id/revoke`, as a human does) while each verifier is polled with fresh proofs of
 * the token, back to back, until it refuses. Times run from sending the revoke request; a
 * verifier's time is the end of its first refusing answer, so it overstates the true moment by
 * at most one poll's round trip. The bench's own subscription to the revocation channel stamps
 * when the registry published.
 */
export async function measureRevocationPropagation(
  options: MeasureRevocationsOptions,
): Promise<RevocationFigures> {
  const connections = options.verifiers.map(() => new Agent({ keepAlive: true, maxSockets: 1 }));
  const redis = createRedisClient(options.redisUrl, { enableOfflineQueue: true });
  redis.on("error", () => {});
  const publishedAt = new Map<string, number>();
  const subscription = await createRedisRevocationBus(redis).subscribe({
    onRevocation: (record) => {
      if (record.kind === "grant") publishedAt.set(record.subject, performance.now());
    },
    onReload: () => {},
  });
  const apiAnswered: number[] = [];
  const published: number[] = [];
  const refusedBy: number[][] = options.verifiers.map(() => []);
  const refusedByAll: number[] = [];
  let polls = 0;
  try {
    for (const grant of options.grants) {
      const key = createNodeDpopKey(grant.privateJwk);
      const ask = (verifier: number) => askVerifier(options, connections, verifier, key, grant);
      for (let verifier = 0; verifier < options.verifiers.length; verifier++) {
        const before = await ask(verifier);
        if (before.decision !== "allow")
          throw new Error(
            `verifier ${verifier + 1} refused before the revocation: ${before.reason}`,
          );
      }
      const sentAt = performance.now();
      const revoke = options.admin.post(`/api/grants/${grant.grantId}/revoke`).then((answer) => {
        if (answer.status !== 204)
          throw new Error(`revoking a grant: HTTP ${answer.status}: ${answer.text}`);
        return performance.now();
      });
      const waits = options.verifiers.map(async (_, verifier) => {
        for (;;) {
          polls++;
          const outcome = await ask(verifier);
          if (outcome.decision === "deny") {
            if (outcome.reason !== "grant_revoked" && outcome.reason !== "token_revoked")
              throw new Error(`verifier ${verifier + 1} refused for ${outcome.reason}`);
            return performance.now();
          }
          if (performance.now() - sentAt > GIVE_UP_MS)
            throw new Error(
              `verifier ${verifier + 1} still allows ${GIVE_UP_MS} ms after revoking`,
            );
        }
      });
      const [answeredAt, ...refusedAt] = await Promise.all([revoke, ...waits]);
      apiAnswered.push((answeredAt as number) - sentAt);
      for (const [verifier, at] of refusedAt.entries()) refusedBy[verifier]?.push(at - sentAt);
      refusedByAll.push(Math.max(...refusedAt) - sentAt);
      const seen = publishedAt.get(grant.grantId);
      if (seen !== undefined) published.push(seen - sentAt);
    }
  } finally {
    await subscription.close();
    redis.disconnect();
    for (const connection of connections) connection.destroy();
  }
  return {
    revocations: options.grants.length,
    apiAnswered: summarizeLatencies(apiAnswered),
    published: summarizeLatencies(published),
    refusedBy: refusedBy.map(summarizeLatencies),
    refusedByAll: summarizeLatencies(refusedByAll),
    pollsPerWait: polls / (options.grants.length * options.verifiers.length),
  };
}

async function askVerifier(
  options: MeasureRevocationsOptions,
  connections: readonly Agent[],
  verifier: number,
  key: BenchAgentKey,
  grant: BenchGrant,
) {
  const request = await prepareVerifyRequest({
    apiKey: options.apiKey,
    key,
    accessToken: grant.accessToken,
    nonce: options.nonce,
  });
  const answer = await httpRequest(`${options.verifiers[verifier]}${VERIFY_PATH}`, {
    method: request.method,
    headers: request.headers,
    ...(request.body === undefined ? {} : { body: request.body }),
    ...(connections[verifier] === undefined ? {} : { agent: connections[verifier] }),
  });
  return readVerifyAnswer(answer.status, answer.text);
}
