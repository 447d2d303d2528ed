import { EXCHANGE_ERROR_CODES, ExchangeError, type ExchangeErrorCode } from "../errors.js";
import type { RetrievalMode } from "../store/payload-store.js";

/** `fetch` with the agent's DPoP-bound token: `agent.fetch` for the exchange, or `task.fetch`. */
export type AgentFetch = (input: string, init: RequestInit) => Promise<Response>;

export interface ExchangeClientOptions {
  /** Where the exchange is, e.g. `http://localhost:4200`. */
  readonly baseUrl: string;
  readonly fetch: AgentFetch;
}

export interface PublishOptions {
  readonly namespace: string;
  /** From `sealPayload`: the exchange only ever sees this. */
  readonly sealed: string;
  readonly mode: RetrievalMode;
  readonly ttlSeconds: number;
  readonly contentType?: string;
}

export interface Published {
  /** The data token: give it, with the key, to the recipient. */
  readonly token: string;
  readonly namespace: string;
  readonly mode: RetrievalMode;
  readonly expiresAt: Date;
}

export interface Retrieved {
  readonly sealed: string;
  readonly contentType: string | undefined;
  readonly mode: RetrievalMode;
  /** The agent id of the publisher, as the verifier established it. */
  readonly publishedBy: string;
  readonly expiresAt: Date;
  /** How many retrievals this one is (always 1 for a one-time payload). */
  readonly retrievals: number;
}

export interface ExchangeClient {
  /** Publishes a sealed payload (needs `write` on `exchange/<namespace>`). */
  publish(options: PublishOptions): Promise<Published>;
  /**
   * Retrieves a payload by its data token (needs `read` on `exchange/<namespace>`); rejects with
   * `ERR_DATA_TOKEN_USED`, `ERR_DATA_TOKEN_EXPIRED` or `ERR_DATA_TOKEN_UNKNOWN`.
   */
  retrieve(options: { readonly namespace: string; readonly token: string }): Promise<Retrieved>;
}

/** A client of the exchange example for agents; refusals by AgentAuth come from `fetch` itself. */
export function createExchangeClient(options: ExchangeClientOptions): ExchangeClient {
  const base = options.baseUrl.replace(/\/+$/, "");
  const post = async (path: string, body: unknown, expected: number) => {
    const response = await options.fetch(`${base}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    const json = parseJson(text);
    if (response.status === expected && typeof json === "object" && json !== null)
      return json as Record<string, unknown>;
    throw answerError(response.status, json);
  };

  return {
    async publish(publish) {
      const answer = await post(
        `/v1/namespaces/${encodeURIComponent(publish.namespace)}/payloads`,
        {
          ciphertext: publish.sealed,
          mode: publish.mode,
          ttl_seconds: publish.ttlSeconds,
          ...(publish.contentType === undefined ? {} : { content_type: publish.contentType }),
        },
        201,
      );
      return {
        token: String(answer.token),
        namespace: String(answer.namespace),
        mode: answer.mode as RetrievalMode,
        expiresAt: new Date(String(answer.expires_at)),
      };
    },
    async retrieve({ namespace, token }) {
      const answer = await post(
        `/v1/namespaces/${encodeURIComponent(namespace)}/retrievals`,
        { token },
        200,
      );
      return {
        sealed: String(answer.ciphertext),
        contentType: typeof answer.content_type === "string" ? answer.content_type : undefined,
        mode: answer.mode as RetrievalMode,
        publishedBy: String(answer.published_by),
        expiresAt: new Date(String(answer.expires_at)),
        retrievals: Number(answer.retrievals),
      };
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function answerError(status: number, body: unknown): ExchangeError {
  const problem = (typeof body === "object" && body !== null ? body : {}) as {
    code?: unknown;
    detail?: unknown;
  };
  const code = EXCHANGE_ERROR_CODES.find((known) => known === problem.code) as
    | ExchangeErrorCode
    | undefined;
  const detail = typeof problem.detail === "string" ? problem.detail.slice(0, 300) : undefined;
  return code === undefined
    ? new ExchangeError("ERR_UNEXPECTED_ANSWER", `The exchange answered ${status}`, { status })
    : new ExchangeError(code, detail ?? code, { status });
}
