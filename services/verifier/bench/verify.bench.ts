/**
 * `pnpm bench:verifier`: `POST /v1/verify` throughput and latency per verifier process, and how
 * fast a revocation reaches every verifier.
 *
 * Starts the registry for real (one process on a fresh schema of `DATABASE_URL`, Redis state) and
 * verifier processes from their built `main.js`, wired as in production (Redis state, the
 * registry's JWKS, a shared DPoP nonce secret). Through the registry's HTTP API it enrols a human
 * with a passkey, registers a service provider and its verifier API key, enrols agents and gets
 * their grants approved — payments with a realistic envelope (rate and burst limits, a daily
 * spend cap, a per-payment maximum), generous enough that nothing is refused but every request
 * still takes the atomic quota step in Redis. A separate load process signs every DPoP proof
 * (with `ath` and the verifier's nonce) before each measurement, then drives the verifier; every
 * answer is checked to be an allow, and anything else fails the run. Measured in one run:
 *
 * - the bare ES256 verifications/s of one core (node:crypto), before and after the load;
 * - the warm path: one process at full load (closed loop), tokens it has seen before — one
 *   proof signature, the replay mark and the quota step per request;
 * - the warm path at half that rate (open loop, latency from each request's scheduled start);
 * - the cold path: every request a token the verifier has never seen (issued through the
 *   registry for this run), so the token's signature is checked too; and, for a longer window,
 *   the same with the verified-token cache disabled (`VERIFIER_TOKEN_CACHE_SIZE=0`);
 * - the warm path on two processes (informational on this 2-core machine);
 * - revocation propagation to two subscribed verifiers (see revocation-propagation.ts).
 *
 * CPU per process group comes from /proc; targets are judged on this run's figures.
 *
 * A `GET /health/live` run first gives the floor: the verifier's HTTP stack and the load
 * generator with no verification at all.
 *
 * Environment: DATABASE_URL and REDIS_URL (both required), BENCH_CONCURRENCY (default "32": the
 * closed-loop clients; a list tries each), BENCH_WARMUP_S (2), BENCH_DURATION_S (10),
 * BENCH_AGENTS (20), BENCH_COLD_TOKENS (10000), BENCH_REVOCATIONS (100), BENCH_PROCESSES ("1,2":
 * with 2, also the warm path on two processes), BENCH_VERIFIER_NODE_OPTIONS (NODE_OPTIONS of the
 * verifier processes, e.g. GC settings; default none), BENCH_CPU_PROF (a directory: the verifier
 * processes run with --cpu-prof and write their profiles there, with the measured windows).
 */
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type BenchmarkScope,
  type CpuAccounting,
  createNodeDpopKey,
  describeMachine,
  describeUrl,
  type Es256Baseline,
  freePort,
  type LatencySummary,
  type Measured,
  measureEs256Baseline,
  readIntegerList,
  readOptional,
  readPositiveNumber,
  runBenchmark,
  type ServiceProcess,
  startLoadProcess,
  startServiceProcess,
} from "@agentauth/bench-kit";
import {
  BENCH_PAYMENT_DETAILS,
  BENCH_SERVICE_PROVIDER,
  type BenchGrant,
  enrolBenchAdmin,
  startBenchRegistry,
} from "@agentauth/registry/bench";
import { ensureApiKeyInDirectory } from "./api-key-directory.js";
import { measureRevocationPropagation, type RevocationFigures } from "./revocation-propagation.js";
import type { VerifyLoadMethods, VerifyLoadResult, VerifyLoadRun } from "./verify-load-process.js";
import { learnVerifierNonce } from "./verify-request.js";

const TARGET_WARM_RATIO = 0.5;
const TARGET_COLD_RATIO = 0.3;
const TARGET_HALF_LOAD_P99_MS = 5;
const TARGET_REVOCATION_P99_MS = 100;

const VERIFIER_MAIN_JS = fileURLToPath(new URL("../src/main.js", import.meta.url));
const LOAD_PROCESS_JS = fileURLToPath(new URL("./verify-load-process.js", import.meta.url));

