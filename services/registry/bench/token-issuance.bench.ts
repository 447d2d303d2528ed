/**
 * `pnpm bench:registry`: token issuance for approved grants against real Postgres.
 *
 * Starts the registry for real (`dist/src/main.js`, wired as in production: a `pg` pool on
 * `DATABASE_URL`, the file signer and key ring, Redis state when `REDIS_URL` is set) in a fresh
 * schema, reaches approved grants through the HTTP API (passkey enrolment, CIBA request, passkey
 * approval, first token), then drives refresh-token grants at `POST /oauth/token` from a separate
 * load process: one registry process, then two behind the load generator's round robin. Each
 * token costs a DPoP proof check (with server nonce and jti replay record), a private_key_jwt
 * check, an ES256 signature, and a transaction with the access_tokens and audit_queue inserts.
 *
 * Every figure is measured in the same run, next to two baselines that bound it: `GET
 * /health/live` through the same HTTP stack and load generator, and the bare node:crypto cost of
 * the signature and two verifications per token. CPU use per process group is read from /proc,
 * so the output says where the machine's cores went. The target (1,000 tokens/s with p99 under
 * 50 ms at some concurrency) is judged on what this run measured.
 *
 * Environment: DATABASE_URL (required), REDIS_URL (optional), BENCH_CONCURRENCY (default
 * "8,32,64"), BENCH_PROCESSES ("1,2"), BENCH_DURATION_S (10), BENCH_WARMUP_S (2), BENCH_AGENTS
 * (20), BENCH_LIVE_CONCURRENCY (32), BENCH_CPU_PROF (a directory: the registry processes run
 * with --cpu-prof and write their profiles there).
 */
import { type ChildProcess, fork, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { sql } from "kysely";
import { createDatabase, type RegistryDatabase } from "../src/db/create-database.js";
import { findMigrationsDir, migrateToLatest } from "../src/db/migrate.js";
import { createApprovedGrants } from "./approved-grants.js";
import {
  type CpuGroup,
  type CpuShares,
  type CpuSnapshot,
  cpuSharesBetween,
  takeCpuSnapshot,
} from "./cpu-sampler.js";
import { type CryptoBaseline, measureCryptoBaseline } from "./crypto-baseline.js";
import { httpRequest } from "./http-request.js";
import type {
  BenchAgent,
  FromLoadGenerator,
  LoadResult,
  LoadRun,
  ToLoadGenerator,
  Workload,
} from "./load-protocol.js";

const TARGET_TOKENS_PER_SECOND = 1000;
const TARGET_P99_MS = 50;
const MAIN_JS = fileURLToPath(new URL("../src/main.js", import.meta.url));
const LOAD_GENERATOR_JS = fileURLToPath(new URL("./load-generator.js", import.meta.url));

interface BenchSettings {
  readonly databaseUrl: string;
  readonly redisUrl: string | undefined;
  readonly concurrency: readonly number[];
  readonly processes: readonly number[];
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly agents: number;
  readonly liveConcurrency: number;
  readonly cpuProfileDir: string | undefined;
}

interface Measurement {
  readonly result: LoadResult;
  readonly cpu: CpuShares | undefined;
  /** The measured window on the monotonic clock of `process.hrtime` and of V8's CPU profiles. */
  readonly windowMicros: readonly [number, number] | undefined;
}

const cleanups: (() => Promise<void>)[] = [];
let cleaningUp: Promise<void> | undefined;
let interrupted = false;

/** Runs every registered cleanup once, newest first, whatever fails. */
function cleanUp(): Promise<void> {
  cleaningUp ??= (async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        console.error("cleanup failed:", error instanceof Error ? error.message : error);
      }
    }
  })();
  return cleaningUp;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`\n${signal}: cleaning up`);
    void cleanUp().then(() => process.exit(130));
  });
}

try {
  await main(readSettings());
  await cleanUp();
} catch (error) {
  // After Ctrl-C the children die with the terminal's process group: that is no failure to report.
  if (!interrupted)
    console.error(`\nBENCHMARK FAILED: ${error instanceof Error ? error.message : String(error)}`);
  await cleanUp();
  process.exitCode = 1;
}

