import { randomUUID } from "node:crypto";
import type { AgentAuth } from "@agentauth/express";
import { getAgentAuth } from "@agentauth/express";
import express, {
  type ErrorRequestHandler,
  type Express,
  type Request,
  type RequestHandler,
} from "express";
import type { Logger } from "pino";
import { z } from "zod";
import { createDataToken, hashDataToken, isDataToken } from "./data-token.js";
import { EXCHANGE_ERROR_STATUS, ExchangeError, isExchangeError } from "./errors.js";
import type { PayloadStore } from "./store/payload-store.js";

export interface ExchangeLimits {
  /** The longest TTL a publisher may ask for. */
  readonly maxTtlSeconds: number;
  /** The largest sealed payload, in characters of its base64url form. */
  readonly maxPayloadBytes: number;
}

export interface ExchangeAppDeps {
  /** `createAgentAuth(…)` for this service provider. */
  readonly agentAuth: AgentAuth;
  readonly store: PayloadStore;
  readonly clock: { now(): Date };
  readonly logger: Logger;
  readonly limits: ExchangeLimits;
}

/** A namespace: one segment of the `exchange/<namespace>` resource agents are granted. */
const namespace = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, {
  error: "must be 1-63 lower-case letters, digits or '-', starting with a letter or digit",
});
// What `sealPayload` makes: the service refuses anything that does not even look sealed, so a
// publisher that forgot to encrypt learns it at once. It can never tell more than that.
const SEALED = /^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]{22,}$/;

/**
 * The exchange: agents publish sealed payloads under `exchange/<namespace>` (capability `write`)
 * and others retrieve them with the data token (capability `read`), once or until the TTL ends.
 * Every request is checked by the verifier through `@agentauth/express` first.
 */
export function createExchangeApp(deps: ExchangeAppDeps): Express {
  const { agentAuth, store, clock, logger, limits } = deps;
  const publishBody = z.strictObject({
    ciphertext: z
      .string()
      .max(limits.maxPayloadBytes, {
        error: `must be at most ${limits.maxPayloadBytes} characters`,
      })
      .regex(SEALED, { error: "must be a sealed payload (v1.<iv>.<ciphertext>, see sealPayload)" }),
    mode: z.enum(["once", "reusable"]),
    ttl_seconds: z.number().int().min(1).max(limits.maxTtlSeconds),
    content_type: z
      .string()
      .regex(/^[\w.+-]+\/[\w.+-]+$/, { error: "must be a media type" })
      .max(100)
      .optional(),
  });
  const retrieveBody = z.strictObject({
    token: z.string().refine(isDataToken, { error: "must be a data token (dt_…)" }),
  });
  const namespaceOf = (req: Request) => String(req.params.namespace);

  const app = express();
  app.disable("x-powered-by");
  app.use(requestLog(logger));
  app.get("/health/live", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/health/ready", async (_req, res) => {
    try {
      await store.ping();
      res.json({ status: "ready" });
    } catch {
      res.status(503).json({ status: "unavailable" });
    }
  });

  const json = express.json({ limit: limits.maxPayloadBytes + 4096 });
  app.use("/v1", (_req, res, next) => {
    res.setHeader("Cache-Control", "no-store");
    next();
  });

  // Parse the body, check the request (before the verifier is asked: a malformed one costs
  // nothing), then let the verifier decide on `type` over `exchange/<namespace>`.
  const guarded = (type: "write" | "read", body: z.ZodType): RequestHandler[] => [
    json,
    validate((req) => {
      namespace.parse(req.params.namespace);
      body.parse(req.body);
    }),
    agentAuth.requireCapability({
      type,
      resource: (req) => `exchange/${namespaceOf(req)}`,
      // A publish writes one item (a grant's `max_items` applies).
      ...(type === "write" ? { items: 1 } : {}),
    }),
  ];

  app.post(
    "/v1/namespaces/:namespace/payloads",
    ...guarded("write", publishBody),
    async (req, res) => {
      const body = publishBody.parse(req.body);
      const token = createDataToken();
      const now = clock.now();
      const expiresAt = new Date(now.getTime() + body.ttl_seconds * 1000);
      await store.put({
        tokenHash: hashDataToken(token),
        namespace: namespaceOf(req),
        ciphertext: body.ciphertext,
        contentType: body.content_type,
        mode: body.mode,
        publishedBy: getAgentAuth(req).agent,
        createdAt: now,
        expiresAt,
      });
      res.status(201).json({
        token,
        namespace: namespaceOf(req),
        mode: body.mode,
        expires_at: expiresAt.toISOString(),
        size: body.ciphertext.length,
      });
    },
  );

  app.post(
    "/v1/namespaces/:namespace/retrievals",
    ...guarded("read", retrieveBody),
    async (req, res) => {
      const { token } = retrieveBody.parse(req.body);
      const taken = await store.take(hashDataToken(token), {
        namespace: namespaceOf(req),
        now: clock.now(),
      });
      switch (taken.kind) {
        case "unknown":
          throw new ExchangeError(
            "ERR_DATA_TOKEN_UNKNOWN",
            "No payload has this data token in this namespace",
          );
        case "expired":
          throw new ExchangeError("ERR_DATA_TOKEN_EXPIRED", "This data token has expired");
        case "used":
          throw new ExchangeError(
            "ERR_DATA_TOKEN_USED",
            "This one-time data token has been used already",
          );
        case "payload": {
          const { payload } = taken;
          res.json({
            ciphertext: payload.ciphertext,
            content_type: payload.contentType ?? null,
            mode: payload.mode,
            published_by: payload.publishedBy,
            published_at: payload.createdAt.toISOString(),
            expires_at: payload.expiresAt.toISOString(),
            retrievals: taken.retrievals,
          });
          return;
        }
      }
    },
  );

  app.use((_req, res) => {
    problem(res, 404, "Not Found", { code: "ERR_NOT_FOUND", detail: "No such route" });
  });
  app.use(errorHandler(logger));
  return app;
}