/** Generous limits of every kind the verifier counts in Redis: each request updates three counters. */
const BENCH_ENVELOPE = {
  type: "envelope",
  rate_limit: { max_requests: 100_000_000, window_seconds: 3600, burst: 1_000_000 },
  max_transaction_amount: { amount: "50.00", currency: "EUR" },
  spend_caps: [{ amount: "1000000000.00", currency: "EUR", window_seconds: 86_400 }],
};

interface BenchSettings {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly concurrency: readonly number[];
  readonly processes: readonly number[];
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly agents: number;
  readonly coldTokens: number;
  readonly revocations: number;
  readonly cpuProfileDir: string | undefined;
  readonly verifierNodeOptions: string | undefined;
}

type Kind = "live" | "warm" | "half" | "cold" | "uncached" | "warm×2";

interface Row {
  readonly kind: Kind;
  readonly label: string;
  readonly run: VerifyLoadRun;
  readonly measured: Measured<VerifyLoadResult>;
}

await runBenchmark((scope) => main(scope, readSettings()));

async function main(scope: BenchmarkScope, settings: BenchSettings): Promise<void> {
  console.log(
    "AgentAuth verifier benchmark — POST /v1/verify (DPoP-bound tokens, envelope quotas)",
  );
  console.log(`${new Date().toISOString()}; ${describeMachine()}`);
  console.log(
    `Node ${process.version}; Postgres ${describeUrl(settings.databaseUrl)} (registry); ` +
      `Redis ${describeUrl(settings.redisUrl)} (verifier and registry state)`,
  );
  console.log(
    `concurrency ${settings.concurrency.join(", ")}; ${settings.warmupMs / 1000} s warm-up + ` +
      `${settings.durationMs / 1000} s measured per run; ${settings.agents} agents × 1 grant; ` +
      `${settings.coldTokens} cold tokens; ${settings.revocations} revocations; verifier ` +
      `NODE_OPTIONS ${settings.verifierNodeOptions ?? "(none)"}`,
  );

  const bareBefore = measureEs256Baseline();
  if (settings.cpuProfileDir !== undefined)
    await mkdir(settings.cpuProfileDir, { recursive: true });

  // Setup: the registry, a signed-in human, the service provider and its key, approved grants.
  const setupStarted = performance.now();
  const registry = await startBenchRegistry(scope, {
    databaseUrl: settings.databaseUrl,
    redisUrl: settings.redisUrl,
    maxProcesses: 1,
    // The longest allowed: warm tokens are issued at setup and used until the end.
    accessTokenLifetimeSeconds: 900,
  });
  const registryProcess = registry.processes[0] as ServiceProcess;
  const admin = await enrolBenchAdmin(registry);
  await admin.createServiceProvider();
  const apiKey = await admin.createApiKey();
  const keySource = await ensureApiKeyInDirectory({
    redisUrl: settings.redisUrl,
    apiKey,
    serviceProviderId: BENCH_SERVICE_PROVIDER,
    waitMs: 2_000,
  });
  const authorizationDetails = [...BENCH_PAYMENT_DETAILS, BENCH_ENVELOPE];
  const agents = [];
  for (let i = 0; i < settings.agents; i++) agents.push(await admin.enrolAgent(`bench agent ${i}`));
  const grants: BenchGrant[] = [];
  for (const agent of agents)
    grants.push(await admin.approveGrant(agent, { authorizationDetails }));
  // Grants to revoke, spread over the same agents.
  const toRevoke: BenchGrant[] = [];
  for (let i = 0; i < settings.revocations; i++) {
    const agent = agents[i % agents.length];
    if (agent !== undefined)
      toRevoke.push(await admin.approveGrant(agent, { authorizationDetails }));
  }
  console.log(
    `setup: schema ${registry.schema}; ${grants.length + toRevoke.length} approved grants through ` +
      `the HTTP API in ${((performance.now() - setupStarted) / 1000).toFixed(1)} s`,
  );

  // Verifier processes: same secret and Redis, as replicas of one deployment.
  const nonceSecret = randomBytes(32).toString("hex");
  const verifiers: ServiceProcess[] = [];
  const startVerifier = async (extra: NodeJS.ProcessEnv = {}): Promise<ServiceProcess> => {
    const port = await freePort();
    const verifier = await startServiceProcess(scope, {
      name: "verifier",
      mainJs: VERIFIER_MAIN_JS,
      env: verifierEnvironment({
        port,
        registryUrl: registry.publicUrl,
        jwksUrl: `${registryProcess.baseUrl}/.well-known/jwks.json`,
        redisUrl: settings.redisUrl,
        nonceSecret,
        extra: {
          ...(settings.verifierNodeOptions === undefined
            ? {}
            : { NODE_OPTIONS: settings.verifierNodeOptions }),
          ...extra,
        },
      }),
      baseUrl: `http://127.0.0.1:${port}`,
      cpuProfileDir: settings.cpuProfileDir,
    });
    verifiers.push(verifier);
    return verifier;
  };
  const first = await startVerifier();

  const load = startLoadProcess<VerifyLoadMethods>(scope, LOAD_PROCESS_JS, {
    execArgv: ["--expose-gc"],
  });
  await load.call("init", {
    registryUrl: registryProcess.baseUrl,
    publicUrl: registry.publicUrl,
    apiKey,
    grants,
  });
  const cpu: CpuAccounting = {
    dynamicPids: () => registry.postgresPids(),
    groups: (postgresPids) => [
      { name: "verifier", matches: (pid) => verifiers.some((verifier) => verifier.pid === pid) },
      { name: "load", matches: (pid) => pid === load.pid },
      { name: "registry", matches: (pid) => pid === registryProcess.pid },
      { name: "postgres", matches: (pid) => postgresPids.has(pid) },
      { name: "redis", matches: (_pid, comm) => comm.startsWith("redis-server") },
    ],
  };
  const rows: Row[] = [];
  const measure = async (kind: Kind, label: string, run: VerifyLoadRun): Promise<Row> => {
    const measured = await load.measure("run", run, cpu).catch((error: unknown) => {
      // A verifier that died explains a failed run better than the load's socket error.
      for (const verifier of verifiers) verifier.assertRunning();
      throw new Error(`${label}: ${error instanceof Error ? error.message : String(error)}`);
    });
    const row = { kind, label, run, measured };
    rows.push(row);
    printRow(row);
    return row;
  };
  const timing = { warmupMs: settings.warmupMs, durationMs: settings.durationMs };

  printHeader();
  // The floor: the verifier's HTTP stack and the load generator, with no verification at all.
  await measure("live", "GET /health/live", {
    workload: "live",
    targets: [first.baseUrl],
    concurrency: Math.max(...settings.concurrency),
    ...timing,
    expectedRate: 0,
  });
  // Warm path, one process, full load: the best of the concurrencies tried.
  let bestWarm: Row | undefined;
  for (const concurrency of settings.concurrency) {
    const row = await measure("warm", "warm, full load", {
      workload: "warm",
      targets: [first.baseUrl],
      concurrency,
      ...timing,
      // Enough for the target (0.5 × bare) with a margin; a run that uses them all ends early
      // (its window ends there) and the row says so.
      expectedRate:
        bestWarm === undefined
          ? 0.8 * bareBefore.verifiesPerSecond
          : 1.3 * bestWarm.measured.output.ratePerSecond,
    });
    if (row.measured.output.ratePerSecond > (bestWarm?.measured.output.ratePerSecond ?? 0))
      bestWarm = row;
  }
  if (bestWarm === undefined) throw new Error("no warm run");
  const fullRate = bestWarm.measured.output.ratePerSecond;
  const bestConcurrency = bestWarm.run.concurrency;

  // Half that load, on a schedule.
  await measure("half", "warm, half load", {
    workload: "warm",
    targets: [first.baseUrl],
    concurrency: bestConcurrency,
    ratePerSecond: fullRate / 2,
    ...timing,
    expectedRate: fullRate / 2 + 50,
  });

  // Cold path: tokens issued now, never sent to a verifier. The verifier's JIT is warm already,
  // so a short warm-up only fills the connections.
  const issued = await load.call("issueTokens", { count: settings.coldTokens, concurrency: 16 });
  console.log(
    `      (${issued.issued} tokens issued through the registry's refresh-token grant in ` +
      `${issued.seconds.toFixed(1)} s for the cold run)`,
  );
  await measure("cold", "cold, unseen tokens", {
    workload: "cold",
    targets: [first.baseUrl],
    concurrency: bestConcurrency,
    warmupMs: Math.min(500, settings.warmupMs),
    durationMs: settings.durationMs,
    expectedRate: 0,
  });
  const uncached = await startVerifier({ VERIFIER_TOKEN_CACHE_SIZE: "0" });
  await measure("uncached", "cold, token cache off", {
    workload: "warm",
    targets: [uncached.baseUrl],
    concurrency: bestConcurrency,
    ...timing,
    expectedRate: 1.3 * fullRate,
  });
  await uncached.stop();

  const second = await startVerifier();
  if (settings.processes.includes(2)) {
    await measure("warm×2", "warm, full load", {
      workload: "warm",
      targets: [first.baseUrl, second.baseUrl],
      concurrency: 2 * bestConcurrency,
      ...timing,
      expectedRate: 2.6 * fullRate,
    });
  }
  await load.stop();

  const revocationGrant = toRevoke[0];
  const revocations =
    revocationGrant === undefined
      ? undefined
      : await measureRevocationPropagation({
          admin,
          verifiers: [first.baseUrl, second.baseUrl],
          apiKey,
          grants: toRevoke,
          redisUrl: settings.redisUrl,
          nonce: await learnVerifierNonce({
            target: first.baseUrl,
            apiKey,
            key: createNodeDpopKey(revocationGrant.privateJwk),
            accessToken: revocationGrant.accessToken,
          }),
        });
  for (const verifier of verifiers) if (verifier !== uncached) verifier.assertRunning();

  const bareAfter = measureEs256Baseline();
  console.log(`\nAt the end: ${describeMachine()}`);
  printSummary(rows, bareBefore, bareAfter, revocations, keySource);

  if (settings.cpuProfileDir !== undefined) {
    await Promise.all(verifiers.map((verifier) => verifier.stop()));
    // To slice the profiles to one measurement: samples between `startMicros` and `endMicros`.
    const windows = rows.map(({ label, run, measured }) => ({
      label: `${label} (${run.targets.length} process(es), C=${run.concurrency})`,
      startMicros: measured.windowMicros?.[0],
      endMicros: measured.windowMicros?.[1],
    }));
    await writeFile(
      join(settings.cpuProfileDir, "windows.json"),
      `${JSON.stringify(windows, null, 2)}\n`,
    );
    console.log(
      `\nCPU profiles of the verifier processes (in start order: full/half/cold, cache off, ` +
        `second) and the measured windows (windows.json): ${settings.cpuProfileDir}`,
    );
  }
}

