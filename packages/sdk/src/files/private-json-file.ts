import { randomBytes } from "node:crypto";
import { mkdir, open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { AgentAuthSdkError, type SdkErrorCode } from "../errors.js";

/** Group and other permission bits: a private file with any of them set is refused. */
const GROUP_OTHER_BITS = 0o077;
// Windows has ACLs, not POSIX modes: `stat` reports 0o666 for every writable file there.
const CHECK_MODE = process.platform !== "win32";

export interface PrivateJsonFileOptions {
  /** The file's path, as the caller gave it (resolved against the working directory). */
  readonly path: string;
  /** The code of every error about the file. */
  readonly code: SdkErrorCode;
  /** What the file is, for messages: "key" gives "The key file …". */
  readonly noun: string;
  /** A larger file is refused unread. */
  readonly maxBytes: number;
}

/**
 * A JSON file only its owner may read, holding a secret (the agent's key, its refresh tokens):
 * read only if it is a regular file no group or other may access, written only through a fresh
 * temporary file (`O_EXCL`, mode 0600, synced) that is then published — replaced with
 * `rename(2)`, or created with `link(2)` — and the directory synced. Errors name the problem and
 * the path, never the content.
 */
export interface PrivateJsonFile {
  /** The absolute path. */
  readonly path: string;
  /** The file's JSON value, or `undefined` if there is no file. */
  read(): Promise<unknown>;
  /** Creates the file's directory, with mode 0700, if it is missing. */
  createDirectory(): Promise<void>;
  /** `value` in a fresh file beside this one (mode 0600, synced): answers its path. */
  writeTemporary(value: unknown): Promise<string>;
  /** Replaces the file (or creates it) with `value`, atomically and durably. */
  replace(value: unknown): Promise<void>;
  /** Makes a new directory entry for the file durable. */
  syncDirectory(): Promise<void>;
  /** A coded error about the file. */
  error(message: string, cause?: unknown): AgentAuthSdkError;
  /** A coded error for a failed file operation: "Could not `action` (ENOENT)". */
  ioError(action: string, error: unknown): AgentAuthSdkError;
}

/** A {@link PrivateJsonFile}; `TypeError` unless `options.path` is a non-empty string. */
export function privateJsonFile(options: PrivateJsonFileOptions): PrivateJsonFile {
  const { code, noun, maxBytes } = options;
  if (typeof options.path !== "string" || options.path === "") {
    throw new TypeError(`The ${noun} file path must be a non-empty string`);
  }
  const path = resolve(options.path);
  const directory = dirname(path);

  const file: PrivateJsonFile = {
    path,

    async read() {
      let handle: Awaited<ReturnType<typeof open>>;
      try {
        handle = await open(path, "r");
      } catch (error) {
        if (errorCode(error) === "ENOENT") return undefined;
        throw file.ioError(`open the ${noun} file ${path}`, error);
      }
      let text: string;
      try {
        // Checked on the open file, so what is checked is what is read.
        const stats = await handle.stat();
        if (!stats.isFile()) throw file.error(`The ${noun} path ${path} is not a regular file`);
        if (CHECK_MODE && (stats.mode & GROUP_OTHER_BITS) !== 0) {
          const mode = (stats.mode & 0o777).toString(8).padStart(4, "0");
          throw file.error(
            `The ${noun} file ${path} is accessible by group or others (mode ${mode}); ` +
              `restrict it to its owner with: chmod 600 ${path}`,
          );
        }
        if (stats.size > maxBytes) {
          throw file.error(`The ${noun} file ${path} is larger than a ${noun} file can be`);
        }
        text = await handle.readFile("utf8");
      } catch (error) {
        if (error instanceof AgentAuthSdkError) throw error;
        throw file.ioError(`read the ${noun} file ${path}`, error);
      } finally {
        await handle.close();
      }
      try {
        return JSON.parse(text);
      } catch {
        // The parser's message may quote the file: not repeated.
        throw file.error(`The ${noun} file ${path} is not JSON`);
      }
    },

    async createDirectory() {
      try {
        await mkdir(directory, { recursive: true, mode: 0o700 });
      } catch (error) {
        throw file.ioError(`create the ${noun} directory ${directory}`, error);
      }
    },

    async writeTemporary(value) {
      const temporary = join(directory, `.${basename(path)}.${randomBytes(8).toString("hex")}.tmp`);
      let handle: Awaited<ReturnType<typeof open>> | undefined;
      try {
        handle = await open(temporary, "wx", 0o600);
        await handle.writeFile(`${JSON.stringify(value)}\n`);
        await handle.sync();
        await handle.close();
      } catch (error) {
        await handle?.close().catch(() => {});
        await unlink(temporary).catch(() => {});
        throw file.ioError(`write a ${noun} file next to ${path}`, error);
      }
      return temporary;
    },

    async replace(value) {
      const temporary = await file.writeTemporary(value);
      try {
        await rename(temporary, path);
      } catch (error) {
        await unlink(temporary).catch(() => {});
        throw file.ioError(`replace the ${noun} file ${path}`, error);
      }
      await file.syncDirectory();
    },

    async syncDirectory() {
      let handle: Awaited<ReturnType<typeof open>> | undefined;
      try {
        handle = await open(directory, "r");
        await handle.sync();
      } catch {
        // Some platforms (Windows) cannot open or sync a directory; the file itself is synced.
      } finally {
        await handle?.close().catch(() => {});
      }
    },

    error: (message, cause) => new AgentAuthSdkError(code, message, { path, cause }),

    ioError(action, error) {
      const errno = errorCode(error);
      return file.error(`Could not ${action}${errno === undefined ? "" : ` (${errno})`}`, error);
    },
  };
  return file;
}

/** The `code` of a Node system error (`ENOENT`, `EEXIST`…). */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}
