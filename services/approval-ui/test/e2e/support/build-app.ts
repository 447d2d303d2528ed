import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const APP_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const CORE_SRC = join(APP_ROOT, "..", "..", "packages", "core", "src");

/**
 * Builds the approval app as `npm run build` does (a production Vite build), into a directory
 * named by the hash of its sources, so the end-to-end tests always serve the current code and
 * test files running at once share one build.
 */
export async function buildApprovalApp(): Promise<string> {
  const hash = await hashSources();
  const outDir = join(tmpdir(), `agentauth-approval-ui-${hash}`);
  if (existsSync(join(outDir, "index.html"))) return outDir;
  const building = await mkdtemp(join(tmpdir(), "agentauth-approval-ui-build-"));
  await promisify(execFile)(
    process.execPath,
    [
      join(APP_ROOT, "node_modules", "vite", "bin", "vite.js"),
      "build",
      "--outDir",
      building,
      "--emptyOutDir",
      "--logLevel",
      "warn",
    ],
    { cwd: APP_ROOT, env: { ...process.env, NODE_ENV: "production" } },
  );
  try {
    await rename(building, outDir);
  } catch (error) {
    // Another test file finished the same build first.
    if (!existsSync(join(outDir, "index.html"))) throw error;
    await rm(building, { recursive: true, force: true });
  }
  return outDir;
}

async function hashSources(): Promise<string> {
  const hash = createHash("sha256");
  const files = [
    ...(await listFiles(join(APP_ROOT, "src"))),
    ...(await listFiles(CORE_SRC)),
    join(APP_ROOT, "index.html"),
    join(APP_ROOT, "vite.config.ts"),
    join(APP_ROOT, "package.json"),
  ].sort();
  for (const file of files) {
    hash.update(file);
    hash.update(await readFile(file));
  }
  return hash.digest("hex").slice(0, 16);
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && !/\.test\.tsx?$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name));
}
