import type {
  ServiceProviderKeyDirectory,
  ServiceProviderKeyRecord,
} from "./service-provider-key-directory.js";
import { checkServiceProviderKeyRecords } from "./service-provider-key-record.js";
import { assertNonEmptyString } from "./validate.js";

/**
 * An in-process {@link ServiceProviderKeyDirectory} for the single-process embedded default.
 * It keeps copies, so a caller changing a record after `put` or after `get` changes nothing here.
 */
export function createMemoryServiceProviderKeyDirectory(): ServiceProviderKeyDirectory {
  const records = new Map<string, ServiceProviderKeyRecord>();
  return {
    async put(given) {
      for (const record of checkServiceProviderKeyRecords(given))
        records.set(record.prefix, record);
    },
    async get(prefix) {
      assertNonEmptyString(prefix, "prefix");
      const record = records.get(prefix);
      return record === undefined ? undefined : { ...record };
    },
  };
}
