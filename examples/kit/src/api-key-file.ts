import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { parseServiceProviderApiKey } from "@agentauth/core";

/** A problem with an API key file: unreadable by others only, and holding one verifier key. */
export class ApiKeyFileError extends Error {
  override readonly name = "ApiKeyFileError";
  constructor(
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Writes a service provider's verifier API key to `path` with mode 0600 (its directory 0700),
 * atomically: a reader sees the old file or the new one, never half of one.
 */
export async function writeApiKeyFile(path: string, apiKey: string): Promise<void> {
  if (parseServiceProviderApiKey(apiKey) === undefined) {
    throw new TypeError("writeApiKeyFile: not a verifier API key");
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await writeFile(temporary, `${apiKey}\n`, { mode: 0o600, flag: "wx" });
    // The umask cannot loosen 0600, but an explicit chmod says what we mean.
    await chmod(temporary, 0o600);
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * The API key in `path`, or `undefined` when there is no such file. Refuses (`ApiKeyFileError`)
 * a file that others than its owner may read or write, and one that holds no verifier API key;
 * the key itself never appears in an error.
 */
export async function readApiKeyFile(path: string): Promise<string | undefined> {
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ApiKeyFileError(path, `Cannot read the API key file ${path}`, { cause: error });
  }
  if ((mode & 0o077) !== 0) {
    throw new ApiKeyFileError(
      path,
      `The API key file ${path} is accessible to other users (mode ${(mode & 0o777).toString(8)}); make it 0600`,
    );
  }
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ApiKeyFileError(path, `Cannot read the API key file ${path}`, { cause: error });
  }
  const apiKey = text.trim();
  if (parseServiceProviderApiKey(apiKey) === undefined) {
    throw new ApiKeyFileError(path, `The API key file ${path} does not hold a verifier API key`);
  }
  return apiKey;
}

export interface WaitForApiKeyFileOptions {
  readonly signal?: AbortSignal;
  /** Between looks; default 500 ms. */
  readonly intervalMs?: number;
  /** Called once, when the file is not there at the first look. */
  readonly onWaiting?: () => void;
}

/** {@link readApiKeyFile}, waiting for the file to appear (rejects when `signal` aborts). */
export async function waitForApiKeyFile(
  path: string,
  options: WaitForApiKeyFileOptions = {},
): Promise<string> {
  let told = false;
  for (;;) {
    options.signal?.throwIfAborted();
    const apiKey = await readApiKeyFile(path);
    if (apiKey !== undefined) return apiKey;
    if (!told) {
      told = true;
      options.onWaiting?.();
    }
    await delay(options.intervalMs ?? 500, undefined, { signal: options.signal });
  }
}

/** The API key a service provider is configured with: given, or read (and waited for) from a file. */
export async function resolveApiKey(
  source:
    | { readonly kind: "value"; readonly apiKey: string }
    | { readonly kind: "file"; readonly path: string },
  options: WaitForApiKeyFileOptions = {},
): Promise<string> {
  return source.kind === "value" ? source.apiKey : waitForApiKeyFile(source.path, options);
}
