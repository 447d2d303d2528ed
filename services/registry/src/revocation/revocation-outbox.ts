import { MAX_ACCESS_TOKEN_LIFETIME_SECONDS } from "@agentauth/core";
import type { RevocationBus } from "@agentauth/state";
import type { Logger } from "pino";
import type { Db, RevocationKind } from "../db/database.js";

/** How long past its `exp` a verifier may still accept a token because of clock skew. */
export const REVOCATION_CLOCK_SKEW_SECONDS = 60;

/** Longest time a token can outlive its revocation: the access-token cap plus clock skew. */
export const REVOCATION_RETENTION_SECONDS =
  MAX_ACCESS_TOKEN_LIFETIME_SECONDS + REVOCATION_CLOCK_SKEW_SECONDS;

/**
 * Records a revocation in the outbox, inside the caller's transaction, so it commits with the
 * change that caused it. The publisher then pushes it to every verifier. It is kept until what
 * it names is dead everywhere: `expiresAt` (a token's `exp`; default the longest token lifetime
 * from now) plus the clock skew verifiers allow.
 */
export async function recordRevocation(
  db: Db,
  revocation: { kind: RevocationKind; subject: string; now: Date; expiresAt?: Date },
): Promise<void> {
  const expiresAt =
    revocation.expiresAt === undefined
      ? new Date(revocation.now.getTime() + REVOCATION_RETENTION_SECONDS * 1000)
      : new Date(revocation.expiresAt.getTime() + REVOCATION_CLOCK_SKEW_SECONDS * 1000);
  await db
    .insertInto("revocations")
    .values({
      kind: revocation.kind,
      subject: revocation.subject,
      expires_at: expiresAt,
      created_at: revocation.now,
    })
    .execute();
}

export interface RevocationPublisher {
  /** Publishes every unpublished revocation now; returns how many. Call right after a commit. */
  flush(): Promise<number>;
  /** Also flush on a timer, so nothing waits for the next revocation after a Redis outage. */
  start(): void;
  stop(): Promise<void>;
}

/** Moves outbox rows to the revocation bus. Publishing twice is harmless, losing one is not. */
export function createRevocationPublisher(deps: {
  db: Db;
  bus: RevocationBus;
  logger: Logger;
  intervalMs?: number;
}): RevocationPublisher {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;

  const publishBatch = async (): Promise<number> => {
    const rows = await deps.db
      .selectFrom("revocations")
      .select(["id", "kind", "subject", "expires_at"])
      .where("published_at", "is", null)
      .orderBy("id")
      .limit(500)
      .execute();
    if (rows.length === 0) return 0;
    for (const row of rows) {
      await deps.bus.publish({ kind: row.kind, subject: row.subject, expiresAt: row.expires_at });
    }
    await deps.db
      .updateTable("revocations")
      .set({ published_at: new Date() })
      .where(
        "id",
        "in",
        rows.map((row) => row.id),
      )
      .execute();
    return rows.length;
  };

  // One flush at a time per process; concurrent callers share it.
  const flush = (): Promise<number> => {
    running ??= publishBatch().finally(() => {
      running = undefined;
    });
    return running;
  };

  return {
    flush,
    start() {
      timer = setInterval(() => {
        flush().catch((error: unknown) =>
          deps.logger.warn({ err: error }, "revocation publish failed; will retry"),
        );
      }, deps.intervalMs ?? 1000);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