function readSettings(): BenchSettings {
  const databaseUrl = readOptional("DATABASE_URL");
  const redisUrl = readOptional("REDIS_URL");
  if (databaseUrl === undefined || redisUrl === undefined) {
    console.error(
      "bench:verifier runs the registry on real Postgres and the verifiers on real Redis: set " +
        "both, e.g.\n  DATABASE_URL=postgres://postgres@127.0.0.1:5432/test " +
        "REDIS_URL=redis://127.0.0.1:6379 pnpm bench:verifier",
    );
    process.exit(2);
  }
  const cpuProfileDir = readOptional("BENCH_CPU_PROF");
  return {
    databaseUrl,
    redisUrl,
    concurrency: readIntegerList("BENCH_CONCURRENCY", "32"),
    processes: readIntegerList("BENCH_PROCESSES", "1,2"),
    warmupMs: readPositiveNumber("BENCH_WARMUP_S", 2) * 1000,
    durationMs: readPositiveNumber("BENCH_DURATION_S", 10) * 1000,
    agents: Math.round(readPositiveNumber("BENCH_AGENTS", 20)),
    coldTokens: Math.round(readPositiveNumber("BENCH_COLD_TOKENS", 10_000)),
    revocations: Math.round(readPositiveNumber("BENCH_REVOCATIONS", 100)),
    cpuProfileDir: cpuProfileDir === undefined ? undefined : resolve(cpuProfileDir),
    verifierNodeOptions: readOptional("BENCH_VERIFIER_NODE_OPTIONS"),
  };
}

