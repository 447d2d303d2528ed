/**
 * The load process of `token-issuance.bench.ts`, forked so that generating load never competes
 * with the registry for its event loop. It is driven over IPC: `init` with the agents, then one
 * `run` per measurement, answered with a `result` (or `failed`, with the first non-200 body).
 *
 * Each connection is a closed loop (send, wait for the answer, send again) on a keep-alive
 * socket, so `concurrency` is the number of clients in flight. Latency is measured per request
 * from the moment it is handed to the socket; as with any closed loop, a stalled server also
 * slows the offered load, so p99 reads "under this many concurrent clients".
 */
import { randomBytes } from "node:crypto";
import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";
import {
  CLIENT_ASSERTION_TYPE,
  createClientAssertion,
  createDpopProof,
  type DpopKey,
} from "@agentauth/core";
import type {
  BenchAgent,
  FromLoadGenerator,
  LatencySummary,
  LoadResult,
  LoadRun,
  ToLoadGenerator,
} from "./load-protocol.js";
import { createNodeDpopKey } from "./node-dpop-key.js";

const TOKEN_PATH = "/oauth/token";
const LIVE_PATH = "/health/live";

interface LoadedAgent extends BenchAgent {
  readonly key: DpopKey;
}

/** One token request, ready to send: its body and its `DPoP` header. */
interface PreparedRequest {
  readonly body: string;
  readonly dpop: string;
}

interface Answer {
  readonly status: number;
  readonly text: string;
}

let publicUrl = "";
let agents: LoadedAgent[] = [];

function reply(message: FromLoadGenerator): void {
  process.send?.(message);
}

process.on("message", (message: ToLoadGenerator) => {
  switch (message.type) {
    case "init":
      publicUrl = message.publicUrl;
      agents = message.agents.map((agent) => ({
        ...agent,
        key: createNodeDpopKey(agent.privateJwk),
      }));
      reply({ type: "ready" });
      return;
    case "run":
      runLoad(message).then(
        (result) => reply({ type: "result", result }),
        (error: unknown) =>
          reply({
            type: "failed",
            message: error instanceof Error ? error.message : String(error),
          }),
      );
      return;
    case "exit":
      process.exit(0);
  }
});

async function runLoad(run: LoadRun): Promise<LoadResult> {
  if (run.targets.length === 0 || run.concurrency < 1) throw new TypeError("nothing to load");
  const targets = run.targets.map((target) => {
    const url = new URL(target);
    return { host: url.hostname, port: Number(url.port), agent: new Agent({ keepAlive: true }) };
  });

  // Proofs carry `iat` (accepted for 60 s) and the server nonce (300–600 s), so they are made
  // right before the run: enough for the expected rate, and more on the fly if that runs dry.
  let prepared: (PreparedRequest | undefined)[] = [];
  let preGenerationSeconds = 0;
  let nonce = "";
  let agentCursor = 0;
  let signedDuringRun = 0;
  const nextAgent = (): LoadedAgent => agents[agentCursor++ % agents.length] as LoadedAgent;
  if (run.workload === "token") {
    if (agents.length === 0) throw new Error("the load process has no agents");
    nonce = await fetchDpopNonce(targets[0] as Target, agents[0] as LoadedAgent);
    const count = Math.ceil((run.expectedRate * (run.warmupMs + run.durationMs)) / 1000);
    const started = performance.now();
    prepared = await prepareBatch(count + run.concurrency, nextAgent, nonce);
    preGenerationSeconds = (performance.now() - started) / 1000;
  }
  const preGenerated = prepared.length;
  let preparedCursor = 0;
  const nextTokenRequest = async (): Promise<PreparedRequest> => {
    const ready = prepared[preparedCursor];
    if (ready !== undefined) {
      prepared[preparedCursor++] = undefined; // sent once; let it be collected
      return ready;
    }
    signedDuringRun++;
    return prepareRequest(nextAgent(), nonce);
  };

  const latencies: number[] = [];
  let completed = 0;
  let failure: Error | undefined;
  const start = performance.now();
  const windowStart = start + run.warmupMs;
  const windowEnd = windowStart + run.durationMs;
  let cpuAtStart = process.cpuUsage();
  let measuredStart = windowStart;
  let measuredEnd = windowEnd;
  let cpuMicros = 0;
  const startTimer = setTimeout(() => {
    cpuAtStart = process.cpuUsage();
    measuredStart = performance.now();
    reply({ type: "window", edge: "start" });
  }, run.warmupMs);
  const endTimer = setTimeout(() => {
    const used = process.cpuUsage(cpuAtStart);
    cpuMicros = used.user + used.system;
    measuredEnd = performance.now();
    reply({ type: "window", edge: "end" });
  }, run.warmupMs + run.durationMs);

  const worker = async (index: number): Promise<void> => {
    const target = targets[index % targets.length] as Target;
    while (failure === undefined && performance.now() < windowEnd) {
      let answer: Answer;
      let sentAt: number;
      if (run.workload === "token") {
        const next = await nextTokenRequest();
        sentAt = performance.now();
        answer = await send(target, "POST", TOKEN_PATH, next.body, next.dpop);
        if (answer.status !== 200 || !answer.text.includes('"access_token":"')) {
          failure ??= new Error(`POST ${TOKEN_PATH} answered ${answer.status}: ${answer.text}`);
          return;
        }
      } else {
        sentAt = performance.now();
        answer = await send(target, "GET", LIVE_PATH);
        if (answer.status !== 200) {
          failure ??= new Error(`GET ${LIVE_PATH} answered ${answer.status}: ${answer.text}`);
          return;
        }
      }
      const doneAt = performance.now();
      if (doneAt >= windowStart && doneAt <= windowEnd) {
        completed++;
        latencies.push(doneAt - sentAt);
      }
    }
  };
  try {
    await Promise.all(
      Array.from({ length: run.concurrency }, (_, index) =>
        worker(index).catch((error: unknown) => {
          failure ??= error instanceof Error ? error : new Error(String(error));
        }),
      ),
    );
  } finally {
    clearTimeout(startTimer);
    clearTimeout(endTimer);
    for (const target of targets) target.agent.destroy();
  }
  if (failure !== undefined) throw failure;
  const seconds = (measuredEnd - measuredStart) / 1000;
  return {
    workload: run.workload,
    concurrency: run.concurrency,
    processes: run.targets.length,
    completed,
    seconds,
    ratePerSecond: completed / seconds,
    latencyMs: summarize(latencies),
    loadCpuCores: cpuMicros / 1e6 / seconds,
    preGenerated,
    preGenerationSeconds,
    signedDuringRun,
  };
}

