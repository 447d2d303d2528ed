// `npm start`: runs every AgentAuth service on embedded defaults (or on DATABASE_URL / REDIS_URL
// when set), each as its own process with prefixed log lines, and stops them all on Ctrl+C.
// A service takes part when its package.json has an `agentauth.start` entry (a built file).
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";

const COLORS = [36, 35, 33, 32, 34, 31];
const services = ["services", "examples"]
  .filter((dir) => existsSync(dir))
  .flatMap((dir) => readdirSync(dir).map((name) => join(dir, name)))
  .filter((dir) => existsSync(join(dir, "package.json")))
  .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) }))
  .filter(({ manifest }) => manifest.agentauth?.start);

if (services.length === 0) {
  console.log("No runnable AgentAuth services yet: @agentauth/core is a library (see README.md).");
  process.exit(0);
}

const children = services.map(({ dir, manifest }, index) => {
  const label = `\x1b[${COLORS[index % COLORS.length]}m${manifest.name.replace("@agentauth/", "").padEnd(12)}\x1b[0m|`;
  const child = spawn(process.execPath, [join(dir, manifest.agentauth.start)], {
    env: process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (line) => console.log(`${label} ${line}`));
  }
  child.on("exit", (code, signal) => {
    console.log(`${label} exited (${signal ?? code})`);
    if (!stopping) stop(code ?? 1);
  });
  return child;
});

let stopping = false;
function stop(code) {
  stopping = true;
  for (const child of children) child.kill("SIGTERM");
  setTimeout(() => process.exit(code), 200).unref();
}
process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));
