/**
 * The load process of `token-issuance.bench.ts` (forked, driven over IPC by the bench kit):
 * `init` with the grants, then one `run` per measurement — a closed loop of refresh-token
 * requests, or of `GET /health/live` — answered with its measurement.
 */
import {
  createNodeDpopKey,
  type LoadRequest,
  type MeasuredWindow,
  runClosedLoop,
  runLivenessLoop,
  serveLoadProcess,
} from "@agentauth/bench-kit";
import type { TokenLoadInit, TokenLoadResult, TokenLoadRun } from "./load-protocol.js";
import {
  learnTokenEndpointNonce,
  prepareRefreshRequest,
  type RefreshingAgent,
  TOKEN_PATH,
} from "./refresh-request.js";

let publicUrl = "";
let agents: RefreshingAgent[] = [];

const methods = {
  async init(input: TokenLoadInit): Promise<void> {
    publicUrl = input.publicUrl;
    agents = input.grants.map((grant) => ({
      id: grant.agentId,
      key: createNodeDpopKey(grant.privateJwk),
      refreshToken: grant.refreshToken,
    }));
  },
  run: (run: TokenLoadRun, window: MeasuredWindow) => runLoad(run, window),
};
export type TokenLoadMethods = typeof methods;
serveLoadProcess(methods);

async function runLoad(run: TokenLoadRun, window: MeasuredWindow): Promise<TokenLoadResult> {
  let agentCursor = 0;
  const nextAgent = (): RefreshingAgent => agents[agentCursor++ % agents.length] as RefreshingAgent;
  // Proofs carry `iat` (accepted for 60 s) and the server nonce (300–600 s), so they are made
  // right before the run: enough for the expected rate, and more on the fly if that runs dry.
  const prepared: (LoadRequest | undefined)[] = [];
  let preGenerationSeconds = 0;
  let nonce = "";
  if (run.workload === "token") {
    if (agents.length === 0) throw new Error("the load process has no agents");
    nonce = await learnTokenEndpointNonce(
      run.targets[0] as string,
      publicUrl,
      agents[0] as RefreshingAgent,
    );
    const count = Math.ceil((run.expectedRate * (run.warmupMs + run.durationMs)) / 1000);
    const started = performance.now();
    for (let i = 0; i < count + run.concurrency; i++)
      prepared.push(await prepareRefreshRequest(nextAgent(), publicUrl, nonce));
    preGenerationSeconds = (performance.now() - started) / 1000;
  }
  const preGenerated = prepared.length;
  let cursor = 0;
  let signedDuringRun = 0;
  const nextToken = async (): Promise<LoadRequest> => {
    const ready = prepared[cursor];
    if (ready !== undefined) {
      prepared[cursor++] = undefined; // sent once; let it be collected
      return ready;
    }
    signedDuringRun++;
    return prepareRefreshRequest(nextAgent(), publicUrl, nonce);
  };

  const loop = {
    targets: run.targets,
    concurrency: run.concurrency,
    warmupMs: run.warmupMs,
    durationMs: run.durationMs,
    window,
  };
  const measurement =
    run.workload === "live"
      ? await runLivenessLoop(loop)
      : await runClosedLoop({
          ...loop,
          next: nextToken,
          check: (answer) =>
            answer.status === 200 && answer.text.includes('"access_token":"')
              ? undefined
              : `POST ${TOKEN_PATH} answered ${answer.status}: ${answer.text}`,
        });
  return {
    ...measurement,
    workload: run.workload,
    concurrency: run.concurrency,
    processes: run.targets.length,
    preGenerated,
    preGenerationSeconds,
    signedDuringRun,
  };
}
