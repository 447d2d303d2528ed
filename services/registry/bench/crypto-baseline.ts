import { createPublicKey, generateKeyPairSync, sign, verify } from "node:crypto";
import { performance } from "node:perf_hooks";

export interface CryptoBaseline {
  readonly signsPerSecond: number;
  readonly verifiesPerSecond: number;
  /** One ES256 signature (the token) and two verifications (DPoP proof, client assertion). */
  readonly microsecondsPerToken: number;
  /** Tokens one core could issue if that cryptography were all it did. */
  readonly tokensPerCoreSecond: number;
}

const ROUNDS = 5;
const ROUND_MS = 200;

/**
 * The bare `node:crypto` ES256 cost that bounds issuance, measured on this core now: median of
 * a few short rounds of signing a token-sized input and verifying a proof-sized one.
 */
export function measureCryptoBaseline(): CryptoBaseline {
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
  const signsPerSecond = rate(() => {
    sign("sha256", tokenInput, { key: privateKey, dsaEncoding: "ieee-p1363" });
  });
  const verifiesPerSecond = rate(() => {
    if (!verify("sha256", proofInput, { key: publicKey, dsaEncoding: "ieee-p1363" }, signature))
      throw new Error("the baseline signature did not verify");
  });
  const microsecondsPerToken = 1e6 / signsPerSecond + 2e6 / verifiesPerSecond;
  return {
    signsPerSecond,
    verifiesPerSecond,
    microsecondsPerToken,
    tokensPerCoreSecond: 1e6 / microsecondsPerToken,
  };
}
