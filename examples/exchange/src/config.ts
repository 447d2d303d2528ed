import {
  EXCHANGE,
  parseEnvironment,
  parseServiceProviderConfig,
  type ServiceProviderConfig,
} from "@agentauth/examples-kit";
import { z } from "zod";
import type { ExchangeLimits } from "./create-exchange-app.js";

/** The exchange's configuration: the examples' common one, its store and its limits. */
export interface ExchangeConfig extends ServiceProviderConfig {
  /** Redis for the payloads (every replica shares them); unset: this process's memory. */
  readonly redisUrl: string | undefined;
  readonly limits: ExchangeLimits;
}

const wholeNumber = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().min(min).max(max));

const schema = z.object({
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  EXCHANGE_MAX_TTL_SECONDS: wholeNumber(1, 30 * 86_400).default(86_400),
  EXCHANGE_MAX_PAYLOAD_BYTES: wholeNumber(64, 1_048_576).default(65_536),
});

/**
 * Parses the exchange's environment once (see examples/README.md): the `EXCHANGE_*` and shared
 * variables of every example, `REDIS_URL`, `EXCHANGE_MAX_TTL_SECONDS` and
 * `EXCHANGE_MAX_PAYLOAD_BYTES`.
 */
export function parseExchangeConfig(
  env: Readonly<Record<string, string | undefined>>,
): ExchangeConfig {
  const common = parseServiceProviderConfig(env, EXCHANGE);
  const own = parseEnvironment(schema, env, "exchange");
  return Object.freeze({
    ...common,
    redisUrl: own.REDIS_URL,
    limits: Object.freeze({
      maxTtlSeconds: own.EXCHANGE_MAX_TTL_SECONDS,
      maxPayloadBytes: own.EXCHANGE_MAX_PAYLOAD_BYTES,
    }),
  });
}
