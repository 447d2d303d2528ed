import { once } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer as createTcpServer, type Socket } from "node:net";
import { close, listen, urlOf } from "./platform.js";

/** What a stand-in verifier received: the call the middleware made. */
export interface ReceivedCall {
  readonly headers: IncomingMessage["headers"];
  readonly path: string;
  readonly body: Record<string, unknown>;
}

/** A stand-in for the verifier that answers as a test says: for what no real verifier does. */
export interface FakeVerifier {
  readonly url: string;
  readonly calls: ReceivedCall[];
  /** How the next calls are answered. */
  answer: (res: ServerResponse) => void;
  close(): Promise<void>;
}

export async function startFakeVerifier(): Promise<FakeVerifier> {
  const calls: ReceivedCall[] = [];
  const fake: FakeVerifier = {
    url: "",
    calls,
    answer: (res) => res.writeHead(500).end(),
    close: async () => undefined,
  };
  const server = await listen((req, res) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      text += chunk;
    });
    req.on("end", () => {
      calls.push({ headers: req.headers, path: req.url ?? "", body: JSON.parse(text) });
      fake.answer(res);
    });
  });
  return Object.assign(fake, { url: urlOf(server), close: () => close(server) });
}

/** A server that accepts connections and never says a word: a verifier that hangs. */
export async function startSilentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, "close");
    },
  };
}

/** A URL nothing listens at: a port that was free a moment ago. */
export async function unusedUrl(): Promise<string> {
  const server = await listen(() => undefined);
  const url = urlOf(server);
  await close(server);
  return url;
}

/** Writes `body` as JSON with `status`. */
export function json(res: ServerResponse, status: number, body: unknown, headers = {}): void {
  res
    .writeHead(status, { "content-type": "application/json", ...headers })
    .end(JSON.stringify(body));
}
