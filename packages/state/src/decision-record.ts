import type { DecisionLog, DecisionRecord } from "./decision-log.js";
import { parseJson } from "./parse-json.js";
import {
  assertNonEmptyString,
  assertNonNegativeInteger,
  assertPositiveInteger,
  isNonEmptyString,
} from "./validate.js";

/** The options of {@link DecisionLog.read}. */
export type DecisionReadOptions = Parameters<DecisionLog["read"]>[0];

const OUTCOMES: readonly unknown[] = [
  "allow",
  "deny",
  "step_up",
] satisfies DecisionRecord["outcome"][];
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;
const OPTIONAL_IDS = ["agentId", "grantId", "humanId", "tokenId"] as const;
// Both adapters hand out Redis stream entry ids, so both refuse the same malformed ones.
const ENTRY_ID = /^\d+-\d+$/;

/** Why `value` is not a {@link DecisionRecord}, or `undefined` when it is one. */
function findProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return "a decision record must be an object";
  const record = value as Record<string, unknown>;
  const { at, outcome, action, count } = record;
  if (typeof at !== "string" || !ISO_DATE_TIME.test(at) || Number.isNaN(Date.parse(at))) {
    return "at must be an ISO 8601 date-time";
  }
  if (!OUTCOMES.includes(outcome)) return `outcome must be one of ${OUTCOMES.join(", ")}`;
  for (const name of ["reason", "serviceProviderId"] as const) {
    if (!isNonEmptyString(record[name])) return `${name} must be a non-empty string`;
  }
  for (const name of OPTIONAL_IDS) {
    if (record[name] !== undefined && !isNonEmptyString(record[name])) {
      return `${name} must be a non-empty string when present`;
    }
  }
  if (action !== undefined) {
    const { type, resource, amount } = (action ?? {}) as Record<string, unknown>;
    if (!isNonEmptyString(type) || !isNonEmptyString(resource)) {
      return "action needs a non-empty type and resource";
    }
    const money = (amount ?? {}) as Record<string, unknown>;
    if (
      amount !== undefined &&
      !(isNonEmptyString(money.amount) && isNonEmptyString(money.currency))
    ) {
      return "action.amount needs a non-empty amount and currency";
    }
  }
  if (count !== undefined && (!Number.isSafeInteger(count) || (count as number) < 1)) {
    return "count must be a positive integer when present";
  }
  return undefined;
}

/**
 * Checks the records handed to `append` (one bad record refuses them all) and encodes each as
 * JSON holding only the fields this version knows.
 */
export function encodeDecisionRecords(records: readonly DecisionRecord[]): string[] {
  if (!Array.isArray(records)) throw new TypeError("records must be an array");
  return records.map((record: DecisionRecord, index) => {
    const problem = findProblem(record);
    if (problem !== undefined) throw new TypeError(`records[${index}]: ${problem}`);
    const { at, outcome, reason, serviceProviderId, action, count } = record;
    const ids = Object.fromEntries(OPTIONAL_IDS.map((name) => [name, record[name]]));
    // JSON.stringify leaves out the fields that are undefined.
    return JSON.stringify({
      at,
      outcome,
      reason,
      serviceProviderId,
      ...ids,
      action: action && {
        type: action.type,
        resource: action.resource,
        amount: action.amount && { amount: action.amount.amount, currency: action.amount.currency },
      },
      count,
    });
  });
}

/**
 * The record stored as `json`, or `undefined` when it is not one this version understands.
 * Fields a newer version added are kept, so the audit log loses nothing of what was sent.
 */
export function decodeDecisionRecord(json: string): DecisionRecord | undefined {
  const value = parseJson(json);
  return findProblem(value) === undefined ? (value as DecisionRecord) : undefined;
}

/** Checks the options handed to `read`. */
export function checkDecisionReadOptions(options: DecisionReadOptions): DecisionReadOptions {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("read options must be an object");
  }
  const { consumer, count, blockMs, redeliverAfterMs } = options;
  assertNonEmptyString(consumer, "consumer");
  assertPositiveInteger(count, "count");
  assertNonNegativeInteger(blockMs, "blockMs");
  assertPositiveInteger(redeliverAfterMs, "redeliverAfterMs");
  return { consumer, count, blockMs, redeliverAfterMs };
}

/** Checks the ids handed to `ack`. */
export function checkDecisionIds(ids: readonly string[]): void {
  if (!Array.isArray(ids)) throw new TypeError("ids must be an array");
  for (const id of ids) {
    if (typeof id !== "string" || !ENTRY_ID.test(id)) {
      throw new TypeError(`${String(id)} is not a delivered decision id`);
    }
  }
}
