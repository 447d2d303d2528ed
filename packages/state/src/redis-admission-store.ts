import type { Redis } from "ioredis";
import { type CheckedAdmission, checkAdmission } from "./admission-request.js";
import type { AdmissionResult, AdmissionStore } from "./admission-store.js";
import { defineRedisScript, toUnavailable } from "./redis-command.js";
import { StateError } from "./state-error.js";
import { assertPositiveInteger, resolveKeyPrefix } from "./validate.js";

export interface RedisAdmissionStoreOptions {
  /**
   * Prefix of every key. Default "agentauth:"; marks live under `<prefix>replay:<key>` and
   * counters under `<prefix>quota:<key>`, as the Redis replay and quota stores keep them.
   */
  keyPrefix?: string;
  /** Admissions sent in one script call at most; more are split over several. Default 128. */
  maxBatch?: number;
  /**
   * Script calls in flight at once. While they are, new admissions wait and go together in the
   * next call as soon as one returns, so batches grow with the load. Default 1.
   */
  maxInFlight?: number;
}

// Admits a batch of requests, one after another, as one atomic script: Redis runs a script alone,
// so each request sees exactly what the requests before it (in this batch, or any earlier call
// from any replica) did, as if each had been its own call.
//
// KEYS, per request: its replay mark, then its counters. ARGV[1]: the deadline on Redis's clock
// (epoch ms; 0 for none): a script that arrives later — its requester gave up on it, on a link
// that went silent and came back — changes nothing. Then one argument per request, its numbers
// joined by commas (fewer, larger arguments cost less to send and decode): "w" (write) or "d"
// (dry run), the mark's expiry (epoch ms), then per counter: increment, limit, expiry (epoch
// ms). The reply is Redis's time (epoch ms) and either -1 (past the deadline) or one string, per
// request joined by ";": 0 (replayed) or, for a fresh value, 1 (a counter refused) or 2 (all
// fit) followed by its counters' values before the call, joined by "," (exact as text, where
// ioredis parses integer replies near 2^53 inexactly). `increment > limit - count` is exact in
// Lua's doubles for safe integers, where `count + increment` might round. SET NX with a PXAT
// already passed sets nothing that lasts. A counter's expiry is its window's end, the same for
// every writer, so it is set when the counter is created.
const admitScript = defineRedisScript(`
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local deadline = tonumber(ARGV[1])
if deadline > 0 and now > deadline then
  return { now, -1 }
end
local results = {}
local k = 1
for r = 2, #ARGV do
  local f = {}
  for value in string.gmatch(ARGV[r], '[^,]+') do
    f[#f + 1] = value
  end
  local n = (#f - 2) / 3
  local fresh = redis.call('SET', KEYS[k], '1', 'PXAT', f[2], 'NX')
  k = k + 1
  if not fresh then
    results[#results + 1] = '0'
  else
    local item = { '2' }
    for i = 0, n - 1 do
      local count = redis.call('GET', KEYS[k + i]) or '0'
      item[i + 2] = count
      if tonumber(f[3 + 3 * i]) > tonumber(f[4 + 3 * i]) - tonumber(count) then
        item[1] = '1'
      end
    end
    if item[1] == '2' and f[1] == 'w' then
      for i = 0, n - 1 do
        local increment = f[3 + 3 * i]
        if increment ~= '0' then
          redis.call('INCRBY', KEYS[k + i], increment)
          if item[i + 2] == '0' then
            redis.call('PEXPIREAT', KEYS[k + i], f[5 + 3 * i])
          end
        end
      end
    end
    results[#results + 1] = table.concat(item, ',')
  end
  k = k + n
end
return { now, table.concat(results, ';') }
`);

// A reply that took longer than this tells little about the offset between the clocks.
const MAX_CLOCK_SAMPLE_RTT_MS = 50;

/**
 * How far Redis's clock is ahead of this process's, learnt from the time each script reply
 * carries: the script ran between sending and receiving, so the midpoint is off by at most half
 * the round trip. Unknown until a first quick reply.
 */
function createClockOffset() {
  let offsetMs: number | undefined;
  return {
    get: () => offsetMs,
    learn(redisMs: number, sentAt: number, receivedAt: number) {
      if (receivedAt - sentAt > MAX_CLOCK_SAMPLE_RTT_MS) return;
      const sample = redisMs - (sentAt + receivedAt) / 2;
      offsetMs = offsetMs === undefined ? sample : offsetMs + (sample - offsetMs) / 8;
    },
  };
}

interface Pending {
  readonly admission: CheckedAdmission;
  resolve(result: AdmissionResult): void;
  reject(error: unknown): void;
}

