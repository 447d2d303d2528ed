import type { ServerResponse } from "node:http";

/** The verifier's errors that are not decisions: the call itself could not be answered. */
export const PROBLEMS = {
  ERR_INVALID_REQUEST: { status: 400, title: "Invalid request", oauth: "invalid_request" },
  ERR_UNAUTHENTICATED: {
    status: 401,
    title: "Service provider authentication failed",
    oauth: "invalid_client",
  },
  ERR_NOT_FOUND: { status: 404, title: "Not found", oauth: "invalid_request" },
  ERR_METHOD_NOT_ALLOWED: { status: 405, title: "Method not allowed", oauth: "invalid_request" },
  ERR_PAYLOAD_TOO_LARGE: { status: 413, title: "Request body too large", oauth: "invalid_request" },
  ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    title: "Unsupported media type",
    oauth: "invalid_request",
  },
  ERR_UNAVAILABLE: {
    status: 503,
    title: "Temporarily unavailable",
    oauth: "temporarily_unavailable",
  },
  ERR_INTERNAL: { status: 500, title: "Internal server error", oauth: "server_error" },
} as const;

export type ProblemCode = keyof typeof PROBLEMS;

/** Thrown by request handling; answered as RFC 9457 problem+json (or OAuth error JSON). */
export class HttpProblem extends Error {
  override readonly name = "HttpProblem";
  constructor(
    readonly code: ProblemCode,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/** Writes `problem` in RFC 9457 form, or as an RFC 6749 §5.2 error on OAuth endpoints. */
export function sendProblem(
  res: ServerResponse,
  problem: HttpProblem,
  requestId: string,
  style: "problem" | "oauth",
): void {
  const { status, title, oauth } = PROBLEMS[problem.code];
  const body =
    style === "oauth"
      ? { error: oauth, error_description: problem.message }
      : {
          type: `urn:agentauth:error:${problem.code.slice(4).toLowerCase().replaceAll("_", "-")}`,
          title,
          status,
          detail: problem.message,
          code: problem.code,
          request_id: requestId,
        };
  sendJson(res, status, body, {
    "Content-Type": style === "oauth" ? "application/json" : "application/problem+json",
    ...problem.headers,
  });
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-store",
    ...headers,
  });
  res.end(text);
}
