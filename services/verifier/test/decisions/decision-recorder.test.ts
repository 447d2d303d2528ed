import { setTimeout as sleep } from "node:timers/promises";
import type { CapabilityRequest } from "@agentauth/core";
import {
  createMemoryDecisionLog,
  type DecisionLog,
  type DecisionRecord,
  StateError,
} from "@agentauth/state";
import { describe, expect, it } from "vitest";
import type { AllowAuditMode } from "../../src/config.js";
import {
  createDecisionRecorder,
  type DecisionRecorderOptions,
} from "../../src/decisions/decision-recorder.js";
import type { VerifyAnswer } from "../../src/verification/verify-request.js";
import {
  createAgentKey,
  PROVIDER,
  startBareVerifier,
  tokenClaims,
} from "../support/bare-verifier.js";
import { verifyBody } from "../support/verifier-harness.js";

const AT = new Date("2030-01-01T10:00:00.000Z");
const who = { agent: "agt_1", grant: "grt_1", human: "hum_1", token_id: "at_1" };
const pay = (amount = "10.00"): CapabilityRequest => ({
  action: "transact",
  resource: "merchant/acme",
  amount: { amount, currency: "EUR" },
});
const read = (resource = "reports/q3"): CapabilityRequest => ({ action: "read", resource });
const respond = { status: 200, headers: {} };
const allow = (extra: Partial<VerifyAnswer> = {}): VerifyAnswer => ({
  decision: "allow",
  reason: "ok",
  message: "Allowed",
  ...who,
  respond,
  ...extra,
});
const deny = (reason: VerifyAnswer["reason"], extra: Partial<VerifyAnswer> = {}): VerifyAnswer => ({
  decision: "deny",
  reason,
  message: "Refused",
  ...who,
  respond: { status: 403, headers: {} },
  ...extra,
});

/** A decision log that keeps each batch it is given, and fails while `failing`. */
function createFakeLog() {
  const batches: DecisionRecord[][] = [];
  const fake = {
    batches,
    failing: false,
    /** When set, each append waits for it. */
    gate: undefined as Promise<void> | undefined,
    get records() {
      return batches.flat();
    },
    log: {
      async append(records) {
        await fake.gate;
        if (fake.failing) throw new StateError("ERR_STATE_UNAVAILABLE", "Redis is away");
        batches.push([...records]);
      },
      read: async () => [],
      ack: async () => {},
    } satisfies DecisionLog,
  };
  return fake;
}

function recorderOn(
  fake: ReturnType<typeof createFakeLog>,
  allows: AllowAuditMode,
  options: Partial<DecisionRecorderOptions> = {},
) {
  const errors: unknown[] = [];
  const dropped: number[] = [];
  const recorder = createDecisionRecorder({
    log: fake.log,
    allows,
    onError: (error) => errors.push(error),
    onDropped: (count) => dropped.push(count),
    ...options,
  });
  return { recorder, errors, dropped };
}

