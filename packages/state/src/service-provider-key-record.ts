import type { ServiceProviderKeyRecord } from "./service-provider-key-directory.js";
import { isNonEmptyString } from "./validate.js";

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * A fresh record holding only the fields this version knows, or `undefined` when `fields` do not
 * make one: how `put` checks what it is given and `get` checks what it reads back.
 */
export function toServiceProviderKeyRecord(
  prefix: unknown,
  fields: unknown,
): ServiceProviderKeyRecord | undefined {
  if (typeof fields !== "object" || fields === null || !isNonEmptyString(prefix)) return undefined;
  const { serviceProviderId, secretHash, revoked } = fields as Record<string, unknown>;
  if (
    !isNonEmptyString(serviceProviderId) ||
    typeof secretHash !== "string" ||
    !SHA256_HEX.test(secretHash) ||
    typeof revoked !== "boolean"
  ) {
    return undefined;
  }
  return { prefix, serviceProviderId, secretHash, revoked };
}

/** Checked copies of the records handed to `put`; one bad record refuses them all. */
export function checkServiceProviderKeyRecords(
  records: readonly ServiceProviderKeyRecord[],
): ServiceProviderKeyRecord[] {
  if (!Array.isArray(records)) throw new TypeError("records must be an array");
  return records.map((record: unknown, index) => {
    const checked = toServiceProviderKeyRecord(
      (record as { prefix?: unknown } | null)?.prefix,
      record,
    );
    if (checked === undefined) {
      throw new TypeError(
        `records[${index}] needs a non-empty prefix and serviceProviderId, a lowercase SHA-256 ` +
          "hex secretHash and a boolean revoked",
      );
    }
    return checked;
  });
}
