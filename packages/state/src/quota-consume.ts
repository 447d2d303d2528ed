import type { QuotaEntry, QuotaStore } from "./quota-store.js";
import { assertNonEmptyString, assertNonNegativeInteger, toEpochMs } from "./validate.js";

/** The options of {@link QuotaStore.consume}. */
export type QuotaConsumeOptions = NonNullable<Parameters<QuotaStore["consume"]>[1]>;

/** A {@link QuotaEntry} whose arguments were checked, its expiry in epoch milliseconds. */
export interface CheckedQuotaEntry {
  readonly key: string;
  readonly increment: number;
  readonly limit: number;
  readonly expiresAtMs: number;
}

/** One `consume` call, checked: both adapters refuse the same bad arguments with TypeError. */
export function checkQuotaConsume(
  entries: readonly QuotaEntry[],
  options: QuotaConsumeOptions = {},
): { entries: CheckedQuotaEntry[]; dryRun: boolean } {
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new TypeError("entries must be a non-empty array");
  }
  const dryRun = options.dryRun ?? false;
  if (typeof dryRun !== "boolean") throw new TypeError("dryRun must be a boolean");
  return { entries: checkQuotaEntries(entries), dryRun };
}

const SMALL = 16;

/** Checks each entry of an array of quota entries (which may be empty). */
export function checkQuotaEntries(entries: readonly QuotaEntry[]): CheckedQuotaEntry[] {
  const checked: CheckedQuotaEntry[] = [];
  const keys = entries.length > SMALL ? new Set<string>() : undefined;
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index];
    if (typeof entry !== "object" || entry === null) {
      throw new TypeError(`entries[${index}] must be an object`);
    }
    const { key, increment, limit, expiresAt } = entry;
    assertNonEmptyString(key, `entries[${index}].key`);
    // Two entries on one counter would each be checked against the value before both. A call
    // has a handful of entries, for which comparing each with those before is quicker than a set.
    const repeats =
      keys === undefined ? checked.some((earlier) => earlier.key === key) : keys.has(key);
    if (repeats) throw new TypeError(`entries[${index}].key repeats ${key}`);
    keys?.add(key);
    assertNonNegativeInteger(increment, `entries[${index}].increment`);
    assertNonNegativeInteger(limit, `entries[${index}].limit`);
    checked.push({
      key,
      increment,
      limit,
      expiresAtMs: toEpochMs(expiresAt, `entries[${index}].expiresAt`),
    });
  }
  return checked;
}
