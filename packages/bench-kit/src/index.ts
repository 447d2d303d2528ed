// @agentauth/bench-kit — what the services' benchmarks share (private; not a published package):
// running a benchmark with cleanups that always run, starting services from their built main.js,
// a forked load process driven over IPC, closed- and open-loop HTTP load (through node:http, or
// on raw sockets with requests serialised ahead, as cheap as wrk), latency percentiles,
// CPU per process group from Linux's /proc, the bare ES256 baseline and a node:crypto agent key.

export type { CpuGroup, CpuShares, CpuSnapshot } from "./cpu-sampler.js";
export { cpuSharesBetween, takeCpuSnapshot } from "./cpu-sampler.js";
export type { Es256Baseline } from "./es256-baseline.js";
export { measureEs256Baseline } from "./es256-baseline.js";
export type { HttpAnswer, HttpRequestOptions } from "./http-request.js";
export { expectJson, httpRequest } from "./http-request.js";
export type { OnHttpResponse } from "./http-response-reader.js";
export { HttpResponseReader } from "./http-response-reader.js";
export type { LatencySummary } from "./latency.js";
export { summarizeLatencies } from "./latency.js";
export type {
  ClosedLoopOptions,
  LoadAnswer,
  LoadMeasurement,
  LoadOptions,
  LoadRequest,
  OpenLoopMeasurement,
  OpenLoopOptions,
} from "./load-loops.js";
export { runClosedLoop, runLivenessLoop, runOpenLoop } from "./load-loops.js";
export type {
  CpuAccounting,
  LoadProcess,
  LoadProcessMethods,
  Measured,
  MeasuredWindow,
} from "./load-process.js";
export { serveLoadProcess, startLoadProcess } from "./load-process.js";
export type { WindowOptions } from "./measured-window.js";
export type { BenchAgentKey } from "./node-dpop-key.js";
export { createNodeDpopKey } from "./node-dpop-key.js";
export { serializeHttpRequest } from "./raw-http-request.js";
export type {
  RawLoadOptions,
  RawOpenLoopMeasurement,
  RawOpenLoopOptions,
} from "./raw-load-loops.js";
export { runRawClosedLoop, runRawLivenessLoop, runRawOpenLoop } from "./raw-load-loops.js";
export type { RequestQueue } from "./request-queue.js";
export { createRequestQueue } from "./request-queue.js";
export type { BenchmarkScope } from "./run-benchmark.js";
export { runBenchmark } from "./run-benchmark.js";
export type { ServiceProcess, StartServiceProcessOptions } from "./service-process.js";
export { startServiceProcess } from "./service-process.js";
export {
  describeMachine,
  describeUrl,
  freePort,
  randomLoopbackAddress,
  readIntegerList,
  readOptional,
  readPositiveNumber,
} from "./settings.js";
