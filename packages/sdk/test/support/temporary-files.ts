import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll } from "vitest";

/** Paths for file tests under a temporary directory, removed after the test file's tests. */
export interface TemporaryFiles {
  /** A path named `name` in a directory of its own that does not exist yet. */
  freshPath(): string;
  /** Writes `content` (JSON unless a string) at `path` with `mode`, creating its directory. */
  write(path: string, content: unknown, mode?: number): Promise<void>;
}

export async function temporaryFiles(prefix: string, name: string): Promise<TemporaryFiles> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  afterAll(() => rm(root, { recursive: true, force: true }));
  let files = 0;
  return {
    freshPath() {
      files += 1;
      return join(root, `case-${files}`, name);
    },
    async write(path, content, mode = 0o600) {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, typeof content === "string" ? content : JSON.stringify(content), {
        mode,
      });
      await chmod(path, mode);
    },
  };
}
