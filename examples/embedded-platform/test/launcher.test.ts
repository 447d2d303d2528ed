import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createDatabase } from "@agentauth/registry";
import { createSoftwareAuthenticator } from "@agentauth/registry/testing";
import { connectTestRedis } from "@agentauth/state/testing";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "./testing.js";

// `npm start`'s launcher as a person runs it: `node scripts/start.mjs` (on the built services,
// as `npm start` runs it after `tsc -b`), from a fresh data directory; the first human enrolled
// through the printed link with a software passkey, over HTTP; Ctrl+C (SIGINT); and a second
// start on the same data.

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const START = join(ROOT, "scripts", "start.mjs");

interface Launched {
  readonly child: ChildProcess;
  readonly lines: string[];
  /** Resolves with the first line matching `pattern` (rejects when the launcher exits first). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  readonly exited: Promise<number | null>;
}

function launch(env: Record<string, string>): Launched {
  const child = spawn(process.execPath, [START], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const listeners = new Set<() => void>();
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (line) => {
      lines.push(line);
      for (const listener of listeners) listener();
    });
  }
  const exited = once(child, "exit").then(([code]) => code as number | null);
  return {
    child,
    lines,
    exited,
    waitFor(pattern, timeoutMs = 90_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = lines.find((line) => pattern.test(line));
          if (found === undefined) return;
          cleanup();
          resolve(found);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no line matched ${pattern} in time:\n${lines.join("\n")}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        exited.then(() => {
          if (!listeners.has(check)) return;
          cleanup();
          reject(new Error(`the launcher exited:\n${lines.join("\n")}`));
        });
        check();
      });
    },
  };
}

/** Ctrl+C (SIGINT), or SIGTERM, to the launcher, which stops every part and exits. */
async function interrupt(
  launched: Launched,
  signal: "SIGINT" | "SIGTERM" = "SIGINT",
): Promise<number | null> {
  launched.child.kill(signal);
  return launched.exited;
}

async function answers(url: string): Promise<number> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await response.body?.cancel();
    return response.status;
  } catch {
    return 0;
  }
}

async function jwksKids(registryUrl: string): Promise<string[]> {
  const response = await fetch(`${registryUrl}/.well-known/jwks.json`);
  return ((await response.json()) as { keys: Array<{ kid: string }> }).keys.map((key) => key.kid);
}