async function main(settings: BenchSettings): Promise<void> {
  console.log("AgentAuth registry benchmark — token issuance (refresh_token grant, DPoP-bound)");
  console.log(
    `Node ${process.version}; Postgres ${describeUrl(settings.databaseUrl)}; ` +
      (settings.redisUrl === undefined
        ? "REDIS_URL unset: in-process replay store and limiter"
        : `Redis ${describeUrl(settings.redisUrl)}: Redis replay store and limiter`),
  );
  console.log(
    `concurrency ${settings.concurrency.join(", ")}; ${settings.warmupMs / 1000} s warm-up + ` +
      `${settings.durationMs / 1000} s measured per level; ${settings.agents} agents × 1 grant`,
  );
  if (settings.redisUrl === undefined && settings.processes.some((count) => count > 1)) {
    console.log(
      "note: without REDIS_URL each registry process has its own replay store, which is not a " +
        "valid production topology for more than one process; those figures are indicative only",
    );
  }

  const cryptoBefore = measureCryptoBaseline();

  // A fresh schema: every connection of every pool resolves unqualified names in it only.
  const schema = `bench_${randomBytes(6).toString("hex")}`;
  const schemaUrl = new URL(settings.databaseUrl);
  schemaUrl.searchParams.set(
    "options",
    `${schemaUrl.searchParams.get("options") ?? ""} -c search_path=${schema}`.trim(),
  );
  // Names the registry's connections, so their Postgres backends can be told from other clients'.
  schemaUrl.searchParams.set("application_name", schema);
  const admin: RegistryDatabase = await createDatabase({ databaseUrl: settings.databaseUrl });
  cleanups.push(() => admin.close());
  await sql`CREATE SCHEMA ${sql.id(schema)}`.execute(admin.db);
  cleanups.push(async () => {
    await sql`DROP SCHEMA ${sql.id(schema)} CASCADE`.execute(admin.db);
  });
  const migrator = await createDatabase({ databaseUrl: schemaUrl.href, poolSize: 1 });
  try {
    await migrateToLatest(migrator.db, { migrationsDir: findMigrationsDir() });
  } finally {
    await migrator.close();
  }

  if (settings.cpuProfileDir !== undefined)
    await mkdir(settings.cpuProfileDir, { recursive: true });
  const dataDir = await mkdtemp(join(tmpdir(), "agentauth-bench-"));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const maxProcesses = Math.max(...settings.processes);
  const ports = await Promise.all(Array.from({ length: maxProcesses }, () => freePort()));
  // Every process serves the same public URL, as replicas behind one load balancer do.
  const publicUrl = `http://localhost:${ports[0]}`;
  const serverEnv = registryEnvironment(settings, {
    databaseUrl: schemaUrl.href,
    publicUrl,
    dataDir,
    dpopNonceSecret: randomBytes(32).toString("hex"),
  });

  const servers: RegisteredServer[] = [];
  const startServer = async () => {
    const port = ports[servers.length] as number;
    const server = await startRegistry(
      port,
      serverEnv,
      settings.cpuProfileDir,
      servers.length === 0,
    );
    servers.push(server);
    return server;
  };
  const first = await startServer();
  if (first.invitationUrl === undefined) throw new Error("the registry printed no invitation");

  const setupStarted = performance.now();
  // The setup's connections come from a random loopback address, so the per-IP enrolment limit
  // (shared in Redis) is not spent by an earlier run in the same minute.
  const agents = await createApprovedGrants({
    baseUrl: first.baseUrl,
    publicUrl,
    invitationUrl: first.invitationUrl,
    agents: settings.agents,
    localAddress: randomLoopbackAddress(),
  });
  console.log(
    `setup: schema ${schema}; ${agents.length} approved grants through the HTTP API in ` +
      `${((performance.now() - setupStarted) / 1000).toFixed(1)} s\n`,
  );

  const load = await startLoadGenerator(publicUrl, agents);
  // Postgres: the backends of the registry's connections and the server's own background
  // processes (WAL writer, checkpointer…), not the backends of other clients of the same server.
  const cpu: CpuAccounting = {
    postgresPids: async () => {
      const { rows } = await sql<{ pid: number }>`
        SELECT pid FROM pg_stat_activity
        WHERE application_name = ${schema} OR backend_type <> 'client backend'
      `.execute(admin.db);
      return new Set(rows.map((row) => Number(row.pid)));
    },
    groups: (postgresPids) => [
      { name: "registry", matches: (pid) => servers.some((server) => server.pid === pid) },
      { name: "load", matches: (pid) => pid === load.pid },
      { name: "postgres", matches: (pid) => postgresPids.has(pid) },
      { name: "redis", matches: (_pid, comm) => comm.startsWith("redis-server") },
    ],
  };

  const measurements: Measurement[] = [];
  let bestTokenRatePerProcess = 0;
  printHeader();
  for (const processes of [...settings.processes].sort((a, b) => a - b)) {
    while (servers.length < processes) await startServer();
    const targets = servers.slice(0, processes).map((server) => server.baseUrl);
    const runs: { workload: Workload; concurrency: number }[] = [
      { workload: "live", concurrency: settings.liveConcurrency },
      ...settings.concurrency.map((concurrency) => ({ workload: "token" as const, concurrency })),
    ];
    for (const { workload, concurrency } of runs) {
      const expectedRate =
        bestTokenRatePerProcess === 0
          ? 2500
          : Math.max(500, bestTokenRatePerProcess * processes * 1.5);
      const measurement = await load
        .run(
          {
            type: "run",
            workload,
            targets,
            concurrency,
            warmupMs: settings.warmupMs,
            durationMs: settings.durationMs,
            expectedRate,
          },
          cpu,
        )
        .catch((error: unknown) => {
          // A registry that died explains a failed run better than the load's socket error.
          for (const server of servers) server.assertRunning();
          throw error;
        });
      for (const server of servers) server.assertRunning();
      measurements.push(measurement);
      if (workload === "token") {
        bestTokenRatePerProcess = Math.max(
          bestTokenRatePerProcess,
          measurement.result.ratePerSecond / processes,
        );
      }
      printRow(measurement);
    }
  }
  await load.stop();
  const cryptoAfter = measureCryptoBaseline();
  printSummary(settings, measurements, cryptoBefore, cryptoAfter);

  if (settings.cpuProfileDir !== undefined) {
    await Promise.all(servers.map((server) => server.stop()));
    // To slice the profiles to one measurement: samples between `startMicros` and `endMicros`.
    const windows = measurements.map(({ result, windowMicros }) => ({
      label: `${result.processes}p ${result.workload} C=${result.concurrency}`,
      startMicros: windowMicros?.[0],
      endMicros: windowMicros?.[1],
    }));
    await writeFile(
      join(settings.cpuProfileDir, "windows.json"),
      `${JSON.stringify(windows, null, 2)}\n`,
    );
    console.log(
      `\nCPU profiles of the registry processes, and the measured windows (windows.json): ` +
        settings.cpuProfileDir,
    );
  }
}

