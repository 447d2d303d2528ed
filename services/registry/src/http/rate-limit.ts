import type { FixedWindowLimiter } from "@agentauth/state";
import type { RequestHandler } from "express";
import type { Clock } from "../clock.js";
import { RegistryError } from "../errors.js";

export interface RateLimitOptions {
  /** Names the limit in the shared counter keys. */
  readonly name: string;
  readonly limit: number;
  readonly windowSeconds: number;
  readonly clock: Clock;
}

/**
 * Limits requests per client IP in fixed windows, counted in the shared store so the limit
 * holds across replicas. Over the limit: 429 with `Retry-After`.
 */
export function rateLimit(limiter: FixedWindowLimiter, options: RateLimitOptions): RequestHandler {
  return async (req, res, next) => {
    const result = await limiter.hit(
      `${options.name}:${req.ip ?? "unknown"}`,
      options.limit,
      options.windowSeconds,
      options.clock.now(),
    );
    res.setHeader("RateLimit-Remaining", String(result.remaining));
    if (result.allowed) {
      next();
      return;
    }
    throw new RegistryError("ERR_RATE_LIMITED", "Too many requests; try again later", {
      headers: { "Retry-After": String(Math.max(1, Math.ceil(result.retryAfterSeconds))) },
    });
  };
}
