import { type IntervalHistogram, monitorEventLoopDelay, performance } from "node:perf_hooks";
import { summarizeLatencies } from "./latency.js";
import type { LoadMeasurement } from "./load-loops.js";
import type { MeasuredWindow } from "./load-process.js";

/** The timing of a run: a warm-up, then the measured window. */
export interface WindowOptions {
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Told when the measured window (after the warm-up) starts and ends. */
  readonly window?: MeasuredWindow | undefined;
}

/**
 * The measured window of one run: it opens after the warm-up and closes after the duration, or
 * earlier when the run ends early (`finish`). It tells `options.window` its edges and measures
 * the load process's own CPU between them, and how late its event loop ran (a load process that
 * stalls sends late, which an open loop counts as the service's latency).
 */
export function startWindow(options: WindowOptions) {
  const plannedEnd = performance.now() + options.warmupMs + options.durationMs;
  let openedAt: number | undefined;
  let closedAt: number | undefined;
  let cpuAtOpen = process.cpuUsage();
  let cpuMicros = 0;
  let loopDelay: IntervalHistogram | undefined;
  let loopDelayMs = { p99: Number.NaN, max: Number.NaN };
  const open = () => {
    cpuAtOpen = process.cpuUsage();
    openedAt = performance.now();
    loopDelay = monitorEventLoopDelay({ resolution: 1 });
    loopDelay.enable();
    options.window?.start();
  };
  const close = () => {
    if (openedAt === undefined || closedAt !== undefined) return;
    const used = process.cpuUsage(cpuAtOpen);
    cpuMicros = used.user + used.system;
    closedAt = performance.now();
    if (loopDelay !== undefined) {
      loopDelay.disable();
      loopDelayMs = { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 };
    }
    options.window?.end();
  };
  const openTimer = setTimeout(open, options.warmupMs);
  const closeTimer = setTimeout(close, options.warmupMs + options.durationMs);
  return {
    /** Whether the run should stop starting requests. */
    over: () => closedAt !== undefined || performance.now() >= plannedEnd,
    /** Whether an event at `time` falls inside the window. */
    counts: (time: number) =>
      openedAt !== undefined && time >= openedAt && (closedAt === undefined || time <= closedAt),
    finish() {
      clearTimeout(openTimer);
      clearTimeout(closeTimer);
      close();
    },
    measurement(latencies: number[], endedEarly: boolean): LoadMeasurement {
      if (openedAt === undefined || closedAt === undefined)
        throw new Error("the run ended during its warm-up: too few prepared requests");
      const seconds = (closedAt - openedAt) / 1000;
      return {
        completed: latencies.length,
        seconds,
        ratePerSecond: latencies.length / seconds,
        latencyMs: summarizeLatencies(latencies),
        loadCpuCores: cpuMicros / 1e6 / seconds,
        loadEventLoopDelayMs: loopDelayMs,
        endedEarly,
      };
    },
  };
}
