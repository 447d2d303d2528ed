// Makes `npm start` / `npm test` work on a machine with only Node >= 20.19 and npm: installs the
// workspace with the pinned pnpm (through npx when pnpm is not installed) whenever the lockfile
// is newer than the installed tree.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, statSync, utimesSync } from "node:fs";

const PNPM = "pnpm@12.21.0";
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`AgentAuth needs Node.js >= 20.19; this is ${process.versions.node}.`);
  process.exit(1);
}

const installed = "node_modules/.pnpm/lock.yaml";
if (existsSync(installed) && statSync(installed).mtimeMs >= statSync("pnpm-lock.yaml").mtimeMs)
  process.exit(0);

const hasPnpm12 = (() => {
  try {
    return execFileSync("pnpm", ["--version"], { encoding: "utf8" }).startsWith("12.");
  } catch {
    return false;
  }
})();
const [command, args] = hasPnpm12 ? ["pnpm", []] : ["npx", ["--yes", PNPM]];
console.log(`Installing dependencies with ${hasPnpm12 ? "pnpm" : `npx ${PNPM}`}…`);
const result = spawnSync(command, [...args, "install", "--frozen-lockfile"], { stdio: "inherit" });
// pnpm leaves its copy of the lockfile alone when there was nothing to install: mark the tree
// as checked, or every later start would install again.
if (result.status === 0 && existsSync(installed)) {
  const now = new Date();
  utimesSync(installed, now, now);
}
process.exit(result.status ?? 1);
