import {
  CAPABILITY_TYPES,
  type CapabilityRequest,
  type CapabilityType,
  type Money,
} from "@agentauth/core";

/** What the service provider is about to do, as `POST /v1/verify` names it. */
export interface VerifyAction {
  readonly type: CapabilityType;
  /** One concrete resource (never a pattern), e.g. `merchant/acme`. */
  readonly resource: string;
  /** transact: the amount of this payment. */
  readonly amount?: Money;
  /** write: how many items the request writes. */
  readonly items?: number;
  /** write: `append` or `replace`. */
  readonly operation?: "append" | "replace";
  /** custom: the capability's namespace and name. */
  readonly namespace?: string;
  readonly name?: string;
}

/**
 * One agent request to decide, as `POST /v1/verify` takes it: what the agent sent, and what the
 * service provider is about to do.
 */
export interface VerifyRequest {
  /** The agent's `Authorization` header, `DPoP <access token>`, as received. */
  readonly authorization?: string | undefined;
  /** The agent's `DPoP` header(s), as received (several are refused). */
  readonly dpop?: string | readonly string[] | undefined;
  /** The agent's request method and absolute URL, as the service provider received them. */
  readonly method: string;
  readonly url: string;
  readonly action: VerifyAction;
}

/** A {@link VerifyRequest} whose shape was checked, its action in core's form. */
export interface CheckedVerifyRequest {
  readonly authorization: string | undefined;
  readonly dpop: string | readonly string[] | undefined;
  readonly method: string;
  readonly url: string;
  readonly action: CapabilityRequest;
}

export type CheckVerifyRequestResult =
  | { readonly ok: true; readonly request: CheckedVerifyRequest }
  | { readonly ok: false; readonly problems: readonly string[] };

const MAX_HEADER_LENGTH = 16_384;
const MAX_PROOFS = 8;
const MAX_URL_LENGTH = 8_192;
const MAX_RESOURCE_LENGTH = 2_048;
// An HTTP method is a token (RFC 9110 §9.1); htm is compared case-sensitively.
const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/;
const HTTP_URL = /^https?:\/\//i;
const TYPES: readonly string[] = CAPABILITY_TYPES;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const isShortString = (value: unknown, max: number): value is string =>
  typeof value === "string" && value.length <= max;

// Service providers send the same few URLs again and again: the last one found valid is
// remembered, so a request costs a string comparison instead of a URL parse.
let lastValidUrl = "";

/** Whether `url` is an absolute http(s) URL, written without surrounding or embedded controls. */
function isHttpUrl(url: unknown): url is string {
  if (typeof url !== "string" || url.length > MAX_URL_LENGTH) return false;
  if (url === lastValidUrl) return true;
  // The URL parser drops tabs and newlines and trims controls and spaces: the URL a proof's htu is
  // compared with must be the text received, so such a URL is refused, not silently rewritten.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: controls are what is refused
  if (!HTTP_URL.test(url) || /[\u0000-\u0020\u007f]/.test(url) || !URL.canParse(url)) return false;
  lastValidUrl = url;
  return true;
}

/**
 * Checks the shape of a `POST /v1/verify` body (parsed JSON) without a schema library — it runs
 * on every request — naming every problem as `field: what it must be`. Unknown members are
 * ignored, and left out of the result.
 */
export function checkVerifyRequest(body: unknown): CheckVerifyRequestResult {
  if (!isObject(body)) return { ok: false, problems: ["body: must be a JSON object"] };
  const problems: string[] = [];
  const { authorization, dpop, method, url, action } = body;
  if (authorization !== undefined && !isShortString(authorization, MAX_HEADER_LENGTH))
    problems.push(`authorization: must be a string of at most ${MAX_HEADER_LENGTH} characters`);
  if (
    dpop !== undefined &&
    !isShortString(dpop, MAX_HEADER_LENGTH) &&
    !(
      Array.isArray(dpop) &&
      dpop.length <= MAX_PROOFS &&
      dpop.every((proof) => isShortString(proof, MAX_HEADER_LENGTH))
    )
  ) {
    problems.push(
      `dpop: must be a string, or an array of at most ${MAX_PROOFS} strings, of at most ` +
        `${MAX_HEADER_LENGTH} characters each`,
    );
  }
  if (typeof method !== "string" || !METHOD.test(method))
    problems.push("method: must be an HTTP method");
  if (!isHttpUrl(url))
    problems.push(`url: must be an absolute http(s) URL of at most ${MAX_URL_LENGTH} characters`);
  const checkedAction = checkAction(action, problems);
  if (problems.length > 0 || checkedAction === undefined) return { ok: false, problems };
  return {
    ok: true,
    request: {
      authorization: authorization as string | undefined,
      dpop: dpop as string | readonly string[] | undefined,
      method: method as string,
      url: url as string,
      action: checkedAction,
    },
  };
}

function checkAction(action: unknown, problems: string[]): CapabilityRequest | undefined {
  if (!isObject(action)) {
    problems.push("action: must be an object");
    return undefined;
  }
  const { type, resource, amount, items, operation, namespace, name } = action;
  const before = problems.length;
  if (typeof type !== "string" || !TYPES.includes(type))
    problems.push(`action.type: must be one of ${CAPABILITY_TYPES.join(", ")}`);
  if (!isShortString(resource, MAX_RESOURCE_LENGTH) || resource === "")
    problems.push(`action.resource: must be a string of 1 to ${MAX_RESOURCE_LENGTH} characters`);
  if (amount !== undefined) {
    if (!isObject(amount)) {
      problems.push("action.amount: must be an object with amount and currency");
    } else {
      if (!isShortString(amount.amount, 64))
        problems.push("action.amount.amount: must be a decimal string of at most 64 characters");
      if (!isShortString(amount.currency, 8))
        problems.push("action.amount.currency: must be a currency code of at most 8 characters");
    }
  }
  if (items !== undefined && !(Number.isSafeInteger(items) && (items as number) >= 0))
    problems.push("action.items: must be a whole number, 0 or more");
  if (operation !== undefined && operation !== "append" && operation !== "replace")
    problems.push("action.operation: must be append or replace");
  if (namespace !== undefined && !isShortString(namespace, 256))
    problems.push("action.namespace: must be a string of at most 256 characters");
  if (name !== undefined && !isShortString(name, 256))
    problems.push("action.name: must be a string of at most 256 characters");
  if (problems.length > before) return undefined;
  const checked: CapabilityRequest = {
    action: type as CapabilityType,
    resource: resource as string,
  };
  if (amount !== undefined) {
    const money = amount as { amount: string; currency: string };
    checked.amount = { amount: money.amount, currency: money.currency };
  }
  if (items !== undefined) checked.items = items as number;
  if (operation !== undefined) checked.operation = operation as "append" | "replace";
  if (namespace !== undefined) checked.namespace = namespace as string;
  if (name !== undefined) checked.name = name as string;
  return checked;
}
