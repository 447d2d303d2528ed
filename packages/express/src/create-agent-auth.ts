import { STATUS_CODES } from "node:http";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { z } from "zod";
import type { AgentAuthContext } from "./agent-auth-context.js";
import { createActionResolver, type RequireCapabilityOptions } from "./capability-action.js";
import { AgentAuthExpressError, type ErrorCode, isAgentAuthExpressError } from "./errors.js";
import { parseOptions, serviceProviderId, verifierLike } from "./parse-options.js";
import {
  buildProtectedResourceMetadata,
  metadataUrlOf,
  type ProtectedResourceMetadata,
  type ProtectedResourceMetadataOptions,
} from "./protected-resource-metadata.js";
import { parsePublicUrl, type RequestUrlSource, resolveRequestUrl } from "./request-url.js";
import type {
  Verification,
  VerificationAction,
  VerificationAnswer,
  VerificationRequest,
} from "./verification.js";

export interface AgentAuthOptions {
  /** Where decisions come from: `createRemoteVerification(…)` or `createInProcessVerification(…)`. */
  readonly verification: Verification;
  /**
   * This service provider's id at the registry: the tokens' `aud`, and as an https URL its RFC
   * 9728 resource identifier.
   */
  readonly serviceProvider: string;
  /** The registry's issuer identifier, the authorization server agents get tokens from. */
  readonly authorizationServer: string;
  /**
   * The URL agents reach this app at (origin, and path prefix if a proxy strips one): each
   * request's absolute URL, which its DPoP proof names, is this followed by its path and query.
   */
  readonly publicUrl?: string;
  /**
   * Instead of `publicUrl`, take the scheme and host from the `X-Forwarded-Proto` and
   * `X-Forwarded-Host` headers your reverse proxy sets. Only behind a proxy that overwrites them.
   */
  readonly trustForwardedHeaders?: boolean;
  /** Where agents ask for a fresh approval on step-up; default the registry's CIBA endpoint. */
  readonly approvalEndpoint?: string;
  /** Told of every request the middleware could not get a decision for (e.g. to log it). */
  readonly onError?: (error: AgentAuthExpressError, req: Request) => void;
}

export interface AgentAuth {
  /**
   * Middleware letting a request through only when the verifier allows `options`' action for
   * the agent's token and proof; then `req.agentAuth` says who and under which grant.
   */
  requireCapability(options: RequireCapabilityOptions): RequestHandler;
  /** Middleware serving {@link AgentAuth.metadata} at its RFC 9728 well-known path. */
  protectedResourceMetadata(options?: ProtectedResourceMetadataOptions): RequestHandler;
  /** The RFC 9728 document (without the optional names the handler may add). */
  readonly metadata: ProtectedResourceMetadata | undefined;
  /** Closes the verification adapter. */
  close(): Promise<void>;
}

const httpUrl = z.url({ protocol: /^https?$/ });

const optionsSchema = z
  .object({
    verification: verifierLike<Verification>(
      "must be a Verification (createRemoteVerification or createInProcessVerification)",
    ),
    serviceProvider: serviceProviderId,
    authorizationServer: httpUrl,
    publicUrl: z
      .string()
      .transform((url, context) => {
        try {
          return parsePublicUrl(url);
        } catch (error) {
          context.addIssue({ code: "custom", message: (error as TypeError).message });
          return z.NEVER;
        }
      })
      .optional(),
    trustForwardedHeaders: z.boolean().optional(),
    approvalEndpoint: httpUrl.optional(),
    onError: z
      .custom<(error: AgentAuthExpressError, req: Request) => void>(
        (value) => typeof value === "function",
        "must be a function",
      )
      .optional(),
  })
  .strict()
  .superRefine((options, context) => {
    if ((options.publicUrl === undefined) === (options.trustForwardedHeaders !== true)) {
      context.addIssue({
        code: "custom",
        path: ["publicUrl"],
        message: "give exactly one of publicUrl and trustForwardedHeaders: true",
      });
    }
  });

// The verifier's body limits (docs/verifier.md): past them it would refuse the call itself.
const MAX_HEADER_VALUE = 16_384;
const MAX_DPOP_HEADERS = 8;
const MAX_URL = 8_192;
const RETRY_AFTER_SECONDS = 1;
const FORWARDED_HEADERS = ["WWW-Authenticate", "DPoP-Nonce", "Retry-After"] as const;

/**
 * AgentAuth for an Express 5 app: `requireCapability` on each route, and the RFC 9728 metadata.
 * Options are checked once, here (a `TypeError` names every bad one).
 *
 * @example
 * const agentAuth = createAgentAuth({
 *   verification: createRemoteVerification({ verifierUrl, apiKey }),
 *   serviceProvider: "https://payments.example.com",
 *   authorizationServer: "https://registry.example.com",
 *   publicUrl: "https://payments.example.com",
 * });
 * app.use(agentAuth.protectedResourceMetadata());
 * app.post("/v1/payments", express.json(), agentAuth.requireCapability({
 *   type: "transact",
 *   resource: (req) => `merchant/${req.body.merchant}`,
 *   amount: (req) => ({ amount: req.body.amount, currency: "EUR" }),
 * }), (req, res) => { res.json({ paidBy: req.agentAuth?.agent }); });
 */
