import type { LoadMeasurement } from "@agentauth/bench-kit";
import type { BenchGrant } from "./approved-grants.js";

/** `token`: refresh-token grants at `POST /oauth/token`; `live`: `GET /health/live`. */
export type Workload = "token" | "live";

export interface TokenLoadInit {
  readonly publicUrl: string;
  readonly grants: readonly BenchGrant[];
}

export interface TokenLoadRun {
  readonly workload: Workload;
  /** Base URLs of the registry processes; connection `i` goes to `targets[i % length]`. */
  readonly targets: readonly string[];
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Tokens/s to pre-generate proofs for; more are signed on the fly (and counted) if it runs dry. */
  readonly expectedRate: number;
}

export interface TokenLoadResult extends LoadMeasurement {
  readonly workload: Workload;
  readonly concurrency: number;
  readonly processes: number;
  readonly preGenerated: number;
  readonly preGenerationSeconds: number;
  /** Requests signed during the run because the pre-generated ones ran out. */
  readonly signedDuringRun: number;
}