/** A verifier's environment: ours, less its own settings, plus the bench's. */
function verifierEnvironment(values: {
  port: number;
  registryUrl: string;
  jwksUrl: string;
  redisUrl: string;
  nonceSecret: string;
  extra: NodeJS.ProcessEnv;
}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (key.startsWith("VERIFIER_") || ["AGENTAUTH_REGISTRY_URL", "REDIS_URL"].includes(key))
      delete env[key];
  }
  return {
    ...env,
    VERIFIER_PORT: String(values.port),
    VERIFIER_HOST: "127.0.0.1",
    AGENTAUTH_REGISTRY_URL: values.registryUrl,
    VERIFIER_JWKS_URL: values.jwksUrl,
    REDIS_URL: values.redisUrl,
    VERIFIER_DPOP_NONCE_SECRET: values.nonceSecret,
    LOG_LEVEL: "info",
    ...values.extra,
  };
}

function ms(value: number, width = 7): string {
  return value.toFixed(1).padStart(width);
}

function printHeader(): void {
  console.log(
    `\n${"run".padEnd(22)} ${"procs".padStart(5)} ${"load".padStart(11)} ${"req/s".padStart(7)} ` +
      `${"p50 ms".padStart(7)} ${"p90 ms".padStart(7)} ${"p99 ms".padStart(7)} ${"max ms".padStart(7)}` +
      ` │ cores busy: ${"verifier".padStart(8)} ${"load".padStart(5)} ${"reg".padStart(5)} ` +
      `${"pg".padStart(5)} ${"redis".padStart(5)} ${"other".padStart(5)} ${"steal".padStart(5)} │ ` +
      "verifier CPU µs/req",
  );
}

