import {
  createErrorHandler,
  healthRoutes,
  notFound,
  requestLog,
  validateRequest,
} from "@agentauth/examples-kit";
import type { AgentAuth } from "@agentauth/express";
import { getAgentAuth } from "@agentauth/express";
import express, { type Express, type Request, type RequestHandler } from "express";
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
const URN = "urn:agentauth:example-exchange";
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
  app.use(healthRoutes(() => store.ping()));

  const json = express.json({ limit: limits.maxPayloadBytes + 4096 });
  app.use("/v1", (_req, res, next) => {
    res.setHeader("Cache-Control", "no-store");
    next();
  });

  // Parse the body, check the request (before the verifier is asked: a malformed one costs
  // nothing), then let the verifier decide on `type` over `exchange/<namespace>`.
  const guarded = (type: "write" | "read", body: z.ZodType): RequestHandler[] => [
    json,
    validateRequest(
      (req) => {
        namespace.parse(req.params.namespace);
        body.parse(req.body);
      },
      (problems) => new ExchangeError("ERR_VALIDATION", problems),
    ),
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

  app.use(notFound(URN));
  app.use(
    createErrorHandler({
      logger,
      urn: URN,
      known: (error) =>
        isExchangeError(error)
          ? { status: EXCHANGE_ERROR_STATUS[error.code], code: error.code, detail: error.message }
          : undefined,
    }),
  );
  return app;
}
