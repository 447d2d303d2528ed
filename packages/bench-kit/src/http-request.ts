import { type Agent, type IncomingHttpHeaders, type OutgoingHttpHeaders, request } from "node:http";

export interface HttpAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

export interface HttpRequestOptions {
  readonly method?: string;
  readonly headers?: OutgoingHttpHeaders;
  readonly body?: string;
  /** Source address of the connection (any 127.0.0.0/8 address works on loopback). */
  readonly localAddress?: string;
  /** A keep-alive agent to reuse connections; default a new connection per request. */
  readonly agent?: Agent;
}

/** One HTTP/1.1 request, answered with its status, headers and body text. */
export function httpRequest(url: string, options: HttpRequestOptions = {}): Promise<HttpAnswer> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const headers: OutgoingHttpHeaders = { ...options.headers };
    if (options.body !== undefined) headers["content-length"] = Buffer.byteLength(options.body);
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: options.method ?? "GET",
        headers,
        agent: options.agent ?? false,
        ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/** The answer's JSON body, after checking its status; otherwise an error quoting the body. */
export function expectJson<T = Record<string, unknown>>(
  answer: HttpAnswer,
  status: number,
  what: string,
): T {
  if (answer.status !== status) {
    throw new Error(`${what}: expected HTTP ${status}, got ${answer.status}: ${answer.text}`);
  }
  return (answer.text === "" ? {} : JSON.parse(answer.text)) as T;
}
