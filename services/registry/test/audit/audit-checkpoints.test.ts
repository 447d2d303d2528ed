import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { signCompactJws } from "@agentauth/core";
import { compactVerify, importJWK } from "jose";
import { beforeEach, expect, it } from "vitest";
import {
  CHECKPOINT_TYP,
  createAuditCheckpointer,
  listAuditCheckpoints,
  verifyAuditCheckpoints,
} from "../../src/audit/audit-checkpoints.js";
import { createAuditSequencer } from "../../src/audit/audit-sequencer.js";
import { enqueueAuditEvent } from "../../src/audit/enqueue-audit-event.js";
import type { Db } from "../../src/db/database.js";
import { createFileSigner } from "../../src/signing/file-signer.js";
import type { JwkSigner } from "../../src/signing/jwk-signer.js";
import { createPgSigningKeyStore } from "../../src/signing/pg-signing-key-store.js";
import { createSigningKeyRing } from "../../src/signing/signing-key-ring.js";
import { describeEachDatabase } from "../support/databases.js";
import { createTestRegistry } from "../support/test-registry.js";

const ISSUER = "http://localhost:4000";
const clock = { now: () => new Date() };

describeEachDatabase("audit checkpoints: the chain head, signed", (database) => {
  let db: Db;
  let signer: JwkSigner;

  beforeEach(async () => {
    db = database.db();
    await db.deleteFrom("audit_checkpoints").execute();
    const ring = createSigningKeyRing({
      signer: await createFileSigner(
        join(await mkdtemp(join(tmpdir(), "agentauth-cp-")), "key.pem"),
      ),
      store: createPgSigningKeyStore(db),
      now: () => clock.now(),
    });
    await ring.activate();
    signer = ring.signer;
  });

  /** Appends `count` events and chains them. */
  async function chain(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      await enqueueAuditEvent(db, {
        type: "token.issued",
        actor: "agt_1",
        occurredAt: clock.now(),
      });
    }
    while ((await createAuditSequencer({ db }).runOnce()) > 0);
  }

  const head = () =>
    db
      .selectFrom("audit_events")
      .select(["sequence", "hash"])
      .orderBy("sequence", "desc")
      .limit(1)
      .executeTakeFirstOrThrow();

  it("signs the head once, and again only after it moved", async () => {
    const checkpointer = createAuditCheckpointer({ db, signer, issuer: ISSUER, clock });
    await chain(3);
    const first = await checkpointer.checkpointOnce();
    const { sequence, hash } = await head();
    expect(first).toMatchObject({ sequence: Number(sequence), hash, kid: signer.kid });
    expect(await checkpointer.checkpointOnce()).toBeUndefined();
    await chain(2);
    const second = await checkpointer.checkpointOnce();
    expect(second?.sequence).toBe(Number(sequence) + 2);
    expect((await listAuditCheckpoints(db, 10)).map((c) => c.sequence)).toEqual([
      Number(sequence) + 2,
      Number(sequence),
    ]);
  });

  it("is a JWS any JOSE library verifies with the registry's public key", async () => {
    await chain(1);
    const checkpoint = await createAuditCheckpointer({
      db,
      signer,
      issuer: ISSUER,
      clock,
    }).checkpointOnce();
    const { payload, protectedHeader } = await compactVerify(
      checkpoint?.signature as string,
      await importJWK({ ...signer.publicJwk }, "ES256"),
    );
    expect(protectedHeader).toMatchObject({ typ: CHECKPOINT_TYP, alg: "ES256", kid: signer.kid });
    expect(JSON.parse(new TextDecoder().decode(payload))).toMatchObject({
      iss: ISSUER,
      sequence: checkpoint?.sequence,
      hash: checkpoint?.hash,
    });
  });

  it("stores one checkpoint when replicas race for the same head", async () => {
    await chain(1);
    const replicas = [1, 2, 3].map(() =>
      createAuditCheckpointer({ db, signer, issuer: ISSUER, clock }),
    );
    const stored = await Promise.all(replicas.map((replica) => replica.checkpointOnce()));
    expect(stored.filter((checkpoint) => checkpoint !== undefined).length).toBeLessThanOrEqual(1);
    expect(await listAuditCheckpoints(db, 10)).toHaveLength(1);
  });

  it("verifies every checkpoint, and names the first that does not hold", async () => {
    const checkpointer = createAuditCheckpointer({ db, signer, issuer: ISSUER, clock });
    expect(await verifyAuditCheckpoints(db)).toEqual({ verified: 0 });
    await chain(2);
    await checkpointer.checkpointOnce();
    await chain(1);
    await checkpointer.checkpointOnce();
    const intact = await verifyAuditCheckpoints(db);
    expect(intact.verified).toBe(2);
    expect(intact.firstProblem).toBeUndefined();

    // Forged rows at sequences the chain has, each broken in one way.
    const { sequence } = await head();
    const target = String(Number(sequence) - 2); // older than both checkpoints, none of its own
    const { hash } = await db
      .selectFrom("audit_events")
      .select("hash")
      .where("sequence", "=", target)
      .executeTakeFirstOrThrow();
    const sign = (claims: Record<string, unknown>) =>
      signCompactJws({ typ: CHECKPOINT_TYP, kid: signer.kid }, { iss: ISSUER, ...claims }, signer);
    const cases = [
      {
        problem: "unknown_key",
        row: {
          hash,
          kid: "kid-nobody-has",
          signature: await sign({ sequence: Number(target), hash }),
        },
      },
      {
        problem: "signature_invalid",
        row: {
          hash,
          kid: signer.kid,
          signature: `${await sign({ sequence: Number(target), hash })}x`,
        },
      },
      {
        problem: "claims_mismatch",
        row: { hash, kid: signer.kid, signature: await sign({ sequence: 1, hash }) },
      },
      {
        problem: "hash_mismatch",
        row: {
          hash: "f".repeat(64),
          kid: signer.kid,
          signature: await sign({ sequence: Number(target), hash: "f".repeat(64) }),
        },
      },
    ];
    for (const { problem, row } of cases) {
      await db
        .insertInto("audit_checkpoints")
        .values({ sequence: target, ...row })
        .execute();
      expect(await verifyAuditCheckpoints(db)).toMatchObject({
        verified: 2,
        firstProblem: { sequence: Number(target), problem },
      });
      await db.deleteFrom("audit_checkpoints").where("sequence", "=", target).execute();
    }
  });

  it("are served, and checked by GET /api/audit/verify", async () => {
    const test = await createTestRegistry(db);
    await test.admin.post("/api/agent-enrolment-codes", { name: "bot" }).expect(201);
    while ((await test.registry.auditSequencer.runOnce()) > 0);
    const checkpoint = await test.registry.auditCheckpointer.checkpointOnce();
    expect(checkpoint).toBeDefined();
    const listed = await test.admin.get("/api/audit/checkpoints?limit=1").expect(200);
    expect(listed.body.checkpoints).toEqual([
      {
        sequence: checkpoint?.sequence,
        hash: checkpoint?.hash,
        kid: checkpoint?.kid,
        jws: checkpoint?.signature,
        signed_at: checkpoint?.createdAt.toISOString(),
      },
    ]);
    await test.admin.get("/api/audit/checkpoints?limit=0").expect(400);
    const verified = await test.admin.get("/api/audit/verify").expect(200);
    expect(verified.body).toMatchObject({
      status: "intact",
      checkpoints: { verified: 1, latest: { sequence: checkpoint?.sequence } },
    });
  });
});
