import { isStateError } from "@agentauth/state";
import type { VerificationEngine } from "@agentauth/verifier/engine";
import { z } from "zod";
import { AgentAuthExpressError } from "../errors.js";
import { parseOptions, serviceProviderId, verifierLike } from "../parse-options.js";
import type { Verification, VerificationAnswer, VerificationRequest } from "../verification.js";

export interface InProcessVerificationOptions {
  /** The verifier's checks in this process (`createVerificationEngine` of `@agentauth/verifier/engine`). */
  readonly engine: VerificationEngine;
  /** This service provider's id at the registry: the audience its tokens must name. */
  readonly serviceProvider: string;
  /** How long one decision may take (Redis round trips included); default 2000 ms. */
  readonly timeoutMs?: number;
}

const optionsSchema = z
  .object({
    engine: verifierLike<VerificationEngine>(
      "must be a verification engine (createVerificationEngine)",
    ),
    serviceProvider: serviceProviderId,
    timeoutMs: z.number().int().min(1).max(60_000).default(2_000),
  })
  .strict();

const RETRY_AFTER_SECONDS = 1;

/**
 * Decisions made in this process by the verifier's own engine — the same code as the verifier
 * service, sharing replay marks, envelope counters and revocations with every verifier through
 * Redis — for a service provider that cannot afford the extra hop. Shared state being down
 * rejects with `ERR_VERIFIER_UNAVAILABLE` (answered 503): nothing unchecked is allowed.
 * `close` closes the engine.
 *
 * @example
 * const engine = createVerificationEngine({
 *   issuer: "https://registry.example.com",
 *   jwks: "https://registry.example.com/.well-known/jwks.json",
 *   state: { redis: createRedisClient(process.env.REDIS_URL) },
 *   dpopNonceSecret: Buffer.from(process.env.DPOP_NONCE_SECRET, "hex"),
 * });
 * const verification = createInProcessVerification({
 *   engine,
 *   serviceProvider: "https://payments.example.com",
 * });
 */
export function createInProcessVerification(options: InProcessVerificationOptions): Verification {
  const { engine, serviceProvider, timeoutMs } = parseOptions(
    optionsSchema,
    options,
    "createInProcessVerification",
  );
  return {
    async verify(request: VerificationRequest): Promise<VerificationAnswer> {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new AgentAuthExpressError(
                "ERR_VERIFIER_TIMEOUT",
                `The verification engine did not decide within ${timeoutMs} ms`,
              ),
            ),
          timeoutMs,
        );
      });
      try {
        return await Promise.race([engine.verify(serviceProvider, request), timeout]);
      } catch (error) {
        throw codedError(error);
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => engine.close(),
  };
}

function codedError(error: unknown): unknown {
  if (error instanceof AgentAuthExpressError) return error;
  if (isStateError(error)) {
    return new AgentAuthExpressError(
      "ERR_VERIFIER_UNAVAILABLE",
      "The verifier's shared state is unavailable",
      { cause: error, retryAfterSeconds: RETRY_AFTER_SECONDS },
    );
  }
  // The engine refuses a request of the wrong shape, as the verifier answers 400.
  if (error instanceof TypeError) {
    return new AgentAuthExpressError(
      "ERR_VERIFIER_REJECTED",
      `The verification engine refused the request: ${error.message}`,
      { cause: error },
    );
  }
  return error;
}