export function createAgentAuth(options: AgentAuthOptions): AgentAuth {
  const parsed = parseOptions(optionsSchema, options, "createAgentAuth");
  const { verification, serviceProvider, authorizationServer } = parsed;
  const urlSource: RequestUrlSource =
    parsed.publicUrl === undefined
      ? { kind: "forwarded-headers" }
      : { kind: "public-url", base: parsed.publicUrl };
  const metadataUrl = resourceMetadataUrl(serviceProvider);
  const metadata =
    metadataUrl === undefined
      ? undefined
      : buildProtectedResourceMetadata(serviceProvider, authorizationServer);
  const answers = createAnswers({
    authorizationServer,
    approvalEndpoint:
      parsed.approvalEndpoint ?? `${authorizationServer.replace(/\/$/, "")}/oauth/backchannel`,
    metadataUrl,
  });
  const report = (error: AgentAuthExpressError, req: Request) => {
    try {
      parsed.onError?.(error, req);
    } catch {
      // A failing logger must not turn a clean refusal into a crash.
    }
  };

  return {
    metadata,
    close: () => verification.close(),
    protectedResourceMetadata(extra = {}) {
      if (metadata === undefined || metadataUrl === undefined) {
        throw new TypeError(
          "protectedResourceMetadata: RFC 9728 needs serviceProvider to be an http(s) URL",
        );
      }
      const document = JSON.stringify(
        buildProtectedResourceMetadata(
          serviceProvider,
          authorizationServer,
          parseOptions(metadataOptionsSchema, extra, "protectedResourceMetadata"),
        ),
      );
      const path = metadataUrl.pathname;
      return (req, res, next) => {
        if (req.path !== path) return next();
        if (req.method !== "GET" && req.method !== "HEAD") {
          res.status(405).set("Allow", "GET, HEAD").end();
          return;
        }
        res
          .status(200)
          .set({
            "Content-Type": "application/json",
            "Cache-Control": "public, max-age=300",
            "Access-Control-Allow-Origin": "*",
          })
          .send(document);
      };
    },
    requireCapability(capability) {
      const resolveAction = createActionResolver(capability);
      return async (req: Request, res: Response, next: NextFunction) => {
        if (req.agentAuth !== undefined) {
          next(
            new AgentAuthExpressError(
              "ERR_ALREADY_VERIFIED",
              "requireCapability ran twice on one request: its DPoP proof is used up",
            ),
          );
          return;
        }
        let action: VerificationAction;
        let request: VerificationRequest;
        try {
          action = await resolveAction(req);
          request = {
            ...agentHeaders(req),
            method: req.method,
            url: resolveRequestUrl(urlSource, req),
            action,
          };
        } catch (error) {
          // Only what the request itself made uncheckable is the agent's 400; anything else a
          // route's function threw (even a coded error) is the app's.
          if (!isRequestError(error)) return next(error);
          report(error, req);
          return answers.badRequest(res, error);
        }
        if (tooLarge(request)) return answers.tooLarge(res, request);

        let answer: VerificationAnswer;
        try {
          answer = await verification.verify(request);
        } catch (error) {
          if (!isAgentAuthExpressError(error)) return next(error);
          report(error, req);
          return answers.noDecision(res, error);
        }
        if (answer.decision !== "allow") return answers.denial(res, answer, action);
        const nonce = answer.respond.headers["DPoP-Nonce"];
        if (nonce !== undefined) res.setHeader("DPoP-Nonce", nonce);
        req.agentAuth = contextOf(answer, action);
        next();
      };
    },
  };
}

function isRequestError(error: unknown): error is AgentAuthExpressError {
  return (
    isAgentAuthExpressError(error, "ERR_INVALID_ACTION") ||
    isAgentAuthExpressError(error, "ERR_REQUEST_URL_UNKNOWN")
  );
}

const metadataOptionsSchema = z
  .object({
    resourceName: z.string().min(1).max(256).optional(),
    resourceDocumentation: httpUrl.optional(),
  })
  .strict();

