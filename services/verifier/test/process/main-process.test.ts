import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { Agent, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { PUBLIC_URL, type TestAgent } from "@agentauth/registry/testing";
import { createRedisServiceProviderKeyDirectory } from "@agentauth/state";
import { connectTestRedis, redisUrl } from "@agentauth/state/testing";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  agentWithToken,
  createVerifierHarness,
  publishApiKey,
  type VerifierHarness,
  verifyBody,
} from "../support/verifier-harness.js";

// The built verifier as an operator runs it: `node services/verifier/dist/src/main.js`, configured
// only by its environment, against a registry's JWKS and real Redis. `main.ts` has no setting for
// a key prefix, so the process gets a Redis database of its own (its decision stream and API key
// records stay out of anyone's default database).

const MAIN = fileURLToPath(new URL("../../dist/src/main.js", import.meta.url));
const DATABASE = 11;
const READ_ACTION = { type: "read", resource: "reports/q3" };

interface Running {
  readonly child: ChildProcess;
  readonly url: string;
  /** Everything the process wrote so far, stdout and stderr. */
  output(): string;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, "close");
  return port;
}

/** One request on a connection of its own, so a cluster's workers take turns answering. */
function call(
  url: string,
  path: string,
  options: { apiKey?: string; body?: unknown } = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = request(`${url}${path}`, {
      method: body === undefined ? "GET" : "POST",
      agent: false,
      headers: {
        connection: "close",
        ...(options.apiKey === undefined ? {} : { authorization: `Bearer ${options.apiKey}` }),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
    });
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
      });
      res.on("end", () => {
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          json = { text };
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

async function childPids(pid: number): Promise<number[]> {
  const { stdout } = await promisify(execFile)("ps", ["-o", "pid=", "--ppid", String(pid)]).catch(
    () => ({ stdout: "" }),
  );
  return stdout
    .split("\n")
    .map((line) => Number(line.trim()))
    .filter((value) => value > 0);
}

describe.runIf(redisUrl !== undefined)("the verifier process", () => {
  let harness: VerifierHarness;
  let redis: Redis;
  let processUrl: string;
  let agent: TestAgent;
  let accessToken: string;
  const running: Running[] = [];

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build with \`npx tsc -b\` first`);
    const url = new URL(redisUrl as string);
    url.pathname = `/${DATABASE}`;
    processUrl = url.href;
    redis = await connectTestRedis({}, processUrl);
    harness = await createVerifierHarness();
    // The registry publishes the provider's key where the process looks for it.
    await publishApiKey(createRedisServiceProviderKeyDirectory(redis), harness.apiKey);
    ({
      agent,
      token: { accessToken },
    } = await agentWithToken(harness, [{ type: "read", resource: "reports/*" }]));
  });
  afterAll(async () => {
    for (const { child } of running) if (child.exitCode === null) child.kill("SIGKILL");
    if (redis !== undefined) {
      const prefix = harness.apiKey.slice(5, 16);
      await redis.del(`agentauth:sp-key:${prefix}`, "agentauth:decisions");
      redis.disconnect();
    }
    await harness?.close();
  });

  async function start(env: Record<string, string>): Promise<Running> {
    const port = await freePort();
    const child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH ?? "",
        VERIFIER_PORT: String(port),
        REDIS_URL: processUrl,
        // Tokens name the registry's public URL; its keys are served where the test listens.
        AGENTAUTH_REGISTRY_URL: PUBLIC_URL,
        VERIFIER_JWKS_URL: `${harness.registryUrl}/.well-known/jwks.json`,
        // Each proof without a nonce: no denial to learn one.
        VERIFIER_REQUIRE_DPOP_NONCE: "false",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const started: Running = { child, url: `http://127.0.0.1:${port}`, output: () => output };
    running.push(started);
    await vi.waitFor(
      async () => {
        expect(child.exitCode, output).toBeNull();
        expect((await call(started.url, "/health/ready").catch(() => ({ status: 0 }))).status).toBe(
          200,
        );
      },
      { timeout: 15_000, interval: 100 },
    );
    return started;
  }

  async function stop({ child, output }: Running): Promise<void> {
    const exited = once(child, "exit");
    child.kill("SIGTERM");
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    expect({ code, signal }, output()).toEqual({ code: 0, signal: null });
  }

  const verify = async (url: string, body: unknown) =>
    call(url, "/v1/verify", { apiKey: harness.apiKey, body });

  it("starts from its environment, becomes ready, decides, and exits 0 on SIGTERM", async () => {
    const verifier = await start({ LOG_LEVEL: "info" });
    expect((await call(verifier.url, "/health/ready")).json).toEqual({
      status: "ready",
      checks: { jwks: true, revocations: true, redis: true },
    });
    const body = await verifyBody(agent, accessToken, { action: READ_ACTION });
    expect((await verify(verifier.url, body)).json).toMatchObject({ decision: "allow" });
    expect((await verify(verifier.url, body)).json).toMatchObject({
      decision: "deny",
      reason: "dpop_jti_replayed",
    });
    expect((await call(verifier.url, "/v1/verify", { body })).status).toBe(401);

    await stop(verifier);
    const logs = verifier.output();
    expect(logs).toContain('"msg":"verifier listening"');
    expect(logs).toContain('"msg":"shutting down: finishing requests in flight"');
  });

  /**
   * Posts a verification on a kept-alive connection, sends half its body, calls `signal` (the
   * process being told to stop) and sends the rest 300 ms later.
   */
  async function verifyAcrossStop(
    verifier: Running,
    keepAlive: Agent,
    signal: () => void,
  ): Promise<{ status: number; text: string }> {
    const body = JSON.stringify(await verifyBody(agent, accessToken, { action: READ_ACTION }));
    return new Promise((resolve, reject) => {
      const req = request(`${verifier.url}/v1/verify`, {
        method: "POST",
        // As a service provider calls the verifier: on a connection it keeps open.
        agent: keepAlive,
        headers: {
          authorization: `Bearer ${harness.apiKey}`,
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
        },
      });
      req.on("response", (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on("error", reject);
      req.write(body.slice(0, 100));
      setTimeout(() => {
        signal();
        setTimeout(() => req.end(body.slice(100)), 300);
      }, 100);
    });
  }

  it("answers a request in flight before it exits on SIGTERM, promptly even on keep-alive", async () => {
    const verifier = await start({ LOG_LEVEL: "warn" });
    const keepAlive = new Agent({ keepAlive: true });
    const exited = once(verifier.child, "exit");
    try {
      const { status, text } = await verifyAcrossStop(verifier, keepAlive, () =>
        verifier.child.kill("SIGTERM"),
      );
      expect(status).toBe(200);
      expect(JSON.parse(text)).toMatchObject({ decision: "allow" });
      const answeredAt = performance.now();
      const [code] = (await exited) as [number | null];
      expect(code, verifier.output()).toBe(0);
      // Not held open by the idle keep-alive connection (65 s) nor cut at the grace period (10 s).
      expect(performance.now() - answeredAt).toBeLessThan(3000);
    } finally {
      keepAlive.destroy();
    }
  });

  it("meets SIGINT after SIGTERM with the shutdown under way: one shutdown, the request answered", async () => {
    const verifier = await start({ LOG_LEVEL: "info" });
    const keepAlive = new Agent({ keepAlive: true });
    const exited = once(verifier.child, "exit");
    try {
      const { status } = await verifyAcrossStop(verifier, keepAlive, () => {
        verifier.child.kill("SIGTERM");
        setTimeout(() => verifier.child.kill("SIGINT"), 50);
      });
      expect(status).toBe(200);
      const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
      expect({ code, signal }, verifier.output()).toEqual({ code: 0, signal: null });
      expect(verifier.output().split('"msg":"shutting down').length - 1).toBe(1);
    } finally {
      keepAlive.destroy();
    }
  });

  it("refuses to start on invalid configuration, listing it, with exit code 2", async () => {
    const child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH ?? "", VERIFIER_WORKERS: "2", VERIFIER_PORT: "http" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code] = (await once(child, "exit")) as [number | null];
    expect(code).toBe(2);
    for (const name of ["VERIFIER_PORT", "VERIFIER_WORKERS", "VERIFIER_DPOP_NONCE_SECRET"])
      expect(stderr).toContain(name);
  });

  it("serves from two cluster workers sharing Redis, replaces a dead worker, and exits 0", async () => {
    const verifier = await start({
      VERIFIER_WORKERS: "2",
      VERIFIER_DPOP_NONCE_SECRET: randomBytes(32).toString("hex"),
      LOG_LEVEL: "info",
    });
    const pid = verifier.child.pid as number;
    await vi.waitFor(async () => expect(await childPids(pid)).toHaveLength(2), { timeout: 10_000 });
    // Ready once each worker listens (one ready worker answered the readiness probe).
    await vi.waitFor(
      () => expect(verifier.output().match(/"msg":"verifier listening"/g)).toHaveLength(2),
      { timeout: 10_000, interval: 50 },
    );

    // Connections go to the workers in turn: seven allows, counted by each worker on its own,
    // come out as four and three.
    for (let i = 0; i < 7; i++) {
      const body = await verifyBody(agent, accessToken, { action: READ_ACTION });
      expect((await verify(verifier.url, body)).json).toMatchObject({ decision: "allow" });
    }
    const counts = new Set<number>();
    for (let i = 0; i < 4; i++) {
      const text = String((await call(verifier.url, "/metrics")).json.text);
      const allowed = /agentauth_verifier_decisions_total\{outcome="allow",reason="ok"\} (\d+)/;
      counts.add(Number(allowed.exec(text)?.[1]));
    }
    expect([...counts].sort()).toEqual([3, 4]);
    // A proof one worker accepted, the next refuses: they share Redis.
    for (let i = 0; i < 2; i++) {
      const body = await verifyBody(agent, accessToken, { action: READ_ACTION });
      expect((await verify(verifier.url, body)).json).toMatchObject({ decision: "allow" });
      expect((await verify(verifier.url, body)).json).toMatchObject({
        reason: "dpop_jti_replayed",
      });
    }

    const [victim] = await childPids(pid);
    process.kill(victim as number, "SIGKILL");
    await vi.waitFor(
      async () => {
        const pids = await childPids(pid);
        expect(pids).toHaveLength(2);
        expect(pids).not.toContain(victim);
      },
      { timeout: 10_000, interval: 100 },
    );
    await vi.waitFor(
      async () => expect((await call(verifier.url, "/health/ready")).status).toBe(200),
      {
        timeout: 10_000,
      },
    );

    await stop(verifier);
    expect(await childPids(pid)).toEqual([]);
  });
});
