import type { JsonWebKeySet } from "@agentauth/core";

/**
 * Where the registry's signing keys come from when not from its `jwks_uri`: e.g. a registry in
 * the same process. Called as the URL would be fetched: at start, periodically, and for an
 * unknown `kid` (rate-limited); a rejection counts as a failed fetch.
 */
export interface JwksSource {
  fetchKeys(): Promise<JsonWebKeySet>;
}

export interface JwksCacheOptions {
  /** The registry's `jwks_uri`, or another source of its key set. */
  readonly url: string | JwksSource;
  /** For a URL; default `globalThis.fetch`. */
  readonly fetch?: typeof globalThis.fetch;
  /** Background refresh period. Default 5 minutes. */
  readonly refreshIntervalMs?: number;
  /** An unknown `kid` triggers at most one fetch per this interval. Default 10 s. */
  readonly minRefetchIntervalMs?: number;
  /** Retry period while no key set has been fetched yet. Default 2 s. */
  readonly retryIntervalMs?: number;
  /** Per-fetch timeout of a URL. Default 3 s. */
  readonly timeoutMs?: number;
  readonly now?: () => number;
  /** Told about every fetch: its outcome, for metrics and logs. */
  readonly onFetch?: (outcome: "changed" | "unchanged" | "failed", error?: unknown) => void;
}

/**
 * The registry's signing keys, as a verifier needs them: fetched at start, refreshed in the
 * background, refetched (rate-limited) when a token names an unknown `kid` (a rotation), and
 * kept when the registry is unreachable — a verifier works on its cache while the registry is
 * down. Listeners hear of every change (to drop what was verified with a removed key).
 */
export interface JwksCache {
  /** The last key set fetched, or `undefined` before the first success. */
  current(): JsonWebKeySet | undefined;
  /**
   * Fetches again if the last fetch is older than the refetch interval; resolves to whether the
   * key set now holds `kid`. Concurrent callers share one fetch.
   */
  refreshForKid(kid: string): Promise<boolean>;
  /**
   * Fetches now and keeps refreshing in the background (retrying often until a first success);
   * resolves to whether this first fetch succeeded.
   */
  start(): Promise<boolean>;
  stop(): void;
  onChange(listener: (keys: JsonWebKeySet) => void): void;
}

export function createJwksCache(options: JwksCacheOptions): JwksCache {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const refreshIntervalMs = options.refreshIntervalMs ?? 300_000;
  const minRefetchIntervalMs = options.minRefetchIntervalMs ?? 10_000;
  const timeoutMs = options.timeoutMs ?? 3_000;
  const retryIntervalMs = options.retryIntervalMs ?? 2_000;
  const now = options.now ?? Date.now;
  const listeners: ((keys: JsonWebKeySet) => void)[] = [];
  let keys: JsonWebKeySet | undefined;
  let keysText = "";
  let lastFetchAt = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const source = options.url;
  const loadText = async (): Promise<string> => {
    if (typeof source !== "string") return JSON.stringify(await source.fetchKeys());
    const response = await fetchImpl(source, {
      headers: { accept: "application/json" },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) throw new Error(`${source} answered ${response.status}`);
    return response.text();
  };

  const fetchOnce = (): Promise<void> => {
    inFlight ??= (async () => {
      lastFetchAt = now();
      try {
        const text = await loadText();
        const parsed = parseKeySet(text);
        if (text === keysText) {
          options.onFetch?.("unchanged");
          return;
        }
        keys = parsed;
        keysText = text;
        options.onFetch?.("changed");
        for (const listener of listeners) listener(parsed);
      } catch (error) {
        options.onFetch?.("failed", error);
        throw error;
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  };

  const hasKid = (kid: string) => keys?.keys.some((key) => key.kid === kid) ?? false;

  return {
    current: () => keys,
    async refreshForKid(kid) {
      if (hasKid(kid)) return true;
      if (inFlight === undefined && now() - lastFetchAt < minRefetchIntervalMs) return false;
      // A failed refetch leaves the cache as it was: the token is refused as signed by an
      // unknown key, not failed as if the verifier were broken.
      await fetchOnce().catch(() => {});
      return hasKid(kid);
    },
    async start() {
      const tick = async () => {
        await fetchOnce().catch(() => {});
        schedule();
      };
      const schedule = () => {
        // A tick whose fetch was under way when `stop` was called must not start another.
        if (stopped) return;
        timer = setTimeout(tick, keys === undefined ? retryIntervalMs : refreshIntervalMs);
        timer.unref();
      };
      const fetched = await fetchOnce().then(
        () => true,
        () => false,
      );
      schedule();
      return fetched;
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
    onChange(listener) {
      listeners.push(listener);
    },
  };
}

function parseKeySet(text: string): JsonWebKeySet {
  const value: unknown = JSON.parse(text);
  if (
    typeof value !== "object" ||
    value === null ||
    !Array.isArray((value as { keys?: unknown }).keys) ||
    !(value as { keys: unknown[] }).keys.every((key) => typeof key === "object" && key !== null)
  ) {
    throw new Error("The JWKS is not a JSON object with a keys array");
  }
  return value as JsonWebKeySet;
}
