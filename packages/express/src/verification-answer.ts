import { CAPABILITY_TYPES } from "@agentauth/core";
import { z } from "zod";
import type { VerificationAnswer } from "./verification.js";

const id = z.string().min(1).max(512);
const money = z.object({ amount: z.string().max(64), currency: z.string().max(8) });

const answerSchema = z
  .object({
    decision: z.enum(["allow", "deny"]),
    reason: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/),
    message: z.string().max(4096),
    agent: id.optional(),
    grant: id.optional(),
    human: id.optional(),
    token_id: id.optional(),
    capability: z.looseObject({ type: z.enum(CAPABILITY_TYPES), resource: z.string() }).optional(),
    remaining: z
      .object({
        requests: z.number().int().min(0).optional(),
        spend: z
          .array(
            z.object({
              currency: z.string().max(8),
              window_seconds: z.number().int().min(1),
              remaining: z.string().max(64),
            }),
          )
          .optional(),
      })
      .optional(),
    step_up: z.object({ above: money }).optional(),
    respond: z.object({
      status: z.number().int(),
      headers: z.record(z.string().max(256), z.string().max(8192)),
    }),
  })
  .superRefine((answer, context) => {
    const problem =
      answer.decision === "allow"
        ? allowProblem(answer)
        : [401, 403, 429].includes(answer.respond.status)
          ? undefined
          : `a denial answered with status ${answer.respond.status}`;
    if (problem !== undefined) context.addIssue({ code: "custom", message: problem });
  });

function allowProblem(answer: z.infer<typeof answerSchema>): string | undefined {
  if (answer.reason !== "ok") return "an allow whose reason is not ok";
  if (answer.respond.status !== 200)
    return `an allow answered with status ${answer.respond.status}`;
  for (const field of ["agent", "grant", "human", "token_id", "capability"] as const) {
    if (answer[field] === undefined) return `an allow without ${field}`;
  }
  return undefined;
}

/**
 * Checks that `value` is a decision as `POST /v1/verify` answers it, consistent with itself (an
 * allow names who and what, with status 200; a denial has 401, 403 or 429). `undefined` for
 * anything else: the caller fails closed.
 */
export function parseVerificationAnswer(value: unknown): VerificationAnswer | undefined {
  const parsed = answerSchema.safeParse(value);
  return parsed.success ? (parsed.data as VerificationAnswer) : undefined;
}
