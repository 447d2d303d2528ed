import { randomUUID } from "node:crypto";
import type { ErrorRequestHandler, Request, RequestHandler, Response } from "express";
import type { Logger } from "pino";
import { z } from "zod";

/** An error an example answers as such: its status, stable code and a detail for the caller. */
export interface KnownError {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
}

/** Sends an RFC 9457 problem with a stable `code` (`type` is `<urn>:<code>`). */
export function sendProblem(res: Response, urn: string, problem: KnownError): void {
  res
    .status(problem.status)
    .type("application/problem+json")
    .json({
      type: `${urn}:${problem.code}`,
      title: problem.code,
      status: problem.status,
      code: problem.code,
      detail: problem.detail,
    });
}

/** `404 ERR_NOT_FOUND` for every route not matched before it. */
export function notFound(urn: string): RequestHandler {
  return (_req, res) => {
    sendProblem(res, urn, { status: 404, code: "ERR_NOT_FOUND", detail: "No such route" });
  };
}

/**
 * Runs `check` on the request before anything else looks at it; a Zod failure becomes
 * `invalid(<every problem>)` for the error handler.
 */
export function validateRequest(
  check: (req: Request) => void,
  invalid: (problems: string) => Error,
): RequestHandler {
  return (req, _res, next) => {
    try {
      check(req);
      next();
    } catch (error) {
      if (!(error instanceof z.ZodError)) throw error;
      const problems = error.issues.map(
        (issue) => `${issue.path.join(".") || "body"} ${issue.message}`,
      );
      next(invalid(problems.join("; ")));
    }
  };
}

/**
 * The one error middleware of an example: its own coded errors (`known`), Express's body parser
 * (413 for a body too large, 400 for one that is not JSON), and anything else as a generic 500
 * with a request id — the detail goes to the log, never to the client.
 */
export function createErrorHandler(options: {
  readonly logger: Logger;
  readonly urn: string;
  readonly known: (error: unknown) => KnownError | undefined;
  /** The code of a body too large (default ERR_PAYLOAD_TOO_LARGE). */
  readonly tooLargeCode?: string;
}): ErrorRequestHandler {
  const { logger, urn } = options;
  return (error: unknown, _req, res, _next) => {
    const known = options.known(error);
    if (known !== undefined) {
      if (known.status >= 500) logger.warn({ code: known.code, err: error }, known.detail);
      sendProblem(res, urn, known);
      return;
    }
    const type = (error as { type?: unknown } | null)?.type;
    if (type === "entity.too.large") {
      sendProblem(res, urn, {
        status: 413,
        code: options.tooLargeCode ?? "ERR_PAYLOAD_TOO_LARGE",
        detail: "The request body is too large",
      });
      return;
    }
    if (typeof type === "string" && type.startsWith("entity.")) {
      sendProblem(res, urn, {
        status: 400,
        code: "ERR_VALIDATION",
        detail: "The request body must be JSON",
      });
      return;
    }
    const requestId = randomUUID();
    logger.error({ err: error, requestId }, "unexpected error");
    res.status(500).type("application/problem+json").json({
      type: "about:blank",
      title: "Internal Server Error",
      status: 500,
      request_id: requestId,
    });
  };
}

/**
 * One log line per request: method, path, status, duration and the verified agent. Never the
 * body or the query, so never a data token, a payload or a secret.
 */
export function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on("finish", () => {
      logger.info(
        {
          method: req.method,
          path: req.path,
          status: res.statusCode,
          ms: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
          agent: (req as { agentAuth?: { agent: string } }).agentAuth?.agent,
        },
        "request",
      );
    });
    next();
  };
}

/** `/health/live` and `/health/ready` (ready while `ready` resolves). */
export function healthRoutes(ready: () => Promise<unknown>): RequestHandler {
  return async (req, res, next) => {
    if (req.method !== "GET") return next();
    if (req.path === "/health/live") {
      res.json({ status: "ok" });
      return;
    }
    if (req.path !== "/health/ready") return next();
    try {
      await ready();
      res.json({ status: "ready" });
    } catch {
      res.status(503).json({ status: "unavailable" });
    }
  };
}
