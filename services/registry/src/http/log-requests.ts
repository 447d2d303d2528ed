import type { RequestHandler } from "express";
import type { Logger } from "pino";

/** One structured line per request: id, method, matched route, status, duration. Never bodies. */
export function logRequests(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on("finish", () => {
      logger.info(
        {
          requestId: res.locals.requestId,
          method: req.method,
          route: (req.route as { path?: string } | undefined)?.path ?? req.path,
          status: res.statusCode,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
        },
        "request",
      );
    });
    next();
  };
}
