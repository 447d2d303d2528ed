import { CAPABILITY_TYPES } from "@agentauth/core";
import { z } from "zod";
import type { VerifyRequest } from "../verification/verify-request.js";
import { HttpProblem } from "./http-problem.js";

const headerValue = z.string().max(16_384);

const verifyBody = z.object({
  authorization: headerValue.optional(),
  dpop: z.union([headerValue, z.array(headerValue).max(8)]).optional(),
  // An HTTP method is a token (RFC 9110 §9.1); htm is compared case-sensitively.
  method: z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/, "must be an HTTP method"),
  url: z.url({ protocol: /^https?$/ }).max(8_192),
  action: z.object({
    type: z.enum(CAPABILITY_TYPES),
    resource: z.string().min(1).max(2_048),
    amount: z.object({ amount: z.string().max(64), currency: z.string().max(8) }).optional(),
    items: z.number().int().min(0).optional(),
    operation: z.enum(["append", "replace"]).optional(),
    namespace: z.string().max(256).optional(),
    name: z.string().max(256).optional(),
  }),
});

/** Parses a `POST /v1/verify` body, or throws a 400 naming every problem. */
export function parseVerifyBody(text: string): VerifyRequest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new HttpProblem("ERR_INVALID_REQUEST", "The body is not valid JSON");
  }
  const parsed = verifyBody.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join(".") || "body"}: ${issue.message}`,
    );
    throw new HttpProblem("ERR_INVALID_REQUEST", problems.join("; "));
  }
  const { type, ...action } = parsed.data.action;
  return {
    authorization: parsed.data.authorization,
    dpop: parsed.data.dpop,
    method: parsed.data.method,
    url: parsed.data.url,
    action: { action: type, ...action },
  };
}