function readSettings(): BenchSettings {
  const databaseUrl = process.env.DATABASE_URL;
  if (databaseUrl === undefined || databaseUrl === "") {
    console.error(
      "bench:registry measures issuance against real Postgres: set DATABASE_URL, e.g.\n" +
        "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/test pnpm bench:registry\n" +
        "(and REDIS_URL=redis://127.0.0.1:6379 for the Redis replay store and limiter).",
    );
    process.exit(2);
  }
  const list = (name: string, fallback: string) => {
    const values = (process.env[name] ?? fallback).split(",").map((value) => Number(value.trim()));
    if (values.length === 0 || values.some((value) => !Number.isInteger(value) || value < 1)) {
      console.error(`${name} must be a comma-separated list of positive integers`);
      process.exit(2);
    }
    return values;
  };
  const number = (name: string, fallback: number) => {
    const value = Number(process.env[name] ?? fallback);
    if (!Number.isFinite(value) || value <= 0) {
      console.error(`${name} must be a positive number`);
      process.exit(2);
    }
    return value;
  };
  const redisUrl = process.env.REDIS_URL;
  const cpuProfileDir = process.env.BENCH_CPU_PROF;
  return {
    databaseUrl,
    redisUrl: redisUrl === undefined || redisUrl === "" ? undefined : redisUrl,
    concurrency: list("BENCH_CONCURRENCY", "8,32,64"),
    processes: list("BENCH_PROCESSES", "1,2"),
    warmupMs: number("BENCH_WARMUP_S", 2) * 1000,
    durationMs: number("BENCH_DURATION_S", 10) * 1000,
    agents: Math.round(number("BENCH_AGENTS", 20)),
    liveConcurrency: Math.round(number("BENCH_LIVE_CONCURRENCY", 32)),
    cpuProfileDir:
      cpuProfileDir === undefined || cpuProfileDir === "" ? undefined : resolve(cpuProfileDir),
  };
}

