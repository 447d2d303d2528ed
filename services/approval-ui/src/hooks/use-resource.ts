import { useCallback, useEffect, useRef, useState } from "react";

export interface Resource<T> {
  /** The last successful answer, kept while a reload is under way or after it failed. */
  readonly data: T | undefined;
  readonly error: unknown;
  readonly loading: boolean;
  reload(): Promise<void>;
}

export interface UseResourceOptions {
  /**
   * Poll every `pollMs` while the page is visible. After a failure the delay doubles, up to
   * `maxPollMs`, and returns to `pollMs` after the next success.
   */
  readonly pollMs?: number;
  readonly maxPollMs?: number;
}

/**
 * Loads `load()` now and whenever `key` changes; with `pollMs`, keeps it fresh without a manual
 * reload (the registry has no push channel, so this polls with backoff and stops while the tab
 * is hidden, catching up as soon as it is shown again).
 */
export function useResource<T>(
  key: string,
  load: () => Promise<T>,
  options: UseResourceOptions = {},
): Resource<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const loadRef = useRef(load);
  loadRef.current = load;
  const generation = useRef(0);

  const run = useCallback(async (): Promise<boolean> => {
    const mine = ++generation.current;
    setState((previous) => ({ ...previous, loading: true }));
    try {
      const data = await loadRef.current();
      if (mine === generation.current) setState({ data, error: undefined, loading: false });
      return true;
    } catch (error) {
      if (mine === generation.current) {
        setState((previous) => ({ data: previous.data, error, loading: false }));
      }
      return false;
    }
  }, []);

  const { pollMs, maxPollMs = 60_000 } = options;
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` is what restarts the load.
  useEffect(() => {
    setState({ data: undefined, error: undefined, loading: true });
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let delay = pollMs ?? 0;

    const tick = async () => {
      const ok = await run();
      if (stopped || pollMs === undefined) return;
      delay = ok ? pollMs : Math.min(delay * 2, maxPollMs);
      schedule();
    };
    const schedule = () => {
      clearTimeout(timer);
      if (!stopped && pollMs !== undefined && document.visibilityState !== "hidden") {
        timer = setTimeout(() => void tick(), delay);
      }
    };
    const onVisibility = () => {
      if (document.visibilityState === "visible") {
        clearTimeout(timer);
        void tick();
      } else {
        clearTimeout(timer);
      }
    };
    void tick();
    if (pollMs !== undefined) document.addEventListener("visibilitychange", onVisibility);
    return () => {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisibility);
    };
  }, [key, run, pollMs, maxPollMs]);

  const reload = useCallback(async () => {
    await run();
  }, [run]);
  return { ...state, reload };
}
