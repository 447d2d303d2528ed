import { describe, expect, it } from "vitest";
import { serializeSaves } from "./serialize-saves.js";

/** A write that stays open until `finish` is called, recording the state it read. */
function recordingWrites(state: () => number) {
  const started: number[] = [];
  const finishers: Array<(error?: Error) => void> = [];
  let running = 0;
  let mostAtOnce = 0;
  const write = () => {
    started.push(state());
    running += 1;
    mostAtOnce = Math.max(mostAtOnce, running);
    return new Promise<void>((resolve, reject) => {
      finishers.push((error) => {
        running -= 1;
        if (error === undefined) resolve();
        else reject(error);
      });
    });
  };
  const finishNext = async (error?: Error) => {
    await new Promise((resolve) => setImmediate(resolve));
    finishers.shift()?.(error);
  };
  return { write, started, finishNext, mostAtOnce: () => mostAtOnce };
}

describe("serializeSaves", () => {
  it("runs one write at a time, joins waiting callers, and writes the last state last", async () => {
    let state = 1;
    const writes = recordingWrites(() => state);
    const save = serializeSaves(writes.write);
    const first = save();
    await new Promise((resolve) => setImmediate(resolve));
    state = 2;
    const second = save();
    state = 3;
    const third = save();
    expect(third).toBe(second);
    await writes.finishNext();
    await first;
    await writes.finishNext();
    await Promise.all([second, third]);
    expect(writes.started).toEqual([1, 3]);
    expect(writes.mostAtOnce()).toBe(1);
  });

  it("rejects the callers of a failed write, and writes again for the next caller", async () => {
    let state = 1;
    const writes = recordingWrites(() => state);
    const save = serializeSaves(writes.write);
    const failing = save();
    await writes.finishNext(new Error("disk full"));
    await expect(failing).rejects.toThrow("disk full");
    state = 2;
    const next = save();
    await writes.finishNext();
    await next;
    expect(writes.started).toEqual([1, 2]);
  });
});
