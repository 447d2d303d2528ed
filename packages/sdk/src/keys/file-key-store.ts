import { link, unlink } from "node:fs/promises";
import { errorCode, type PrivateJsonFile, privateJsonFile } from "../files/private-json-file.js";
import {
  exportPrivateAgentJwk,
  generateAgentKeyPair,
  importAgentKeyPair,
  type PrivateAgentJwk,
  parsePrivateAgentJwk,
} from "./agent-key-pair.js";
import { cachedLoad } from "./cached-load.js";
import {
  assertAgentId,
  type KeyStore,
  nothingStagedError,
  type StoredAgentKey,
} from "./key-store.js";

const MAX_KEY_FILE_BYTES = 16 * 1024;

/**
 * A key store in a JWK file (`{"kty":"EC","crv":"P-256","x","y","d","kid"?}`, `kid` being the
 * agent id once enrolled), for agents on Node. The key is generated with WebCrypto on first use
 * and written once: to a fresh temporary file (`O_EXCL`, mode 0600, synced) published with
 * `link(2)`, which fails if the key file exists, so two processes starting together end up with
 * the same key. A key file that group or others may read is refused, as is anything that is not
 * a P-256 private key. Once loaded, the private key is a non-extractable `CryptoKey`; nothing
 * in the SDK ever reads it back or sends it anywhere. Saving the agent id rewrites the file
 * atomically (`rename(2)`), keeping the key and the mode.
 *
 * A key rotation's next key is staged in `<path>.next`, written the same way; promoting it
 * renames a copy (with the agent id as `kid`) over the key file, then removes `<path>.next`.
 *
 * @example const keyStore = createFileKeyStore(".agentauth/agent-key.json");
 */
export function createFileKeyStore(path: string): KeyStore {
  const file = privateJsonFile({
    path,
    code: "ERR_KEY_STORE",
    noun: "key",
    maxBytes: MAX_KEY_FILE_BYTES,
  });
  const nextFile = privateJsonFile({
    path: `${file.path}.next`,
    code: "ERR_KEY_STORE",
    noun: "next key",
    maxBytes: MAX_KEY_FILE_BYTES,
  });
  const loaded = cachedLoad(() => loadKeys(file, nextFile));
  return {
    loadOrCreate: loaded.get,
    async saveAgentId(agentId) {
      assertAgentId(agentId);
      const current = await readKeyFile(file);
      if (current === undefined) {
        throw file.error(`The key file ${file.path} disappeared before the agent id was saved`);
      }
      const held = loaded.current();
      if (held !== undefined) {
        // Never label another key (a file replaced since it was loaded) with this agent's id.
        const { x, y } = await crypto.subtle.exportKey("jwk", (await held).keyPair.publicKey);
        if (x !== current.x || y !== current.y) {
          throw file.error(`The key file ${file.path} holds another key than the one loaded`);
        }
      }
      await file.replace({ ...current, kid: agentId });
      loaded.update((stored) => ({ ...stored, agentId }));
    },
    async stageNextKey() {
      const { nextKeyPair } = await loaded.get();
      if (nextKeyPair !== undefined) return nextKeyPair;
      // Published with link(2): of two stores staging at once, the first one's key is the key.
      await createKeyFile(nextFile);
      const staged = (await loaded.reload()).nextKeyPair;
      if (staged === undefined) {
        throw nextFile.error(`The next key file ${nextFile.path} disappeared while it was staged`);
      }
      return staged;
    },
    async promoteNextKey() {
      const current = await readKeyFile(file);
      if (current === undefined) {
        throw file.error(`The key file ${file.path} disappeared before the next key was promoted`);
      }
      const next = await readNextKeyFile(nextFile, current);
      if (next === undefined) throw nothingStagedError(`The key file ${file.path}`);
      const { kty, crv, x, y, d } = next;
      // One rename(2) makes the next key current; the next key file is only removed after it.
      await file.replace({
        kty,
        crv,
        x,
        y,
        d,
        ...(current.kid === undefined ? {} : { kid: current.kid }),
      });
      await removeKeyFile(nextFile);
      return loaded.reload();
    },
  };
}

async function loadKeys(file: PrivateJsonFile, nextFile: PrivateJsonFile): Promise<StoredAgentKey> {
  const jwk = await loadOrCreateKey(file);
  const next = await readNextKeyFile(nextFile, jwk);
  return {
    keyPair: await importAgentKeyPair(jwk, `The key file ${file.path}`),
    agentId: jwk.kid,
    nextKeyPair:
      next === undefined
        ? undefined
        : await importAgentKeyPair(next, `The key file ${nextFile.path}`),
  };
}

async function loadOrCreateKey(file: PrivateJsonFile): Promise<PrivateAgentJwk> {
  // A second pass only follows a lost creation race; a third, a winner's file deleted meanwhile.
  for (let attempt = 0; attempt < 3; attempt++) {
    const jwk = await readKeyFile(file);
    if (jwk !== undefined) return jwk;
    await createKeyFile(file);
  }
  throw file.error(`The key file ${file.path} disappeared while it was being loaded`);
}

/**
 * The staged next key, or `undefined` if there is none. One equal to the current key is what a
 * promotion stopped between its rename and the removal leaves: it is removed.
 */
async function readNextKeyFile(
  nextFile: PrivateJsonFile,
  current: PrivateAgentJwk,
): Promise<PrivateAgentJwk | undefined> {
  const next = await readKeyFile(nextFile);
  if (next === undefined || next.x !== current.x || next.y !== current.y) return next;
  await removeKeyFile(nextFile);
  return undefined;
}

/** Removes `file` (if it is there), durably. */
async function removeKeyFile(file: PrivateJsonFile): Promise<void> {
  try {
    await unlink(file.path);
  } catch (error) {
    if (errorCode(error) !== "ENOENT")
      throw file.ioError(`remove the key file ${file.path}`, error);
  }
  await file.syncDirectory();
}

/** The file's key, or `undefined` if there is no file; refuses loose permissions. */
async function readKeyFile(file: PrivateJsonFile): Promise<PrivateAgentJwk | undefined> {
  const value = await file.read();
  return value === undefined ? undefined : parsePrivateAgentJwk(value, `The key file ${file.path}`);
}

/** Publishes a new key at `file` unless one exists; either way a key file exists afterwards. */
async function createKeyFile(file: PrivateJsonFile): Promise<void> {
  await file.createDirectory();
  const jwk = await exportPrivateAgentJwk(await generateAgentKeyPair(true));
  const temporary = await file.writeTemporary(jwk);
  try {
    await link(temporary, file.path);
    await file.syncDirectory();
  } catch (error) {
    // Another process published its key first: that one is the key.
    if (errorCode(error) !== "EEXIST") {
      throw file.ioError(`create the key file ${file.path}`, error);
    }
  } finally {
    await unlink(temporary).catch(() => {});
  }
}
