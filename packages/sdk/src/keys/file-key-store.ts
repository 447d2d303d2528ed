import { randomBytes } from "node:crypto";
import { link, mkdir, open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { AgentAuthSdkError } from "../errors.js";
import {
  exportPrivateAgentJwk,
  generateAgentKeyPair,
  importAgentKeyPair,
  type PrivateAgentJwk,
  parsePrivateAgentJwk,
} from "./agent-key-pair.js";
import { assertAgentId, type KeyStore, type StoredAgentKey } from "./key-store.js";

/** Group and other permission bits: a key file with any of them set is refused. */
const GROUP_OTHER_BITS = 0o077;
// Windows has ACLs, not POSIX modes: `stat` reports 0o666 for every writable file there.
const CHECK_MODE = process.platform !== "win32";
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
 * @example const keyStore = createFileKeyStore(".agentauth/agent-key.json");
 */
export function createFileKeyStore(path: string): KeyStore {
  if (typeof path !== "string" || path === "") {
    throw new TypeError("The key file path must be a non-empty string");
  }
  const file = resolve(path);
  let loaded: Promise<StoredAgentKey> | undefined;
  return {
    loadOrCreate() {
      loaded ??= loadOrCreateKey(file).catch((error: unknown) => {
        loaded = undefined;
        throw error;
      });
      return loaded;
    },
    async saveAgentId(agentId) {
      assertAgentId(agentId);
      const current = await readKeyFile(file);
      if (current === undefined) {
        throw keyStoreError(`The key file ${file} disappeared before the agent id was saved`, file);
      }
      if (loaded !== undefined) {
        // Never label another key (a file replaced since it was loaded) with this agent's id.
        const { x, y } = await crypto.subtle.exportKey("jwk", (await loaded).keyPair.publicKey);
        if (x !== current.x || y !== current.y) {
          throw keyStoreError(`The key file ${file} holds another key than the one loaded`, file);
        }
      }
      const temporary = await writeTemporaryFile(file, { ...current, kid: agentId });
      try {
        await rename(temporary, file);
      } catch (error) {
        await unlink(temporary).catch(() => {});
        throw ioError(`replace the key file ${file}`, file, error);
      }
      await syncDirectory(dirname(file));
      loaded = loaded?.then((stored) => ({ ...stored, agentId }));
    },
  };
}

async function loadOrCreateKey(file: string): Promise<StoredAgentKey> {
  // A second pass only follows a lost creation race; a third, a winner's file deleted meanwhile.
  for (let attempt = 0; attempt < 3; attempt++) {
    const jwk = await readKeyFile(file);
    if (jwk !== undefined) {
      return {
        keyPair: await importAgentKeyPair(jwk, `The key file ${file}`),
        agentId: jwk.kid,
      };
    }
    await createKeyFile(file);
  }
  throw keyStoreError(`The key file ${file} disappeared while it was being loaded`, file);
}

/** The file's key, or `undefined` if there is no file; refuses loose permissions. */
async function readKeyFile(file: string): Promise<PrivateAgentJwk | undefined> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, "r");
  } catch (error) {
    if (errorCode(error) === "ENOENT") return undefined;
    throw ioError(`open the key file ${file}`, file, error);
  }
  let text: string;
  try {
    // Checked on the open file, so what is checked is what is read.
    const stats = await handle.stat();
    if (!stats.isFile()) throw keyStoreError(`The key path ${file} is not a regular file`, file);
    if (CHECK_MODE && (stats.mode & GROUP_OTHER_BITS) !== 0) {
      const mode = (stats.mode & 0o777).toString(8).padStart(4, "0");
      throw keyStoreError(
        `The key file ${file} is accessible by group or others (mode ${mode}); ` +
          `restrict it to its owner with: chmod 600 ${file}`,
        file,
      );
    }
    if (stats.size > MAX_KEY_FILE_BYTES) {
      throw keyStoreError(`The key file ${file} is larger than a key file can be`, file);
    }
    text = await handle.readFile("utf8");
  } catch (error) {
    if (error instanceof AgentAuthSdkError) throw error;
    throw ioError(`read the key file ${file}`, file, error);
  } finally {
    await handle.close();
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // The parser's message may quote the file: not repeated.
    throw keyStoreError(`The key file ${file} is not JSON`, file);
  }
  return parsePrivateAgentJwk(value, `The key file ${file}`);
}

/** Publishes a new key at `file` unless one exists; either way a key file exists afterwards. */
async function createKeyFile(file: string): Promise<void> {
  const directory = dirname(file);
  try {
    await mkdir(directory, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw ioError(`create the key directory ${directory}`, file, error);
  }
  const jwk = await exportPrivateAgentJwk(await generateAgentKeyPair(true));
  const temporary = await writeTemporaryFile(file, jwk);
  try {
    await link(temporary, file);
    await syncDirectory(directory);
  } catch (error) {
    // Another process published its key first: that one is the key.
    if (errorCode(error) !== "EEXIST") throw ioError(`create the key file ${file}`, file, error);
  } finally {
    await unlink(temporary).catch(() => {});
  }
}

/** `jwk` in a fresh file beside `file`, created exclusively with mode 0600 and synced. */
async function writeTemporaryFile(file: string, jwk: PrivateAgentJwk): Promise<string> {
  const temporary = join(dirname(file), `.${basename(file)}.${randomBytes(8).toString("hex")}.tmp`);
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(temporary, "wx", 0o600);
    await handle.writeFile(`${JSON.stringify(jwk)}\n`);
    await handle.sync();
    await handle.close();
  } catch (error) {
    await handle?.close().catch(() => {});
    await unlink(temporary).catch(() => {});
    throw ioError(`write a key file next to ${file}`, file, error);
  }
  return temporary;
}

/** Makes a new directory entry durable, so a crash cannot lose a key already enrolled. */
async function syncDirectory(directory: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(directory, "r");
    await handle.sync();
  } catch {
    // Some platforms (Windows) cannot open or sync a directory; the file itself is synced.
  } finally {
    await handle?.close().catch(() => {});
  }
}

function keyStoreError(message: string, file: string, cause?: unknown): AgentAuthSdkError {
  return new AgentAuthSdkError("ERR_KEY_STORE", message, { path: file, cause });
}

function ioError(action: string, file: string, error: unknown): AgentAuthSdkError {
  const code = errorCode(error);
  return keyStoreError(`Could not ${action}${code === undefined ? "" : ` (${code})`}`, file, error);
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}
