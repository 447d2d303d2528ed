import { randomUUID } from "node:crypto";
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { isStateError } from "@agentauth/state";
import type { Logger } from "pino";
import {
  createDecisionCounter,
  type DecisionCounter,
  type VerifierMetrics,
} from "../operations/metrics.js";
import type { ApiKeyAuthenticator } from "../service-providers/api-key-authenticator.js";
import type { VerifyAnswer } from "../verification/verify-request.js";
import type { CheckedVerifyRequest } from "../verification/verify-request-shape.js";
import { HttpProblem, sendJson, sendProblem } from "./http-problem.js";
import { readBody } from "./read-body.js";
import { parseVerifyBody } from "./verify-body.js";

export interface VerifierHandlerDeps {
  readonly logger: Logger;
  readonly metrics: VerifierMetrics;
  readonly apiKeys: ApiKeyAuthenticator;
  /** Decides one request (and records the decision for the audit log). */
  readonly verify: (audience: string, request: CheckedVerifyRequest) => Promise<VerifyAnswer>;
  readonly introspect: (audience: string, token: string) => Promise<Record<string, unknown>>;
  /** RFC 9728 metadata for the provider with this id. */
  readonly protectedResourceMetadata: (audience: string) => Record<string, unknown>;
  /** Each dependency's state; ready when every one is `true`. */
  readonly readiness: () => Promise<Record<string, boolean>>;
}

const MAX_BODY_BYTES = 64 * 1024;
const RETRY_AFTER_SECONDS = "1";
const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;
const BASIC = /^Basic $/i;

/**
 * The verifier's HTTP surface on bare `node:http` (it sits on the path of every agent request,
 * where a framework's per-request cost is measurable): `POST /v1/verify`, `POST /introspect`
 * (RFC 7662), `GET /v1/protected-resource-metadata` (RFC 9728), health and metrics.
 */
export function createVerifierHandler(deps: VerifierHandlerDeps): RequestListener {
  const decisions = createDecisionCounter(deps.metrics);
  const routes: Record<
    string,
    (req: IncomingMessage, res: ServerResponse, id: string) => Promise<void>
  > = {
    "POST /v1/verify": (req, res, id) => handleVerify(deps, decisions, req, res, id),
    "POST /introspect": (req, res) => handleIntrospect(deps, req, res),
    "GET /v1/protected-resource-metadata": async (req, res) => {
      const audience = await authenticate(deps, req.headers.authorization);
      sendJson(res, 200, deps.protectedResourceMetadata(audience));
    },
    "GET /health/live": async (_req, res) => sendJson(res, 200, { status: "ok" }),
    "GET /health/ready": async (_req, res) => {
      const checks = await deps.readiness();
      const ready = Object.values(checks).every(Boolean);
      sendJson(res, ready ? 200 : 503, { status: ready ? "ready" : "not_ready", checks });
    },
    "GET /metrics": async (_req, res) => {
      const text = await deps.metrics.registry.metrics();
      res.writeHead(200, { "Content-Type": deps.metrics.registry.contentType });
      res.end(text);
    },
  };
  const knownPaths = new Set(Object.keys(routes).map((route) => route.split(" ")[1]));

  return (req, res) => {
    const incomingId = req.headers["x-request-id"];
    const requestId =
      typeof incomingId === "string" && REQUEST_ID.test(incomingId) ? incomingId : randomUUID();
    const url = req.url ?? "/";
    const query = url.indexOf("?");
    const path = query < 0 ? url : url.slice(0, query);
    const route = routes[`${req.method} ${path}`];
    // The answer to a verification sets it with its other headers, in one go.
    if (route !== routes["POST /v1/verify"]) res.setHeader("X-Request-Id", requestId);
    const handled =
      route === undefined
        ? Promise.reject(
            knownPaths.has(path)
              ? new HttpProblem("ERR_METHOD_NOT_ALLOWED", `${req.method} is not allowed on ${path}`)
              : new HttpProblem("ERR_NOT_FOUND", `No route for ${req.method} ${path}`),
          )
        : route(req, res, requestId);
    handled.catch((error: unknown) => {
      const style = path === "/introspect" ? "oauth" : "problem";
      if (!res.hasHeader("X-Request-Id")) res.setHeader("X-Request-Id", requestId);
      if (error instanceof HttpProblem) {
        if (error.code === "ERR_PAYLOAD_TOO_LARGE") res.setHeader("Connection", "close");
        sendProblem(res, error, requestId, style);
        return;
      }
      if (isStateError(error)) {
        deps.metrics.stateErrors.inc({ operation: path });
        deps.logger.warn(
          { requestId, err: error.message },
          "shared state unavailable: failing closed",
        );
        sendProblem(
          res,
          new HttpProblem("ERR_UNAVAILABLE", "Shared state is unavailable; retry shortly", {
            "Retry-After": RETRY_AFTER_SECONDS,
          }),
          requestId,
          style,
        );
        return;
      }
      deps.logger.error({ requestId, err: error }, "unexpected error");
      sendProblem(
        res,
        new HttpProblem("ERR_INTERNAL", `Unexpected error; quote request id ${requestId}`),
        requestId,
        style,
      );
    });
  };
}

