// Argument checks shared by the adapters. A bad argument is a programmer error: TypeError.

/** The key prefix adapters use unless told otherwise. */
export const DEFAULT_KEY_PREFIX = "agentauth:";

/** Whether `value` is a non-empty string. */
export function isNonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

/** Checks that `value` is a non-empty string. */
export function assertNonEmptyString(value: unknown, name: string): asserts value is string {
  if (!isNonEmptyString(value)) throw new TypeError(`${name} must be a non-empty string`);
}

/** Returns the epoch milliseconds of a valid, positive `Date`. */
export function toEpochMs(value: unknown, name: string): number {
  const ms = value instanceof Date ? value.getTime() : Number.NaN;
  // Redis refuses PXAT 0 and below, so both adapters refuse them alike.
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new TypeError(`${name} must be a valid Date`);
  return ms;
}

/** Checks that `value` is a positive safe integer. */
export function assertPositiveInteger(value: unknown, name: string): asserts value is number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new TypeError(`${name} must be a positive integer`);
  }
}

/** Checks that `value` is a safe integer ≥ 0. */
export function assertNonNegativeInteger(value: unknown, name: string): asserts value is number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new TypeError(`${name} must be a non-negative integer`);
  }
}

/** The key prefix to use: `prefix` if given and non-empty, else {@link DEFAULT_KEY_PREFIX}. */
export function resolveKeyPrefix(prefix: string | undefined): string {
  if (prefix === undefined) return DEFAULT_KEY_PREFIX;
  assertNonEmptyString(prefix, "keyPrefix");
  return prefix;
}
