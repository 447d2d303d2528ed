import { randomUUID } from "node:crypto";
import {
  createMemoryDecisionLog,
  createRedisClient,
  createRedisDecisionLog,
  type DecisionLog,
  type DecisionRecord,
  type RedisDecisionLog,
} from "@agentauth/state";
import type { Redis } from "ioredis";
import type { Kysely } from "kysely";
import { pino } from "pino";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  createVerifierDecisionConsumer,
  type VerifierDecisionConsumer,
} from "../../src/audit/verifier-decision-consumer.js";
import { createDatabase } from "../../src/db/create-database.js";
import type { Database } from "../../src/db/database.js";
import { auditEvents } from "../grants/grant-helpers.js";
import { describeEachDatabase } from "../support/databases.js";
import { createTestRegistry, PAYMENTS, type TestRegistry } from "../support/test-registry.js";

const redisUrl = process.env.REDIS_URL;
/** Short, so a record read but not acknowledged comes back within a test. */
const REDELIVER_AFTER_MS = 100;

const DENIAL: DecisionRecord = {
  at: "2026-11-22T08:00:00.000Z",
  outcome: "deny",
  reason: "ERR_ENVELOPE_SPEND_CAP",
  serviceProviderId: PAYMENTS,
  agentId: "agt_denied",
  grantId: "grt_denied",
  humanId: "hum_owner",
  tokenId: "jti_denied",
  action: {
    type: "transact",
    resource: "merchant/acme",
    amount: { amount: "75.00", currency: "EUR" },
  },
};
const AGGREGATED_ALLOWS: DecisionRecord = {
  at: "2026-11-22T08:00:01.000Z",
  outcome: "allow",
  reason: "ok",
  serviceProviderId: PAYMENTS,
  agentId: "agt_allowed",
  grantId: "grt_allowed",
  humanId: "hum_owner",
  action: { type: "read", resource: "reports/2025" },
  count: 12,
};
/** A bad token: the verifier knows only which provider asked. */
const UNKNOWN_TOKEN: DecisionRecord = {
  at: "2026-11-22T08:00:02.000Z",
  outcome: "deny",
  reason: "ERR_TOKEN_SIGNATURE_INVALID",
  serviceProviderId: PAYMENTS,
};

