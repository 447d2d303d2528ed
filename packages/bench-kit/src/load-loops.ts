import { Agent, type OutgoingHttpHeaders, request } from "node:http";
import { performance } from "node:perf_hooks";
import type { LatencySummary } from "./latency.js";
import type { MeasuredWindow } from "./load-process.js";
import { startWindow } from "./measured-window.js";

/** One request to send, prepared ahead of the run. */
export interface LoadRequest {
  readonly method: string;
  readonly path: string;
  readonly headers?: OutgoingHttpHeaders;
  readonly body?: string;
}

export interface LoadAnswer {
  readonly status: number;
  readonly text: string;
}

export interface LoadOptions {
  /** Base URLs of the service's processes; connection `i` goes to `targets[i % length]`. */
  readonly targets: readonly string[];
  readonly warmupMs: number;
  readonly durationMs: number;
  /** The next request; `undefined` when there are no more, which ends the run early. */
  readonly next: () => LoadRequest | undefined | Promise<LoadRequest | undefined>;
  /** Why an answer is wrong, or `undefined`: the first wrong answer fails the run. */
  readonly check: (answer: LoadAnswer) => string | undefined;
  /** Told when the measured window (after the warm-up) starts and ends. */
  readonly window?: MeasuredWindow;
}

export interface ClosedLoopOptions extends LoadOptions {
  /** Clients in flight, each on its own keep-alive connection. */
  readonly concurrency: number;
}

export interface OpenLoopOptions extends LoadOptions {
  /** Requests started per second, on schedule, whether or not earlier ones were answered. */
  readonly ratePerSecond: number;
  /** Keep-alive connections; a request finding them all busy waits (and that wait counts). */
  readonly connections: number;
}

export interface LoadMeasurement {
  /** Answers (all checked) counted in the measured window. */
  readonly completed: number;
  readonly seconds: number;
  readonly ratePerSecond: number;
  /** Milliseconds, of the answers counted. */
  readonly latencyMs: LatencySummary;
  /** CPU the load process itself used during the window, in cores. */
  readonly loadCpuCores: number;
  /**
   * How late the load process's event loop ran in the window (p99 and max, ms, at 1 ms
   * resolution): a stalled load process sends late, and an open loop counts that as latency.
   */
  readonly loadEventLoopDelayMs: { readonly p99: number; readonly max: number };
  /** `next` ran dry before the planned end: the window ended there. */
  readonly endedEarly: boolean;
}

export interface OpenLoopMeasurement extends LoadMeasurement {
  /** Requests scheduled per second in the window. */
  readonly offeredPerSecond: number;
}

/**
 * Closed-loop load: `concurrency` clients, each sending a request, waiting for its answer and
 * sending the next, on keep-alive connections. Latency runs from handing a request to its socket
 * to the end of its answer; as with any closed loop, a stalled server also slows the offered
 * load, so its p99 reads "with this many clients", not "at this rate" (see {@link runOpenLoop}).
 */
export async function runClosedLoop(options: ClosedLoopOptions): Promise<LoadMeasurement> {
  if (options.targets.length === 0 || options.concurrency < 1)
    throw new TypeError("nothing to load");
  const targets = openTargets(options.targets, options.concurrency);
  const window = startWindow(options);
  const latencies: number[] = [];
  let failure: Error | undefined;
  let dry = false;
  const client = async (index: number): Promise<void> => {
    const target = targets[index % targets.length] as Target;
    while (failure === undefined && !dry && !window.over()) {
      const next = await options.next();
      if (next === undefined) {
        dry = true;
        return;
      }
      const sentAt = performance.now();
      const answer = await send(target, next);
      const doneAt = performance.now();
      const problem = options.check(answer);
      if (problem !== undefined) {
        failure ??= new Error(problem);
        return;
      }
      if (window.counts(doneAt)) latencies.push(doneAt - sentAt);
    }
  };
  try {
    await Promise.all(
      Array.from({ length: options.concurrency }, (_, index) =>
        client(index).catch((error: unknown) => {
          failure ??= error instanceof Error ? error : new Error(String(error));
        }),
      ),
    );
  } finally {
    window.finish();
    for (const target of targets) target.agent.destroy();
  }
  if (failure !== undefined) throw failure;
  return window.measurement(latencies, dry);
}

