import { ApiError } from "./api-error.js";

/** Called when the registry answers 401: the session has ended. */
let onUnauthenticated: (() => void) | undefined;

export function setUnauthenticatedHandler(handler: (() => void) | undefined): void {
  onUnauthenticated = handler;
}

type Method = "GET" | "POST" | "PATCH" | "DELETE";

/**
 * One call to the registry on this origin. The session is an HttpOnly cookie the browser sends
 * by itself; nothing secret is kept in script-readable storage. State-changing calls carry the
 * page's `Origin` (browsers add it), which the registry checks.
 */
export async function callRegistry<T>(method: Method, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      credentials: "same-origin",
      cache: "no-store",
      headers: {
        Accept: "application/json, application/problem+json",
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    throw new ApiError("The registry could not be reached. Check your connection and retry.", {
      status: 0,
      code: "ERR_NETWORK",
    });
  }
  if (response.status === 204) return undefined as T;
  const payload = await readJson(response);
  if (response.ok) return payload as T;
  const problem = (payload ?? {}) as Record<string, unknown>;
  const code = typeof problem.code === "string" ? problem.code : `HTTP_${response.status}`;
  if (response.status === 401) onUnauthenticated?.();
  throw new ApiError(
    typeof problem.detail === "string"
      ? problem.detail
      : typeof problem.title === "string"
        ? problem.title
        : `The registry answered ${response.status}`,
    {
      status: response.status,
      code,
      ...(typeof problem.reason === "string" ? { reason: problem.reason } : {}),
      ...(typeof problem.path === "string" && typeof problem.reason !== "string"
        ? { reason: problem.path }
        : {}),
      ...(typeof problem.request_id === "string" ? { requestId: problem.request_id } : {}),
    },
  );
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
