import { isAgentAuthError } from "@agentauth/core";
import type { ErrorRequestHandler, RequestHandler } from "express";
import type { Logger } from "pino";
import { RegistryError, registryCodeForCoreError } from "../errors.js";
import { ERROR_RESPONSES } from "./error-responses.js";

/** Marks the routes below it as OAuth endpoints: their errors are OAuth error JSON. */
export const oauthErrors: RequestHandler = (_req, res, next) => {
  res.locals.oauth = true;
  next();
};

/** Turns any error into a coded registry error; `undefined` for the unexpected. */
export function toRegistryError(error: unknown): RegistryError | undefined {
  if (error instanceof RegistryError) return error;
  if (isAgentAuthError(error)) {
    return new RegistryError(registryCodeForCoreError(error.code), error.message, {
      cause: error,
      details: { reason: error.code, ...error.details },
    });
  }
  // Express rejects malformed percent-encoding in the path before any route runs.
  if (error instanceof URIError && (error as { status?: unknown }).status === 400) {
    return new RegistryError("ERR_VALIDATION", "The URL is not valid percent-encoding");
  }
  return bodyParserError(error);
}

// body-parser errors carry `type` and `status`; they are the client's fault and say so safely.
function bodyParserError(error: unknown): RegistryError | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { type, status, expose } = error as { type?: unknown; status?: unknown; expose?: unknown };
  switch (type) {
    case "entity.too.large":
      return new RegistryError("ERR_PAYLOAD_TOO_LARGE", "The request body is too large");
    case "parameters.too.many":
      return new RegistryError("ERR_PAYLOAD_TOO_LARGE", "The request body has too many fields");
    case "entity.parse.failed":
      return new RegistryError("ERR_VALIDATION", "The request body is not valid JSON");
    case "charset.unsupported":
    case "encoding.unsupported":
      return new RegistryError("ERR_UNSUPPORTED_MEDIA_TYPE", "Unsupported body encoding");
  }
  // The rest of what body-parser raises (a corrupt gzip body, a body shorter than its
  // Content-Length, an aborted upload) is an http-errors client error, possibly without a
  // `type`: still the client's fault, never a 500. Its message may quote internals: not shown.
  if (typeof status === "number" && status >= 400 && status < 500 && expose === true) {
    if (status === 413)
      return new RegistryError("ERR_PAYLOAD_TOO_LARGE", "The request body is too large");
    if (status === 415)
      return new RegistryError("ERR_UNSUPPORTED_MEDIA_TYPE", "Unsupported body encoding");
    return new RegistryError("ERR_VALIDATION", "The request body could not be read");
  }
  return undefined;
}

/**
 * The registry's one error handler: OAuth error JSON on OAuth endpoints, RFC 9457 problem+json
 * elsewhere; anything unexpected becomes a generic 500 with the request id, its detail logged.
 */
export function createErrorMiddleware(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const requestId = String(res.locals.requestId ?? "");
    const known = toRegistryError(error);
    if (known === undefined) {
      logger.error(
        { err: error, requestId, method: req.method, path: req.path },
        "unexpected error",
      );
      res.status(500);
      if (res.locals.oauth === true) {
        res.json({
          error: "server_error",
          error_description: `Unexpected error (request ${requestId})`,
        });
      } else {
        res.type("application/problem+json").json({
          type: "about:blank",
          title: "Internal server error",
          status: 500,
          detail: `Unexpected error; quote request id ${requestId} when reporting it`,
          request_id: requestId,
        });
      }
      return;
    }
    const response = ERROR_RESPONSES[known.code];
    logger.info({ code: known.code, requestId, method: req.method, path: req.path }, known.message);
    for (const [name, value] of Object.entries(known.headers ?? {})) res.setHeader(name, value);
    res.status(response.status);
    if (res.locals.oauth === true) {
      // No default `WWW-Authenticate` on a 401: RFC 6749 §5.2 wants one only when the client
      // authenticated with the Authorization header, in that header's scheme, which only the
      // endpoint knows (it passes it in `headers`). Agents authenticate in the body
      // (private_key_jwt), and a Bearer challenge there makes clients see a token problem.
      res.setHeader("Cache-Control", "no-store");
      res.json({ error: response.oauth, error_description: known.message });
      return;
    }
    res.type("application/problem+json").json({
      type: `urn:agentauth:error:${known.code.slice(4).toLowerCase().replaceAll("_", "-")}`,
      title: response.title,
      status: response.status,
      detail: known.message,
      code: known.code,
      request_id: requestId,
      ...known.details,
    });
  };
}