/**
 * Open-loop load: requests start on a fixed schedule (`ratePerSecond`), however slowly earlier
 * ones are answered, so a stall shows in the latency instead of slowing the load. Latency runs
 * from each request's scheduled start (queueing for a busy connection included) to the end of
 * its answer; the requests scheduled inside the window are the ones counted, all awaited.
 */
export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopMeasurement> {
  if (options.targets.length === 0 || options.ratePerSecond <= 0 || options.connections < 1)
    throw new TypeError("nothing to load");
  const targets = openTargets(options.targets, options.connections);
  const window = startWindow(options);
  const intervalMs = 1000 / options.ratePerSecond;
  const latencies: number[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: Error | undefined;
  let dry = false;
  let scheduled = 0;
  let offered = 0;
  const fire = async (target: Target, due: number): Promise<void> => {
    const next = await options.next();
    if (next === undefined) {
      dry = true;
      return;
    }
    const answer = await send(target, next);
    const doneAt = performance.now();
    const problem = options.check(answer);
    if (problem !== undefined) failure ??= new Error(problem);
    else if (window.counts(due)) latencies.push(doneAt - due);
  };
  const begin = performance.now();
  try {
    await new Promise<void>((done) => {
      // A 1 ms timer, not a busy loop: the load process must leave the machine's cores alone.
      const tick = () => {
        const now = performance.now();
        while (failure === undefined && !dry && !window.over()) {
          const due = begin + scheduled * intervalMs;
          if (due > now) break;
          const target = targets[scheduled % targets.length] as Target;
          scheduled++;
          if (window.counts(due)) offered++;
          const sent = fire(target, due).catch((error: unknown) => {
            failure ??= error instanceof Error ? error : new Error(String(error));
          });
          inFlight.add(sent);
          void sent.finally(() => inFlight.delete(sent));
        }
        if (failure !== undefined || dry || window.over()) done();
        else setTimeout(tick, 1);
      };
      tick();
    });
    await Promise.all(inFlight);
  } finally {
    window.finish();
    for (const target of targets) target.agent.destroy();
  }
  if (failure !== undefined) throw failure;
  const measurement = window.measurement(latencies, dry);
  return { ...measurement, offeredPerSecond: offered / measurement.seconds };
}

const HEALTH_LIVE: LoadRequest = { method: "GET", path: "/health/live" };

/**
 * The floor of a service's HTTP stack and of the load generator: a closed loop of `GET
 * /health/live`, which every AgentAuth service answers without touching anything else.
 */
export function runLivenessLoop(
  options: Omit<ClosedLoopOptions, "next" | "check">,
): Promise<LoadMeasurement> {
  return runClosedLoop({
    ...options,
    next: () => HEALTH_LIVE,
    check: (answer) =>
      answer.status === 200 ? undefined : `GET ${HEALTH_LIVE.path} answered ${answer.status}`,
  });
}

interface Target {
  readonly host: string;
  readonly port: number;
  readonly agent: Agent;
}

function openTargets(urls: readonly string[], connections: number): Target[] {
  const perTarget = Math.max(1, Math.ceil(connections / urls.length));
  return urls.map((target) => {
    const url = new URL(target);
    return {
      host: url.hostname,
      port: Number(url.port),
      agent: new Agent({ keepAlive: true, maxSockets: perTarget }),
    };
  });
}

function send(target: Target, prepared: LoadRequest): Promise<LoadAnswer> {
  return new Promise((resolve, reject) => {
    const headers: OutgoingHttpHeaders = { ...prepared.headers };
    if (prepared.body !== undefined && headers["content-length"] === undefined)
      headers["content-length"] = Buffer.byteLength(prepared.body);
    const req = request(
      {
        host: target.host,
        port: target.port,
        method: prepared.method,
        path: prepared.path,
        headers,
        agent: target.agent,
      },
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
    req.end(prepared.body);
  });
}
