import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { shutdownOnSignals } from "./shutdown-on-signals.js";

describe("shutdownOnSignals", () => {
  it("shuts down once when SIGTERM and SIGINT both arrive", async () => {
    const source = new EventEmitter();
    const calls: string[] = [];
    let finish: () => void = () => {};
    const stop = shutdownOnSignals(
      (signal) => {
        calls.push(signal);
        return new Promise<void>((resolve) => {
          finish = resolve;
        });
      },
      { source },
    );
    source.emit("SIGTERM", "SIGTERM");
    source.emit("SIGINT", "SIGINT");
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toEqual(["SIGTERM"]);
    const joined = stop("SIGINT");
    finish();
    await joined;
    expect(calls).toEqual(["SIGTERM"]);
  });

  it("catches each signal once, so sending the same one again gets Node's default", () => {
    const source = new EventEmitter();
    shutdownOnSignals(async () => {}, { source });
    expect(source.listenerCount("SIGINT")).toBe(1);
    expect(source.listenerCount("SIGTERM")).toBe(1);
    source.emit("SIGINT", "SIGINT");
    expect(source.listenerCount("SIGINT")).toBe(0);
    // SIGTERM stays caught: it joins the shutdown under way instead of killing the process.
    expect(source.listenerCount("SIGTERM")).toBe(1);
  });

  it("answers the shutdown's failure to whoever waits for it, once", async () => {
    const source = new EventEmitter();
    let runs = 0;
    const stop = shutdownOnSignals(
      async () => {
        runs++;
        throw new Error("database would not close");
      },
      { source },
    );
    source.emit("SIGINT", "SIGINT");
    await expect(stop("SIGTERM")).rejects.toThrow("database would not close");
    expect(runs).toBe(1);
  });
});
