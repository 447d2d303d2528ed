import type { JsonWebKey } from "node:crypto";

/** An enrolled agent with an approved grant: what the load process needs to ask for tokens. */
export interface BenchAgent {
  readonly id: string;
  readonly privateJwk: JsonWebKey;
  readonly refreshToken: string;
}

/** `token`: refresh-token grants at `POST /oauth/token`; `live`: `GET /health/live`. */
export type Workload = "token" | "live";

export interface LoadRun {
  readonly type: "run";
  readonly workload: Workload;
  /** Base URLs of the registry processes; connection `i` goes to `targets[i % length]`. */
  readonly targets: readonly string[];
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Tokens/s to pre-generate proofs for; more are signed on the fly (and counted) if it runs dry. */
  readonly expectedRate: number;
}

export type ToLoadGenerator =
  | { readonly type: "init"; readonly publicUrl: string; readonly agents: readonly BenchAgent[] }
  | LoadRun
  | { readonly type: "exit" };

export interface LatencySummary {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

export interface LoadResult {
  readonly workload: Workload;
  readonly concurrency: number;
  readonly processes: number;
  /** Successful (200) responses completed inside the measured window. */
  readonly completed: number;
  readonly seconds: number;
  readonly ratePerSecond: number;
  /** Milliseconds, of the responses completed inside the window. */
  readonly latencyMs: LatencySummary;
  /** CPU the load process itself used during the window, in cores. */
  readonly loadCpuCores: number;
  readonly preGenerated: number;
  readonly preGenerationSeconds: number;
  /** Request sets signed during the run because the pre-generated ones ran out. */
  readonly signedDuringRun: number;
}

export type FromLoadGenerator =
  | { readonly type: "ready" }
  /** The measured window starts (after the warm-up) or ends: the parent samples CPU counters. */
  | { readonly type: "window"; readonly edge: "start" | "end" }
  | { readonly type: "result"; readonly result: LoadResult }
  | { readonly type: "failed"; readonly message: string };
