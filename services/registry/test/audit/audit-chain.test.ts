import {
  canonicalizeJson,
  computeAuditEventHash,
  GENESIS_HASH,
  isAgentAuthError,
  verifyAuditChain,
} from "@agentauth/core";
import { type Kysely, type KyselyPlugin, type RawBuilder, sql } from "kysely";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { AuditEventInput } from "../../src/audit/audit-event.js";
import { toChainedEventBody } from "../../src/audit/audit-event.js";
import { createAuditLog } from "../../src/audit/audit-log.js";
import { createAuditSequencer } from "../../src/audit/audit-sequencer.js";
import { enqueueAuditEvent } from "../../src/audit/enqueue-audit-event.js";
import type { Database } from "../../src/db/database.js";
import { describeEachDatabase } from "../support/databases.js";

function auditEvent(n: number, overrides: Partial<AuditEventInput> = {}): AuditEventInput {
  return {
    type: "token.issued",
    actor: `agt_${n % 2}`,
    subject: `at_${n}`,
    humanId: `hum_${n % 3}`,
    occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)),
    data: { n, note: "café ☕", nested: { list: [1, 2.5, true, null] } },
    ...overrides,
  };
}

async function enqueue(db: Kysely<Database>, events: readonly AuditEventInput[]): Promise<void> {
  await db.transaction().execute(async (trx) => {
    for (const event of events) await enqueueAuditEvent(trx, event);
  });
}

async function countRows(
  db: Kysely<Database>,
  table: "audit_queue" | "audit_events",
): Promise<number> {
  const { count } = await db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<string>().as("count"))
    .executeTakeFirstOrThrow();
  return Number(count);
}

/** Calls `listener` as a DELETE is about to run: the sequencer has begun a batch. */
function onDelete(listener: () => void): KyselyPlugin {
  return {
    transformQuery: ({ node }) => {
      if (node.kind === "DeleteQueryNode") listener();
      return node;
    },
    transformResult: async ({ result }) => result,
  };
}

/** The break `verifyChain` reports, or a failure when it verifies. */
async function firstBreak(db: Kysely<Database>, pageSize = 2): Promise<Record<string, unknown>> {
  const error: unknown = await createAuditLog(db)
    .verifyChain({ pageSize })
    .then(
      () => undefined,
      (reason: unknown) => reason,
    );
  if (!isAgentAuthError(error, "ERR_AUDIT_CHAIN_BROKEN"))
    throw new Error("expected ERR_AUDIT_CHAIN_BROKEN", { cause: error });
  return { ...error.details };
}

/** Test-only: empties the audit tables, bypassing the append-only triggers as an owner can. */
async function resetAudit(db: Kysely<Database>): Promise<void> {
  await sql`
    ALTER TABLE audit_events DISABLE TRIGGER USER;
    TRUNCATE audit_checkpoints, audit_events, audit_queue;
    ALTER TABLE audit_events ENABLE TRIGGER USER;
  `.execute(db);
}

/** Test-only: runs `statement` on audit_events with its append-only triggers off. */
async function tamper(db: Kysely<Database>, statement: RawBuilder<unknown>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`ALTER TABLE audit_events DISABLE TRIGGER USER`.execute(trx);
    await statement.execute(trx);
    await sql`ALTER TABLE audit_events ENABLE TRIGGER USER`.execute(trx);
  });
}

