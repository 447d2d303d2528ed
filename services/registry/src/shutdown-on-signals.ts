/** Where signals come from: `process`, or a stand-in in tests. */
export interface SignalSource {
  once(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

export interface ShutdownOnSignalsOptions {
  /** Default SIGINT and SIGTERM. */
  readonly signals?: readonly NodeJS.Signals[];
  /** Default `process`. */
  readonly source?: SignalSource;
}

/**
 * Runs `shutdown` once, when the first of `signals` arrives: any other of them arriving later
 * (SIGINT after SIGTERM, say) is answered with the same shutdown, never a second one. Each
 * signal is caught once, so the same signal sent again meets Node's default and ends the
 * process at once: a second Ctrl+C does not wait. Answers the function the signals call, which
 * resolves when the shutdown has.
 */
export function shutdownOnSignals(
  shutdown: (signal: NodeJS.Signals) => Promise<void>,
  options: ShutdownOnSignalsOptions = {},
): (signal: NodeJS.Signals) => Promise<void> {
  let stopping: Promise<void> | undefined;
  const stop = (signal: NodeJS.Signals): Promise<void> => {
    stopping ??= Promise.resolve().then(() => shutdown(signal));
    return stopping;
  };
  const source = options.source ?? process;
  for (const signal of options.signals ?? (["SIGINT", "SIGTERM"] as const)) {
    // `shutdown` reports its own failures; one it lets through is an unhandled rejection.
    source.once(signal, () => void stop(signal));
  }
  return stop;
}