async function handleVerify(
  deps: VerifierHandlerDeps,
  decisions: DecisionCounter,
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
) {
  const started = performance.now();
  const audience = await authenticate(deps, req.headers.authorization);
  const request = parseVerifyBody(await readBody(req, "application/json", MAX_BODY_BYTES));
  const answer = await deps.verify(audience, request);
  const text = JSON.stringify(answer);
  // A flat list of headers: node:http writes it without looking at each twice.
  res.writeHead(200, [
    "Content-Type",
    "application/json",
    "Content-Length",
    String(Buffer.byteLength(text)),
    "Cache-Control",
    "no-store",
    "X-Request-Id",
    requestId,
  ]);
  res.end(text);
  const outcome =
    answer.decision === "allow"
      ? "allow"
      : answer.reason === "step_up_required"
        ? "step_up"
        : "deny";
  decisions.count(outcome, answer.reason, (performance.now() - started) / 1000);
  if (answer.decision === "deny") {
    deps.logger.info(
      {
        serviceProvider: audience,
        reason: answer.reason,
        agent: answer.agent,
        grant: answer.grant,
      },
      "request denied",
    );
  }
}

async function handleIntrospect(
  deps: VerifierHandlerDeps,
  req: IncomingMessage,
  res: ServerResponse,
) {
  const audience = await authenticate(deps, req.headers.authorization);
  const form = new URLSearchParams(
    await readBody(req, "application/x-www-form-urlencoded", MAX_BODY_BYTES),
  );
  const token = form.get("token");
  if (token === null || token === "")
    throw new HttpProblem("ERR_INVALID_REQUEST", "The token parameter is required");
  sendJson(res, 200, await deps.introspect(audience, token));
}

/**
 * The service provider calling: `Authorization: Bearer <API key>`, or HTTP Basic with the
 * provider id as user name and the key as password (RFC 7662 §2.1 allows either).
 */
async function authenticate(
  deps: VerifierHandlerDeps,
  authorization: string | undefined,
): Promise<string> {
  const basic =
    authorization === undefined || !BASIC.test(authorization.slice(0, 6))
      ? null
      : /^Basic ([A-Za-z0-9+/=]+)$/i.exec(authorization);
  let bearer = authorization;
  let claimedId: string | undefined;
  if (basic !== null) {
    const credentials = parseBasicCredentials(basic[1] as string);
    claimedId = credentials?.id ?? "";
    bearer = credentials === undefined ? undefined : `Bearer ${credentials.secret}`;
  }
  const serviceProvider = await deps.apiKeys.authenticate(bearer);
  if (serviceProvider === undefined || (claimedId !== undefined && claimedId !== serviceProvider)) {
    // RFC 6749 §5.2: the challenge names the scheme the client authenticated with.
    throw new HttpProblem("ERR_UNAUTHENTICATED", "Invalid or revoked service provider API key", {
      "WWW-Authenticate": `${basic === null ? "Bearer" : "Basic"} realm="agentauth-verifier"`,
    });
  }
  return serviceProvider;
}

// RFC 6749 §2.3.1: both parts are form-urlencoded before joining with ":".
function parseBasicCredentials(encoded: string): { id: string; secret: string } | undefined {
  const decoded = Buffer.from(encoded, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  try {
    return {
      id: decodeURIComponent(decoded.slice(0, colon).replaceAll("+", " ")),
      secret: decodeURIComponent(decoded.slice(colon + 1).replaceAll("+", " ")),
    };
  } catch {
    return undefined;
  }
}
