import { connect, type Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { HttpResponseReader } from "./http-response-reader.js";
import type { LatencySummary } from "./latency.js";
import { summarizeLatencies } from "./latency.js";
import type { LoadMeasurement, OpenLoopMeasurement } from "./load-loops.js";
import { startWindow, type WindowOptions } from "./measured-window.js";
import { serializeHttpRequest } from "./raw-http-request.js";

/** Raw-socket load: requests serialised ahead of time, one in flight per connection. */
export interface RawLoadOptions extends WindowOptions {
  /** Base URLs (`http://host:port`) of the service's processes; connection `i` goes to `i % n`. */
  readonly targets: readonly string[];
  /** Keep-alive connections, each carrying one request at a time. */
  readonly connections: number;
  /** The next request, serialised (`serializeHttpRequest`); `undefined` ends the run early. */
  readonly next: () => Buffer | undefined;
  /** Why an answer is wrong, or `undefined`: the first wrong answer fails the run. */
  readonly check: (status: number, body: Buffer) => string | undefined;
}

export interface RawOpenLoopOptions extends RawLoadOptions {
  /** Requests started per second, on schedule, whether or not earlier ones were answered. */
  readonly ratePerSecond: number;
}

interface Connection {
  readonly socket: Socket;
  /** When the request in flight was sent (closed loop) or was due (open loop); NaN when idle. */
  since: number;
  /** When the request in flight was written. */
  sentAt: number;
}

/**
 * Told of each checked answer: on which connection, from when it counts, when it was written
 * and when it ended.
 */
type Answered = (connection: Connection, since: number, sentAt: number, at: number) => void;

/**
 * A load generator as cheap as wrk, so that on a small machine the load process leaves the
 * measured service its CPU: plain `net` sockets, keep-alive, requests serialised before the run,
 * one write per request, and of each response only its status line, `Content-Length` and body
 * read — yet every answer goes through `check`, and the first wrong one, a connection closed by
 * the service or a response that cannot be framed fails the run.
 *
 * Closed loop: each connection sends its next request as soon as the previous one is answered;
 * latency runs from the write to the end of the response, counted for responses that end inside
 * the window.
 */
export function runRawClosedLoop(options: RawLoadOptions): Promise<LoadMeasurement> {
  const latencies: number[] = [];
  return drive(options, latencies, (pool) => {
    for (const connection of pool.connections) pool.send(connection, performance.now());
    return {
      answered(connection, since, _sentAt, at) {
        if (pool.window.counts(at)) latencies.push(at - since);
        if (!pool.stopping()) pool.send(connection, performance.now());
      },
      stop() {},
    };
  }).then(({ measurement }) => measurement);
}

/**
 * Open loop: requests start on a fixed schedule (`ratePerSecond`, on a 1 ms timer), however
 * slowly earlier ones are answered; a request due while every connection is busy waits for the
 * first free one, and that wait counts. Latency runs from each request's scheduled time to the
 * end of its response, for the requests scheduled inside the window, all awaited.
 */
export interface RawOpenLoopMeasurement extends OpenLoopMeasurement {
  /**
   * The same answers' latency from when each request was actually written: the service's
   * response time alone, without the load process's own lateness (its 1 ms timer, its stalls)
   * or a wait for a free connection, which `latencyMs` counts.
   */
  readonly fromSendLatencyMs: LatencySummary;
}

export async function runRawOpenLoop(options: RawOpenLoopOptions): Promise<RawOpenLoopMeasurement> {
  if (!(options.ratePerSecond > 0)) throw new TypeError("ratePerSecond must be positive");
  const intervalMs = 1000 / options.ratePerSecond;
  const latencies: number[] = [];
  const fromSend: number[] = [];
  let offered = 0;
  const { measurement } = await drive(options, latencies, (pool) => {
    const idle = [...pool.connections];
    // Due times waiting for a free connection, oldest first.
    const waiting: number[] = [];
    let waitingFrom = 0;
    let scheduled = 0;
    const begin = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const tick = () => {
      const now = performance.now();
      while (!pool.stopping()) {
        const due = begin + scheduled * intervalMs;
        if (due > now) break;
        scheduled++;
        if (pool.window.counts(due)) offered++;
        const connection = idle.pop();
        if (connection === undefined) waiting.push(due);
        else pool.send(connection, due);
      }
      if (pool.stopping()) pool.settle();
      else timer = setTimeout(tick, 1);
    };
    tick();
    return {
      answered(connection, since, sentAt, at) {
        if (pool.window.counts(since)) {
          latencies.push(at - since);
          fromSend.push(at - sentAt);
        }
        if (waitingFrom < waiting.length) {
          pool.send(connection, waiting[waitingFrom++] as number);
          if (waitingFrom > 1024 && waitingFrom * 2 > waiting.length) {
            waiting.splice(0, waitingFrom);
            waitingFrom = 0;
          }
        } else {
          idle.push(connection);
          if (pool.stopping()) pool.settle();
        }
      },
      stop() {
        clearTimeout(timer);
      },
    };
  });
  return {
    ...measurement,
    offeredPerSecond: offered / measurement.seconds,
    fromSendLatencyMs: summarizeLatencies(fromSend),
  };
}

interface Pool {
  readonly connections: readonly Connection[];
  readonly window: ReturnType<typeof startWindow>;
  /** Sends the next request on `connection` (it must be idle), latency counted from `since`. */
  send(connection: Connection, since: number): void;
  /** Whether new requests should no longer be sent (the window is over, a failure, no more). */
  stopping(): boolean;
  /** Ends the run if it is stopping and no request is in flight. */
  settle(): void;
}

interface Driver {
  readonly answered: Answered;
  stop(): void;
}

async function drive(
  options: RawLoadOptions,
  latencies: number[],
  start: (pool: Pool) => Driver,
): Promise<{ measurement: LoadMeasurement }> {
  if (options.targets.length === 0 || !(options.connections >= 1))
    throw new TypeError("nothing to load");
  const sockets = await Promise.all(
    Array.from({ length: options.connections }, (_, index) =>
      open(options.targets[index % options.targets.length] as string),
    ),
  );
  const connections: Connection[] = sockets.map((socket) => ({
    socket,
    since: Number.NaN,
    sentAt: Number.NaN,
  }));
  const window = startWindow(options);
  let failure: Error | undefined;
  let dry = false;
  let inFlight = 0;
  let over = false;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const fail = (error: Error) => {
    if (over) return;
    failure ??= error;
    finish();
  };
  const pool: Pool = {
    connections,
    window,
    send(connection, since) {
      const request = options.next();
      if (request === undefined) {
        dry = true;
        pool.settle();
        return;
      }
      connection.since = since;
      connection.sentAt = performance.now();
      inFlight++;
      connection.socket.write(request);
    },
    stopping: () => failure !== undefined || dry || window.over(),
    settle() {
      if (inFlight === 0 && pool.stopping()) finish();
    },
  };
  const driver = start(pool);
  for (const connection of connections) {
    const reader = new HttpResponseReader((status, body) => {
      const at = performance.now();
      const since = connection.since;
      if (Number.isNaN(since)) {
        fail(new Error(`An answer came with no request in flight: HTTP ${status}`));
        return;
      }
      connection.since = Number.NaN;
      inFlight--;
      const problem = options.check(status, body);
      if (problem !== undefined) {
        fail(new Error(problem));
        return;
      }
      driver.answered(connection, since, connection.sentAt, at);
      pool.settle();
    });
    connection.socket.on("data", (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch (error) {
        fail(error as Error);
      }
    });
    connection.socket.on("close", () => {
      if (!pool.stopping() || !Number.isNaN(connection.since) || reader.midResponse)
        fail(new Error("The service closed a connection during the run"));
    });
    connection.socket.on("error", (error) => fail(error));
  }
  // The window's end stops new requests; the run ends when those in flight are answered.
  const stopTimer = setInterval(() => {
    if (pool.stopping()) pool.settle();
  }, 20);
  try {
    await finished;
  } finally {
    over = true;
    clearInterval(stopTimer);
    driver.stop();
    window.finish();
    for (const socket of sockets) socket.destroy();
  }
  if (failure !== undefined) throw failure;
  return { measurement: window.measurement(latencies, dry) };
}

function open(target: string): Promise<Socket> {
  const url = new URL(target);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port), noDelay: true });
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/**
 * The floor of a service's HTTP stack and of this load generator: a closed loop of `GET
 * /health/live`, which every AgentAuth service answers without touching anything else.
 */
export function runRawLivenessLoop(
  options: Omit<RawLoadOptions, "next" | "check">,
): Promise<LoadMeasurement> {
  const request = serializeHttpRequest("localhost", { method: "GET", path: "/health/live" });
  return runRawClosedLoop({
    ...options,
    next: () => request,
    check: (status) => (status === 200 ? undefined : `GET /health/live answered ${status}`),
  });
}
