import {
  PAYMENTS,
  parseEnvironment,
  parseServiceProviderConfig,
  type ServiceProviderConfig,
} from "@agentauth/examples-kit";
import { z } from "zod";
import { DEFAULT_MERCHANTS } from "./merchants.js";

/** The payments example's configuration: the examples' common one, and who can be paid. */
export interface PaymentsConfig extends ServiceProviderConfig {
  readonly merchants: readonly string[];
}

const schema = z.object({
  PAYMENTS_MERCHANTS: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}(,[a-z0-9][a-z0-9-]{0,62})*$/, {
      error: "must be merchant ids separated by commas",
    })
    .optional(),
});

/** Parses the payments example's environment once: the `PAYMENTS_*` and shared variables. */
export function parsePaymentsConfig(
  env: Readonly<Record<string, string | undefined>>,
): PaymentsConfig {
  const common = parseServiceProviderConfig(env, PAYMENTS);
  const own = parseEnvironment(schema, env, "payments");
  return Object.freeze({
    ...common,
    merchants: Object.freeze(own.PAYMENTS_MERCHANTS?.split(",") ?? [...DEFAULT_MERCHANTS]),
  });
}
