import { createServer, type IncomingMessage } from "node:http";
import { close, listen } from "./test-service-provider.js";

/** What a stub answers: a status, headers and a JSON (or text) body — or nothing, ever. */
export interface StubAnswer {
  readonly status?: number;
  readonly headers?: Record<string, string>;
  readonly json?: unknown;
  readonly text?: string;
  /** Never answer (for timeouts and aborts). */
  readonly hang?: boolean;
}

export interface StubRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
}

/** A scripted HTTP server, for failures the real services do not produce on demand. */
export interface StubServer {
  readonly url: string;
  readonly requests: StubRequest[];
  /** The requests to `path`. */
  to(path: string): StubRequest[];
  close(): Promise<void>;
}

export async function startStubServer(
  answer: (request: StubRequest, server: StubServer) => StubAnswer | Promise<StubAnswer>,
): Promise<StubServer> {
  const requests: StubRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", async () => {
      const request: StubRequest = {
        method: req.method ?? "GET",
        path: new URL(req.url ?? "/", "http://stub").pathname,
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(request);
      const reply = await answer(request, stub);
      if (reply.hang === true) return;
      const headers = { ...reply.headers };
      let body = reply.text ?? "";
      if (reply.json !== undefined) {
        headers["Content-Type"] ??= "application/json";
        body = JSON.stringify(reply.json);
      }
      res.writeHead(reply.status ?? 200, headers);
      res.end(body);
    });
  });
  const stub: StubServer = {
    url: await listen(server),
    requests,
    to: (path) => requests.filter((request) => request.path === path),
    close: () => close(server),
  };
  return stub;
}

/** RFC 8414 metadata for a registry at `issuer`, as the real one publishes it. */
export function registryMetadata(issuer: string): Record<string, string> {
  return {
    issuer,
    token_endpoint: `${issuer}/oauth/token`,
    backchannel_authentication_endpoint: `${issuer}/oauth/backchannel`,
    revocation_endpoint: `${issuer}/oauth/revoke`,
  };
}

/** A token answer of the right shape (the stub's tokens are never verified by anyone). */
export const STUB_TOKEN_ANSWER = {
  access_token: "eyJhbGciOiJFUzI1NiJ9.eyJncmFudF9pZCI6ImdydF9zdHViIn0.c2ln",
  token_type: "DPoP",
  expires_in: 600,
  refresh_token: "rt_stub",
  authorization_details: [{ type: "read", resource: "balance" }],
};

/** The stub's answers for a CIBA request approved at once. */
export function approvingRegistry(request: StubRequest): StubAnswer {
  if (request.path === "/oauth/backchannel") {
    return {
      json: {
        auth_req_id: "areq_stub",
        expires_in: 600,
        interval: 1,
        user_code: "BCDF-GHJK",
        approval_uri: "https://registry.example.com/requests/areq_stub",
      },
    };
  }
  if (request.path === "/oauth/token") return { json: STUB_TOKEN_ANSWER };
  return { status: 404 };
}
