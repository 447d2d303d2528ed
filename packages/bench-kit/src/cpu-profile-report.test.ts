import { describe, expect, it } from "vitest";
import { type CpuProfile, reportCpuProfile } from "./cpu-profile-report.js";

// root → idle; root → handler (service) → verifyOneShot; root → handler → ioredis command
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: { functionName: "(root)", url: "" }, children: [2, 3] },
    { id: 2, callFrame: { functionName: "(idle)", url: "" } },
    {
      id: 3,
      callFrame: { functionName: "handle", url: "file:///app/services/verifier/dist/src/h.js" },
      children: [4, 5],
    },
    { id: 4, callFrame: { functionName: "verifyOneShot", url: "node:internal/crypto/sig" } },
    {
      id: 5,
      callFrame: {
        functionName: "sendCommand",
        url: "file:///app/node_modules/.pnpm/ioredis@6/node_modules/ioredis/built/Redis.js",
      },
    },
  ],
  startTime: 1000,
  // At 1010, 1020, … 1060: idle, sign, sign, redis, handler itself, idle.
  samples: [2, 4, 4, 5, 3, 2],
  timeDeltas: [10, 10, 10, 10, 10, 10],
};

describe("reportCpuProfile", () => {
  it("gives each sample to the first category its stack matches", () => {
    const shares = new Map(reportCpuProfile(profile).map((share) => [share.category, share]));
    expect(shares.get("idle")?.share).toBeCloseTo(2 / 6);
    expect(shares.get("signature checks (node:crypto verify)")?.busyShare).toBeCloseTo(2 / 4);
    expect(shares.get("Redis client (ioredis)")?.busyShare).toBeCloseTo(1 / 4);
    expect(shares.get("the service's own code")?.busyShare).toBeCloseTo(1 / 4);
  });

  it("counts only the samples inside the window", () => {
    const shares = reportCpuProfile(profile, 1020, 1030);
    expect(shares).toEqual([
      { category: "signature checks (node:crypto verify)", share: 1, busyShare: 1 },
    ]);
  });
});
