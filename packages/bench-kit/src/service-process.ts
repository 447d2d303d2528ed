import { spawn } from "node:child_process";
import { httpRequest } from "./http-request.js";
import type { BenchmarkScope } from "./run-benchmark.js";

export interface StartServiceProcessOptions {
  /** What to call it in messages, e.g. "registry". */
  readonly name: string;
  /** The service's built entry point (`dist/src/main.js`). */
  readonly mainJs: string;
  readonly env: NodeJS.ProcessEnv;
  /** Where it listens; it is started once `GET <baseUrl>/health/ready` answers 200. */
  readonly baseUrl: string;
  /** When set, the process runs with `--cpu-prof` and writes its profile there on exit. */
  readonly cpuProfileDir?: string | undefined;
  /** A further condition on its output (stdout and stderr) before it counts as started. */
  readonly startedWhen?: (output: string) => boolean;
  /** Default 60 s. */
  readonly timeoutMs?: number;
}

/** A service running in a child process of the benchmark. */
export interface ServiceProcess {
  readonly name: string;
  readonly pid: number;
  readonly baseUrl: string;
  /** The last 20,000 characters it wrote to stdout and stderr. */
  readonly output: string;
  /** Throws, quoting its output, if it has exited. */
  assertRunning(): void;
  /** SIGTERM (a graceful shutdown, which also writes a CPU profile), then SIGKILL after 10 s. */
  stop(): Promise<void>;
}

/**
 * Starts a service from its built `main.js`, as it runs in production, and waits until it is
 * ready. It is stopped when the benchmark ends (`scope.defer`).
 */
export async function startServiceProcess(
  scope: BenchmarkScope,
  options: StartServiceProcessOptions,
): Promise<ServiceProcess> {
  const { name, baseUrl } = options;
  const child = spawn(
    process.execPath,
    [
      ...(options.cpuProfileDir === undefined
        ? []
        : ["--cpu-prof", `--cpu-prof-dir=${options.cpuProfileDir}`]),
      options.mainJs,
    ],
    { env: options.env, stdio: ["ignore", "pipe", "pipe"] },
  );
  if (child.pid === undefined) throw new Error(`could not start the ${name}`);
  const pid = child.pid;
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let exit: string | undefined;
  const exited = new Promise<void>((done) =>
    child.once("exit", (code, signal) => {
      exit = `exited (${signal ?? code})`;
      done();
    }),
  );
  const stop = async () => {
    if (exit !== undefined) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  };
  scope.defer(stop);
  const deadline = performance.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    if (exit !== undefined) throw new Error(`the ${name} ${exit}:\n${output}`);
    if (performance.now() > deadline) throw new Error(`the ${name} did not get ready:\n${output}`);
    const ready = await httpRequest(`${baseUrl}/health/ready`).then(
      (answer) => answer.status === 200,
      () => false,
    );
    if (ready && (options.startedWhen?.(output) ?? true)) {
      return {
        name,
        pid,
        baseUrl,
        get output() {
          return output;
        },
        assertRunning() {
          if (exit !== undefined) throw new Error(`a ${name} process ${exit}:\n${output}`);
        },
        stop,
      };
    }
    await new Promise((done) => setTimeout(done, 100));
  }
}
