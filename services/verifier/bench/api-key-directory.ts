import { createHash } from "node:crypto";
import { once } from "node:events";
import { parseServiceProviderApiKey } from "@agentauth/core";
import { createRedisClient, createRedisServiceProviderKeyDirectory } from "@agentauth/state";

const POLL_MS = 50;

/**
 * Makes sure the verifiers can authenticate `apiKey`: waits up to `waitMs` for the registry to
 * publish its record in the service-provider key directory (Redis) and, if it does not, puts the
 * record there itself — prefix, provider, SHA-256 of the secret, not revoked — as the registry
 * would. Says which happened.
 */
export async function ensureApiKeyInDirectory(options: {
  readonly redisUrl: string;
  readonly apiKey: string;
  readonly serviceProviderId: string;
  readonly waitMs: number;
}): Promise<"published by the registry" | "put by the bench"> {
  const parts = parseServiceProviderApiKey(options.apiKey);
  if (parts === undefined) throw new Error("the registry's API key does not parse");
  const redis = createRedisClient(options.redisUrl);
  redis.on("error", () => {});
  try {
    if (redis.status !== "ready") await once(redis, "ready");
    const directory = createRedisServiceProviderKeyDirectory(redis);
    const deadline = performance.now() + options.waitMs;
    do {
      if ((await directory.get(parts.prefix)) !== undefined) return "published by the registry";
      await new Promise((done) => setTimeout(done, POLL_MS));
    } while (performance.now() < deadline);
    await directory.put([
      {
        prefix: parts.prefix,
        serviceProviderId: options.serviceProviderId,
        secretHash: createHash("sha256").update(parts.secret).digest("hex"),
        revoked: false,
      },
    ]);
    return "put by the bench";
  } finally {
    redis.disconnect();
  }
}