function printRow({ label, run, measured }: Row): void {
  const { output: result, cpu } = measured;
  const cores = (name: string) => (cpu?.groups.get(name) ?? Number.NaN).toFixed(2).padStart(5);
  const verifierCores = cpu?.groups.get("verifier");
  const cpuPerRequest =
    verifierCores === undefined ? "n/a" : ((verifierCores * 1e6) / result.ratePerSecond).toFixed(0);
  const offered =
    run.ratePerSecond === undefined
      ? `C=${run.concurrency}`
      : `${(result.offeredPerSecond ?? run.ratePerSecond).toFixed(0)}/s open`;
  const notes = [
    ...(run.workload === "live"
      ? []
      : [
          `${result.preGenerated} requests pre-signed in ${result.preGenerationSeconds.toFixed(1)} s`,
        ]),
    ...(result.endedEarly
      ? [`pre-signed requests ran out: ${result.seconds.toFixed(1)} s measured`]
      : []),
    ...(result.fromSendLatencyMs === undefined
      ? []
      : [
          `from the write instead of the schedule: p50 ${result.fromSendLatencyMs.p50.toFixed(1)}, ` +
            `p99 ${result.fromSendLatencyMs.p99.toFixed(1)} ms`,
        ]),
    `load process event loop late by p99 ${result.loadEventLoopDelayMs.p99.toFixed(1)} / max ` +
      `${result.loadEventLoopDelayMs.max.toFixed(1)} ms`,
  ];
  console.log(
    `${label.padEnd(22)} ${String(run.targets.length).padStart(5)} ${offered.padStart(11)} ` +
      `${result.ratePerSecond.toFixed(0).padStart(7)} ${ms(result.latencyMs.p50)} ` +
      `${ms(result.latencyMs.p90)} ${ms(result.latencyMs.p99)} ${ms(result.latencyMs.max)} │ ` +
      `${"".padStart(12)}${(verifierCores ?? Number.NaN).toFixed(2).padStart(8)} ${cores("load")} ` +
      `${cores("registry")} ${cores("postgres")} ${cores("redis")} ` +
      `${(cpu?.other ?? Number.NaN).toFixed(2).padStart(5)} ${(cpu?.steal ?? Number.NaN).toFixed(2).padStart(5)} │ ` +
      `${cpuPerRequest.padStart(19)}${notes.length === 0 ? "" : `  (${notes.join("; ")})`}`,
  );
}

