/**
 * The load process of `verify.bench.ts` (forked, driven over IPC by the bench kit). It holds the
 * agents' keys and tokens: it issues fresh tokens through the registry (`issueTokens`), and for
 * each measurement (`run`) signs every DPoP proof ahead of time — each with `ath` and the
 * verifier's nonce — and serialises each request into the bytes to send, so that neither signing
 * nor building requests competes with sending; then it drives `POST /v1/verify` on raw keep-alive
 * sockets (the bench kit's wrk-like loops) in a closed loop (full load) or an open loop (a fixed
 * rate), checking that every answer is an allow.
 */
import { Agent } from "node:http";
import {
  createNodeDpopKey,
  createRequestQueue,
  expectJson,
  httpRequest,
  type LatencySummary,
  type LoadMeasurement,
  type MeasuredWindow,
  runRawClosedLoop,
  runRawLivenessLoop,
  runRawOpenLoop,
  serializeHttpRequest,
  serveLoadProcess,
} from "@agentauth/bench-kit";
import {
  type BenchGrant,
  learnTokenEndpointNonce,
  prepareRefreshRequest,
  type RefreshingAgent,
} from "@agentauth/registry/bench";
import { learnVerifierNonce, notAnAllowAnswer, prepareVerifyRequest } from "./verify-request.js";

export interface VerifyLoadInit {
  /** Where the registry listens, to issue tokens. */
  readonly registryUrl: string;
  /** The registry's public URL (the `htu` and audience of the agents' token requests). */
  readonly publicUrl: string;
  /** The service provider's verifier API key. */
  readonly apiKey: string;
  readonly grants: readonly BenchGrant[];
}

/**
 * `warm`: `POST /v1/verify` with every grant's one token, again and again (the verifier has seen
 * them after the warm-up); `cold`: each request a different token, issued by `issueTokens` and
 * never sent before; `live`: `GET /health/live`, the HTTP stack and load generator alone.
 */
export type Workload = "warm" | "cold" | "live";

export interface VerifyLoadRun {
  readonly workload: Workload;
  /** Base URLs of the verifier processes; connection `i` goes to `targets[i % length]`. */
  readonly targets: readonly string[];
  /** Closed loop: clients in flight. Open loop: connections. */
  readonly concurrency: number;
  /** Set for an open loop at this rate; unset for a closed loop at full load. */
  readonly ratePerSecond?: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Requests/s to sign warm proofs for; a run that uses them all ends early, and says so. */
  readonly expectedRate: number;
}

export interface VerifyLoadResult extends LoadMeasurement {
  /** Open loop: requests scheduled per second in the window. */
  readonly offeredPerSecond: number | undefined;
  /** Open loop: latency from each request's write rather than its scheduled time. */
  readonly fromSendLatencyMs: LatencySummary | undefined;
  readonly preGenerated: number;
  readonly preGenerationSeconds: number;
}

interface HeldGrant {
  readonly agent: RefreshingAgent;
  readonly warmToken: string;
}

interface ColdToken {
  readonly grant: HeldGrant;
  readonly token: string;
}

let setup: VerifyLoadInit | undefined;
let grants: HeldGrant[] = [];
let coldTokens: ColdToken[] = [];

const methods = {
  async init(input: VerifyLoadInit): Promise<void> {
    setup = input;
    grants = input.grants.map((grant) => ({
      agent: {
        id: grant.agentId,
        key: createNodeDpopKey(grant.privateJwk),
        refreshToken: grant.refreshToken,
      },
      warmToken: grant.accessToken,
    }));
  },
  issueTokens: (input: { count: number; concurrency: number }) => issueTokens(input),
  run: (run: VerifyLoadRun, window: MeasuredWindow) => runLoad(run, window),
};
export type VerifyLoadMethods = typeof methods;
serveLoadProcess(methods);