/** The first human enrols through the printed link, as the approval app does it. */
async function enrolFirstHuman(registryUrl: string, link: string): Promise<void> {
  const authenticator = createSoftwareAuthenticator({ rpId: "localhost", origin: registryUrl });
  const post = (path: string, body: unknown) =>
    fetch(`${registryUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: registryUrl },
      body: JSON.stringify(body),
    });
  const options = await post("/api/webauthn/registration/options", {
    invitation: new URL(link).hash.slice(1),
    display_name: "Ada",
  });
  expect(options.status).toBe(200);
  const { challenge_id, options: creation } = (await options.json()) as {
    challenge_id: string;
    options: Parameters<typeof authenticator.register>[0];
  };
  const verified = await post("/api/webauthn/registration/verify", {
    challenge_id,
    response: await authenticator.register(creation),
  });
  expect(verified.status, await verified.clone().text()).toBe(201);
}

interface Ports {
  readonly registry: number;
  readonly verifier: number;
  readonly exchange: number;
  readonly payments: number;
}

async function freePorts(): Promise<Ports> {
  return {
    registry: await freePort(),
    verifier: await freePort(),
    exchange: await freePort(),
    payments: await freePort(),
  };
}

function portEnv(ports: Ports): Record<string, string> {
  return {
    PORT: String(ports.registry),
    VERIFIER_PORT: String(ports.verifier),
    EXCHANGE_PORT: String(ports.exchange),
    PAYMENTS_PORT: String(ports.payments),
  };
}

/** Every part answers, the first human enrols, the examples start with their 0600 key files. */
async function checkFreshStart(launched: Launched, ports: Ports, dataDir: string) {
  const banner = await launched.waitFor(/Ctrl\+C stops everything/);
  expect(banner).toMatch(/^agentauth\s+\|/);
  const registryUrl = `http://localhost:${ports.registry}`;
  const output = () => launched.lines.join("\n");
  expect(output()).toContain(`Approval app and registry  ${registryUrl}`);
  expect(output()).toContain(`Verifier                   http://localhost:${ports.verifier}`);
  expect(output()).toContain(`Exchange (example)         http://localhost:${ports.exchange}`);
  expect(output()).toContain(`Payments (example)         http://localhost:${ports.payments}`);
  const linkLine = launched.lines.find((line) => /^agentauth\s+\|\s+http\S+\/enrol#/.test(line));
  const link = linkLine?.split("|")[1]?.trim() as string;
  expect(link).toMatch(new RegExp(`^${registryUrl}/enrol#inv_`));

  expect(await answers(`${registryUrl}/health/ready`)).toBe(200);
  expect(await answers(`http://localhost:${ports.verifier}/health/ready`)).toBe(200);
  const app = await fetch(`${registryUrl}/enrol`);
  expect(app.status).toBe(200);
  expect(app.headers.get("content-type")).toContain("text/html");
  // The examples wait for the first human.
  expect(await answers(`http://localhost:${ports.exchange}/health/live`)).toBe(0);

  await enrolFirstHuman(registryUrl, link);
  await launched.waitFor(/exchange\s+\|.*exchange listening/);
  await launched.waitFor(/payments\s+\|.*payments listening/);
  // Ready once their store is (with REDIS_URL, once the exchange's Redis connection is up).
  for (const port of [ports.exchange, ports.payments]) {
    await expect
      .poll(() => answers(`http://localhost:${port}/health/ready`), { timeout: 10_000 })
      .toBe(200);
  }

  const keys: Record<string, string> = {};
  for (const name of ["demo-exchange", "demo-payments"]) {
    const file = join(dataDir, "examples", `${name}.api-key`);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    keys[name] = (await readFile(file, "utf8")).trim();
    // The key reaches its example by the file only: never the command line or the logs.
    expect(output()).not.toContain(keys[name]);
  }
  // The verifier knows them: a request without a token is a decision, not a 401.
  const verify = await fetch(`http://localhost:${ports.verifier}/v1/verify`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${keys["demo-payments"]}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({
      method: "POST",
      url: `http://localhost:${ports.payments}/v1/payments`,
      action: {
        type: "transact",
        resource: "merchant/acme",
        amount: { amount: "1.00", currency: "EUR" },
      },
    }),
  });
  expect(verify.status).toBe(200);
  expect(await verify.json()).toMatchObject({ decision: "deny", reason: "token_missing" });
  return { registryUrl, keys, kids: await jwksKids(registryUrl) };
}

/** After Ctrl+C: exit 0, every part said it stopped, nothing listens any more. */
async function checkStopped(
  launched: Launched,
  ports: Ports,
  parts: string[],
  signal: "SIGINT" | "SIGTERM" = "SIGINT",
) {
  expect(await interrupt(launched, signal)).toBe(0);
  for (const part of parts) {
    expect(launched.lines.join("\n")).toMatch(new RegExp(`${part}\\s+\\| exited \\(0\\)`));
  }
  for (const port of Object.values(ports)) {
    expect(await answers(`http://localhost:${port}/health/live`)).toBe(0);
  }
}

describe("npm start on embedded defaults", () => {
  let dataDir: string;
  let running: Launched | undefined;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "agentauth-launcher-"));
  });
  afterAll(async () => {
    running?.child.kill("SIGKILL");
    await rm(dataDir, { recursive: true, force: true });
  });

  it("brings the platform and the examples up, stops on Ctrl+C, and starts again on the same data and signing key", {
    timeout: 240_000,
  }, async () => {
    const ports = await freePorts();
    const env = { ...portEnv(ports), AGENTAUTH_DATA_DIR: dataDir, LOG_LEVEL: "info" };
    running = launch(env);
    const first = await checkFreshStart(running, ports, dataDir);
    expect(running.lines.join("\n")).toContain(
      "AgentAuth is running on embedded defaults: PGlite and in-process state, the registry and the verifier in one process.",
    );
    await checkStopped(running, ports, ["platform", "exchange", "payments"]);

    running = launch(env);
    await running.waitFor(/Ctrl\+C stops everything/);
    await running.waitFor(/payments\s+\|.*payments listening/);
    await running.waitFor(/exchange\s+\|.*exchange listening/);
    const output = running.lines.join("\n");
    expect(output).not.toContain("/enrol#");
    expect(await jwksKids(first.registryUrl)).toEqual(first.kids);
    for (const [name, key] of Object.entries(first.keys)) {
      const file = join(dataDir, "examples", `${name}.api-key`);
      expect((await readFile(file, "utf8")).trim()).toBe(key);
    }
    await checkStopped(running, ports, ["platform", "exchange", "payments"], "SIGTERM");
    running = undefined;
  });

  it("stops everything, exit code 1, when an example dies", { timeout: 120_000 }, async () => {
    const loose = join(dataDir, "loose.api-key");
    await writeFile(loose, `aask_${"A".repeat(11)}_${"b".repeat(43)}\n`, { mode: 0o644 });
    await chmod(loose, 0o644);
    const ports = await freePorts();
    const launched = launch({
      ...portEnv(ports),
      AGENTAUTH_DATA_DIR: dataDir,
      EXCHANGE_VERIFIER_API_KEY_FILE: loose,
    });
    expect(await launched.exited).toBe(1);
    const output = launched.lines.join("\n");
    expect(output).toMatch(/exchange\s+\|.*is accessible to other users/);
    expect(output).toContain("exchange stopped; stopping everything.");
    expect(output).toMatch(/platform\s+\| exited \(0\)/);
    expect(output).not.toContain("aask_AAAAAAAAAAA_");
    expect(await answers(`http://localhost:${ports.registry}/health/live`)).toBe(0);
  });

  it("runs only the registry and the verifier without the demo service providers", {
    timeout: 120_000,
  }, async () => {
    const ports = await freePorts();
    const launched = launch({
      ...portEnv(ports),
      AGENTAUTH_DATA_DIR: dataDir,
      AGENTAUTH_DEMO_SERVICE_PROVIDERS: "false",
    });
    try {
      await launched.waitFor(/Ctrl\+C stops everything/);
      expect(await answers(`http://localhost:${ports.registry}/health/ready`)).toBe(200);
      expect(await answers(`http://localhost:${ports.verifier}/health/ready`)).toBe(200);
      expect(await interrupt(launched)).toBe(0);
      const output = launched.lines.join("\n");
      expect(output).not.toContain("Exchange (example)");
      expect(output).not.toMatch(/^(exchange|payments)\s+\|/m);
    } finally {
      launched.child.kill("SIGKILL");
    }
  });

  it("refuses a bad configuration, listing every bad variable, and starts nothing", async () => {
    const launched = launch({ PORT: "x", VERIFIER_WORKERS: "0", AGENTAUTH_DATA_DIR: dataDir });
    expect(await launched.exited).toBe(2);
    const output = launched.lines.join("\n");
    expect(output).toContain("PORT");
    expect(output).toContain("VERIFIER_WORKERS");
    expect(output).not.toContain("listening");
  });
});

