import { chmod, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ApiKeyFileError,
  readApiKeyFile,
  resolveApiKey,
  waitForApiKeyFile,
  writeApiKeyFile,
} from "./api-key-file.js";

const KEY = `aask_${"A".repeat(11)}_${"b".repeat(43)}`;
const OTHER_KEY = `aask_${"C".repeat(11)}_${"d".repeat(43)}`;

describe("API key files", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "agentauth-key-file-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("writes the key with mode 0600 in a 0700 directory and reads it back", async () => {
    const path = join(dir, "keys", "sp.api-key");
    await writeApiKeyFile(path, KEY);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, "keys"))).mode & 0o777).toBe(0o700);
    expect(await readApiKeyFile(path)).toBe(KEY);
  });

  it("replaces a key atomically, leaving no temporary file behind", async () => {
    const path = join(dir, "sp.api-key");
    await writeApiKeyFile(path, KEY);
    await writeApiKeyFile(path, OTHER_KEY);
    expect(await readApiKeyFile(path)).toBe(OTHER_KEY);
    expect(await readdir(dir)).toEqual(["sp.api-key"]);
  });

  it("refuses to write something that is not a verifier API key", async () => {
    await expect(writeApiKeyFile(join(dir, "x"), "hunter2")).rejects.toThrow(TypeError);
  });

  it("answers undefined for a missing file", async () => {
    expect(await readApiKeyFile(join(dir, "missing"))).toBeUndefined();
  });

  it("refuses a file other users may read, without echoing the key", async () => {
    const path = join(dir, "sp.api-key");
    await writeFile(path, KEY, { mode: 0o644 });
    await chmod(path, 0o644);
    const error = await readApiKeyFile(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiKeyFileError);
    expect((error as Error).message).toContain("0600");
    expect((error as Error).message).not.toContain(KEY);
  });

  it("refuses a file that holds no API key, without echoing its content", async () => {
    const path = join(dir, "sp.api-key");
    await writeFile(path, "secret-but-wrong", { mode: 0o600 });
    const error = await readApiKeyFile(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiKeyFileError);
    expect((error as Error).message).not.toContain("secret-but-wrong");
  });

  it("waits for the file to appear, telling once that it waits", async () => {
    const path = join(dir, "sp.api-key");
    let waiting = 0;
    const waited = waitForApiKeyFile(path, { intervalMs: 10, onWaiting: () => waiting++ });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await writeApiKeyFile(path, KEY);
    expect(await waited).toBe(KEY);
    expect(waiting).toBe(1);
  });

  it("stops waiting when aborted", async () => {
    const controller = new AbortController();
    const waited = waitForApiKeyFile(join(dir, "never"), {
      intervalMs: 10,
      signal: controller.signal,
    });
    controller.abort();
    await expect(waited).rejects.toThrow();
  });

  it("resolves a configured key as given, and a key file by reading it", async () => {
    expect(await resolveApiKey({ kind: "value", apiKey: KEY })).toBe(KEY);
    const path = join(dir, "sp.api-key");
    await writeApiKeyFile(path, OTHER_KEY);
    expect(await resolveApiKey({ kind: "file", path })).toBe(OTHER_KEY);
  });
});
