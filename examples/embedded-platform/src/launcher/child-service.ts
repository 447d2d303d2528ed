import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";

/** How a child process ended. */
export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A service the launcher runs as a child process. */
export interface ChildService {
  readonly name: string;
  readonly pid: number | undefined;
  /** Settles when the process has exited. */
  readonly exited: Promise<ChildExit>;
  /** Whether it has exited. */
  readonly done: boolean;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<ChildExit>;
}

export interface StartChildOptions {
  readonly name: string;
  /** The built JavaScript file to run with this Node.js. */
  readonly script: string;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Each line it writes, stdout and stderr. */
  readonly onLine: (line: string) => void;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Runs `script` in a process group of its own, so a Ctrl+C reaches only the launcher, which
 * stops its children in order; if the launcher itself dies, its exit hook kills them.
 */
export function startChild(options: StartChildOptions): ChildService {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => {
      for (const child of running) child.kill("SIGKILL");
    });
  }
  const child = spawn(process.execPath, [options.script], {
    cwd: options.cwd,
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  running.add(child);
  let done = false;
  const exited = new Promise<ChildExit>((resolve) => {
    child.once("exit", (code, signal) => {
      done = true;
      running.delete(child);
      resolve({ code, signal });
    });
    child.once("error", () => {
      // A process that could not be spawned: `exit` may not follow.
      done = true;
      running.delete(child);
      resolve({ code: 127, signal: null });
    });
  });
  const closed: Promise<unknown>[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
    lines.on("line", options.onLine);
    closed.push(once(lines, "close"));
  }
  // Settled once the output is read to its end too, so no last line is lost.
  const finished = exited.then(async (exit) => {
    await Promise.all(closed);
    return exit;
  });

  return {
    name: options.name,
    pid: child.pid,
    exited: finished,
    get done() {
      return done;
    },
    async stop(graceMs = 15_000) {
      if (!done) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      try {
        return await finished;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
