import { type Money, tryParseAmount } from "@agentauth/core";
import type { StepUp } from "../errors.js";
import { safeText } from "./safe-text.js";

/**
 * What an error answer's JSON body says, from an OAuth error response (RFC 6749 §5.2:
 * `error`, `error_description`) or an RFC 9457 problem (`type`, `title`, `detail`, and the
 * extension members AgentAuth services add: `code`, `reason`, `step_up`). Every
 * member is checked and made safe to show; anything unexpected is left out.
 */
export interface ErrorBody {
  readonly error?: string;
  readonly errorDescription?: string;
  readonly title?: string;
  readonly detail?: string;
  /** A registry problem's stable code, e.g. `ERR_ENROLMENT_CODE_INVALID`. */
  readonly code?: string;
  /** The verifier's reason, e.g. `step_up_required`, `spend_cap_exceeded`. */
  readonly reason?: string;
  /** `step_up`: what a step-up needs (docs/sdk.md, "What the SDK reads from a refusal"). */
  readonly stepUp?: StepUp;
}

// RFC 6749 §5.2: error codes are printable ASCII other than " and \.
const OAUTH_ERROR = /^[\x20\x21\x23-\x5b\x5d-\x7e]{1,64}$/;
const REASON = /^[a-z0-9_]{1,64}$/;
const CODE = /^[A-Z0-9_]{1,64}$/;

/** Parses `text` when `contentType` is JSON (`application/json`, `…+json`); else `{}`. */
export function parseErrorBody(text: string | undefined, contentType: string | null): ErrorBody {
  if (text === undefined || !isJsonMediaType(contentType)) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return {};
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return {};
  const body = value as Record<string, unknown>;
  const result: Record<string, unknown> = {
    error: matching(body.error, OAUTH_ERROR),
    errorDescription: safeText(body.error_description),
    title: safeText(body.title, 200),
    detail: safeText(body.detail),
    code: matching(body.code, CODE),
    reason: matching(body.reason, REASON),
    stepUp: stepUp(body.step_up),
  };
  for (const key of Object.keys(result)) if (result[key] === undefined) delete result[key];
  return result as ErrorBody;
}

function isJsonMediaType(contentType: string | null): boolean {
  const essence = contentType?.split(";")[0]?.trim().toLowerCase() ?? "";
  return essence === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(essence);
}

function matching(value: unknown, pattern: RegExp): string | undefined {
  return typeof value === "string" && pattern.test(value) ? value : undefined;
}

function stepUp(value: unknown): StepUp | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const member = value as Record<string, unknown>;
  const above = money(member.above);
  const action = jsonObject(member.action);
  const authorizationServer = httpUrl(member.authorization_server);
  const approvalEndpoint = httpUrl(member.approval_endpoint);
  return {
    ...(above === undefined ? {} : { above }),
    ...(action === undefined ? {} : { action }),
    ...(authorizationServer === undefined ? {} : { authorizationServer }),
    ...(approvalEndpoint === undefined ? {} : { approvalEndpoint }),
  };
}

// Small and shallow: an action is a handful of strings and an amount.
function jsonObject(value: unknown): Readonly<Record<string, unknown>> | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  return JSON.stringify(value).length <= 2048 ? (value as Record<string, unknown>) : undefined;
}

function money(value: unknown): Money | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { amount, currency } = value as Record<string, unknown>;
  if (typeof amount !== "string" || typeof currency !== "string") return undefined;
  return tryParseAmount(amount, currency).ok ? { amount, currency } : undefined;
}

// White space, control, format (bidi, zero-width) and line or paragraph separators: the URL
// parser would silently drop or trim some of them, so a string holding any is not taken as is.
const NOT_IN_URL = /[\s\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/**
 * `value` itself when it is an absolute http(s) URL of sane length, so nothing else
 * (`javascript:`) reaches a human; else `undefined`. The string is kept exactly as the server
 * sent it, not normalised (no `/` added): an issuer identifier is compared character for
 * character (RFC 8414 §3.3).
 */
export function httpUrl(value: unknown): string | undefined {
  if (typeof value !== "string" || value.length > 2048 || NOT_IN_URL.test(value)) {
    return undefined;
  }
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:" ? value : undefined;
  } catch {
    return undefined;
  }
}
