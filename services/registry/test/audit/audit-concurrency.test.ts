import { sql } from "kysely";
import { expect, it, vi } from "vitest";
import { createAuditLog } from "../../src/audit/audit-log.js";
import { createAuditSequencer } from "../../src/audit/audit-sequencer.js";
import { enqueueAuditEvent } from "../../src/audit/enqueue-audit-event.js";
import { describeEachDatabase } from "../support/databases.js";

describeEachDatabase("audit chain under concurrent writers and sequencers", (database) => {
  it("leaves one unbroken chain holding each committed event exactly once", async () => {
    // PGlite runs one transaction at a time, so a smaller run shows the same there.
    const [writers, eventsPerWriter] = database.kind === "postgres" ? [8, 500] : [4, 50];
    const total = writers * eventsPerWriter;
    const writerDb = await database.connectReplica({ poolSize: writers });
    const errors: unknown[] = [];
    const logger = { error: (details: Record<string, unknown>) => errors.push(details.err) };
    // Two registry replicas, each with its own pool and sequencer, chaining while writers write.
    const sequencers = await Promise.all(
      [1, 2].map(async () =>
        createAuditSequencer({
          db: await database.connectReplica({ poolSize: 2 }),
          batchSize: 100,
          intervalMs: 5,
          logger,
        }),
      ),
    );
    for (const sequencer of sequencers) sequencer.start();

    const rollback = new Error("rolled back");
    await Promise.all(
      Array.from({ length: writers }, async (_, writer) => {
        for (let n = 0; n < eventsPerWriter; n++) {
          const event = {
            type: "token.issued",
            actor: `agt_${writer}`,
            subject: `at_${writer}_${n}`,
            occurredAt: new Date(),
            data: { writer, n },
          } as const;
          await writerDb.transaction().execute((trx) => enqueueAuditEvent(trx, event));
          // Now and then a business transaction fails after queuing its event.
          if (n % 50 === 0) {
            await writerDb
              .transaction()
              .execute(async (trx) => {
                await enqueueAuditEvent(trx, { ...event, subject: `rolled_back_${writer}_${n}` });
                throw rollback;
              })
              .catch((error: unknown) => {
                if (error !== rollback) throw error;
              });
          }
        }
      }),
    );

    const db = database.db();
    await vi.waitFor(
      async () => {
        const { count } = await db
          .selectFrom("audit_queue")
          .select((eb) => eb.fn.countAll<string>().as("count"))
          .executeTakeFirstOrThrow();
        expect(count).toBe("0");
      },
      { timeout: 10_000, interval: 20 },
    );
    await Promise.all(sequencers.map((sequencer) => sequencer.stop()));

    expect(errors).toEqual([]);
    const result = await createAuditLog(db).verifyChain();
    expect(result).toMatchObject({ count: total, lastSequence: total });
    const { rows } = await sql<{ subject: string; events: string }>`
      SELECT subject, count(*) AS events FROM audit_events GROUP BY subject
    `.execute(db);
    expect(rows).toHaveLength(total);
    expect(rows.every((row) => row.events === "1" && row.subject.startsWith("at_"))).toBe(true);
  });
});
