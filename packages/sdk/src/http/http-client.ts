import type { Clock } from "../clock.js";
import { AgentAuthSdkError } from "../errors.js";
import { loggableUrl, type SdkLogger } from "../logger.js";
import { backoffDelay, type RetryPolicy, retryAfterDelay } from "./backoff.js";
import type { NonceStore } from "./nonce-store.js";
import { parseRetryAfter } from "./retry-after.js";

/** What every HTTP exchange of the SDK shares. */
export interface HttpDeps {
  readonly fetch: typeof globalThis.fetch;
  readonly clock: Clock;
  /** Milliseconds an exchange may take: until the headers, or the whole body when it is read. */
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly nonces: NonceStore;
  readonly logger: SdkLogger | undefined;
  readonly random: () => number;
}

/** Builds the request of one attempt; it must carry `signal`. Called again for every retry. */
export type BuildRequest = (signal: AbortSignal) => Promise<Request>;

/** A response whose body has been read (bounded), as registry calls need it. */
export interface HttpAnswer {
  readonly url: string;
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/** A response whose body is still to be read, and the end of its timeout. */
export interface OpenResponse {
  readonly request: Request;
  readonly response: Response;
  /**
   * Reads the body (bounded) under the exchange's timeout, then ends it. `from` reads a clone
   * instead, leaving `response` unread.
   */
  readText(from?: Response): Promise<string>;
  /** Ends the exchange's timeout (the caller's signal still applies to the body). */
  release(): void;
}

/** Statuses worth retrying an idempotent request for. */
const RETRYABLE_STATUSES = new Set([500, 502, 503, 504]);
/** The most of a body the SDK reads: registry answers and error bodies are far smaller. */
const MAX_BODY_BYTES = 256 * 1024;

/**
 * One attempt: sends the request built for it, records any `DPoP-Nonce`, and maps failures to
 * coded errors — `ERR_ABORTED` (the caller's signal), `ERR_TIMEOUT`, `ERR_UNAVAILABLE` (the
 * network) — whose messages name the origin and path only.
 */
export async function openRequest(
  deps: HttpDeps,
  build: BuildRequest,
  signal: AbortSignal | undefined,
): Promise<OpenResponse> {
  if (signal?.aborted) throw abortedError(signal);
  const timeout = new AbortController();
  const timer = setTimeout(
    () => timeout.abort(new DOMException("The request timed out", "TimeoutError")),
    deps.timeoutMs,
  );
  const release = () => clearTimeout(timer);
  const combined =
    signal === undefined ? timeout.signal : AbortSignal.any([signal, timeout.signal]);
  const failure = (error: unknown, url: string) => {
    release();
    if (error instanceof AgentAuthSdkError) return error;
    if (signal?.aborted) return abortedError(signal);
    if (timeout.signal.aborted) {
      return new AgentAuthSdkError(
        "ERR_TIMEOUT",
        `No answer from ${loggableUrl(url)} within ${deps.timeoutMs} ms`,
      );
    }
    return new AgentAuthSdkError("ERR_UNAVAILABLE", `Could not reach ${loggableUrl(url)}`, {
      cause: error,
    });
  };
  let request: Request;
  try {
    request = await build(combined);
  } catch (error) {
    release();
    throw error;
  }
  let response: Response;
  try {
    response = await deps.fetch(request);
  } catch (error) {
    throw failure(error, request.url);
  }
  deps.nonces.remember(request.url, response.headers.get("DPoP-Nonce"));
  return {
    request,
    response,
    release,
    async readText(from = response) {
      try {
        return await readBoundedText(from, request.url);
      } catch (error) {
        throw failure(error, request.url);
      } finally {
        release();
      }
    },
  };
}

export interface SendOptions {
  readonly signal?: AbortSignal | undefined;
  /**
   * Whether the request is safe to repeat: network failures, timeouts and 500/502/503/504
   * answers are then retried with jittered backoff (honouring `Retry-After`). Never set it for
   * a request whose repetition could do something twice.
   */
  readonly retry: boolean;
}

/** Sends a request (retrying it when allowed) and reads its answer. */
export async function sendRequest(
  deps: HttpDeps,
  build: BuildRequest,
  options: SendOptions,
): Promise<HttpAnswer> {
  for (let attempt = 0; ; attempt++) {
    const retriesLeft = options.retry && attempt < deps.retry.retries;
    let answer: HttpAnswer;
    try {
      const open = await openRequest(deps, build, options.signal);
      answer = {
        url: open.request.url,
        status: open.response.status,
        headers: open.response.headers,
        text: await open.readText(),
      };
    } catch (error) {
      if (!retriesLeft || !isTransient(error)) throw error;
      await pause(deps, backoffDelay(attempt, deps.retry, deps.random), options.signal, {
        attempt,
        code: error.code,
      });
      continue;
    }
    if (!retriesLeft || !RETRYABLE_STATUSES.has(answer.status)) return answer;
    const retryAfter = parseRetryAfter(answer.headers.get("Retry-After"), deps.clock.now());
    const delay =
      retryAfter === undefined
        ? backoffDelay(attempt, deps.retry, deps.random)
        : retryAfterDelay(retryAfter, deps.retry, deps.random);
    if (delay === undefined) return answer;
    await pause(deps, delay, options.signal, {
      attempt,
      status: answer.status,
      url: loggableUrl(answer.url),
    });
  }
}

function isTransient(error: unknown): error is AgentAuthSdkError {
  return (
    error instanceof AgentAuthSdkError &&
    (error.code === "ERR_UNAVAILABLE" || error.code === "ERR_TIMEOUT")
  );
}

async function pause(
  deps: HttpDeps,
  delayMs: number,
  signal: AbortSignal | undefined,
  fields: Record<string, unknown>,
): Promise<void> {
  deps.logger?.debug(
    { ...fields, delayMs },
    "agentauth: retrying a request that is safe to repeat",
  );
  await sleep(deps.clock, delayMs, signal);
}

/** `clock.sleep`, with an abort mapped to `ERR_ABORTED`. */
export async function sleep(
  clock: Clock,
  delayMs: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  try {
    await clock.sleep(delayMs, signal);
  } catch (error) {
    if (signal?.aborted) throw abortedError(signal);
    throw error;
  }
}

/** `ERR_ABORTED`, with the signal's reason as the cause. */
export function abortedError(signal: AbortSignal): AgentAuthSdkError {
  return new AgentAuthSdkError("ERR_ABORTED", "The operation was aborted", {
    cause: signal.reason,
  });
}

/** Throws `ERR_ABORTED` if `signal` has aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortedError(signal);
}

/**
 * Resolves as `promise` does, or rejects with `ERR_ABORTED` as soon as `signal` aborts — for a
 * caller waiting on work it shares with others (one refresh for many callers), which must go on.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(abortedError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortedError(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

async function readBoundedText(response: Response, url: string): Promise<string> {
  const body = response.body;
  if (body === null) return "";
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => {});
      throw new AgentAuthSdkError(
        "ERR_PROTOCOL",
        `The answer from ${loggableUrl(url)} is larger than ${MAX_BODY_BYTES} bytes`,
      );
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}
