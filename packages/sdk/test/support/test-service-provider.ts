import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A small service provider, as docs/verifier.md asks service providers to be: it forwards each
 * agent request (its `Authorization` and `DPoP` headers, method and absolute URL, and the action
 * it is about to take) to the verifier's `POST /v1/verify`, and answers a denial with the
 * verifier's `respond` status and headers and an RFC 9457 body carrying the reason.
 *
 * Routes: `POST /payments` (JSON `{merchant, amount, currency}`: a `transact` on
 * `merchant/<merchant>`) and `GET /balance` (a `read` of `balance`).
 */
export interface TestServiceProvider {
  readonly url: string;
  /** Requests received, by path. */
  readonly received: string[];
  close(): Promise<void>;
}

export interface TestServiceProviderOptions {
  readonly verifierUrl: string;
  readonly apiKey: string;
}

export async function startTestServiceProvider(
  options: TestServiceProviderOptions,
): Promise<TestServiceProvider> {
  const received: string[] = [];
  const server = createServer((req, res) => {
    // Open to browser agents of any origin (the Chromium test): the proofs are the security.
    res.setHeader("Access-Control-Allow-Origin", "*");
    res.setHeader("Access-Control-Expose-Headers", "DPoP-Nonce, WWW-Authenticate, Retry-After");
    if (req.method === "OPTIONS") {
      res.writeHead(204, {
        "Access-Control-Allow-Methods": "GET, POST",
        "Access-Control-Allow-Headers": "Authorization, DPoP, Content-Type",
      });
      res.end();
      return;
    }
    received.push(req.url ?? "");
    handle(options, url, req, res).catch((error: unknown) => {
      res.statusCode = 500;
      res.end(String(error));
    });
  });
  const url = await listen(server);
  return { url, received, close: () => close(server) };
}

async function handle(
  options: TestServiceProviderOptions,
  base: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const body = await readBody(req);
  const path = new URL(req.url ?? "/", base).pathname;
  let action: Record<string, unknown>;
  if (req.method === "POST" && path === "/payments") {
    const payment = JSON.parse(body) as { merchant: string; amount: string; currency: string };
    action = {
      type: "transact",
      resource: `merchant/${payment.merchant}`,
      amount: { amount: payment.amount, currency: payment.currency },
    };
  } else if (req.method === "GET" && path === "/balance") {
    action = { type: "read", resource: "balance" };
  } else {
    res.statusCode = 404;
    res.end();
    return;
  }
  const verify = await fetch(`${options.verifierUrl}/v1/verify`, {
    method: "POST",
    headers: { authorization: `Bearer ${options.apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({
      authorization: req.headers.authorization,
      dpop: req.headers.dpop,
      method: req.method,
      url: `${base}${req.url}`,
      action,
    }),
  });
  if (verify.status !== 200) {
    res.statusCode = 502;
    res.end(await verify.text());
    return;
  }
  const answer = (await verify.json()) as {
    decision: "allow" | "deny";
    reason: string;
    message: string;
    agent?: string;
    remaining?: unknown;
    step_up?: unknown;
    respond: { status: number; headers: Record<string, string> };
  };
  res.statusCode = answer.respond.status;
  for (const [name, value] of Object.entries(answer.respond.headers)) res.setHeader(name, value);
  if (answer.decision === "allow") {
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify({ ok: true, agent: answer.agent, remaining: answer.remaining }));
    return;
  }
  res.setHeader("Content-Type", "application/problem+json");
  res.end(
    JSON.stringify({
      type: "about:blank",
      title: "Refused",
      status: answer.respond.status,
      detail: answer.message,
      reason: answer.reason,
      ...(answer.step_up === undefined ? {} : { step_up: answer.step_up }),
    }),
  );
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** Listens on an ephemeral port of 127.0.0.1; answers `http://localhost:<port>`. */
export async function listen(server: Server): Promise<string> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return `http://localhost:${(server.address() as AddressInfo).port}`;
}

export async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
