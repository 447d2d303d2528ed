import { randomBytes } from "node:crypto";
import { link, mkdir, open, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { RegistryError } from "../errors.js";
import { signingError } from "./signing-error.js";

// Secret files of the embedded default (the signing key, the DPoP nonce secret): readable by
// their owner only, created once even when several processes start together.

/** Group and other permission bits: a secret file with any of them set is refused. */
const GROUP_OTHER_BITS = 0o077;
// Windows has ACLs, not POSIX modes: `stat` reports 0o666 for every writable file there.
const CHECK_MODE = process.platform !== "win32";

/**
 * The text of the secret file `file` (`what` names it in errors: "signing key"), or `undefined`
 * if there is none. Refuses anything but a regular file, and a file group or others can access
 * (`KEY_FILE_INSECURE`, with the `chmod` that fixes it).
 */
export async function readOwnerOnlyFile(file: string, what: string): Promise<string | undefined> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, "r");
  } catch (error) {
    if (errorCode(error) === "ENOENT") return undefined;
    throw ioError(`open the ${what} file ${file}`, error);
  }
  try {
    // Checked on the open file, so what is checked is what is read.
    const stats = await handle.stat();
    if (!stats.isFile()) {
      throw signingError("KEY_FILE_INVALID", `The ${what} path ${file} is not a regular file`);
    }
    if (CHECK_MODE && (stats.mode & GROUP_OTHER_BITS) !== 0) {
      const mode = (stats.mode & 0o777).toString(8).padStart(4, "0");
      throw signingError(
        "KEY_FILE_INSECURE",
        `The ${what} file ${file} is accessible by group or others (mode ${mode}); ` +
          `restrict it to its owner with: chmod 600 ${file}`,
        { mode },
      );
    }
    return await handle.readFile("utf8");
  } catch (error) {
    if (errorCode(error) === undefined) throw error;
    throw ioError(`read the ${what} file ${file}`, error);
  } finally {
    await handle.close();
  }
}

/**
 * Publishes `contents` as the secret file `file` unless one exists (then that one stands):
 * written to a temporary file of its own (`O_EXCL`, mode 0600, synced), then linked into place
 * with `link(2)`, which fails if the file exists — `rename(2)` would replace it, so two processes
 * starting together could each believe their own secret is the one. The directory is created
 * with mode 0700 if missing.
 */
export async function publishOwnerOnlyFile(
  file: string,
  contents: string,
  what: string,
): Promise<void> {
  const directory = dirname(file);
  try {
    await mkdir(directory, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw ioError(`create the ${what} directory ${directory}`, error);
  }
  const temporary = await writeTemporaryFile(file, contents, what);
  try {
    await link(temporary, file);
    await syncDirectory(directory);
  } catch (error) {
    // Another process published its file first: that one is the secret.
    if (errorCode(error) !== "EEXIST") throw ioError(`create the ${what} file ${file}`, error);
  } finally {
    await unlink(temporary).catch(() => {});
  }
}

/** `contents` in a fresh file beside `file`, created exclusively with mode 0600 and synced. */
export async function writeTemporaryFile(
  file: string,
  contents: string,
  what: string,
): Promise<string> {
  const temporary = join(dirname(file), `.${basename(file)}.${randomBytes(8).toString("hex")}.tmp`);
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(temporary, "wx", 0o600);
    await handle.writeFile(contents);
    await handle.sync();
  } catch (error) {
    await handle?.close().catch(() => {});
    await unlink(temporary).catch(() => {});
    throw ioError(`write a new ${what} next to ${file}`, error);
  }
  await handle.close();
  return temporary;
}

/** Makes a new directory entry durable, so a crash cannot lose a secret already in use. */
export async function syncDirectory(directory: string): Promise<void> {
  try {
    const handle = await open(directory, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Not every platform can sync a directory (Windows); the data itself was synced.
  }
}

/** The `code` of a Node.js system error (`ENOENT`, `EACCES`…); `undefined` for anything else. */
export function errorCode(error: unknown): string | undefined {
  if (!(error instanceof Error) || !("syscall" in error)) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

/** A file system failure as `KEY_FILE_IO`, naming what could not be done and the errno only. */
export function ioError(action: string, error: unknown): RegistryError | Error {
  const code = errorCode(error);
  if (code === undefined) return error instanceof Error ? error : new Error(String(error));
  return signingError("KEY_FILE_IO", `Could not ${action}: ${code}`, { errno: code });
}