/** Runs `check`; a Zod failure becomes `ERR_VALIDATION` listing each problem. */
function validate(check: (req: Request) => void): RequestHandler {
  return (req, _res, next) => {
    try {
      check(req);
      next();
    } catch (error) {
      if (!(error instanceof z.ZodError)) throw error;
      const problems = error.issues.map(
        (issue) => `${issue.path.join(".") || "body"} ${issue.message}`,
      );
      next(new ExchangeError("ERR_VALIDATION", problems.join("; ")));
    }
  };
}

function problem(
  res: express.Response,
  status: number,
  title: string,
  fields: Record<string, string>,
): void {
  res
    .status(status)
    .type("application/problem+json")
    .json({
      type: `urn:agentauth:example-exchange:${fields.code ?? "error"}`,
      title,
      status,
      ...fields,
    });
}

function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, _req, res, _next) => {
    if (isExchangeError(error)) {
      const status = EXCHANGE_ERROR_STATUS[error.code];
      if (status >= 500) logger.warn({ code: error.code, err: error.cause }, error.message);
      problem(res, status, error.code, { code: error.code, detail: error.message });
      return;
    }
    // Express's body parser: a body too large, or not JSON.
    const type = (error as { type?: unknown }).type;
    if (type === "entity.too.large") {
      problem(res, 413, "ERR_PAYLOAD_TOO_LARGE", {
        code: "ERR_PAYLOAD_TOO_LARGE",
        detail: "The request body is too large",
      });
      return;
    }
    if (typeof type === "string" && type.startsWith("entity.")) {
      problem(res, 400, "ERR_VALIDATION", {
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

/** One line per request: never the body, so never a data token or a payload. */
function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on("finish", () => {
      logger.info(
        {
          method: req.method,
          path: req.path,
          status: res.statusCode,
          ms: Number((process.hrtime.bigint() - started) / 1000n) / 1000,
          agent: req.agentAuth?.agent,
        },
        "request",
      );
    });
    next();
  };
}
