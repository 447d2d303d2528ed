/**
 * Wraps `save` so that one write runs at a time. A call made while a write is waiting to start
 * joins it; one made while a write runs queues the next. Each write reads the state when it
 * starts, so the last state is always the last one written, and a caller's promise settles once
 * a write that includes its change has.
 */
export function serializeSaves(save: () => Promise<void>): () => Promise<void> {
  let last: Promise<void> = Promise.resolve();
  let waiting: Promise<void> | undefined;
  return () => {
    waiting ??= last
      .catch(() => {})
      .then(() => {
        waiting = undefined;
        return save();
      });
    last = waiting;
    return waiting;
  };
}
