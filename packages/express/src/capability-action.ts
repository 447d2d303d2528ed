import {
  CAPABILITY_TYPES,
  type CapabilityType,
  type Money,
  parseCapabilities,
  tryParseAmount,
} from "@agentauth/core";
import type { Request } from "express";
import { z } from "zod";
import { AgentAuthExpressError } from "./errors.js";
import { parseOptions } from "./parse-options.js";
import type { VerificationAction } from "./verification.js";

/** A value fixed when the route is declared, or computed from each request. */
export type FromRequest<T> = T | ((req: Request) => T | Promise<T>);

/** The capability a route requires; see docs/service-providers.md. */
export interface RequireCapabilityOptions {
  /** `read`, `write`, `delete`, `transact` or `custom`. */
  readonly type: CapabilityType;
  /** The one concrete resource the request acts on, e.g. `merchant/acme`. */
  readonly resource: FromRequest<string>;
  /** transact (and custom, when the envelope limits money): this request's amount. */
  readonly amount?: FromRequest<Money | undefined>;
  /** write: how many items the request writes. */
  readonly items?: FromRequest<number | undefined>;
  /** write: `append` or `replace`. */
  readonly operation?: FromRequest<"append" | "replace" | undefined>;
  /** custom: the capability's namespace (`com.example`) and name. */
  readonly namespace?: string;
  readonly name?: string;
}

const isFunction = (value: unknown): value is (req: Request) => unknown =>
  typeof value === "function";
const fromRequest = <T extends z.ZodType>(schema: T) =>
  z.union([z.custom<(req: Request) => unknown>(isFunction), schema]);

const money = z
  .object({ amount: z.string(), currency: z.string() })
  .strict()
  .superRefine((value, context) => {
    const parsed = tryParseAmount(value.amount, value.currency);
    if (!parsed.ok) context.addIssue({ code: "custom", message: parsed.problem });
  });

const staticResource = z.string().superRefine((resource, context) => {
  const problem = resourceProblem(resource);
  if (problem !== undefined) context.addIssue({ code: "custom", message: problem });
});

const optionsSchema = z
  .object({
    type: z.enum(CAPABILITY_TYPES),
    resource: fromRequest(staticResource),
    amount: fromRequest(money).optional(),
    items: fromRequest(z.number().int().min(0)).optional(),
    operation: fromRequest(z.enum(["append", "replace"])).optional(),
    namespace: z.string().optional(),
    name: z.string().optional(),
  })
  .strict()
  .superRefine((options, context) => {
    const problem = combinationProblem(options);
    if (problem !== undefined) context.addIssue({ code: "custom", message: problem });
  });

type ParsedOptions = z.output<typeof optionsSchema>;

function combinationProblem(options: ParsedOptions): string | undefined {
  const { type } = options;
  if (type !== "write" && (options.items !== undefined || options.operation !== undefined))
    return "items and operation apply to write only";
  if (type !== "transact" && type !== "custom" && options.amount !== undefined)
    return "amount applies to transact and custom only";
  if (type === "transact" && options.amount === undefined)
    return "transact requires an amount (or a function of the request giving it)";
  if (type !== "custom")
    return options.namespace === undefined && options.name === undefined
      ? undefined
      : "namespace and name apply to custom only";
  if (options.namespace === undefined || options.name === undefined)
    return "custom requires a namespace and a name";
  try {
    parseCapabilities([
      { type: "custom", resource: "x", namespace: options.namespace, name: options.name },
    ]);
  } catch {
    return "namespace must be lower-case reverse DNS and name 1-64 of [A-Za-z0-9._-]";
  }
  return undefined;
}

// A fixed resource is checked by core's grammar at start-up: a typo would match nothing, ever.
function resourceProblem(resource: string): string | undefined {
  if (resource === "*" || resource.endsWith("/*"))
    return "must be one concrete resource, not a pattern";
  try {
    parseCapabilities([{ type: "read", resource }]);
  } catch {
    return "must be '/'-separated segments of [A-Za-z0-9._~:@-], at most 256 characters";
  }
  return undefined;
}

/** Turns a request into the action the verifier checks. */
export type ActionResolver = (req: Request) => Promise<VerificationAction>;

/**
 * Validates a route's `requireCapability` options once (throwing `TypeError`) and returns what
 * computes its action for each request. A value computed from the request that the verifier
 * could not take (an empty or over-long resource, an amount that is not `{amount, currency}`
 * strings) rejects with `ERR_INVALID_ACTION`, answered 400: it comes from the agent's input.
 * A function that throws rejects with its own error, for the app's error handler.
 */
export function createActionResolver(options: RequireCapabilityOptions): ActionResolver {
  const parsed = parseOptions(optionsSchema, options, "requireCapability");
  const { type, namespace, name } = parsed;
  return async (req) => {
    const resource = await resolve(parsed.resource, req);
    if (typeof resource !== "string" || resource.length === 0 || resource.length > 2048)
      throw invalidAction("the resource is not a string of 1 to 2048 characters");
    const amount = await resolve(parsed.amount, req);
    if (amount !== undefined && !isMoneyShaped(amount))
      throw invalidAction("the amount is not {amount, currency} strings");
    const items = await resolve(parsed.items, req);
    if (items !== undefined && !(Number.isSafeInteger(items) && (items as number) >= 0))
      throw invalidAction("the item count is not a non-negative integer");
    const operation = await resolve(parsed.operation, req);
    if (operation !== undefined && operation !== "append" && operation !== "replace")
      throw invalidAction("the operation is neither append nor replace");
    return {
      type,
      resource,
      ...(amount === undefined
        ? {}
        : { amount: { amount: (amount as Money).amount, currency: (amount as Money).currency } }),
      ...(items === undefined ? {} : { items: items as number }),
      ...(operation === undefined ? {} : { operation }),
      ...(namespace === undefined ? {} : { namespace }),
      ...(name === undefined ? {} : { name }),
    };
  };
}

async function resolve(value: unknown, req: Request): Promise<unknown> {
  return isFunction(value) ? await value(req) : value;
}

// The verifier's body limits (docs/verifier.md); whether the amount is valid is its decision.
function isMoneyShaped(value: unknown): value is Money {
  if (typeof value !== "object" || value === null) return false;
  const { amount, currency } = value as Record<string, unknown>;
  return (
    typeof amount === "string" &&
    amount.length <= 64 &&
    typeof currency === "string" &&
    currency.length <= 8
  );
}

function invalidAction(problem: string): AgentAuthExpressError {
  return new AgentAuthExpressError(
    "ERR_INVALID_ACTION",
    `The request cannot be checked: ${problem}`,
  );
}