/** The registry's environment: ours, less its own settings, plus the bench's. */
function registryEnvironment(
  settings: BenchSettings,
  values: { databaseUrl: string; publicUrl: string; dataDir: string; dpopNonceSecret: string },
): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of [
    "PORT",
    "HOST",
    "PUBLIC_URL",
    "WEBAUTHN_RP_ID",
    "WEBAUTHN_RP_NAME",
    "DATABASE_URL",
    "REDIS_URL",
    "AGENTAUTH_DATA_DIR",
    "SIGNER",
    "SIGNING_KEY_FILE",
    "KMS_KEY_ID",
    "KMS_ENDPOINT",
    "DPOP_NONCE_SECRET",
    "ACCESS_TOKEN_LIFETIME_SECONDS",
    "LOG_LEVEL",
    "TRUST_PROXY",
  ]) {
    delete env[key];
  }
  return {
    ...env,
    HOST: "127.0.0.1",
    PUBLIC_URL: values.publicUrl,
    DATABASE_URL: values.databaseUrl,
    ...(settings.redisUrl === undefined ? {} : { REDIS_URL: settings.redisUrl }),
    AGENTAUTH_DATA_DIR: values.dataDir,
    SIGNER: "file",
    // Shared by the processes, as replicas share it in production.
    DPOP_NONCE_SECRET: values.dpopNonceSecret,
    LOG_LEVEL: "info",
  };
}

interface RegisteredServer {
  readonly pid: number;
  readonly baseUrl: string;
  readonly invitationUrl: string | undefined;
  /** Throws, with the process's output, if it has exited. */
  assertRunning(): void;
  stop(): Promise<void>;
}

