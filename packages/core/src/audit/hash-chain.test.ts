import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { JsonValue } from "../encoding/canonical-json.js";
import {
  type ChainedAuditEvent,
  computeAuditEventHash,
  GENESIS_HASH,
  verifyAuditChain,
} from "./hash-chain.js";

async function buildChain(bodies: JsonValue[]): Promise<ChainedAuditEvent[]> {
  const chain: ChainedAuditEvent[] = [];
  let previousHash = GENESIS_HASH;
  for (const [index, event] of bodies.entries()) {
    const hash = await computeAuditEventHash(previousHash, event);
    chain.push({ sequence: index + 1, previousHash, hash, event });
    previousHash = hash;
  }
  return chain;
}

const bodies: JsonValue[] = [
  { type: "human.enrolled", subject: "h1" },
  { type: "agent.enrolled", subject: "a1", data: { name: "travel bot" } },
  { type: "grant.approved", subject: "g1" },
  { type: "token.issued", subject: "t1" },
];

describe("audit hash chain", () => {
  it("hashes the previous hash bytes followed by the canonical event", async () => {
    const expected = createHash("sha256")
      .update(Buffer.from(GENESIS_HASH, "hex"))
      .update('{"a":1,"b":[true]}')
      .digest("hex");
    expect(await computeAuditEventHash(GENESIS_HASH, { b: [true], a: 1 })).toBe(expected);
  });

  it("verifies an intact chain and reports its head", async () => {
    const chain = await buildChain(bodies);
    expect(await verifyAuditChain(chain)).toEqual({
      count: 4,
      lastSequence: 4,
      headHash: chain[3]?.hash,
    });
  });

  it("verifies a chain streamed in pages from a checkpoint", async () => {
    const chain = await buildChain(bodies);
    async function* tail() {
      yield* chain.slice(2);
    }
    const result = await verifyAuditChain(tail(), {
      previousHash: chain[1]?.hash,
      firstSequence: 3,
    });
    expect(result).toEqual({ count: 2, lastSequence: 4, headHash: chain[3]?.hash });
  });

  it("treats an empty chain as intact", async () => {
    expect(await verifyAuditChain([])).toEqual({
      count: 0,
      lastSequence: 0,
      headHash: GENESIS_HASH,
    });
  });

  it.each([
    [
      "an edited event",
      (chain: ChainedAuditEvent[]) => {
        chain[2] = {
          ...(chain[2] as ChainedAuditEvent),
          event: { type: "grant.denied", subject: "g1" },
        };
      },
      { sequence: 3, reason: "hash_mismatch" },
    ],
    [
      "a deleted event",
      (chain: ChainedAuditEvent[]) => {
        chain.splice(1, 1);
      },
      { sequence: 3, reason: "sequence_gap" },
    ],
    [
      "a re-hashed edit (the next link no longer follows)",
      (chain: ChainedAuditEvent[]) => {
        const link = chain[1] as ChainedAuditEvent;
        const event = { type: "agent.enrolled", subject: "a2" };
        chain[1] = { ...link, event, hash: createHash("sha256").update("forged").digest("hex") };
      },
      { sequence: 2, reason: "hash_mismatch" },
    ],
    [
      "a forged link to a wrong predecessor",
      (chain: ChainedAuditEvent[]) => {
        chain[3] = { ...(chain[3] as ChainedAuditEvent), previousHash: GENESIS_HASH };
      },
      { sequence: 4, reason: "previous_hash_mismatch" },
    ],
  ])("reports the first break for %s", async (_name, tamper, expected) => {
    const chain = await buildChain(bodies);
    tamper(chain);
    await expect(verifyAuditChain(chain)).rejects.toMatchObject({
      code: "ERR_AUDIT_CHAIN_BROKEN",
      details: expect.objectContaining(expected),
    });
  });

  it("rejects a malformed previous hash as a programming error", async () => {
    await expect(computeAuditEventHash("xyz", {})).rejects.toThrow(TypeError);
  });
});
