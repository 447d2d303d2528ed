/**
 * A load whose answer every caller shares — concurrent ones too — until it fails (the next call
 * tries again) or `reload` reads anew: how the key stores keep what they loaded.
 */
export interface CachedLoad<T> {
  get(): Promise<T>;
  /** Forgets the answer and loads again. */
  reload(): Promise<T>;
  /** The answer being shared, or `undefined` when none has been asked for. */
  current(): Promise<T> | undefined;
  /** Replaces a shared answer with `change` of it (nothing when none is shared). */
  update(change: (value: T) => T): void;
}

export function cachedLoad<T>(load: () => Promise<T>): CachedLoad<T> {
  let loaded: Promise<T> | undefined;
  const cache: CachedLoad<T> = {
    get() {
      loaded ??= load().catch((error: unknown) => {
        loaded = undefined;
        throw error;
      });
      return loaded;
    },
    reload() {
      loaded = undefined;
      return cache.get();
    },
    current: () => loaded,
    update(change) {
      loaded = loaded?.then(change);
    },
  };
  return cache;
}
