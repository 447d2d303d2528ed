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
}

// Admits a batch of requests, one after another, as one atomic script: Redis runs a script alone,
// so each request sees exactly what the requests before it (in this batch, or any earlier call
// from any replica) did, as if each had been its own call.
//
// KEYS, per request: its replay mark, then its counters. ARGV[1]: the deadline on Redis's clock
// (epoch ms; 0 for none): a script that arrives later — its requester gave up on it, on a link
// that went silent and came back — changes nothing. ARGV[2]: the number of requests; then per
// request: its counter count n, "w" (write) or "d" (dry run), the mark's expiry (epoch ms), then
// per counter: increment, limit, expiry (epoch ms). The reply is flat: Redis's time (epoch ms),
// then -1 if past the deadline, else per request 0 (replayed) or, for a fresh value, 1 (a
// counter refused) or 2 (all fit), followed by its n counter values before the call, as strings
// (ioredis parses integer replies near 2^53 inexactly). `increment > limit - count` is exact in
// Lua's doubles for safe integers, where `count + increment` might round. SET NX with a PXAT
// already passed sets nothing that lasts. A counter's expiry is its window's end, the same for
// every writer, so it is set when the counter is created.
const admitScript = defineRedisScript(`
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local out = { now }
local deadline = tonumber(ARGV[1])
if deadline > 0 and now > deadline then
  out[2] = -1
  return out
end
local k = 1
local a = 3
for r = 1, tonumber(ARGV[2]) do
  local n = tonumber(ARGV[a])
  local write = ARGV[a + 1] == 'w'
  local fresh = redis.call('SET', KEYS[k], '1', 'PXAT', ARGV[a + 2], 'NX')
  k = k + 1
  a = a + 3
  if not fresh then
    out[#out + 1] = 0
  else
    local counts = {}
    local fits = 2
    for i = 0, n - 1 do
      local count = redis.call('GET', KEYS[k + i]) or '0'
      counts[i + 1] = count
      if tonumber(ARGV[a + 3 * i]) > tonumber(ARGV[a + 3 * i + 1]) - tonumber(count) then
        fits = 1
      end
    end
    if fits == 2 and write then
      for i = 0, n - 1 do
        local increment = ARGV[a + 3 * i]
        if increment ~= '0' then
          redis.call('INCRBY', KEYS[k + i], increment)
          if counts[i + 1] == '0' then
            redis.call('PEXPIREAT', KEYS[k + i], ARGV[a + 3 * i + 2])
          end
        end
      end
    end
    out[#out + 1] = fits
    for i = 1, n do
      out[#out + 1] = counts[i]
    end
  end
  k = k + n
  a = a + 3 * n
end
return out
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
 * of the event loop (concurrent requests) go to Redis together, as one Lua script call (split
 * every `maxBatch`), which admits them one after another. Each request is judged atomically and
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
  let queue: Pending[] = [];
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
    const args: (string | number)[] = [deadline, batch.length];
    for (const { admission } of batch) {
      keys.push(replayPrefix + admission.replayKey);
      args.push(admission.quotas.length, admission.dryRun ? "d" : "w", admission.replayExpiresAtMs);
      for (const entry of admission.quotas) {
        keys.push(quotaPrefix + entry.key);
        args.push(entry.increment, entry.limit, entry.expiresAtMs);
      }
    }
    let reply: (number | string)[];
    try {
      reply = (await admitScript(client, keys, args)) as (number | string)[];
    } catch (error) {
      const unavailable = toUnavailable(error, "admission");
      for (const pending of batch) pending.reject(unavailable);
      return;
    }
    clock.learn(Number(reply[0]), sentAt, Date.now());
    if (reply[1] === -1) {
      const late = new StateError(
        "ERR_STATE_UNAVAILABLE",
        "Redis ran the admission after its deadline, and changed nothing",
      );
      for (const pending of batch) pending.reject(late);
      return;
    }
    let at = 1;
    for (const pending of batch) {
      const code = reply[at++];
      if (code === 0) {
        pending.resolve({ replayed: true });
        continue;
      }
      const count = pending.admission.quotas.length;
      const before = reply.slice(at, at + count).map(Number);
      at += count;
      pending.resolve({ replayed: false, withinLimits: code === 2, before });
    }
  };

  const flush = () => {
    const batch = queue;
    queue = [];
    for (let start = 0; start < batch.length; start += maxBatch)
      void send(batch.slice(start, start + maxBatch));
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
        // After the I/O callbacks of this turn: every request they started is in the batch.
        if (queue.length === 0) setImmediate(flush);
        queue.push({ admission, resolve, reject });
      });
    },
  };
}
