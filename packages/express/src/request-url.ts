import type { IncomingHttpHeaders } from "node:http";
import { AgentAuthExpressError } from "./errors.js";

/** How the absolute URL the agent used is found: never from a header unless configured. */
export type RequestUrlSource =
  | { readonly kind: "public-url"; readonly base: string }
  | { readonly kind: "forwarded-headers" };

/** What of a request this needs: Express's `originalUrl` (the target before any mount strips it). */
export interface RequestLine {
  readonly originalUrl: string;
  readonly headers: IncomingHttpHeaders;
}

const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * `publicUrl` as a base to prefix request paths with: its origin and path, without a trailing
 * slash (`https://api.example.com/pay/` → `https://api.example.com/pay`). Throws `TypeError`.
 */
export function parsePublicUrl(publicUrl: string): string {
  let url: URL;
  try {
    url = new URL(publicUrl);
  } catch {
    throw new TypeError("must be an absolute http or https URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new TypeError("must be an absolute http or https URL");
  if (url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "")
    throw new TypeError("must have no query, fragment or user information");
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

/**
 * The absolute URL of the request as the agent sent it, which its DPoP proof's `htu` names:
 * the configured public URL followed by the request's path and query, or — only when told to
 * trust them — the scheme and host the nearest proxy put in `X-Forwarded-Proto` and
 * `X-Forwarded-Host`. The `Host` header alone is never trusted: an agent chooses it.
 */
export function resolveRequestUrl(source: RequestUrlSource, request: RequestLine): string {
  const path = pathOf(request.originalUrl);
  if (source.kind === "public-url") return `${source.base}${path}`;
  const proto = lastValue(request.headers["x-forwarded-proto"])?.toLowerCase();
  const host = lastValue(request.headers["x-forwarded-host"]);
  if ((proto !== "https" && proto !== "http") || host === undefined || !HOST.test(host)) {
    throw new AgentAuthExpressError(
      "ERR_REQUEST_URL_UNKNOWN",
      "The request has no usable X-Forwarded-Proto and X-Forwarded-Host headers",
    );
  }
  return `${proto}://${host}${path}`;
}

// The request target in origin form. An absolute-form target (`GET http://other/x`) keeps only
// its path and query: the authority is ours to say, not the agent's.
function pathOf(target: string): string {
  if (target.startsWith("/")) return target;
  try {
    const url = new URL(target);
    return `${url.pathname}${url.search}`;
  } catch {
    return "/";
  }
}

// The value the proxy nearest to us wrote (the last one: earlier ones may come from the client).
function lastValue(header: string | string[] | undefined): string | undefined {
  const joined = Array.isArray(header) ? header.join(",") : header;
  if (joined === undefined) return undefined;
  const last = joined.split(",").at(-1)?.trim();
  return last === "" ? undefined : last;
}