describe("createDecisionRecorder", () => {
  it.each(["all", "aggregate", "none"] as const)(
    "records each denial and step-up with its outcome (allows: %s)",
    async (mode) => {
      const fake = createFakeLog();
      const { recorder } = recorderOn(fake, mode);
      recorder.record(PROVIDER, pay("60.00"), deny("step_up_required"), AT);
      recorder.record(PROVIDER, read(), deny("capability_not_granted"), AT);
      recorder.record(PROVIDER, read(), deny("capability_not_granted"), AT);
      recorder.record(
        PROVIDER,
        pay(),
        deny("token_missing", {
          agent: undefined,
          grant: undefined,
          human: undefined,
          token_id: undefined,
        }),
        AT,
      );
      expect(recorder.buffered).toBe(4);
      await recorder.flush();
      expect(fake.records).toEqual([
        {
          at: AT.toISOString(),
          outcome: "step_up",
          reason: "step_up_required",
          serviceProviderId: PROVIDER,
          agentId: "agt_1",
          grantId: "grt_1",
          humanId: "hum_1",
          tokenId: "at_1",
          action: {
            type: "transact",
            resource: "merchant/acme",
            amount: { amount: "60.00", currency: "EUR" },
          },
        },
        expect.objectContaining({ outcome: "deny", reason: "capability_not_granted" }),
        expect.objectContaining({ outcome: "deny", reason: "capability_not_granted" }),
        {
          at: AT.toISOString(),
          outcome: "deny",
          reason: "token_missing",
          serviceProviderId: PROVIDER,
          action: {
            type: "transact",
            resource: "merchant/acme",
            amount: { amount: "10.00", currency: "EUR" },
          },
        },
      ]);
      expect(recorder.buffered).toBe(0);
    },
  );

  it("records every allow with its amount when allows are 'all'", async () => {
    const fake = createFakeLog();
    const { recorder } = recorderOn(fake, "all");
    recorder.record(PROVIDER, pay("1.00"), allow(), AT);
    recorder.record(PROVIDER, pay("2.00"), allow(), AT);
    await recorder.flush();
    expect(fake.records).toEqual([
      expect.objectContaining({
        outcome: "allow",
        reason: "ok",
        grantId: "grt_1",
        action: {
          type: "transact",
          resource: "merchant/acme",
          amount: { amount: "1.00", currency: "EUR" },
        },
      }),
      expect.objectContaining({
        action: {
          type: "transact",
          resource: "merchant/acme",
          amount: { amount: "2.00", currency: "EUR" },
        },
      }),
    ]);
    expect(fake.records.every((record) => record.count === undefined)).toBe(true);
  });

  it("counts allows per grant, agent and action between flushes when allows are 'aggregate'", async () => {
    const fake = createFakeLog();
    const { recorder } = recorderOn(fake, "aggregate");
    for (let i = 0; i < 3; i++) recorder.record(PROVIDER, pay(`${i + 1}.00`), allow(), AT);
    recorder.record(PROVIDER, read(), allow(), AT);
    recorder.record(PROVIDER, read(), allow({ grant: "grt_2" }), AT);
    recorder.record("https://other.example", read(), allow(), AT);
    expect(recorder.buffered).toBe(4);
    await recorder.flush();
    expect(fake.records).toEqual([
      expect.objectContaining({
        outcome: "allow",
        grantId: "grt_1",
        count: 3,
        // One record stands for several payments: no single amount.
        action: { type: "transact", resource: "merchant/acme" },
      }),
      expect.objectContaining({
        grantId: "grt_1",
        count: 1,
        action: { type: "read", resource: "reports/q3" },
      }),
      expect.objectContaining({ grantId: "grt_2", count: 1 }),
      expect.objectContaining({ serviceProviderId: "https://other.example", count: 1 }),
    ]);
    // Counting starts again after a flush.
    recorder.record(PROVIDER, read(), allow(), AT);
    await recorder.flush();
    expect(fake.records.at(-1)).toMatchObject({ count: 1 });
  });

  it("records no allow when allows are 'none'", async () => {
    const fake = createFakeLog();
    const { recorder } = recorderOn(fake, "none");
    recorder.record(PROVIDER, pay(), allow(), AT);
    recorder.record(PROVIDER, read(), deny("rate_limited"), AT);
    expect(recorder.buffered).toBe(1);
    await recorder.flush();
    expect(fake.records.map((record) => record.outcome)).toEqual(["deny"]);
  });

  it("sends at most maxBatch records per append, in order", async () => {
    const fake = createFakeLog();
    const { recorder } = recorderOn(fake, "all", { maxBatch: 2 });
    for (let i = 0; i < 5; i++) recorder.record(PROVIDER, read(`r/${i}`), deny("rate_limited"), AT);
    await recorder.flush();
    expect(fake.batches.map((batch) => batch.length)).toEqual([2, 2, 1]);
    expect(fake.records.map((record) => record.action?.resource)).toEqual([
      "r/0",
      "r/1",
      "r/2",
      "r/3",
      "r/4",
    ]);
  });

  it("keeps the records of a failed append, reports it, and sends them at the next flush", async () => {
    const fake = createFakeLog();
    const { recorder, errors } = recorderOn(fake, "aggregate", { maxBatch: 2 });
    for (let i = 0; i < 3; i++) recorder.record(PROVIDER, read(`r/${i}`), deny("rate_limited"), AT);
    recorder.record(PROVIDER, read(), allow(), AT);
    fake.failing = true;
    await recorder.flush();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(StateError);
    expect(recorder.buffered).toBe(4);
    recorder.record(PROVIDER, read("r/3"), deny("rate_limited"), AT);
    await recorder.flush();
    expect(errors).toHaveLength(2);

    fake.failing = false;
    await recorder.flush();
    expect(fake.records.map((record) => record.action?.resource)).toEqual([
      "r/0",
      "r/1",
      "r/2",
      "reports/q3",
      "r/3",
    ]);
    expect(recorder.buffered).toBe(0);
  });

  it("keeps what a failed batch left when an earlier batch of the same flush went through", async () => {
    const fake = createFakeLog();
    const { recorder } = recorderOn(fake, "all", { maxBatch: 2 });
    for (let i = 0; i < 4; i++) recorder.record(PROVIDER, read(`r/${i}`), deny("rate_limited"), AT);
    let appends = 0;
    const append = fake.log.append;
    fake.log.append = async (records) => {
      appends += 1;
      if (appends === 2) throw new StateError("ERR_STATE_UNAVAILABLE", "lost the connection");
      return append(records);
    };
    await recorder.flush();
    expect(recorder.buffered).toBe(2);
    await recorder.flush();
    expect(fake.records.map((record) => record.action?.resource)).toEqual([
      "r/0",
      "r/1",
      "r/2",
      "r/3",
    ]);
  });

  it("drops the oldest records past maxBuffered and reports how many", async () => {
    const fake = createFakeLog();
    const { recorder, dropped } = recorderOn(fake, "all", { maxBuffered: 3 });
    fake.failing = true;
    for (let i = 0; i < 5; i++) recorder.record(PROVIDER, read(`r/${i}`), deny("rate_limited"), AT);
    expect(recorder.buffered).toBe(3);
    expect(dropped.reduce((sum, count) => sum + count, 0)).toBe(2);
    await recorder.flush();
    fake.failing = false;
    await recorder.flush();
    expect(fake.records.map((record) => record.action?.resource)).toEqual(["r/2", "r/3", "r/4"]);
  });

  it("loses nothing it does not report when records arrive during an append near maxBuffered", async () => {
    const fake = createFakeLog();
    const { recorder, dropped } = recorderOn(fake, "all", { maxBuffered: 3, maxBatch: 2 });
    for (let i = 0; i < 3; i++) recorder.record(PROVIDER, read(`r/${i}`), deny("rate_limited"), AT);
    let open: () => void = () => {};
    fake.gate = new Promise((resolve) => {
      open = resolve;
    });
    const flushing = recorder.flush();
    // r/0 and r/1 are on their way; r/3 arrives meanwhile.
    recorder.record(PROVIDER, read("r/3"), deny("rate_limited"), AT);
    fake.gate = undefined;
    open();
    await flushing;
    await recorder.flush();
    const sent = fake.records.map((record) => record.action?.resource);
    const droppedCount = dropped.reduce((sum, count) => sum + count, 0);
    // Every record is either sent once or counted as dropped.
    expect(sent.length + droppedCount).toBe(4);
    expect(new Set(sent).size).toBe(sent.length);
    expect(sent).toEqual(["r/0", "r/1", "r/2", "r/3"]);
  });

  it("shares one flush between concurrent callers", async () => {
    const fake = createFakeLog();
    const { recorder } = recorderOn(fake, "all");
    recorder.record(PROVIDER, read(), deny("rate_limited"), AT);
    await Promise.all([recorder.flush(), recorder.flush(), recorder.flush()]);
    expect(fake.batches).toHaveLength(1);
  });

  it("flushes on its timer once started, and everything left on stop, then no more", async () => {
    const fake = createFakeLog();
    const { recorder } = recorderOn(fake, "all", { flushIntervalMs: 20 });
    recorder.start();
    recorder.record(PROVIDER, read("r/0"), deny("rate_limited"), AT);
    await expect.poll(() => fake.records.length, { timeout: 1000 }).toBe(1);
    recorder.record(PROVIDER, read("r/1"), deny("rate_limited"), AT);
    await recorder.stop();
    expect(fake.records.map((record) => record.action?.resource)).toEqual(["r/0", "r/1"]);
    recorder.record(PROVIDER, read("r/2"), deny("rate_limited"), AT);
    await sleep(60);
    expect(fake.records).toHaveLength(2);
  });

  it("waits for a flush in progress before its last one on stop", async () => {
    const fake = createFakeLog();
    const { recorder } = recorderOn(fake, "all");
    recorder.record(PROVIDER, read("r/0"), deny("rate_limited"), AT);
    let open: () => void = () => {};
    fake.gate = new Promise((resolve) => {
      open = resolve;
    });
    const flushing = recorder.flush();
    recorder.record(PROVIDER, read("r/1"), deny("rate_limited"), AT);
    const stopping = recorder.stop();
    fake.gate = undefined;
    open();
    await Promise.all([flushing, stopping]);
    expect(fake.records.map((record) => record.action?.resource)).toEqual(["r/0", "r/1"]);
  });
});

