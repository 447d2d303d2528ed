/** Requests serialised ahead of a run, each handed out once, in order. */
export interface RequestQueue {
  /** The next request's bytes, or `undefined` when all have been handed out. */
  next(): Buffer | undefined;
  /** How many requests the queue held. */
  readonly size: number;
}

/**
 * Packs serialised requests into one contiguous buffer and hands them out as views of it, in
 * order. During a run the load process then holds one large object instead of one per request,
 * and releases nothing piecemeal: its garbage collector has next to nothing to do, so it does
 * not stall the sends it times.
 */
export function createRequestQueue(requests: readonly Buffer[]): RequestQueue {
  const bytes = Buffer.concat(requests);
  const ends = new Float64Array(requests.length);
  let total = 0;
  requests.forEach((request, index) => {
    total += request.length;
    ends[index] = total;
  });
  let cursor = 0;
  return {
    next() {
      if (cursor >= ends.length) return undefined;
      const start = cursor === 0 ? 0 : (ends[cursor - 1] as number);
      const end = ends[cursor++] as number;
      return bytes.subarray(start, end);
    },
    size: requests.length,
  };
}