/**
 * An {@link AdmissionStore} on Redis, with group commit: the admissions requested during one turn
 * of the event loop (concurrent requests), and those requested while the previous call was in
 * flight, go to Redis together, as one Lua script call (split every `maxBatch`), which admits
 * them one after another. Each request is judged atomically and
 * exactly as if alone, and N replicas allow exactly the limit; the batch only saves round trips
 * and per-command work. The mark is `SET NX PXAT` and each counter `INCRBY` with `PEXPIREAT` at
 * its window's end (Redis's clock decides when a mark or window is over: keep clocks in sync with
 * NTP). A failed call (Redis unreachable, a timeout) rejects every admission of its batch with
 * `ERR_STATE_UNAVAILABLE`: the caller must refuse them. With a `commandTimeout` on the client, a
 * script that reaches Redis later than half of it after being sent (held by a link that went
 * silent, then came back) changes nothing, so what was refused as unavailable is not counted. The keys of one script call must be on
 * one Redis node: this adapter is for a standalone (or Sentinel-managed) Redis, not Cluster.
 */
export function createRedisAdmissionStore(
  client: Redis,
  options: RedisAdmissionStoreOptions = {},
): AdmissionStore {
  const prefix = resolveKeyPrefix(options.keyPrefix);
  const replayPrefix = `${prefix}replay:`;
  const quotaPrefix = `${prefix}quota:`;
  const maxBatch = options.maxBatch ?? 128;
  assertPositiveInteger(maxBatch, "maxBatch");
  const maxInFlight = options.maxInFlight ?? 1;
  assertPositiveInteger(maxInFlight, "maxInFlight");
  let queue: Pending[] = [];
  let inFlight = 0;
  let scheduled = false;
  // The client gives up on a command after this; a script run after half of it does nothing, so
  // a request answered "unavailable" (almost) never counted either.
  const timeoutMs = client.options.commandTimeout;
  const clock = createClockOffset();

  const send = async (batch: readonly Pending[]): Promise<void> => {
    const sentAt = Date.now();
    const offset = clock.get();
    const deadline =
      timeoutMs === undefined || offset === undefined
        ? 0
        : Math.floor(sentAt + offset + timeoutMs / 2);
    const keys: string[] = [];
    const args: (string | number)[] = [deadline];
    for (const { admission } of batch) {
      keys.push(replayPrefix + admission.replayKey);
      let packed = `${admission.dryRun ? "d" : "w"},${admission.replayExpiresAtMs}`;
      for (const entry of admission.quotas) {
        keys.push(quotaPrefix + entry.key);
        packed += `,${entry.increment},${entry.limit},${entry.expiresAtMs}`;
      }
      args.push(packed);
    }
    let reply: [number, string | number];
    try {
      reply = (await admitScript(client, keys, args)) as [number, string | number];
    } catch (error) {
      const unavailable = toUnavailable(error, "admission");
      for (const pending of batch) pending.reject(unavailable);
      return;
    }
    clock.learn(Number(reply[0]), sentAt, Date.now());
    const results = typeof reply[1] === "string" ? reply[1].split(";") : [];
    if (results.length !== batch.length) {
      const late = new StateError(
        "ERR_STATE_UNAVAILABLE",
        reply[1] === -1
          ? "Redis ran the admission after its deadline, and changed nothing"
          : "Redis answered the admission with an unexpected reply",
      );
      for (const pending of batch) pending.reject(late);
      return;
    }
    for (let index = 0; index < batch.length; index++) {
      const pending = batch[index] as Pending;
      const result = results[index] as string;
      if (result === "0") {
        pending.resolve({ replayed: true });
        continue;
      }
      const values = result.split(",");
      const before: number[] = [];
      for (let at = 1; at < values.length; at++) before.push(Number(values[at]));
      pending.resolve({ replayed: false, withinLimits: values[0] === "2", before });
    }
  };

  // After the I/O callbacks of this turn, so every request they started is in the batch.
  const schedule = () => {
    if (scheduled || inFlight >= maxInFlight || queue.length === 0) return;
    scheduled = true;
    setImmediate(flush);
  };
  const flush = () => {
    scheduled = false;
    while (inFlight < maxInFlight && queue.length > 0) {
      const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch);
      queue = queue.length <= maxBatch ? [] : queue.slice(maxBatch);
      inFlight++;
      void send(batch).finally(() => {
        inFlight--;
        schedule();
      });
    }
  };

  return {
    admit(request) {
      let admission: CheckedAdmission;
      try {
        admission = checkAdmission(request);
      } catch (error) {
        return Promise.reject(error);
      }
      return new Promise((resolve, reject) => {
        queue.push({ admission, resolve, reject });
        schedule();
      });
    },
  };
}
