import { parseJson } from "./parse-json.js";
import { REVOCATION_KINDS, type RevocationKind, type RevocationRecord } from "./revocation-bus.js";
import { assertNonEmptyString, toEpochMs } from "./validate.js";

/** Whether `value` is a {@link RevocationKind} this version knows. */
export function isRevocationKind(value: unknown): value is RevocationKind {
  return (REVOCATION_KINDS as readonly unknown[]).includes(value);
}

/** Checks a record handed to `publish` and returns its expiry in epoch milliseconds. */
export function assertRevocationRecord(record: RevocationRecord): number {
  if (typeof record !== "object" || record === null || !isRevocationKind(record.kind)) {
    throw new TypeError(`A revocation record needs a kind among ${REVOCATION_KINDS.join(", ")}`);
  }
  assertNonEmptyString(record.subject, "subject");
  return toEpochMs(record.expiresAt, "expiresAt");
}

/**
 * Builds a record from parts read back from Redis, or `undefined` when they are not one this
 * version understands (e.g. a kind added by a newer registry during a rolling upgrade).
 */
export function toRevocationRecord(
  kind: unknown,
  subject: unknown,
  expiresAtMs: unknown,
): RevocationRecord | undefined {
  const ms = typeof expiresAtMs === "string" ? Number(expiresAtMs) : expiresAtMs;
  if (!isRevocationKind(kind) || typeof subject !== "string" || subject.length === 0) {
    return undefined;
  }
  if (!Number.isSafeInteger(ms) || (ms as number) <= 0) return undefined;
  return { kind, subject, expiresAt: new Date(ms as number) };
}

/** The pub/sub message for `record`. */
export function encodeRevocationMessage(record: RevocationRecord): string {
  return JSON.stringify({
    kind: record.kind,
    subject: record.subject,
    expiresAt: record.expiresAt.getTime(),
  });
}

/** Reads a pub/sub message, or `undefined` when it is not a record this version understands. */
export function decodeRevocationMessage(message: string): RevocationRecord | undefined {
  const parsed = parseJson(message);
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const { kind, subject, expiresAt } = parsed as Record<string, unknown>;
  return toRevocationRecord(kind, subject, expiresAt);
}

/** One record per (kind, subject), keeping the latest expiry: a revocation never shortens. */
export function mergeRevocations(records: Iterable<RevocationRecord>): RevocationRecord[] {
  const merged = new Map<string, RevocationRecord>();
  for (const record of records) {
    const id = `${record.kind}:${record.subject}`;
    const known = merged.get(id);
    if (known === undefined || known.expiresAt < record.expiresAt) merged.set(id, record);
  }
  return [...merged.values()];
}
