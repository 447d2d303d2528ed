import { parseServiceProviderApiKey } from "@agentauth/core";
import { z } from "zod";
import { AgentAuthExpressError } from "./errors.js";
import { parseOptions } from "./parse-options.js";
import type { Verification, VerificationRequest } from "./verification.js";
import { parseVerificationAnswer } from "./verification-answer.js";

export interface RemoteVerificationOptions {
  /** The verifier's base URL, e.g. `http://verifier.internal:4100`. */
  readonly verifierUrl: string;
  /** The service provider's verifier API key (`aask_…`), issued once by the registry. */
  readonly apiKey: string;
  /** How long one decision may take, connection included; default 2000 ms. */
  readonly timeoutMs?: number;
  /** Injected in tests; default `globalThis.fetch`. */
  readonly fetch?: typeof globalThis.fetch;
}

const optionsSchema = z.object({
  verifierUrl: z.url({ protocol: /^https?$/ }).refine((url) => {
    const parsed = new URL(url);
    return parsed.search === "" && parsed.hash === "" && parsed.username === "";
  }, "must have no query, fragment or user information"),
  apiKey: z
    .string()
    .refine((key) => parseServiceProviderApiKey(key) !== undefined, "must be a verifier API key"),
  timeoutMs: z.number().int().min(1).max(60_000).default(2_000),
  fetch: z.custom<typeof globalThis.fetch>((value) => typeof value === "function").optional(),
});

// Far above any answer the verifier sends (a few hundred bytes); bounds what a broken one costs.
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * Decisions from the verifier's `POST /v1/verify`, authenticated with the service provider's
 * API key. One call per agent request and never a retry: the verifier records the proof's `jti`
 * and counts the budget when it allows, so a repeated call would be refused or counted twice.
 * No answer in time, a 5xx, or an answer that is not a decision rejects with a coded error.
 *
 * @example
 * const verification = createRemoteVerification({
 *   verifierUrl: "http://verifier.internal:4100",
 *   apiKey: process.env.AGENTAUTH_VERIFIER_API_KEY,
 * });
 */
export function createRemoteVerification(options: RemoteVerificationOptions): Verification {
  const { verifierUrl, apiKey, timeoutMs, fetch } = parseOptions(
    optionsSchema,
    options,
    "createRemoteVerification",
  );
  const endpoint = new URL("v1/verify", verifierUrl.endsWith("/") ? verifierUrl : `${verifierUrl}/`)
    .href;
  const send = fetch ?? globalThis.fetch;
  const authorization = `Bearer ${apiKey}`;

  return {
    async verify(request: VerificationRequest) {
      const signal = AbortSignal.timeout(timeoutMs);
      let status: number;
      let retryAfter: string | null;
      let text: string;
      try {
        const response = await send(endpoint, {
          method: "POST",
          headers: {
            authorization,
            "content-type": "application/json",
            accept: "application/json",
          },
          body: JSON.stringify(request),
          signal,
          redirect: "error",
        });
        status = response.status;
        retryAfter = response.headers.get("retry-after");
        text = await readText(response);
      } catch (error) {
        if (signal.aborted) {
          throw new AgentAuthExpressError(
            "ERR_VERIFIER_TIMEOUT",
            `The verifier did not answer within ${timeoutMs} ms`,
            { cause: error },
          );
        }
        throw new AgentAuthExpressError("ERR_VERIFIER_UNAVAILABLE", "The verifier is unreachable", {
          cause: error,
        });
      }
      return answerOf(status, retryAfter, text);
    },
    async close() {
      // fetch's connection pool is process-wide; there is nothing of ours to release.
    },
  };
}

async function readText(response: Response): Promise<string> {
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > MAX_ANSWER_BYTES) {
    await response.body?.cancel();
    return "";
  }
  const text = await response.text();
  return Buffer.byteLength(text) > MAX_ANSWER_BYTES ? "" : text;
}

function answerOf(status: number, retryAfter: string | null, text: string) {
  if (status === 200) {
    const answer = parseVerificationAnswer(parseJson(text));
    if (answer === undefined) {
      throw new AgentAuthExpressError(
        "ERR_VERIFIER_INVALID_ANSWER",
        "The verifier's answer is not a decision",
      );
    }
    return answer;
  }
  if (status >= 500) {
    const seconds = retryAfter === null ? undefined : parseRetryAfter(retryAfter);
    throw new AgentAuthExpressError(
      "ERR_VERIFIER_UNAVAILABLE",
      `The verifier answered ${status}${describeProblem(text)}`,
      seconds === undefined ? {} : { retryAfterSeconds: seconds },
    );
  }
  if (status === 401) {
    throw new AgentAuthExpressError(
      "ERR_VERIFIER_REJECTED",
      "The verifier refused the API key: it is wrong, revoked, or its service provider is disabled",
    );
  }
  if (status >= 400) {
    throw new AgentAuthExpressError(
      "ERR_VERIFIER_REJECTED",
      `The verifier refused the call with ${status}${describeProblem(text)}`,
    );
  }
  throw new AgentAuthExpressError(
    "ERR_VERIFIER_INVALID_ANSWER",
    `The verifier answered with status ${status}`,
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// The verifier's problems carry a stable code and a detail written for the caller (never a
// secret); anything else is summarised by its status alone.
function describeProblem(text: string): string {
  const problem = z
    .object({ code: z.string().max(64), detail: z.string().max(512) })
    .safeParse(parseJson(text));
  return problem.success ? ` ${problem.data.code}: ${problem.data.detail}` : "";
}

/** `Retry-After` as delay-seconds (RFC 9110 §10.2.3); a date or junk is ignored. */
function parseRetryAfter(value: string): number | undefined {
  if (!/^\d{1,6}$/.test(value.trim())) return undefined;
  return Number(value.trim());
}
