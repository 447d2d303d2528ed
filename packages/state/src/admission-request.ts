import type { AdmissionRequest } from "./admission-store.js";
import { type CheckedQuotaEntry, checkQuotaEntries } from "./quota-consume.js";
import { assertNonEmptyString, toEpochMs } from "./validate.js";

/** An {@link AdmissionRequest} whose arguments were checked, its times in epoch milliseconds. */
export interface CheckedAdmission {
  readonly replayKey: string;
  readonly replayExpiresAtMs: number;
  readonly quotas: readonly CheckedQuotaEntry[];
  readonly dryRun: boolean;
}

/** One `admit` call, checked: every adapter refuses the same bad arguments with TypeError. */
export function checkAdmission(request: AdmissionRequest): CheckedAdmission {
  if (typeof request !== "object" || request === null)
    throw new TypeError("The admission request must be an object");
  const { replayKey, replayExpiresAt, quotas, dryRun = false } = request;
  assertNonEmptyString(replayKey, "replayKey");
  if (typeof dryRun !== "boolean") throw new TypeError("dryRun must be a boolean");
  if (!Array.isArray(quotas)) throw new TypeError("quotas must be an array");
  return {
    replayKey,
    replayExpiresAtMs: toEpochMs(replayExpiresAt, "replayExpiresAt"),
    quotas: quotas.length === 0 ? [] : checkQuotaEntries(quotas),
    dryRun,
  };
}
