/**
 * `pnpm bench:core`: the protocol core's hot operations as ratios to the rate at which this core
 * verifies a bare ES256 signature with node:crypto, measured in the same run (the machine is
 * shared and noisy, so only ratios are comparable across runs).
 */
import { createPublicKey, verify } from "node:crypto";
import {
  type ChainedAuditEvent,
  computeAuditEventHash,
  computeJwkThumbprint,
  createDpopProof,
  createKeyCache,
  GENESIS_HASH,
  signAccessToken,
  verifyAccessToken,
  verifyAuditChain,
  verifyDpopProof,
} from "../src/index.js";
import { createTestKey } from "../test/keys.js";

const ROUNDS = 9;
const ROUND_MS = 400;
const URL_ = "https://sp.example.com/v1/payments";
const now = new Date();
const agentKey = createTestKey("ES256");
const registryKey = createTestKey("ES256", "registry-1");
const jkt = await computeJwkThumbprint(agentKey.publicJwk);

// Prepared inputs, so only verification is timed.
const token = await signAccessToken(
  {
    iss: "https://registry.example.com",
    sub: "agent_1",
    aud: "sp_payments",
    client_id: "agent_1",
    iat: Math.floor(now.getTime() / 1000),
    exp: Math.floor(now.getTime() / 1000) + 600,
    jti: "token-1",
    cnf: { jkt },
    authorization_details: [
      { type: "transact", resource: "merchant/acme", max_amount: "50.00", currency: "EUR" },
    ],
    grant_id: "grant_1",
    human_id: "human_1",
  },
  registryKey,
);
const proofs = await Promise.all(
  Array.from({ length: 2000 }, (_, i) =>
    createDpopProof({
      key: agentKey,
      method: "POST",
      url: URL_,
      now,
      jti: `bench-proof-${i}-padding`,
      accessToken: token,
    }),
  ),
);
const bareKey = createPublicKey({ key: { ...agentKey.publicJwk }, format: "jwk" });
const bareData = Buffer.from((proofs[0] as string).split(".").slice(0, 2).join("."));
const bareSignature = Buffer.from((proofs[0] as string).split(".")[2] as string, "base64url");
const jwks = { keys: [registryKey.jwksEntry] };
const chain: ChainedAuditEvent[] = [];
for (let i = 1, previousHash = GENESIS_HASH; i <= 20_000; i++) {
  const event = {
    type: "token.issued",
    actor: "agent_1",
    subject: `token-${i}`,
    at: "2026-11-22T10:00:00Z",
  };
  const hash = await computeAuditEventHash(previousHash, event);
  chain.push({ sequence: i, previousHash, hash, event });
  previousHash = hash;
}

const markJtiUsed = async () => true;
const warmCache = createKeyCache();
const dpopOptions = {
  expectedMethod: "POST",
  expectedUrl: URL_,
  now,
  markJtiUsed,
  accessToken: token,
  expectedJkt: jkt,
};

type Operation = (i: number) => unknown;
const bareVerify: Operation = () => {
  if (!verify("sha256", bareData, { key: bareKey, dsaEncoding: "ieee-p1363" }, bareSignature))
    throw new Error("bad");
};
const operations: Record<string, Operation> = {
  "DPoP proof, warm key cache": (i) =>
    verifyDpopProof({ ...dpopOptions, proof: proofs[i % proofs.length], keyCache: warmCache }),
  "DPoP proof, cold (imports the key)": (i) =>
    verifyDpopProof({ ...dpopOptions, proof: proofs[i % proofs.length] }),
  "access token, warm key cache": () =>
    verifyAccessToken(token, {
      keys: jwks,
      expectedIssuer: "https://registry.example.com",
      expectedAudience: "sp_payments",
      now,
      keyCache: warmCache,
    }),
};

async function measure(operation: Operation): Promise<number> {
  const end = performance.now() + ROUND_MS;
  let count = 0;
  const start = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < 50; i++) await operation(count++);
  }
  return count / ((performance.now() - start) / 1000);
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

// Each operation is measured right after a bare run, round after round: the ratio of each pair
// cancels the machine's drift, and the median of the ratios ignores the noisiest pairs.
console.log(
  `AgentAuth core benchmark — Node ${process.version}, ${ROUNDS} paired rounds of ${ROUND_MS} ms\n`,
);
console.log(
  `${"operation".padEnd(38)} ${"ops/s (median)".padStart(15)} ${"ratio to bare".padStart(14)}`,
);
await measure(operations["DPoP proof, warm key cache"] as Operation); // warm up the JIT and the cache
const ratios = new Map<string, number>();
const bareRates: number[] = [];
const results: string[] = [];
for (const [name, operation] of Object.entries(operations)) {
  const rates: number[] = [];
  const pairRatios: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const bare = await measure(bareVerify);
    const rate = await measure(operation);
    bareRates.push(bare);
    rates.push(rate);
    pairRatios.push(rate / bare);
  }
  ratios.set(name, median(pairRatios));
  results.push(
    `${name.padEnd(38)} ${median(rates).toFixed(0).padStart(15)} ${median(pairRatios).toFixed(2).padStart(14)}`,
  );
}
console.log(
  `${"bare node:crypto ES256 verify".padEnd(38)} ${median(bareRates).toFixed(0).padStart(15)} ${"1.00".padStart(14)}`,
);
for (const line of results) console.log(line);

const chainRates: number[] = [];
for (let round = 0; round < 5; round++) {
  const start = performance.now();
  await verifyAuditChain(chain);
  chainRates.push(chain.length / ((performance.now() - start) / 1000));
}
const chainRate = median(chainRates);
console.log(
  `${"audit chain verification (events/s)".padEnd(38)} ${chainRate.toFixed(0).padStart(15)}`,
);

const warmRatio = ratios.get("DPoP proof, warm key cache") as number;
console.log(
  `\nTarget: warm DPoP ≥ 0.80 × bare — ${warmRatio >= 0.8 ? "met" : "NOT MET"} (${warmRatio.toFixed(2)})`,
);
console.log(
  `Target: audit chain ≥ 100,000 events/s — ${chainRate >= 100_000 ? "met" : "NOT MET"} (${chainRate.toFixed(0)})`,
);