// With both DATABASE_URL and REDIS_URL the registry and the verifier run as their own services
// (their main.js), the provisioner registers the demo service providers. `main.ts` of each has
// no key prefix, so this run gets a Postgres schema and a Redis database of its own.
const REDIS_DATABASE = 14;
describe.runIf(process.env.DATABASE_URL && process.env.REDIS_URL)(
  "npm start on Postgres and Redis",
  () => {
    let dataDir: string;
    let databaseUrl: string;
    let redisUrl: string;
    const schema = `launcher_test_${Date.now().toString(36)}`;
    beforeAll(async () => {
      dataDir = await mkdtemp(join(tmpdir(), "agentauth-launcher-real-"));
      const admin = await createDatabase({ databaseUrl: process.env.DATABASE_URL as string });
      await sql`CREATE SCHEMA ${sql.id(schema)}`.execute(admin.db);
      await admin.close();
      const url = new URL(process.env.DATABASE_URL as string);
      url.searchParams.set("options", `-c search_path=${schema}`);
      databaseUrl = url.href;
      const redis = new URL(process.env.REDIS_URL as string);
      redis.pathname = `/${REDIS_DATABASE}`;
      redisUrl = redis.href;
      const client = await connectTestRedis({}, redisUrl);
      await client.flushdb();
      client.disconnect();
    });
    afterAll(async () => {
      const admin = await createDatabase({ databaseUrl: process.env.DATABASE_URL as string });
      await sql`DROP SCHEMA IF EXISTS ${sql.id(schema)} CASCADE`.execute(admin.db);
      await admin.close();
      const client = await connectTestRedis({}, redisUrl);
      await client.flushdb();
      client.disconnect();
      await rm(dataDir, { recursive: true, force: true });
    });

    it("runs each service as its own process and provisions the examples", {
      timeout: 240_000,
    }, async () => {
      const ports = await freePorts();
      const launched = launch({
        ...portEnv(ports),
        AGENTAUTH_DATA_DIR: dataDir,
        DATABASE_URL: databaseUrl,
        REDIS_URL: redisUrl,
      });
      try {
        await checkFreshStart(launched, ports, dataDir);
        const output = launched.lines.join("\n");
        expect(output).toContain("AgentAuth is running on Postgres and Redis");
        expect(output).toMatch(/registry\s+\|.*registry listening.*database=postgres redis=true/);
        expect(output).toMatch(/verifier\s+\|.*verifier listening.*redis=true/);
        expect(output).toMatch(/provisioner\s+\| exited \(0\)/);
        await checkStopped(launched, ports, ["registry", "verifier", "exchange", "payments"]);
      } finally {
        launched.child.kill("SIGKILL");
      }
    });
  },
);
