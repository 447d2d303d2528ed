import { ExchangeError } from "../errors.js";
import {
  DEFAULT_RETENTION_SECONDS,
  type PayloadStore,
  type StoredPayload,
  type TakeResult,
} from "./payload-store.js";

interface Entry {
  /** `undefined` once a one-time payload was taken or it expired: its tombstone. */
  payload: StoredPayload | undefined;
  state: "live" | "used" | "expired";
  readonly namespace: string;
  readonly expiresAt: number;
  retrievals: number;
}

export interface MemoryPayloadStoreOptions {
  readonly retentionSeconds?: number;
  /** The store's time for dropping old tombstones; default the system clock. */
  readonly now?: () => Date;
}

/**
 * Payloads in this process's memory: for one process (the embedded default). Every operation is
 * synchronous between its `await`s, so `take` is atomic by construction.
 */
export function createMemoryPayloadStore(options: MemoryPayloadStoreOptions = {}): PayloadStore {
  const retentionMs = (options.retentionSeconds ?? DEFAULT_RETENTION_SECONDS) * 1000;
  const now = options.now ?? (() => new Date());
  const entries = new Map<string, Entry>();

  const expire = (entry: Entry) => {
    entry.payload = undefined;
    entry.state = "expired";
  };
  const sweep = (at: number) => {
    for (const [hash, entry] of entries) {
      if (entry.expiresAt + retentionMs <= at) entries.delete(hash);
      else if (entry.expiresAt <= at) expire(entry);
    }
  };
  const timer = setInterval(() => sweep(now().getTime()), 60_000);
  timer.unref();

  return {
    async put(payload) {
      if (entries.has(payload.tokenHash))
        throw new ExchangeError("ERR_VALIDATION", "A payload with this token exists already");
      entries.set(payload.tokenHash, {
        payload,
        state: "live",
        namespace: payload.namespace,
        expiresAt: payload.expiresAt.getTime(),
        retrievals: 0,
      });
    },
    async take(tokenHash, { namespace, now: at }): Promise<TakeResult> {
      const entry = entries.get(tokenHash);
      const time = at.getTime();
      if (entry === undefined || entry.namespace !== namespace) return { kind: "unknown" };
      if (entry.expiresAt + retentionMs <= time) {
        entries.delete(tokenHash);
        return { kind: "unknown" };
      }
      if (entry.state === "expired" || entry.expiresAt <= time) {
        expire(entry);
        return { kind: "expired" };
      }
      const { payload } = entry;
      if (entry.state === "used" || payload === undefined) return { kind: "used" };
      entry.retrievals += 1;
      if (payload.mode === "once") {
        entry.payload = undefined;
        entry.state = "used";
      }
      return { kind: "payload", payload, retrievals: entry.retrievals };
    },
    async ping() {},
    async close() {
      clearInterval(timer);
    },
  };
}
