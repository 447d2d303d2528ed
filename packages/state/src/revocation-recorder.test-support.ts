import type { RevocationListener, RevocationRecord } from "./revocation-bus.js";
import { RevocationSet } from "./revocation-set.js";
import type { StateError } from "./state-error.js";

/** A listener that keeps everything it is told, feeding a {@link RevocationSet} as a verifier does. */
export interface RevocationRecorder {
  listener: RevocationListener;
  set: RevocationSet;
  received: RevocationRecord[];
  reloads: RevocationRecord[][];
  errors: StateError[];
  /** Resolves when a revocation of `subject` arrives; rejects after `timeoutMs`. */
  arrival(subject: string, timeoutMs?: number): Promise<void>;
}

/** A new {@link RevocationRecorder}. */
export function createRevocationRecorder(): RevocationRecorder {
  const set = new RevocationSet();
  const received: RevocationRecord[] = [];
  const reloads: RevocationRecord[][] = [];
  const errors: StateError[] = [];
  const waiters = new Map<string, () => void>();
  return {
    set,
    received,
    reloads,
    errors,
    listener: {
      onRevocation(record) {
        received.push(record);
        set.apply(record);
        waiters.get(record.subject)?.();
      },
      onReload(records) {
        reloads.push([...records]);
        set.replaceAll(records);
      },
      onError(error) {
        errors.push(error);
      },
    },
    arrival(subject, timeoutMs = 1000) {
      if (received.some((record) => record.subject === subject)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(subject);
          reject(new Error(`No revocation of ${subject} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.set(subject, () => {
          clearTimeout(timer);
          waiters.delete(subject);
          resolve();
        });
      });
    },
  };
}
