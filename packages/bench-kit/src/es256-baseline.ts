import { createPublicKey, generateKeyPairSync, sign, verify } from "node:crypto";
import { performance } from "node:perf_hooks";

/** What one core does with bare `node:crypto` ES256, measured now. */
export interface Es256Baseline {
  /** Signatures of a token-sized (700-byte) input per second. */
  readonly signsPerSecond: number;
  /** Verifications of a proof-sized (450-byte) input per second. */
  readonly verifiesPerSecond: number;
}

const ROUNDS = 5;
const ROUND_MS = 200;

/**
 * The bare ES256 cost that bounds every AgentAuth hot path, on this core now: the median of a
 * few short rounds of signing and of verifying. Benchmarks print their rates as ratios to it,
 * measured in the same run (before and after the load), because a shared machine drifts.
 */
export function measureEs256Baseline(): Es256Baseline {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const publicKey = createPublicKey(privateKey);
  const tokenInput = Buffer.alloc(700, "e");
  const proofInput = Buffer.alloc(450, "p");
  const signature = sign("sha256", proofInput, { key: privateKey, dsaEncoding: "ieee-p1363" });
  const rate = (operation: () => void) => {
    const rates: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      let count = 0;
      const start = performance.now();
      const end = start + ROUND_MS;
      while (performance.now() < end) {
        for (let i = 0; i < 20; i++) operation();
        count += 20;
      }
      rates.push(count / ((performance.now() - start) / 1000));
    }
    return rates.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)] as number;
  };
  return {
    signsPerSecond: rate(() => {
      sign("sha256", tokenInput, { key: privateKey, dsaEncoding: "ieee-p1363" });
    }),
    verifiesPerSecond: rate(() => {
      if (!verify("sha256", proofInput, { key: publicKey, dsaEncoding: "ieee-p1363" }, signature))
        throw new Error("the baseline signature did not verify");
    }),
  };
}