/** `log`, except that its first `ack` fails: the registry stopped right after its commit. */
function stoppingBeforeFirstAck(log: DecisionLog): DecisionLog {
  let stopped = false;
  return {
    append: (records) => log.append(records),
    read: (options) => log.read(options),
    async ack(ids) {
      if (!stopped) {
        stopped = true;
        throw new Error("the registry stopped before acknowledging");
      }
      await log.ack(ids);
    },
  };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A consumer of `log` as `test`'s registry runs it, but quick to redeliver. */
function quickConsumer(
  test: TestRegistry,
  log: DecisionLog,
  db: Kysely<Database>,
): VerifierDecisionConsumer {
  return createVerifierDecisionConsumer({
    db,
    log,
    clock: test.clock,
    logger: pino({ level: "silent" }),
    metrics: test.registry.metrics.verifierDecisions,
    blockMs: 0,
    redeliverAfterMs: REDELIVER_AFTER_MS,
  });
}

/** The chained `verifier.decision` events, oldest first. */
async function decisionEventsOf(test: TestRegistry) {
  return (await auditEvents(test, { type: "verifier.decision" })).map((entry) => entry.event);
}

/** How the registry audits what verifiers append to `makeLog()`'s decision log. */
function verifierDecisionBehaviour(title: string, makeLog: () => Promise<DecisionLog>): void {
  describeEachDatabase(`verifier decisions from ${title}, into the audit chain`, (database) => {
    let test: TestRegistry;
    let log: DecisionLog;

    beforeAll(async () => {
      log = await makeLog();
      test = await createTestRegistry(database.db(), { decisionLog: log });
    });

    const consumerOn = (consumerLog: DecisionLog, db = database.db()) =>
      quickConsumer(test, consumerLog, db);
    const decisionEvents = () => decisionEventsOf(test);
    const metricsText = async () =>
      (await request(test.registry.app).get("/metrics").expect(200)).text;

    it("audits each decision in one batch, then acknowledges it", async () => {
      await log.append([DENIAL, AGGREGATED_ALLOWS, UNKNOWN_TOKEN]);
      const consumer = consumerOn(log);
      expect(await consumer.runOnce()).toBe(3);

      const events = await decisionEvents();
      expect(events).toEqual([
        {
          type: "verifier.decision",
          actor: "agt_denied",
          subject: "grt_denied",
          human_id: "hum_owner",
          occurred_at: DENIAL.at,
          data: { delivery_id: expect.any(String), decision: DENIAL },
        },
        expect.objectContaining({
          actor: "agt_allowed",
          subject: "grt_allowed",
          data: { delivery_id: expect.any(String), decision: AGGREGATED_ALLOWS },
        }),
        expect.objectContaining({
          actor: PAYMENTS,
          subject: null,
          human_id: null,
          data: { delivery_id: expect.any(String), decision: UNKNOWN_TOKEN },
        }),
      ]);
      const rows = await database.db().selectFrom("verifier_decisions").selectAll().execute();
      expect(rows.map((row) => row.delivery_id).sort()).toEqual(
        events.map((event) => (event.data as { delivery_id: string }).delivery_id).sort(),
      );
      // Acknowledged: nothing comes back, however long one waits.
      await pause(REDELIVER_AFTER_MS * 2);
      expect(await consumer.runOnce()).toBe(0);
      const metrics = await metricsText();
      expect(metrics).toContain("agentauth_registry_verifier_decision_batches_total 1");
      expect(metrics).toContain('agentauth_registry_verifier_decisions_total{result="audited"} 3');
      expect(metrics).toContain("agentauth_registry_verifier_decision_lag_seconds 0");
    });

    it("skips a decision delivered again after a stop between commit and acknowledgement", async () => {
      const before = (await decisionEvents()).length;
      const record = { ...DENIAL, at: new Date().toISOString() };
      await log.append([record]);
      await expect(consumerOn(stoppingBeforeFirstAck(log)).runOnce()).rejects.toThrow(
        /stopped before acknowledging/,
      );
      expect(await decisionEvents()).toHaveLength(before + 1);

      // Another replica, or this one restarted, gets it again once it has waited long enough.
      await pause(REDELIVER_AFTER_MS * 2);
      const restarted = consumerOn(log);
      expect(await restarted.runOnce()).toBe(1);
      expect(await decisionEvents()).toHaveLength(before + 1);
      expect(await metricsText()).toContain(
        'agentauth_registry_verifier_decisions_total{result="duplicate"} 1',
      );
      await pause(REDELIVER_AFTER_MS * 2);
      expect(await restarted.runOnce()).toBe(0);
    });

    it("leaves decisions in the log while the database is unavailable", async () => {
      const before = (await decisionEvents()).length;
      await log.append([{ ...UNKNOWN_TOKEN, at: new Date().toISOString() }]);
      const unreachable = await createDatabase({
        databaseUrl: "postgres://postgres@127.0.0.1:1/unreachable",
      });
      try {
        await expect(consumerOn(log, unreachable.db).runOnce()).rejects.toThrow();
      } finally {
        await unreachable.close();
      }
      expect(await decisionEvents()).toHaveLength(before);

      await pause(REDELIVER_AFTER_MS * 2);
      expect(await consumerOn(log).runOnce()).toBe(1);
      expect(await decisionEvents()).toHaveLength(before + 1);
    });

    it("audits the arrival of a decision the chain cannot hash, without holding up the rest", async () => {
      const before = (await decisionEvents()).length;
      await log.append([{ ...DENIAL, reason: "lone \ud800 surrogate" }, AGGREGATED_ALLOWS]);
      expect(await consumerOn(log).runOnce()).toBe(2);
      const [malformed, fine] = (await decisionEvents()).slice(before);
      expect(malformed).toMatchObject({
        actor: "system",
        data: { delivery_id: expect.any(String), malformed: true },
      });
      expect(fine).toMatchObject({ data: { decision: AGGREGATED_ALLOWS } });
    });

    it("consumes the log in the background while the registry runs", async () => {
      const before = (await decisionEvents()).length;
      test.registry.start();
      try {
        await log.append([{ ...AGGREGATED_ALLOWS, at: new Date().toISOString() }]);
        await vi.waitFor(async () => expect(await decisionEvents()).toHaveLength(before + 1), {
          timeout: 5000,
        });
      } finally {
        await test.registry.stop();
      }
    });
  });
}

verifierDecisionBehaviour("an in-process decision log", async () => createMemoryDecisionLog());

describeEachDatabase("verifier decisions across restarts of the embedded default", (database) => {
  it("audits the records of a fresh in-process log, whose delivery ids start over", async () => {
    const test = await createTestRegistry(database.db());
    for (const at of ["2026-11-22T09:00:00.000Z", "2026-11-22T09:00:01.000Z"]) {
      // Each start of the registry has a new in-process log.
      const log = createMemoryDecisionLog();
      await log.append([{ ...DENIAL, at }]);
      expect(await quickConsumer(test, log, database.db()).runOnce()).toBe(1);
    }
    const events = await decisionEventsOf(test);
    expect(events.map((event) => (event.data as { delivery_id: string }).delivery_id)).toEqual([
      "0-1",
      "0-1",
    ]);
  });
});

describe.runIf(redisUrl !== undefined)("with Redis", () => {
  const keyPrefix = `agentauth-test:${randomUUID()}:`;
  let redis: Redis | undefined;
  const logs: RedisDecisionLog[] = [];
  afterAll(async () => {
    if (redis === undefined) return;
    await Promise.all(logs.map((log) => log.close()));
    const keys = await redis.keys(`${keyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });
  verifierDecisionBehaviour("a Redis stream", async () => {
    redis ??= createRedisClient(redisUrl as string);
    // One stream per database run: each run audits its own records.
    const log = createRedisDecisionLog(redis, { keyPrefix: `${keyPrefix}${logs.length}:` });
    logs.push(log);
    return log;
  });
});