/** Starts `main.js` on `port` and waits until it is ready (and, first, printed its invitation). */
async function startRegistry(
  port: number,
  env: NodeJS.ProcessEnv,
  cpuProfileDir: string | undefined,
  expectInvitation: boolean,
): Promise<RegisteredServer> {
  const child = spawn(
    process.execPath,
    [
      ...(cpuProfileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${cpuProfileDir}`]),
      MAIN_JS,
    ],
    { env: { ...env, PORT: String(port) }, stdio: ["ignore", "pipe", "pipe"] },
  );
  if (child.pid === undefined) throw new Error("could not start the registry");
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let exit: string | undefined;
  const exited = new Promise<void>((done) =>
    child.once("exit", (code, signal) => {
      exit = `exited (${signal ?? code})`;
      done();
    }),
  );
  const stop = async () => {
    if (exit !== undefined) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  };
  cleanups.push(stop);
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = performance.now() + 60_000;
  for (;;) {
    if (exit !== undefined) throw new Error(`the registry ${exit}:\n${output}`);
    if (performance.now() > deadline) throw new Error(`the registry did not get ready:\n${output}`);
    const ready = await httpRequest(`${baseUrl}/health/ready`).then(
      (answer) => answer.status === 200,
      () => false,
    );
    const invitation = /(https?:\/\/\S+\/enrol#\S+)/.exec(output)?.[1];
    if (ready && (!expectInvitation || invitation !== undefined)) {
      return {
        pid: child.pid,
        baseUrl,
        invitationUrl: invitation,
        assertRunning() {
          if (exit !== undefined) throw new Error(`a registry process ${exit}:\n${output}`);
        },
        stop,
      };
    }
    await new Promise((done) => setTimeout(done, 100));
  }
}

/** How the CPU time of a measured window is split into groups of processes. */
interface CpuAccounting {
  /** The Postgres processes that work for this run (asked at both edges of the window). */
  postgresPids(): Promise<ReadonlySet<number>>;
  groups(postgresPids: ReadonlySet<number>): CpuGroup[];
}

interface LoadGenerator {
  readonly pid: number;
  run(run: LoadRun, cpu: CpuAccounting): Promise<Measurement>;
  stop(): Promise<void>;
}

async function startLoadGenerator(
  publicUrl: string,
  agents: readonly BenchAgent[],
): Promise<LoadGenerator> {
  const child: ChildProcess = fork(LOAD_GENERATOR_JS, [], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  if (child.pid === undefined) throw new Error("could not start the load process");
  const pid = child.pid;
  let exit: string | undefined;
  let pending:
    | { resolve(message: FromLoadGenerator): void; reject(error: Error): void }
    | undefined;
  let onWindow: ((edge: "start" | "end") => void) | undefined;
  child.on("message", (message: FromLoadGenerator) => {
    if (message.type === "window") onWindow?.(message.edge);
    else pending?.resolve(message);
  });
  child.once("exit", (code, signal) => {
    exit = `the load process exited (${signal ?? code})`;
    pending?.reject(new Error(exit));
  });
  const stop = async () => {
    if (exit !== undefined) return;
    const gone = new Promise((done) => child.once("exit", done));
    child.kill("SIGKILL");
    await gone;
  };
  cleanups.push(stop);
  const ask = (message: ToLoadGenerator) =>
    new Promise<FromLoadGenerator>((resolveAnswer, reject) => {
      if (exit !== undefined) {
        reject(new Error(exit));
        return;
      }
      pending = { resolve: resolveAnswer, reject };
      child.send(message);
    });
  const ready = await ask({ type: "init", publicUrl, agents });
  if (ready.type !== "ready")
    throw new Error(`unexpected answer from the load process: ${ready.type}`);
  return {
    pid,
    async run(run, accounting) {
      let before: CpuSnapshot | undefined;
      let after: CpuSnapshot | undefined;
      const micros: number[] = [];
      const postgresPids: Promise<ReadonlySet<number>>[] = [];
      onWindow = (edge) => {
        micros.push(Number(process.hrtime.bigint() / 1000n));
        if (edge === "start") before = takeCpuSnapshot();
        else after = takeCpuSnapshot();
        // Without the list, the window's Postgres CPU reads 0 rather than failing the run.
        postgresPids.push(accounting.postgresPids().catch(() => new Set<number>()));
      };
      const answer = await ask(run);
      onWindow = undefined;
      if (answer.type === "failed") {
        throw new Error(
          `${run.workload} load at concurrency ${run.concurrency} on ${run.targets.length} ` +
            `process(es) failed: ${answer.message}`,
        );
      }
      if (answer.type !== "result") throw new Error(`unexpected answer: ${answer.type}`);
      const pids = new Set<number>();
      for (const set of await Promise.all(postgresPids)) for (const pid of set) pids.add(pid);
      const cpu =
        before === undefined || after === undefined
          ? undefined
          : cpuSharesBetween(before, after, accounting.groups(pids));
      const [start, end] = micros;
      return {
        result: answer.result,
        cpu,
        windowMicros: start === undefined || end === undefined ? undefined : [start, end],
      };
    },
    stop,
  };
}

function printHeader(): void {
  console.log(
    `${"procs".padEnd(5)} ${"workload".padEnd(13)} ${"C".padStart(3)} ${"req/s".padStart(7)} ` +
      `${"p50 ms".padStart(7)} ${"p90 ms".padStart(7)} ${"p99 ms".padStart(7)} ${"max ms".padStart(7)}` +
      ` │ cores busy: ${"registry".padStart(8)} ${"load".padStart(5)} ${"pg".padStart(5)} ` +
      `${"redis".padStart(5)} ${"other".padStart(5)} ${"steal".padStart(5)} │ ${"registry CPU ms/req".padStart(19)}`,
  );
}

function printRow({ result, cpu }: Measurement): void {
  const ms = (value: number) => value.toFixed(1).padStart(7);
  const cores = (name: string) => (cpu?.groups.get(name) ?? Number.NaN).toFixed(2).padStart(5);
  const registryCores = cpu?.groups.get("registry");
  const cpuPerRequest =
    registryCores === undefined
      ? "n/a"
      : ((registryCores * 1000) / result.ratePerSecond).toFixed(3);
  const extra =
    result.workload !== "token"
      ? ""
      : result.signedDuringRun > 0
        ? `  (pre-signed requests ran out: ${result.signedDuringRun} signed during the run)`
        : `  (${result.preGenerated} requests pre-signed in ${result.preGenerationSeconds.toFixed(1)} s)`;
  console.log(
    `${String(result.processes).padEnd(5)} ${(result.workload === "token" ? "POST token" : "GET live").padEnd(13)} ` +
      `${String(result.concurrency).padStart(3)} ${result.ratePerSecond.toFixed(0).padStart(7)} ` +
      `${ms(result.latencyMs.p50)} ${ms(result.latencyMs.p90)} ${ms(result.latencyMs.p99)} ` +
      `${ms(result.latencyMs.max)} │ ${"".padStart(12)}${(registryCores ?? Number.NaN).toFixed(2).padStart(8)} ` +
      `${cores("load")} ${cores("postgres")} ${cores("redis")} ` +
      `${(cpu?.other ?? Number.NaN).toFixed(2).padStart(5)} ${(cpu?.steal ?? Number.NaN).toFixed(2).padStart(5)} │ ${cpuPerRequest.padStart(19)}${extra}`,
  );
}

function printSummary(
  settings: BenchSettings,
  measurements: readonly Measurement[],
  cryptoBefore: CryptoBaseline,
  cryptoAfter: CryptoBaseline,
): void {
  const crypto = (cryptoBefore.tokensPerCoreSecond + cryptoAfter.tokensPerCoreSecond) / 2;
  console.log(
    `\nBaseline — bare node:crypto ES256 on one core (before / after the load): ` +
      `${cryptoBefore.signsPerSecond.toFixed(0)} / ${cryptoAfter.signsPerSecond.toFixed(0)} signs/s, ` +
      `${cryptoBefore.verifiesPerSecond.toFixed(0)} / ${cryptoAfter.verifiesPerSecond.toFixed(0)} verifies/s; ` +
      `1 sign + 2 verifies = ${cryptoBefore.microsecondsPerToken.toFixed(0)} / ` +
      `${cryptoAfter.microsecondsPerToken.toFixed(0)} µs per token, ` +
      `i.e. at most ~${crypto.toFixed(0)} tokens/s per core if that cryptography were all.`,
  );
  const tokens = measurements.filter((m) => m.result.workload === "token");
  for (const processes of [...new Set(tokens.map((m) => m.result.processes))]) {
    const live = measurements.find(
      (m) => m.result.workload === "live" && m.result.processes === processes,
    );
    const best = tokens
      .filter((m) => m.result.processes === processes)
      .reduce((a, b) => (b.result.ratePerSecond > a.result.ratePerSecond ? b : a));
    const rate = best.result.ratePerSecond;
    console.log(
      `${processes} process(es): best ${rate.toFixed(0)} tokens/s (C=${best.result.concurrency}, ` +
        `p99 ${best.result.latencyMs.p99.toFixed(1)} ms) = ` +
        `${live === undefined ? "n/a" : ((100 * rate) / live.result.ratePerSecond).toFixed(1)}% ` +
        `of GET /health/live on the same processes and ` +
        `${((100 * rate) / (crypto * Math.min(processes, best.cpu?.cpus ?? processes))).toFixed(1)}% ` +
        `of the bare-crypto bound for ${processes} core(s).`,
    );
  }
  const meeting = tokens.filter(
    (m) =>
      m.result.ratePerSecond >= TARGET_TOKENS_PER_SECOND && m.result.latencyMs.p99 < TARGET_P99_MS,
  );
  const target = `${TARGET_TOKENS_PER_SECOND} tokens/s with p99 < ${TARGET_P99_MS} ms`;
  if (meeting.length > 0) {
    const best = meeting.reduce((a, b) =>
      b.result.ratePerSecond > a.result.ratePerSecond ? b : a,
    );
    console.log(
      `\nTarget (${target}): MET — ${best.result.ratePerSecond.toFixed(0)} tokens/s, p99 ` +
        `${best.result.latencyMs.p99.toFixed(1)} ms with ${best.result.processes} process(es) ` +
        `at concurrency ${best.result.concurrency}.`,
    );
  } else {
    const withinLatency = tokens.filter((m) => m.result.latencyMs.p99 < TARGET_P99_MS);
    const best = (withinLatency.length > 0 ? withinLatency : tokens).reduce((a, b) =>
      b.result.ratePerSecond > a.result.ratePerSecond ? b : a,
    );
    console.log(
      `\nTarget (${target}): NOT MET — best ${withinLatency.length > 0 ? "within the latency bound" : "rate"}: ` +
        `${best.result.ratePerSecond.toFixed(0)} tokens/s, p99 ${best.result.latencyMs.p99.toFixed(1)} ms ` +
        `(${best.result.processes} process(es), concurrency ${best.result.concurrency}).`,
    );
  }
  if (settings.redisUrl === undefined)
    console.log(
      "(REDIS_URL unset: in-process replay store; production with >1 process needs Redis.)",
    );
}

function describeUrl(value: string): string {
  const url = new URL(value);
  return `${url.protocol}//${url.username === "" ? "" : `${url.username}@`}${url.host}${url.pathname}`;
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address !== null
          ? resolvePort(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}

function randomLoopbackAddress(): string {
  const [a, b, c] = randomBytes(3);
  return `127.${((a ?? 0) % 254) + 1}.${b ?? 0}.${((c ?? 0) % 254) + 1}`;
}