function resourceMetadataUrl(serviceProvider: string): URL | undefined {
  if (!/^https?:\/\//.test(serviceProvider)) return undefined;
  try {
    return metadataUrlOf(serviceProvider);
  } catch {
    return undefined;
  }
}

// What the agent sent, as received. Several DPoP headers stay several (Node would join them
// into one value), so the verifier refuses them as such.
function agentHeaders(req: Request): Pick<VerificationRequest, "authorization" | "dpop"> {
  const authorization = req.headers.authorization;
  const dpop = req.headersDistinct.dpop;
  return {
    ...(authorization === undefined ? {} : { authorization }),
    ...(dpop === undefined ? {} : { dpop: dpop.length === 1 ? (dpop[0] as string) : dpop }),
  };
}

function tooLarge(request: VerificationRequest): boolean {
  const dpop = request.dpop === undefined ? [] : [request.dpop].flat();
  return (
    request.url.length > MAX_URL ||
    (request.authorization?.length ?? 0) > MAX_HEADER_VALUE ||
    dpop.length > MAX_DPOP_HEADERS ||
    dpop.some((value) => value.length > MAX_HEADER_VALUE)
  );
}

function contextOf(answer: VerificationAnswer, action: VerificationAction): AgentAuthContext {
  return {
    agent: answer.agent as string,
    grant: answer.grant as string,
    human: answer.human as string,
    tokenId: answer.token_id as string,
    capability: answer.capability as AgentAuthContext["capability"],
    action,
    remaining: {
      ...(answer.remaining?.requests === undefined ? {} : { requests: answer.remaining.requests }),
      spend: (answer.remaining?.spend ?? []).map((cap) => ({
        currency: cap.currency,
        windowSeconds: cap.window_seconds,
        remaining: cap.remaining,
      })),
    },
  };
}

interface AnswerDeps {
  readonly authorizationServer: string;
  readonly approvalEndpoint: string;
  readonly metadataUrl: URL | undefined;
}

/** Every answer the middleware writes itself, in RFC 9457 form with `Cache-Control: no-store`. */
function createAnswers(deps: AnswerDeps) {
  const send = (
    res: Response,
    status: number,
    body: Record<string, unknown>,
    headers: Record<string, string> = {},
  ) => {
    res
      .status(status)
      .set({ ...headers, "Cache-Control": "no-store", "Content-Type": "application/problem+json" })
      .send(JSON.stringify({ title: STATUS_CODES[status], status, ...body }));
  };
  const problem = (res: Response, status: number, code: ErrorCode, detail: string, headers = {}) =>
    send(res, status, { type: typeOf("error", code.slice(4)), detail, code }, headers);

  return {
    /** The verifier's denial: its status and headers, and what the agent needs next. */
    denial(res: Response, answer: VerificationAnswer, action: VerificationAction) {
      const headers: Record<string, string> = {};
      for (const name of FORWARDED_HEADERS) {
        const value = answer.respond.headers[name];
        if (value !== undefined) headers[name] = value;
      }
      const challenge = headers["WWW-Authenticate"];
      if (challenge !== undefined && deps.metadataUrl !== undefined)
        headers["WWW-Authenticate"] = `${challenge}, resource_metadata="${deps.metadataUrl.href}"`;
      const error =
        challenge === undefined ? undefined : /\berror="([a-z_]+)"/.exec(challenge)?.[1];
      send(
        res,
        answer.respond.status,
        {
          type: typeOf("reason", answer.reason),
          detail: answer.message,
          reason: answer.reason,
          ...(error === undefined ? {} : { error }),
          ...(answer.reason === "step_up_required"
            ? {
                step_up: {
                  ...(answer.step_up === undefined ? {} : { above: answer.step_up.above }),
                  action,
                  authorization_server: deps.authorizationServer,
                  approval_endpoint: deps.approvalEndpoint,
                },
              }
            : {}),
        },
        headers,
      );
    },
    /** No decision could be made: fail closed, never allow. */
    noDecision(res: Response, error: AgentAuthExpressError) {
      if (error.code === "ERR_VERIFIER_REJECTED") {
        problem(
          res,
          500,
          "ERR_VERIFIER_REJECTED",
          "Authorization cannot be checked: this service is misconfigured",
        );
        return;
      }
      problem(
        res,
        503,
        "ERR_VERIFIER_UNAVAILABLE",
        "Authorization cannot be checked right now; retry shortly",
        { "Retry-After": String(error.retryAfterSeconds ?? RETRY_AFTER_SECONDS) },
      );
    },
    /** The request itself cannot be checked (its computed action, or its URL). */
    badRequest(res: Response, error: AgentAuthExpressError) {
      problem(res, 400, error.code, error.message);
    },
    /** Past the verifier's limits (RFC 9110 §15.5.15, RFC 6585 §5). */
    tooLarge(res: Response, request: VerificationRequest) {
      if (request.url.length > MAX_URL) {
        send(res, 414, { type: "about:blank", detail: "The request URL is too long" });
        return;
      }
      send(res, 431, {
        type: "about:blank",
        detail: "The Authorization or DPoP header is too large",
      });
    },
  };
}

function typeOf(kind: "error" | "reason", name: string): string {
  return `urn:agentauth:${kind}:${name.toLowerCase().replaceAll("_", "-")}`;
}
