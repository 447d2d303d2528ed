import { fork } from "node:child_process";
import {
  type CpuGroup,
  type CpuShares,
  type CpuSnapshot,
  cpuSharesBetween,
  takeCpuSnapshot,
} from "./cpu-sampler.js";
import type { BenchmarkScope } from "./run-benchmark.js";

/** How a load process marks the window it measures, so its parent can sample CPU at the edges. */
export interface MeasuredWindow {
  start(): void;
  end(): void;
}

/**
 * What a load process can be asked to do: named async methods taking one structured-cloneable
 * input (and the window to mark, for those that measure) and resolving to a cloneable output.
 */
export type LoadProcessMethods = Record<
  string,
  (input: never, window: MeasuredWindow) => Promise<unknown>
>;

type Input<M extends LoadProcessMethods, K extends keyof M> = Parameters<M[K]>[0];
type Output<M extends LoadProcessMethods, K extends keyof M> = Awaited<ReturnType<M[K]>>;

type ToLoadProcess = {
  readonly type: "call";
  readonly id: number;
  readonly method: string;
  readonly input: unknown;
};
type FromLoadProcess =
  | { readonly type: "window"; readonly edge: "start" | "end" }
  | { readonly type: "return"; readonly id: number; readonly output: unknown }
  | { readonly type: "throw"; readonly id: number; readonly message: string };

/**
 * The load process's side: answers its parent's calls with `methods`. Call it once, at the top
 * of the forked module. The process ends when its parent goes away.
 */
export function serveLoadProcess(methods: LoadProcessMethods): void {
  const send = (message: FromLoadProcess) => process.send?.(message);
  const window: MeasuredWindow = {
    start: () => send({ type: "window", edge: "start" }),
    end: () => send({ type: "window", edge: "end" }),
  };
  process.on("message", (message: ToLoadProcess) => {
    const method = methods[message.method];
    if (method === undefined) {
      send({ type: "throw", id: message.id, message: `no method ${message.method}` });
      return;
    }
    method(message.input as never, window).then(
      (output) => send({ type: "return", id: message.id, output }),
      (error: unknown) =>
        send({
          type: "throw",
          id: message.id,
          message: error instanceof Error ? error.message : String(error),
        }),
    );
  });
  process.once("disconnect", () => process.exit(0));
}

/** How the CPU time of a measured window is split into groups of processes. */
export interface CpuAccounting {
  /** Processes known only at run time (a database's backends), asked at both window edges. */
  readonly dynamicPids?: () => Promise<ReadonlySet<number>>;
  groups(dynamicPids: ReadonlySet<number>): CpuGroup[];
}

/** A call's output, with the CPU each group used inside the window the call marked. */
export interface Measured<T> {
  readonly output: T;
  readonly cpu: CpuShares | undefined;
  /** The window on the monotonic clock of `process.hrtime` and of V8's CPU profiles, in µs. */
  readonly windowMicros: readonly [number, number] | undefined;
}

/** The parent's handle on a forked load process. */
export interface LoadProcess<M extends LoadProcessMethods> {
  readonly pid: number;
  call<K extends keyof M & string>(method: K, input: Input<M, K>): Promise<Output<M, K>>;
  /** {@link call}, reading every process's CPU counters when the window starts and ends. */
  measure<K extends keyof M & string>(
    method: K,
    input: Input<M, K>,
    accounting: CpuAccounting,
  ): Promise<Measured<Output<M, K>>>;
  stop(): Promise<void>;
}

/**
 * Forks `script` (a module that calls {@link serveLoadProcess}) as the benchmark's load process,
 * so generating load never competes with the measured service for its event loop (`execArgv`:
 * its Node options, e.g. `--expose-gc` to collect before a run). One call is measured at a time;
 * it is killed when the benchmark ends.
 */
export function startLoadProcess<M extends LoadProcessMethods>(
  scope: BenchmarkScope,
  script: string,
  options: { readonly execArgv?: readonly string[] } = {},
): LoadProcess<M> {
  const child = fork(script, [], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    ...(options.execArgv === undefined ? {} : { execArgv: [...options.execArgv] }),
  });
  if (child.pid === undefined) throw new Error("could not start the load process");
  let exit: string | undefined;
  let nextId = 0;
  const pending = new Map<number, { resolve(output: unknown): void; reject(error: Error): void }>();
  let onWindow: ((edge: "start" | "end") => void) | undefined;
  child.on("message", (message: FromLoadProcess) => {
    if (message.type === "window") {
      onWindow?.(message.edge);
      return;
    }
    const call = pending.get(message.id);
    pending.delete(message.id);
    if (message.type === "return") call?.resolve(message.output);
    else call?.reject(new Error(message.message));
  });
  child.once("exit", (code, signal) => {
    exit = `the load process exited (${signal ?? code})`;
    for (const call of pending.values()) call.reject(new Error(exit));
    pending.clear();
  });
  const stop = async () => {
    if (exit !== undefined) return;
    const gone = new Promise((done) => child.once("exit", done));
    child.kill("SIGKILL");
    await gone;
  };
  scope.defer(stop);

  const call = <K extends keyof M & string>(method: K, input: Input<M, K>) =>
    new Promise<Output<M, K>>((resolve, reject) => {
      if (exit !== undefined) {
        reject(new Error(exit));
        return;
      }
      const id = nextId++;
      pending.set(id, { resolve: resolve as (output: unknown) => void, reject });
      child.send({ type: "call", id, method, input } satisfies ToLoadProcess);
    });

  return {
    pid: child.pid,
    call,
    async measure(method, input, accounting) {
      let before: CpuSnapshot | undefined;
      let after: CpuSnapshot | undefined;
      const micros: number[] = [];
      const dynamicPids: Promise<ReadonlySet<number>>[] = [];
      onWindow = (edge) => {
        micros.push(Number(process.hrtime.bigint() / 1000n));
        if (edge === "start") before = takeCpuSnapshot();
        else after = takeCpuSnapshot();
        // Without the list, those processes' CPU reads 0 rather than failing the run.
        if (accounting.dynamicPids !== undefined)
          dynamicPids.push(accounting.dynamicPids().catch(() => new Set<number>()));
      };
      let output: Output<M, typeof method>;
      try {
        output = await call(method, input);
      } finally {
        onWindow = undefined;
      }
      const pids = new Set<number>();
      for (const set of await Promise.all(dynamicPids)) for (const pid of set) pids.add(pid);
      const [start, end] = micros;
      return {
        output,
        cpu:
          before === undefined || after === undefined
            ? undefined
            : cpuSharesBetween(before, after, accounting.groups(pids)),
        windowMicros: start === undefined || end === undefined ? undefined : [start, end],
      };
    },
    stop,
  };
}
