/** One request as it left the SDK. */
export interface RecordedRequest {
  readonly method: string;
  /** Origin and path. */
  readonly url: string;
  /** The form's `grant_type`, for token endpoint requests. */
  readonly grantType: string | undefined;
  readonly headers: Headers;
  readonly body: string;
  /** The answer's status, once it came (undefined for a request that failed). */
  status: number | undefined;
}

/** A `fetch` that records every request the SDK sends, then sends it for real. */
export interface RecordingFetch {
  readonly fetch: typeof globalThis.fetch;
  readonly requests: RecordedRequest[];
  /** The recorded requests to paths ending in `path` (and with `grantType`, if given). */
  to(path: string, grantType?: string): RecordedRequest[];
}

export function createRecordingFetch(): RecordingFetch {
  const requests: RecordedRequest[] = [];
  return {
    requests,
    async fetch(input, init) {
      const request = new Request(input, init);
      const body = request.body === null ? "" : await request.clone().text();
      const url = new URL(request.url);
      const recorded: RecordedRequest = {
        method: request.method,
        url: `${url.origin}${url.pathname}`,
        grantType: request.headers
          .get("content-type")
          ?.startsWith("application/x-www-form-urlencoded")
          ? (new URLSearchParams(body).get("grant_type") ?? undefined)
          : undefined,
        headers: request.headers,
        body,
        status: undefined,
      };
      requests.push(recorded);
      const response = await globalThis.fetch(request);
      recorded.status = response.status;
      return response;
    },
    to(path, grantType) {
      return requests.filter(
        (request) =>
          request.url.endsWith(path) &&
          (grantType === undefined || request.grantType === grantType),
      );
    },
  };
}
