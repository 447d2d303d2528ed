import { randomBytes } from "node:crypto";
import { createServer, request as httpRequest, type Server } from "node:http";
import { createDpopProof } from "@agentauth/core";
import { PAYMENTS, type TestAgent } from "@agentauth/registry/testing";
import express, { type ErrorRequestHandler } from "express";
import {
  type AgentAuth,
  type AgentAuthExpressError,
  type AgentAuthOptions,
  createAgentAuth,
  isAgentAuthExpressError,
  type Verification,
} from "../../src/index.js";
import { close, urlOf } from "./platform.js";

/** A payments service provider on Express, guarded by the middleware, on a real socket. */
export interface TestServiceProvider {
  readonly url: string;
  readonly agentAuth: AgentAuth;
  /** What `onError` was told, in order. */
  readonly errors: AgentAuthExpressError[];
  /** Errors that reached the app's own error handler (programmer errors). */
  readonly appErrors: unknown[];
  close(): Promise<void>;
}

export type ServiceProviderOptions = Partial<Omit<AgentAuthOptions, "verification">> & {
  /** Default: the URL the provider listens at. */
  readonly publicUrl?: string;
};

/**
 * Routes: `POST /v1/payments` (transact `merchant/<merchant>` for the body's amount),
 * `GET /v1/reports/:id` (read `reports/<id>`), `DELETE /v1/reports/:id` (delete), and the
 * RFC 9728 metadata. Each allowed route answers `{ agentAuth }` as the middleware set it.
 */
export async function startServiceProvider(
  verification: Verification,
  issuer: string,
  options: ServiceProviderOptions = {},
): Promise<TestServiceProvider> {
  const server: Server = createServer();
  server.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const url = urlOf(server);
  const errors: AgentAuthExpressError[] = [];
  const appErrors: unknown[] = [];
  const { publicUrl, trustForwardedHeaders, ...rest } = options;
  const agentAuth = createAgentAuth({
    verification,
    serviceProvider: PAYMENTS,
    authorizationServer: issuer,
    ...(trustForwardedHeaders === true
      ? { trustForwardedHeaders }
      : { publicUrl: publicUrl ?? url }),
    onError: (error) => errors.push(error),
    ...rest,
  });

  const app = express();
  app.use(agentAuth.protectedResourceMetadata({ resourceName: "Payments" }));
  const allowed: express.RequestHandler = (req, res) => {
    res.json({ agentAuth: req.agentAuth });
  };
  app.post(
    "/v1/payments",
    express.json(),
    agentAuth.requireCapability({
      type: "transact",
      resource: (req) => `merchant/${req.body?.merchant}`,
      amount: (req) => req.body?.amount,
    }),
    allowed,
  );
  app.get(
    "/v1/reports/:id",
    agentAuth.requireCapability({ type: "read", resource: (req) => `reports/${req.params.id}` }),
    allowed,
  );
  app.delete(
    "/v1/reports/:id",
    agentAuth.requireCapability({ type: "delete", resource: (req) => `reports/${req.params.id}` }),
    allowed,
  );
  const onAppError: ErrorRequestHandler = (error, _req, res, _next) => {
    appErrors.push(error);
    res
      .status(500)
      .json({ error: isAgentAuthExpressError(error) ? error.code : "internal_server_error" });
  };
  app.use(onAppError);
  server.on("request", app);

  return {
    url,
    agentAuth,
    errors,
    appErrors,
    async close() {
      await close(server);
      await agentAuth.close();
    },
  };
}

/** One HTTP exchange, keeping what the tests look at. */
export interface Exchange {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

export interface CallOptions {
  readonly method?: string;
  readonly body?: unknown;
  /** The server nonce to put in the proof. */
  readonly nonce?: string;
  /** Override what the proof names (default: this very request). */
  readonly proofUrl?: string;
  readonly proofMethod?: string;
  /** A proof made elsewhere (e.g. to replay one), instead of a fresh one. */
  readonly proof?: string | null;
  /** Default `DPoP <token>`; `null` sends none. */
  readonly authorization?: string | null;
  readonly headers?: Record<string, string>;
  /** The proof's `iat` source; default now. */
  readonly now?: Date;
}

/** An agent calling the provider with its access token and a fresh DPoP proof per request. */
export interface AgentCaller {
  /** The last `DPoP-Nonce` the provider handed out (used in proofs unless told otherwise). */
  nonce: string | undefined;
  /** The proof of the last call. */
  lastProof: string | undefined;
  call(path: string, options?: CallOptions): Promise<Exchange>;
  /** Makes a proof for `method` `url` with the current nonce. */
  proof(method: string, url: string, options?: { nonce?: string; now?: Date }): Promise<string>;
}

export function agentCaller(
  provider: { url: string },
  agent: TestAgent,
  accessToken: string,
): AgentCaller {
  const caller: AgentCaller = {
    nonce: undefined,
    lastProof: undefined,
    proof: (method, url, options = {}) => {
      const nonce = options.nonce ?? caller.nonce;
      return createDpopProof({
        key: agent.key,
        method,
        url,
        now: options.now ?? new Date(),
        jti: randomBytes(24).toString("base64url"),
        accessToken,
        ...(nonce === undefined ? {} : { nonce }),
      });
    },
    async call(path, options = {}) {
      const method = options.method ?? (options.body === undefined ? "GET" : "POST");
      const url = `${provider.url}${path}`;
      const headers: Record<string, string> = { ...options.headers };
      if (options.authorization !== null)
        headers.authorization = options.authorization ?? `DPoP ${accessToken}`;
      const proof =
        options.proof === undefined
          ? await caller.proof(options.proofMethod ?? method, options.proofUrl ?? url, {
              ...(options.nonce === undefined ? {} : { nonce: options.nonce }),
              ...(options.now === undefined ? {} : { now: options.now }),
            })
          : options.proof;
      if (proof !== null) headers.dpop = proof;
      caller.lastProof = proof ?? undefined;
      let body: string | undefined;
      if (options.body !== undefined) {
        body = JSON.stringify(options.body);
        headers["content-type"] = "application/json";
      }
      const response = await fetch(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
      });
      const nonce = response.headers.get("dpop-nonce");
      if (nonce !== null) caller.nonce = nonce;
      const text = await response.text();
      return { status: response.status, headers: response.headers, body: parseObject(text) };
    },
  };
  return caller;
}

function parseObject(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * A request through node:http, which sends what fetch will not: a `Host` of the caller's
 * choosing, a header repeated on several lines (an array), an absolute-form request target.
 */
export function rawRequest(
  url: string,
  options: { method?: string; path?: string; headers?: Record<string, string | string[]> } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const { hostname, port, pathname, search } = new URL(url);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        host: hostname,
        port,
        path: options.path ?? `${pathname}${search}`,
        method: options.method ?? "GET",
        headers: options.headers ?? {},
      },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          text += chunk;
        });
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, body: parseObject(text) }),
        );
      },
    );
    request.on("error", reject);
    request.end();
  });
}

export { close };