describeEachDatabase("audit chain", (database) => {
  beforeEach(() => resetAudit(database.db()));

  it("chains queued events in order and verifies them", async () => {
    const db = database.db();
    const events = [1, 2, 3, 4, 5].map((n) => auditEvent(n));
    await enqueue(db, events);
    const sequencer = createAuditSequencer({ db, batchSize: 2 });
    expect([
      await sequencer.runOnce(),
      await sequencer.runOnce(),
      await sequencer.runOnce(),
    ]).toEqual([2, 2, 1]);
    expect(await sequencer.runOnce()).toBe(0);
    expect(await countRows(db, "audit_queue")).toBe(0);

    const log = createAuditLog(db);
    const listed = await log.listEvents({ limit: 500 });
    expect(listed.map((event) => event.sequence)).toEqual([1, 2, 3, 4, 5]);
    expect(listed.map((event) => event.event)).toEqual(events.map(toChainedEventBody));
    expect(listed[0]?.previousHash).toBe(GENESIS_HASH);
    expect(listed[0]?.hash).toBe(
      await computeAuditEventHash(GENESIS_HASH, toChainedEventBody(events[0] as AuditEventInput)),
    );
    expect(listed[0]?.chainedAt).toBeInstanceOf(Date);

    const head = { count: 5, lastSequence: 5, headHash: listed[4]?.hash };
    expect(await log.verifyChain()).toEqual(head);
    expect(await log.verifyChain({ pageSize: 2 })).toEqual(head);
    // What the API hands out is enough for anyone to verify with core alone.
    expect(await verifyAuditChain(listed)).toEqual(head);
  });

  it("continues the chain from its head in later batches", async () => {
    const db = database.db();
    const sequencer = createAuditSequencer({ db });
    await enqueue(db, [auditEvent(1)]);
    expect(await sequencer.runOnce()).toBe(1);
    await enqueue(db, [auditEvent(2), auditEvent(3)]);
    expect(await sequencer.runOnce()).toBe(2);
    const [first, second] = await createAuditLog(db).listEvents({ limit: 2 });
    expect(second?.previousHash).toBe(first?.hash);
    expect(await createAuditLog(db).verifyChain()).toMatchObject({ count: 3, lastSequence: 3 });
  });

  it("drops the event of a business transaction that rolls back", async () => {
    const db = database.db();
    const failure = new Error("business rule failed");
    await expect(
      db.transaction().execute(async (trx) => {
        await trx
          .insertInto("humans")
          .values({ id: "hum_rolled_back", display_name: "Ada", webauthn_user_id: "u_rb" })
          .execute();
        await enqueueAuditEvent(
          trx,
          auditEvent(1, { type: "human.enrolled", subject: "hum_rolled_back" }),
        );
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await countRows(db, "audit_queue")).toBe(0);
    expect(await createAuditSequencer({ db }).runOnce()).toBe(0);
    expect(await countRows(db, "audit_events")).toBe(0);
    expect(await db.selectFrom("humans").selectAll().execute()).toEqual([]);
  });

  it("refuses UPDATE, DELETE and TRUNCATE on audit_events in the database itself", async () => {
    const db = database.db();
    await enqueue(db, [auditEvent(1)]);
    await createAuditSequencer({ db }).runOnce();
    await expect(sql`UPDATE audit_events SET type = 'grant.approved'`.execute(db)).rejects.toThrow(
      "audit_events is append-only: UPDATE is refused",
    );
    await expect(sql`DELETE FROM audit_events`.execute(db)).rejects.toThrow(
      "audit_events is append-only: DELETE is refused",
    );
    // CASCADE, as a plain TRUNCATE is already stopped by audit_checkpoints' foreign key.
    await expect(sql`TRUNCATE audit_events CASCADE`.execute(db)).rejects.toThrow(
      "audit_events is append-only: TRUNCATE is refused",
    );
    expect(await createAuditLog(db).verifyChain()).toMatchObject({ count: 1 });
  });

  it("refuses an event that cannot be canonicalised, failing the change", async () => {
    const db = database.db();
    await expect(
      enqueueAuditEvent(db, auditEvent(1, { data: { bad: Number.NaN } })),
    ).rejects.toMatchObject({ code: "ERR_JSON_NOT_CANONICALIZABLE" });
    expect(await countRows(db, "audit_queue")).toBe(0);
  });

  it("keeps a malformed queued row queued and reports the failed batch", async () => {
    const db = database.db();
    await db.insertInto("audit_queue").values({ event: '{"type": 5}' }).execute();
    const sequencer = createAuditSequencer({ db });
    await expect(sequencer.runOnce()).rejects.toThrow(
      /^audit_queue row \d+ does not hold an audit event body$/,
    );
    expect(await countRows(db, "audit_queue")).toBe(1);

    const logger = { error: vi.fn() };
    const looping = createAuditSequencer({ db, logger, intervalMs: 10 });
    looping.start();
    await vi.waitFor(() => expect(logger.error).toHaveBeenCalled());
    await looping.stop();
    expect(logger.error).toHaveBeenCalledWith(
      { err: expect.any(Error) },
      "Audit sequencer batch failed",
    );
  });

  it("chains events in the background once started, until stopped", async () => {
    const db = database.db();
    const sequencer = createAuditSequencer({ db, intervalMs: 20 });
    sequencer.start();
    await enqueue(db, [auditEvent(1), auditEvent(2)]);
    await vi.waitFor(async () => expect(await countRows(db, "audit_events")).toBe(2), {
      timeout: 5_000,
    });
    await sequencer.stop();
    await enqueue(db, [auditEvent(3)]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await countRows(db, "audit_queue")).toBe(1);
  });

  it("stops only once the batch in flight has committed", async () => {
    const db = database.db();
    await enqueue(
      db,
      Array.from({ length: 300 }, (_, i) => auditEvent(i)),
    );
    let batchStarted = () => {};
    const started = new Promise<void>((resolve) => {
      batchStarted = resolve;
    });
    const sequencer = createAuditSequencer({
      db: db.withPlugin(onDelete(batchStarted)),
      batchSize: 300,
    });
    sequencer.start();
    await started;
    await sequencer.stop();
    expect(await countRows(db, "audit_events")).toBe(300);
    expect(await countRows(db, "audit_queue")).toBe(0);
  });

  it("lists events by sequence, filtered and paged", async () => {
    const db = database.db();
    await enqueue(db, [
      ...[1, 2, 3, 4, 5, 6].map((n) => auditEvent(n)),
      auditEvent(7, { type: "grant.approved", subject: "gr_1" }),
    ]);
    await createAuditSequencer({ db }).runOnce();
    const log = createAuditLog(db);
    const sequences = async (options: Parameters<typeof log.listEvents>[0]) =>
      (await log.listEvents(options)).map((event) => event.sequence);
    expect(await sequences({ limit: 3 })).toEqual([1, 2, 3]);
    expect(await sequences({ limit: 3, afterSequence: 3 })).toEqual([4, 5, 6]);
    expect(await sequences({ limit: 500, humanId: "hum_0" })).toEqual([3, 6]);
    expect(await sequences({ limit: 500, actor: "agt_1" })).toEqual([1, 3, 5, 7]);
    expect(await sequences({ limit: 500, type: "grant.approved" })).toEqual([7]);
    expect(await sequences({ limit: 500, subject: "gr_1", type: "grant.approved" })).toEqual([7]);
    expect(await sequences({ limit: 500, subject: "nothing" })).toEqual([]);
    await expect(log.listEvents({ limit: 501 })).rejects.toThrow(TypeError);
    await expect(log.listEvents({ limit: 1, afterSequence: -1 })).rejects.toThrow(TypeError);
  });

  it("verifies from a later sequence, trusting the hash before it", async () => {
    const db = database.db();
    await enqueue(
      db,
      [1, 2, 3, 4].map((n) => auditEvent(n)),
    );
    await createAuditSequencer({ db }).runOnce();
    const log = createAuditLog(db);
    const full = await log.verifyChain();
    expect(await log.verifyChain({ fromSequence: 3 })).toEqual({ ...full, count: 2 });
    expect(await log.verifyChain({ fromSequence: 5 })).toEqual({ ...full, count: 0 });
    await expect(log.verifyChain({ fromSequence: 6 })).rejects.toThrow(RangeError);
  });

  describe("reports the first break", () => {
    beforeEach(async () => {
      const db = database.db();
      await enqueue(
        db,
        [1, 2, 3, 4, 5].map((n) => auditEvent(n)),
      );
      await createAuditSequencer({ db }).runOnce();
    });

    const head = async (db: Kysely<Database>) =>
      db
        .selectFrom("audit_events")
        .selectAll()
        .orderBy("sequence", "desc")
        .executeTakeFirstOrThrow();
    const row = (sequence: number, previousHash: string, hash: string, n: number) => {
      const body = toChainedEventBody(auditEvent(n));
      return sql`
        INSERT INTO audit_events
          (sequence, previous_hash, hash, event, type, actor, subject, human_id, occurred_at)
        VALUES (${String(sequence)}, ${previousHash}, ${hash}, ${canonicalizeJson(body)},
          'token.issued', ${body.actor}, ${body.subject}, ${body.human_id}, ${body.occurred_at})`;
    };

    it("of a row inserted with a wrong hash", async () => {
      const db = database.db();
      const last = await head(db);
      await row(6, last.hash, "f".repeat(64), 6).execute(db);
      expect(await firstBreak(db)).toMatchObject({
        sequence: 6,
        reason: "hash_mismatch",
        actual: "f".repeat(64),
      });
    });

    it("of a row inserted after a gap", async () => {
      const db = database.db();
      const last = await head(db);
      const body = toChainedEventBody(auditEvent(7));
      await row(7, last.hash, await computeAuditEventHash(last.hash, body), 7).execute(db);
      expect(await firstBreak(db)).toEqual({
        sequence: 7,
        reason: "sequence_gap",
        expected: "6",
        actual: "7",
      });
    });

    it("of a row linked to the wrong previous hash", async () => {
      const db = database.db();
      const body = toChainedEventBody(auditEvent(6));
      await row(6, GENESIS_HASH, await computeAuditEventHash(GENESIS_HASH, body), 6).execute(db);
      expect(await firstBreak(db)).toMatchObject({
        sequence: 6,
        reason: "previous_hash_mismatch",
        actual: GENESIS_HASH,
      });
    });

    it("of an event whose stored text was edited", async () => {
      const db = database.db();
      await tamper(
        db,
        sql`UPDATE audit_events SET event = replace(event, '"n":3', '"n":33') WHERE sequence = 3`,
      );
      await tamper(
        db,
        sql`UPDATE audit_events SET event = replace(event, '"n":4', '"n":44') WHERE sequence = 4`,
      );
      expect(await firstBreak(db)).toMatchObject({ sequence: 3, reason: "hash_mismatch" });
    });

    it("of an event rewritten to equal but non-canonical JSON", async () => {
      const db = database.db();
      await tamper(
        db,
        sql`UPDATE audit_events SET event = replace(event, '"n":2', '"n": 2') WHERE sequence = 2`,
      );
      expect(await firstBreak(db)).toMatchObject({ sequence: 2, reason: "hash_mismatch" });
    });

    it("of an event whose searchable column no longer matches its body", async () => {
      const db = database.db();
      await tamper(
        db,
        sql`UPDATE audit_events SET human_id = 'hum_someone_else' WHERE sequence = 4`,
      );
      expect(await firstBreak(db)).toMatchObject({ sequence: 4, reason: "hash_mismatch" });
    });

    it("of a deleted event", async () => {
      const db = database.db();
      await tamper(db, sql`DELETE FROM audit_events WHERE sequence = 3`);
      expect(await firstBreak(db)).toEqual({
        sequence: 4,
        reason: "sequence_gap",
        expected: "3",
        actual: "4",
      });
    });
  });
});
