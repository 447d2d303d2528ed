/** One HTTP exchange with a verifier, keeping what a test looks at: status, headers, body. */
export interface Exchange {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body parsed as JSON (`{}` when it is not JSON). */
  readonly json: Record<string, unknown>;
}

export interface ExchangeOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON (with its content type unless given). */
  readonly body?: unknown;
}

/** Sends one request to `url` with `fetch` and reads the whole answer. */
export async function exchange(url: string, options: ExchangeOptions = {}): Promise<Exchange> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (typeof options.body === "string") body = options.body;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
  }
  const response = await fetch(url, {
    method: options.method ?? (body === undefined ? "GET" : "POST"),
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = {};
  }
  return { status: response.status, headers: response.headers, text, json };
}
