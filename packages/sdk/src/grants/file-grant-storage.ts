import { privateJsonFile } from "../files/private-json-file.js";
import {
  type GrantStorage,
  parseVersionedSavedGrants,
  versionedSavedGrants,
} from "./grant-storage.js";

const MAX_GRANT_FILE_BYTES = 1024 * 1024;

/**
 * A grant storage in a JSON file (`{"version":1,"jkt","grants":[{"serviceProvider","grantId",
 * "refreshToken","authorization"}]}`), for agents on Node. Each save replaces the file
 * atomically: a fresh temporary file (`O_EXCL`, mode 0600, synced) renamed over it, then the
 * directory synced, so a crash leaves the old snapshot or the new one, never a mix. A file that
 * group or others may read is refused, as is one that is not a regular file, larger than 1 MiB,
 * or not saved grants; errors name the problem and the path, never a refresh token.
 *
 * @example const grantStorage = createFileGrantStorage(".agentauth/grants.json");
 */
export function createFileGrantStorage(path: string): GrantStorage {
  const file = privateJsonFile({
    path,
    code: "ERR_GRANT_STORAGE",
    noun: "grant",
    maxBytes: MAX_GRANT_FILE_BYTES,
  });
  const where = `The grant file ${file.path}`;
  return {
    async load() {
      const value = await file.read();
      return value === undefined ? undefined : parseVersionedSavedGrants(value, where, file.path);
    },
    async save(saved) {
      await file.createDirectory();
      await file.replace(versionedSavedGrants(saved));
    },
  };
}
