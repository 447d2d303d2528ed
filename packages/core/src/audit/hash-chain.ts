import { platform } from "#platform";
import { canonicalizeJson, type JsonValue } from "../encoding/canonical-json.js";
import { decodeHex, encodeHex } from "../encoding/hex.js";
import { AgentAuthError } from "../errors.js";

/** The `previous_hash` of the first event: 32 zero bytes, hex. */
export const GENESIS_HASH = "0".repeat(64);

/** One link of the audit chain as stored. */
export interface ChainedAuditEvent {
  readonly sequence: number;
  readonly previousHash: string;
  readonly hash: string;
  /** The event body; its RFC 8785 canonical form is what is hashed. */
  readonly event: JsonValue;
}

/** Hash of one link: hex(SHA-256(previous hash bytes ‖ UTF-8(canonical JSON of the event))). */
export async function computeAuditEventHash(
  previousHash: string,
  event: JsonValue,
): Promise<string> {
  return encodeHex(await hashLink(decodeHash(previousHash), event));
}

function hashLink(previous: Uint8Array, event: JsonValue): Promise<Uint8Array> {
  return platform.sha256(previous, canonicalizeJson(event));
}

function decodeHash(hash: string): Uint8Array {
  const bytes = decodeHex(hash);
  if (bytes?.length !== 32)
    throw new TypeError("A chain hash must be 64 lower-case hex characters");
  return bytes;
}

/** Why a chain does not verify, at {@link AuditChainBreakDetails.sequence}. */
export type AuditChainBreakReason = "sequence_gap" | "previous_hash_mismatch" | "hash_mismatch";

export interface AuditChainBreakDetails {
  readonly sequence: number;
  readonly reason: AuditChainBreakReason;
  readonly expected: string;
  readonly actual: string;
}

export interface VerifyAuditChainOptions {
  /** Hash the first event must follow; default {@link GENESIS_HASH}. */
  previousHash?: string;
  /** Sequence number the first event must have; default 1. */
  firstSequence?: number;
}

export interface VerifyAuditChainResult {
  readonly count: number;
  /** Sequence number of the last event checked (firstSequence - 1 when empty). */
  readonly lastSequence: number;
  /** Hash of the last event checked: the value a signed checkpoint commits to. */
  readonly headHash: string;
}

/**
 * Verifies a run of consecutive audit events (sequences, links and hashes). Throws
 * `ERR_AUDIT_CHAIN_BROKEN` at the first break, with {@link AuditChainBreakDetails}. Accepts an
 * async iterable so a long chain can be streamed page by page.
 */
export async function verifyAuditChain(
  events: Iterable<ChainedAuditEvent> | AsyncIterable<ChainedAuditEvent>,
  options: VerifyAuditChainOptions = {},
): Promise<VerifyAuditChainResult> {
  let headHash = options.previousHash ?? GENESIS_HASH;
  // The head is kept as bytes too, so each link costs one hash and no hex decoding.
  let headBytes = decodeHash(headHash);
  let expectedSequence = options.firstSequence ?? 1;
  let count = 0;
  for await (const link of events) {
    if (link.sequence !== expectedSequence) {
      breakAt(link.sequence, "sequence_gap", String(expectedSequence), String(link.sequence));
    }
    if (link.previousHash !== headHash)
      breakAt(link.sequence, "previous_hash_mismatch", headHash, link.previousHash);
    headBytes = await hashLink(headBytes, link.event);
    const hash = encodeHex(headBytes);
    if (hash !== link.hash) breakAt(link.sequence, "hash_mismatch", hash, link.hash);
    headHash = hash;
    expectedSequence++;
    count++;
  }
  return { count, lastSequence: expectedSequence - 1, headHash };
}

function breakAt(
  sequence: number,
  reason: AuditChainBreakReason,
  expected: string,
  actual: string,
): never {
  const details: AuditChainBreakDetails = { sequence, reason, expected, actual };
  throw new AgentAuthError(
    "ERR_AUDIT_CHAIN_BROKEN",
    `The audit chain breaks at sequence ${sequence}: ${reason}`,
    {
      details: { ...details },
    },
  );
}
