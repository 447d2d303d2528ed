/** What a benchmark's `main` can register to be undone however the run ends. */
export interface BenchmarkScope {
  /** Runs `cleanup` at the end (newest first): after success, failure or Ctrl-C. */
  defer(cleanup: () => Promise<void> | void): void;
  /** Whether the run was interrupted (SIGINT/SIGTERM): children may already be gone. */
  readonly interrupted: boolean;
}

/**
 * Runs a benchmark: `main`, then every deferred cleanup once, newest first, whatever fails. A
 * failure prints `BENCHMARK FAILED: …` and exits 1; SIGINT or SIGTERM cleans up and exits 130
 * (the children die with the terminal's process group, which is no failure to report).
 */
export async function runBenchmark(main: (scope: BenchmarkScope) => Promise<void>): Promise<void> {
  const cleanups: (() => Promise<void> | void)[] = [];
  let cleaningUp: Promise<void> | undefined;
  let interrupted = false;
  const cleanUp = (): Promise<void> => {
    cleaningUp ??= (async () => {
      for (const cleanup of cleanups.splice(0).reverse()) {
        try {
          await cleanup();
        } catch (error) {
          console.error("cleanup failed:", error instanceof Error ? error.message : error);
        }
      }
    })();
    return cleaningUp;
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      interrupted = true;
      console.error(`\n${signal}: cleaning up`);
      void cleanUp().then(() => process.exit(130));
    });
  }
  const scope: BenchmarkScope = {
    defer: (cleanup) => {
      cleanups.push(cleanup);
    },
    get interrupted() {
      return interrupted;
    },
  };
  try {
    await main(scope);
    await cleanUp();
  } catch (error) {
    if (!interrupted)
      console.error(
        `\nBENCHMARK FAILED: ${error instanceof Error ? error.message : String(error)}`,
      );
    await cleanUp();
    process.exitCode = 1;
  }
}