function printSummary(
  rows: readonly Row[],
  bareBefore: Es256Baseline,
  bareAfter: Es256Baseline,
  revocations: RevocationFigures | undefined,
  keySource: string,
): void {
  const bare = (bareBefore.verifiesPerSecond + bareAfter.verifiesPerSecond) / 2;
  const find = (kind: Kind) => rows.find((row) => row.kind === kind)?.measured;
  const best = (kind: Kind) =>
    rows
      .filter((row) => row.kind === kind)
      .reduce<Row | undefined>(
        (a, b) =>
          a === undefined || b.measured.output.ratePerSecond > a.measured.output.ratePerSecond
            ? b
            : a,
        undefined,
      );
  const verdict = (met: boolean) => (met ? "MET" : "NOT MET");
  const perCore = (measured: Measured<VerifyLoadResult>) => {
    const cores = measured.cpu?.groups.get("verifier");
    return cores === undefined || cores === 0
      ? ""
      : `; the verifier kept ${cores.toFixed(2)} cores busy, i.e. ` +
          `${(measured.output.ratePerSecond / cores).toFixed(0)} req/s per busy core ` +
          `(${(measured.output.ratePerSecond / cores / bare).toFixed(2)} × bare)`;
  };

  console.log(
    `\nBaseline — bare node:crypto ES256 verifications on one core (before / after the load): ` +
      `${bareBefore.verifiesPerSecond.toFixed(0)} / ${bareAfter.verifiesPerSecond.toFixed(0)}/s; ` +
      `mean ${bare.toFixed(0)}/s. Every answer of every run was checked to be an allow.`,
  );
  const live = find("live");
  if (live !== undefined) {
    const cores = live.cpu?.groups.get("verifier");
    console.log(
      `Floor — GET /health/live on the verifier: ${live.output.ratePerSecond.toFixed(0)} req/s` +
        (cores === undefined
          ? ""
          : `, ${((cores * 1e6) / live.output.ratePerSecond).toFixed(0)} µs of verifier CPU each`) +
        ` (the load process used ${live.output.loadCpuCores.toFixed(2)} cores).`,
    );
  }
  const warm = best("warm");
  const half = find("half");
  const cold = find("cold");
  const uncached = find("uncached");
  const twice = find("warm×2");
  if (warm !== undefined) {
    const ratio = warm.measured.output.ratePerSecond / bare;
    console.log(
      `Warm path, 1 process: ${warm.measured.output.ratePerSecond.toFixed(0)} req/s at ` +
        `C=${warm.run.concurrency} (p50 ${warm.measured.output.latencyMs.p50.toFixed(1)} ms, ` +
        `p99 ${warm.measured.output.latencyMs.p99.toFixed(1)} ms) = ${ratio.toFixed(2)} × bare` +
        `${perCore(warm.measured)}.\n  Target ≥ ${TARGET_WARM_RATIO} × bare: ${verdict(ratio >= TARGET_WARM_RATIO)}.`,
    );
  }
  if (half !== undefined) {
    const { latencyMs, offeredPerSecond, ratePerSecond, fromSendLatencyMs } = half.output;
    console.log(
      `Half load, 1 process: ${(offeredPerSecond ?? ratePerSecond).toFixed(0)} req/s offered ` +
        `on schedule, ${ratePerSecond.toFixed(0)} answered: p50 ${latencyMs.p50.toFixed(2)} ms, ` +
        `p99 ${latencyMs.p99.toFixed(2)} ms, max ${latencyMs.max.toFixed(1)} ms, from each ` +
        `request's scheduled time` +
        (fromSendLatencyMs === undefined
          ? ""
          : ` (from its write: p50 ${fromSendLatencyMs.p50.toFixed(2)}, p99 ` +
            `${fromSendLatencyMs.p99.toFixed(2)} ms; the load process's event loop ran late by ` +
            `up to ${half.output.loadEventLoopDelayMs.p99.toFixed(1)} ms at p99)`) +
        `.\n  Target p99 < ${TARGET_HALF_LOAD_P99_MS} ms, from the schedule: ` +
        `${verdict(latencyMs.p99 < TARGET_HALF_LOAD_P99_MS)}.`,
    );
  }
  if (cold !== undefined) {
    const ratio = cold.output.ratePerSecond / bare;
    console.log(
      `Cold path, 1 process, each request a token the verifier had never seen: ` +
        `${cold.output.ratePerSecond.toFixed(0)} req/s over ${cold.output.seconds.toFixed(1)} s ` +
        `(p99 ${cold.output.latencyMs.p99.toFixed(1)} ms) = ${ratio.toFixed(2)} × bare` +
        `${perCore(cold)}.\n  Target ≥ ${TARGET_COLD_RATIO} × bare: ${verdict(ratio >= TARGET_COLD_RATIO)}.`,
    );
  }
  if (uncached !== undefined) {
    console.log(
      `  (Cross-check with the verified-token cache off, VERIFIER_TOKEN_CACHE_SIZE=0, over ` +
        `${uncached.output.seconds.toFixed(0)} s: ${uncached.output.ratePerSecond.toFixed(0)} req/s = ` +
        `${(uncached.output.ratePerSecond / bare).toFixed(2)} × bare.)`,
    );
  }
  if (twice !== undefined) {
    console.log(
      `Warm path, 2 processes on this machine's ${twice.cpu?.cpus ?? "?"} cores: ` +
        `${twice.output.ratePerSecond.toFixed(0)} req/s (p99 ${twice.output.latencyMs.p99.toFixed(1)} ms), ` +
        `the load process and Redis sharing the same cores (informational).`,
    );
  }
  if (revocations !== undefined) {
    const line = (name: string, summary: LatencySummary) =>
      `  ${name.padEnd(44)} p50 ${ms(summary.p50, 6)}  p99 ${ms(summary.p99, 6)}  max ${ms(summary.max, 6)} ms`;
    console.log(
      `Revocation propagation: ${revocations.revocations} grants revoked through POST ` +
        `/api/grants/:id/revoke, 2 verifier processes polled back to back with fresh proofs ` +
        `(${revocations.pollsPerWait.toFixed(1)} polls per wait); times from sending the request:`,
    );
    console.log(line("registry answered 204", revocations.apiAnswered));
    console.log(line("published (seen on the bench's subscription)", revocations.published));
    revocations.refusedBy.forEach((summary, index) => {
      console.log(line(`refused by verifier ${index + 1}`, summary));
    });
    console.log(line("refused by every verifier", revocations.refusedByAll));
    console.log(
      `  Target p99 < ${TARGET_REVOCATION_P99_MS} ms on every replica: ` +
        `${verdict(revocations.refusedByAll.p99 < TARGET_REVOCATION_P99_MS)}.`,
    );
  }
  console.log(`(The service provider's API key record was ${keySource} in the key directory.)`);
}