describe("decision records through the HTTP path", () => {
  it("reach the decision log: each denial and step-up, allows aggregated, nothing for a refused API key", async () => {
    const log = createMemoryDecisionLog();
    const verifier = await startBareVerifier({
      auditAllows: "aggregate",
      state: { decisionLog: log },
    });
    try {
      const agent = await createAgentKey();
      const claims = tokenClaims(agent, {
        authorization_details: [
          { type: "transact", resource: "merchant/acme", max_amount: "50.00", currency: "EUR" },
          { type: "read", resource: "reports/*" },
          { type: "envelope", step_up_above: { amount: "20.00", currency: "EUR" } },
        ],
      });
      const token = await verifier.signer.sign(claims);
      const nonce = await verifier.nonce();
      const call = async (action: Record<string, unknown>) =>
        (await verifier.verify(await verifyBody(agent, token, { nonce, action }))).json;
      const readAction = { type: "read", resource: "reports/q3" };
      expect(await call(readAction)).toMatchObject({ decision: "allow" });
      expect(await call(readAction)).toMatchObject({ decision: "allow" });
      expect(await call({ type: "delete", resource: "reports/q3" })).toMatchObject({
        reason: "capability_not_granted",
      });
      const payment = {
        type: "transact",
        resource: "merchant/acme",
        amount: { amount: "30.00", currency: "EUR" },
      };
      expect(await call(payment)).toMatchObject({ reason: "step_up_required" });
      const refused = await verifier.verify(await verifyBody(agent, token, { nonce }), "aask_bad");
      expect(refused.status).toBe(401);

      await verifier.stop();
      const delivered = await log.read({
        consumer: "test",
        count: 100,
        blockMs: 0,
        redeliverAfterMs: 60_000,
      });
      const ids = {
        serviceProviderId: PROVIDER,
        agentId: claims.sub,
        grantId: claims.grant_id,
        humanId: claims.human_id,
        tokenId: claims.jti,
      };
      expect(delivered.map((entry) => entry.record)).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            ...ids,
            outcome: "deny",
            reason: "capability_not_granted",
            action: { type: "delete", resource: "reports/q3" },
          }),
          expect.objectContaining({
            ...ids,
            outcome: "step_up",
            reason: "step_up_required",
            action: payment,
          }),
          expect.objectContaining({
            ...ids,
            outcome: "allow",
            reason: "ok",
            count: 2,
            action: { type: "read", resource: "reports/q3" },
          }),
        ]),
      );
      expect(delivered).toHaveLength(3);
    } finally {
      await verifier.stop();
    }
  });
});
