import { describe, expect, it } from "vitest";
import { type CpuSnapshot, cpuSharesBetween } from "./cpu-sampler.js";

const snapshot = (
  total: number,
  idle: number,
  steal: number,
  processes: [number, string, number][],
): CpuSnapshot => ({
  total,
  idle,
  steal,
  cpus: 2,
  processes: new Map(processes.map(([pid, comm, jiffies]) => [pid, { comm, jiffies }])),
});

describe("cpuSharesBetween", () => {
  it("splits the busy cores of a window into the groups, the rest and steal", () => {
    // 2 CPUs × 100 jiffies: 120 busy, 60 idle, 20 stolen.
    const before = snapshot(1000, 500, 0, [
      [10, "node", 100],
      [11, "node", 50],
      [20, "redis-server", 5],
    ]);
    const after = snapshot(1200, 560, 20, [
      [10, "node", 160],
      [11, "node", 70],
      [20, "redis-server", 15],
      [30, "node", 10], // started inside the window
    ]);
    const shares = cpuSharesBetween(before, after, [
      { name: "service", matches: (pid) => pid === 10 || pid === 30 },
      { name: "redis", matches: (_pid, comm) => comm === "redis-server" },
    ]);
    expect(shares.groups.get("service")).toBeCloseTo(0.7);
    expect(shares.groups.get("redis")).toBeCloseTo(0.1);
    expect(shares.steal).toBeCloseTo(0.2);
    expect(shares.busy).toBeCloseTo(1.2);
    expect(shares.other).toBeCloseTo(0.4); // pid 11 and whatever no group claims
    expect(shares.cpus).toBe(2);
  });
});
