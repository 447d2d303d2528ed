import {
  createRedisAdmissionStore,
  createRedisDecisionLog,
  createRedisRevocationBus,
  createRedisServiceProviderKeyDirectory,
} from "@agentauth/state";
import type { Redis } from "ioredis";
import type { VerifierState } from "../../src/create-verifier.js";

export interface RedisStateOptions {
  /** Isolates the suite's keys (`uniqueKeyPrefix()`). */
  readonly keyPrefix: string;
  /** The revocation subscriber's connection name, unique so a test can kill it alone. */
  readonly subscriberName?: string;
  /** The revocation subscriber's heartbeat; default the adapter's (1 s). */
  readonly heartbeatMs?: number;
}

/** A verifier's state on Redis, as `main.ts` wires it, under the suite's own key prefix. */
export function createRedisVerifierState(client: Redis, options: RedisStateOptions): VerifierState {
  const { keyPrefix } = options;
  return {
    admissionStore: createRedisAdmissionStore(client, { keyPrefix }),
    revocationBus: createRedisRevocationBus(client, {
      keyPrefix,
      ...(options.subscriberName === undefined ? {} : { subscriberName: options.subscriberName }),
      ...(options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs }),
    }),
    keyDirectory: createRedisServiceProviderKeyDirectory(client, { keyPrefix }),
    decisionLog: createRedisDecisionLog(client, { keyPrefix }),
  };
}
