import { createPublicKey, verify } from "node:crypto";
import { decodeCompactJws, signCompactJws } from "@agentauth/core";
import type { Clock } from "../clock.js";
import type { Db } from "../db/database.js";
import type { JwkSigner } from "../signing/jwk-signer.js";

/** `typ` of a checkpoint JWS: explicit typing (RFC 8725 §3.11) keeps it from passing as a token. */
export const CHECKPOINT_TYP = "audit-checkpoint+jwt";

/** A signed statement "the chain's event `sequence` has hash `hash`", stored and served as is. */
export interface AuditCheckpoint {
  readonly sequence: number;
  readonly hash: string;
  readonly kid: string;
  /** Compact JWS over `{iss, sequence, hash, iat}`, signed by the registry's token key. */
  readonly signature: string;
  readonly createdAt: Date;
}

export interface AuditCheckpointerOptions {
  readonly db: Db;
  readonly signer: JwkSigner;
  readonly issuer: string;
  readonly clock: Clock;
  /** How often the head is checked; default 60 s. */
  readonly intervalMs?: number;
  readonly logger?: { error(details: Record<string, unknown>, message: string): void };
}

/**
 * Signs the audit chain's head from time to time. A checkpoint lets anyone holding the
 * registry's public key trust a prefix of the chain without replaying it, and makes rewriting
 * history detectable even by someone who could rewrite the table: the old head's signature
 * would no longer match. Replicas may race; the sequence is the key, so one wins.
 */
export interface AuditCheckpointer {
  /** Signs the head if it moved since the latest checkpoint; returns what it stored, if anything. */
  checkpointOnce(): Promise<AuditCheckpoint | undefined>;
  start(): void;
  stop(): Promise<void>;
}

export function createAuditCheckpointer(options: AuditCheckpointerOptions): AuditCheckpointer {
  const { db, signer, issuer, clock, intervalMs = 60_000 } = options;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<unknown> | undefined;

  const checkpointOnce = async (): Promise<AuditCheckpoint | undefined> => {
    const head = await db
      .selectFrom("audit_events")
      .select(["sequence", "hash"])
      .orderBy("sequence", "desc")
      .limit(1)
      .executeTakeFirst();
    if (head === undefined) return undefined;
    const latest = await db
      .selectFrom("audit_checkpoints")
      .select("sequence")
      .orderBy("sequence", "desc")
      .limit(1)
      .executeTakeFirst();
    if (latest !== undefined && BigInt(latest.sequence) >= BigInt(head.sequence)) return undefined;
    const now = clock.now();
    const sequence = Number(head.sequence);
    const signature = await signCompactJws(
      { typ: CHECKPOINT_TYP, kid: signer.kid },
      { iss: issuer, sequence, hash: head.hash, iat: Math.floor(now.getTime() / 1000) },
      signer,
    );
    const stored = await db
      .insertInto("audit_checkpoints")
      .values({
        sequence: head.sequence,
        hash: head.hash,
        kid: signer.kid,
        signature,
        created_at: now,
      })
      .onConflict((conflict) => conflict.column("sequence").doNothing())
      .returning("created_at")
      .executeTakeFirst();
    return stored === undefined
      ? undefined
      : { sequence, hash: head.hash, kid: signer.kid, signature, createdAt: stored.created_at };
  };

  return {
    checkpointOnce,
    start() {
      timer = setInterval(() => {
        inFlight = checkpointOnce().catch((error: unknown) =>
          options.logger?.error({ err: error }, "audit checkpoint failed"),
        );
      }, intervalMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await inFlight;
    },
  };
}

/** The latest checkpoints first, at most `limit`. */
export async function listAuditCheckpoints(db: Db, limit: number): Promise<AuditCheckpoint[]> {
  const rows = await db
    .selectFrom("audit_checkpoints")
    .selectAll()
    .orderBy("sequence", "desc")
    .limit(limit)
    .execute();
  return rows.map((row) => ({
    sequence: Number(row.sequence),
    hash: row.hash,
    kid: row.kid,
    signature: row.signature,
    createdAt: row.created_at,
  }));
}

export type CheckpointProblem =
  | "signature_invalid"
  | "unknown_key"
  | "claims_mismatch"
  | "hash_mismatch";

export interface CheckpointVerification {
  readonly verified: number;
  /** The newest checkpoint, when there is one. */
  readonly latest?: { readonly sequence: number; readonly signedAt: Date };
  /** The first checkpoint (newest first) that does not hold, and why. */
  readonly firstProblem?: { readonly sequence: number; readonly problem: CheckpointProblem };
}

/**
 * Checks every checkpoint: its signature under the registry key it names (public keys are kept
 * in `signing_keys` after retirement, so old checkpoints stay verifiable), that its claims repeat
 * the stored sequence and hash, and that the chain still has that hash at that sequence.
 */
export async function verifyAuditCheckpoints(db: Db): Promise<CheckpointVerification> {
  const rows = await db
    .selectFrom("audit_checkpoints as c")
    .leftJoin("audit_events as e", "e.sequence", "c.sequence")
    .leftJoin("signing_keys as k", "k.kid", "c.kid")
    .select([
      "c.sequence",
      "c.hash",
      "c.signature",
      "c.created_at",
      "e.hash as chain_hash",
      "k.public_jwk",
    ])
    .orderBy("c.sequence", "desc")
    .execute();
  const latest = rows[0];
  const summary =
    latest === undefined
      ? {}
      : { latest: { sequence: Number(latest.sequence), signedAt: latest.created_at } };
  let verified = 0;
  for (const row of rows) {
    const problem = checkpointProblem(row);
    if (problem !== undefined) {
      return { verified, ...summary, firstProblem: { sequence: Number(row.sequence), problem } };
    }
    verified++;
  }
  return { verified, ...summary };
}

function checkpointProblem(row: {
  sequence: string;
  hash: string;
  signature: string;
  chain_hash: string | null;
  public_jwk: Record<string, string> | null;
}): CheckpointProblem | undefined {
  if (row.public_jwk === null) return "unknown_key";
  let decoded: ReturnType<typeof decodeCompactJws>;
  try {
    decoded = decodeCompactJws(row.signature, "ERR_JWS_MALFORMED", 16_384);
  } catch {
    return "signature_invalid";
  }
  if (
    decoded.header.typ !== CHECKPOINT_TYP ||
    decoded.header.alg !== "ES256" ||
    !verifiesEs256(row.public_jwk, decoded.signingInput, decoded.signature)
  )
    return "signature_invalid";
  if (decoded.payload.sequence !== Number(row.sequence) || decoded.payload.hash !== row.hash)
    return "claims_mismatch";
  if (row.chain_hash !== row.hash) return "hash_mismatch";
  return undefined;
}

function verifiesEs256(
  jwk: Record<string, string>,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  try {
    const key = createPublicKey({ key: jwk, format: "jwk" });
    return verify("sha256", data, { key, dsaEncoding: "ieee-p1363" }, signature);
  } catch {
    return false; // a malformed stored key or signature proves nothing
  }
}