interface Target {
  readonly host: string;
  readonly port: number;
  readonly agent: Agent;
}

function send(
  target: Target,
  method: string,
  path: string,
  body?: string,
  dpop?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {};
    if (body !== undefined) {
      headers["content-type"] = "application/x-www-form-urlencoded";
      headers["content-length"] = Buffer.byteLength(body);
    }
    if (dpop !== undefined) headers.dpop = dpop;
    const req = request(
      { host: target.host, port: target.port, method, path, headers, agent: target.agent },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** The server's current `DPoP-Nonce`: asked for the way a client learns it (`use_dpop_nonce`). */
async function fetchDpopNonce(target: Target, agent: LoadedAgent): Promise<string> {
  const first = await prepareRequest(agent, undefined);
  const response = await new Promise<{ nonce: string | undefined; text: string }>(
    (resolve, reject) => {
      const req = request(
        {
          host: target.host,
          port: target.port,
          method: "POST",
          path: TOKEN_PATH,
          headers: {
            "content-type": "application/x-www-form-urlencoded",
            "content-length": Buffer.byteLength(first.body),
            dpop: first.dpop,
          },
          // Its own connection: a pooled one would idle through the pre-generation and could
          // meet the server's keep-alive timeout just as the run reuses it.
          agent: false,
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            text += chunk;
          });
          res.on("end", () => {
            const header = res.headers["dpop-nonce"];
            resolve({ nonce: typeof header === "string" ? header : undefined, text });
          });
        },
      );
      req.on("error", reject);
      req.end(first.body);
    },
  );
  if (response.nonce === undefined)
    throw new Error(`The token endpoint sent no DPoP-Nonce: ${response.text}`);
  return response.nonce;
}

async function prepareBatch(
  count: number,
  nextAgent: () => LoadedAgent,
  nonce: string,
): Promise<PreparedRequest[]> {
  const batch: PreparedRequest[] = [];
  for (let i = 0; i < count; i++) batch.push(await prepareRequest(nextAgent(), nonce));
  return batch;
}

/** A refresh-token request as a stock client sends it: private_key_jwt and a fresh DPoP proof. */
async function prepareRequest(
  agent: LoadedAgent,
  nonce: string | undefined,
): Promise<PreparedRequest> {
  const now = new Date();
  const [assertion, dpop] = await Promise.all([
    createClientAssertion({
      key: agent.key,
      clientId: agent.id,
      audience: publicUrl,
      now,
      jti: randomBytes(18).toString("base64url"),
    }),
    createDpopProof({
      key: agent.key,
      method: "POST",
      url: `${publicUrl}${TOKEN_PATH}`,
      now,
      jti: randomBytes(18).toString("base64url"),
      ...(nonce === undefined ? {} : { nonce }),
    }),
  ]);
  const body = new URLSearchParams({
    grant_type: "refresh_token",
    refresh_token: agent.refreshToken,
    client_assertion_type: CLIENT_ASSERTION_TYPE,
    client_assertion: assertion,
  }).toString();
  return { body, dpop };
}

function summarize(latencies: number[]): LatencySummary {
  if (latencies.length === 0)
    return { p50: Number.NaN, p90: Number.NaN, p99: Number.NaN, max: Number.NaN, mean: Number.NaN };
  const sorted = Float64Array.from(latencies).sort();
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: sorted[sorted.length - 1] as number,
    mean: sum / sorted.length,
  };
}