/** Refresh-token grants at the registry, round robin over the grants: `count` new tokens. */
async function issueTokens(input: {
  count: number;
  concurrency: number;
}): Promise<{ issued: number; seconds: number }> {
  const { registryUrl, publicUrl } = ready();
  const started = performance.now();
  const agent = new Agent({ keepAlive: true, maxSockets: input.concurrency });
  const nonce = await learnTokenEndpointNonce(
    registryUrl,
    publicUrl,
    (grants[0] as HeldGrant).agent,
  );
  let cursor = 0;
  const issued: ColdToken[] = [];
  const client = async () => {
    while (cursor < input.count) {
      const grant = grants[cursor++ % grants.length] as HeldGrant;
      const request = await prepareRefreshRequest(grant.agent, publicUrl, nonce);
      const answer = await httpRequest(`${registryUrl}${request.path}`, {
        method: request.method,
        headers: request.headers,
        ...(request.body === undefined ? {} : { body: request.body }),
        agent,
      });
      const { access_token: token } = expectJson<{ access_token: string }>(
        answer,
        200,
        "refresh-token grant",
      );
      issued.push({ grant, token });
    }
  };
  try {
    await Promise.all(Array.from({ length: input.concurrency }, client));
  } finally {
    agent.destroy();
  }
  coldTokens = coldTokens.concat(issued);
  return { issued: issued.length, seconds: (performance.now() - started) / 1000 };
}

async function runLoad(run: VerifyLoadRun, window: MeasuredWindow): Promise<VerifyLoadResult> {
  const timing = {
    targets: run.targets,
    connections: run.concurrency,
    warmupMs: run.warmupMs,
    durationMs: run.durationMs,
    window,
  };
  if (run.workload === "live") {
    const measurement = await runRawLivenessLoop(timing);
    return {
      ...measurement,
      offeredPerSecond: undefined,
      fromSendLatencyMs: undefined,
      preGenerated: 0,
      preGenerationSeconds: 0,
    };
  }
  const { apiKey } = ready();
  const first = grants[0] as HeldGrant;
  // It spends the first sight of one warm token.
  const nonce = await learnVerifierNonce({
    target: run.targets[0] as string,
    apiKey,
    key: first.agent.key,
    accessToken: first.warmToken,
  });
  const verifyRequest = async (grant: HeldGrant, accessToken: string) =>
    serializeHttpRequest(
      "localhost",
      await prepareVerifyRequest({ apiKey, key: grant.agent.key, accessToken, nonce }),
    );

  // Proofs carry `iat` (accepted for 60 s) and the nonce (300–600 s): made right before the run.
  const prepared: Buffer[] = [];
  const started = performance.now();
  if (run.workload === "cold") {
    for (const { grant, token } of coldTokens.splice(0))
      prepared.push(await verifyRequest(grant, token));
  } else {
    const count =
      Math.ceil((run.expectedRate * (run.warmupMs + run.durationMs)) / 1000) + run.concurrency;
    for (let i = 0; i < count; i++) {
      const grant = grants[i % grants.length] as HeldGrant;
      prepared.push(await verifyRequest(grant, grant.warmToken));
    }
  }
  // Each request is sent once (a proof is single-use). What preparing them left behind is
  // collected now, not during the run (the process runs with --expose-gc).
  const queue = createRequestQueue(prepared);
  prepared.length = 0;
  (globalThis as { gc?: () => void }).gc?.();
  const preGenerated = queue.size;
  const preGenerationSeconds = (performance.now() - started) / 1000;
  const common = { ...timing, next: queue.next, check: notAnAllowAnswer };
  let measurement: LoadMeasurement;
  let offeredPerSecond: number | undefined;
  let fromSendLatencyMs: LatencySummary | undefined;
  if (run.ratePerSecond === undefined) {
    measurement = await runRawClosedLoop(common);
  } else {
    const open = await runRawOpenLoop({ ...common, ratePerSecond: run.ratePerSecond });
    measurement = open;
    offeredPerSecond = open.offeredPerSecond;
    fromSendLatencyMs = open.fromSendLatencyMs;
  }
  return {
    ...measurement,
    offeredPerSecond,
    fromSendLatencyMs,
    preGenerated,
    preGenerationSeconds,
  };
}

function ready(): VerifyLoadInit {
  if (setup === undefined || grants.length === 0) throw new Error("the load process has no grants");
  return setup;
}
