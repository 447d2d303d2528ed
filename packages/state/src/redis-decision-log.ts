import type { Redis } from "ioredis";
import type { DecisionLog, DeliveredDecision } from "./decision-log.js";
import {
  checkDecisionIds,
  checkDecisionReadOptions,
  type DecisionReadOptions,
  decodeDecisionRecord,
  encodeDecisionRecords,
} from "./decision-record.js";
import { execTransaction, isRedisError, runRedis } from "./redis-command.js";
import { StateError } from "./state-error.js";
import { assertPositiveInteger, resolveKeyPrefix } from "./validate.js";

export interface RedisDecisionLogOptions {
  /**
   * Prefix of every key. Default "agentauth:"; the stream is `<prefix>decisions`, read through
   * its consumer group `registry`.
   */
  keyPrefix?: string;
  /**
   * Entries the stream keeps, roughly (`XADD … MAXLEN ~`): past it the oldest are trimmed, read
   * or not, which bounds Redis's memory while the registry is away. Default 1,000,000.
   */
  maxLength?: number;
  /**
   * The longest `blockMs` a read may ask for. A waiting read holds a connection of its own, whose
   * command timeout is this plus the client's (`commandTimeout`, 1000 ms if unset): a Redis that
   * stops answering fails a read within that time. Default 5000 ms.
   */
  maxBlockMs?: number;
  /** Name of the connection for waiting reads in `CLIENT LIST`. Default "agentauth-decision-reader". */
  readerName?: string;
}

/** A {@link DecisionLog} on Redis, which holds a connection of its own for waiting reads. */
export interface RedisDecisionLog extends DecisionLog {
  /**
   * Stops reading: closes the connection for waiting reads, so a read in progress rejects, as
   * does any later one. `append` and `ack` go on working on `client`, which stays open.
   */
  close(): Promise<void>;
}

const GROUP = "registry";
const FIELD = "record";
// What createRedisClient sets, for a client made without a command timeout.
const DEFAULT_COMMAND_TIMEOUT_MS = 1000;

/**
 * A {@link DecisionLog} on a Redis stream. `append` runs one `XADD … MAXLEN ~` per record in a
 * `MULTI`, so a batch is stored whole or not at all. `read` claims entries pending longer than
 * `redeliverAfterMs` with `XAUTOCLAIM`, then takes new ones with `XREADGROUP`, waiting (`BLOCK`)
 * only when nothing was claimed; the consumer group is created (from the stream's start, so
 * records appended before any read are delivered) when a read finds it missing. Reads run one at
 * a time per adapter. `ack` is `XACK` plus `XDEL`, so the stream holds only what is not yet
 * stored, and `maxLength` is a safety cap, not a retention period.
 *
 * A waiting `XREADGROUP` occupies its connection for up to `blockMs`, so it runs on a duplicate of
 * `client`, opened at the first waiting read (verifiers, which only append, never open it), with a
 * command timeout that allows `maxBlockMs`; everything else uses `client`. An entry this version
 * cannot read is not delivered and not acknowledged: it stays pending, for a newer registry
 * replica to claim during a rolling upgrade, until trimming removes it.
 */
export function createRedisDecisionLog(
  client: Redis,
  options: RedisDecisionLogOptions = {},
): RedisDecisionLog {
  const stream = `${resolveKeyPrefix(options.keyPrefix)}decisions`;
  const maxLength = options.maxLength ?? 1_000_000;
  assertPositiveInteger(maxLength, "maxLength");
  const maxBlockMs = options.maxBlockMs ?? 5000;
  assertPositiveInteger(maxBlockMs, "maxBlockMs");
  const readerName = options.readerName ?? "agentauth-decision-reader";
  let reader: Redis | undefined;
  let closed = false;
  // The read in progress: the next one starts after it, as a waiting read holds the connection.
  let reading: Promise<unknown> = Promise.resolve();

  function assertOpen(): void {
    if (closed) throw new StateError("ERR_STATE_UNAVAILABLE", "The decision log is closed");
  }

  async function connectReader(): Promise<Redis> {
    // Checked again here: the log may have closed while this read was claiming.
    assertOpen();
    if (reader === undefined) {
      reader = client.duplicate({
        lazyConnect: true,
        connectionName: readerName,
        commandTimeout: maxBlockMs + (client.options.commandTimeout ?? DEFAULT_COMMAND_TIMEOUT_MS),
      });
      // Failures surface through the reads that meet them.
      reader.on("error", () => {});
    }
    if (reader.status === "wait") await reader.connect();
    return reader;
  }

  async function claimIdle(
    consumer: string,
    count: number,
    redeliverAfterMs: number,
  ): Promise<DeliveredDecision[]> {
    const claimed: DeliveredDecision[] = [];
    let cursor = "0-0";
    do {
      const [next, entries] = (await client.xautoclaim(
        stream,
        GROUP,
        consumer,
        redeliverAfterMs,
        cursor,
        "COUNT",
        count - claimed.length,
      )) as [string, unknown];
      claimed.push(...toDeliveries(entries));
      cursor = next;
    } while (cursor !== "0-0" && claimed.length < count);
    return claimed;
  }

  async function readOnce(options: DecisionReadOptions): Promise<DeliveredDecision[]> {
    const { consumer, count, blockMs, redeliverAfterMs } = options;
    const claimed = await claimIdle(consumer, count, redeliverAfterMs);
    if (claimed.length === count) return claimed;
    const more = count - claimed.length;
    // Wait only when nothing was due again, on the connection for waiting reads (BLOCK 0 would
    // wait forever, so no wait means no BLOCK at all).
    const reply =
      claimed.length === 0 && blockMs > 0
        ? await (await connectReader()).xreadgroup(
            "GROUP",
            GROUP,
            consumer,
            "COUNT",
            more,
            "BLOCK",
            blockMs,
            "STREAMS",
            stream,
            ">",
          )
        : await client.xreadgroup("GROUP", GROUP, consumer, "COUNT", more, "STREAMS", stream, ">");
    return [...claimed, ...toDeliveries(reply?.[0]?.[1])];
  }

  async function readCreatingGroup(options: DecisionReadOptions): Promise<DeliveredDecision[]> {
    try {
      return await readOnce(options);
    } catch (error) {
      // No group yet, or the stream went away (deleted, or Redis lost its data) and took it along.
      if (!isRedisError(error, "NOGROUP")) throw error;
      try {
        await client.xgroup("CREATE", stream, GROUP, "0", "MKSTREAM");
      } catch (createError) {
        // Another replica created it meanwhile.
        if (!isRedisError(createError, "BUSYGROUP")) throw createError;
      }
      return readOnce(options);
    }
  }

  return {
    async append(records) {
      const encoded = encodeDecisionRecords(records);
      if (encoded.length === 0) return;
      await runRedis("decision append", () => {
        const transaction = client.multi();
        for (const json of encoded) {
          transaction.xadd(stream, "MAXLEN", "~", maxLength, "*", FIELD, json);
        }
        return execTransaction(transaction);
      });
    },
    async read(readOptions) {
      const checked = checkDecisionReadOptions(readOptions);
      if (checked.blockMs > maxBlockMs) {
        throw new TypeError(`blockMs must be at most maxBlockMs (${maxBlockMs})`);
      }
      const result = reading.then(() => {
        assertOpen();
        return runRedis("decision read", () => readCreatingGroup(checked));
      });
      reading = result.catch(() => {});
      return result;
    },
    async ack(ids) {
      checkDecisionIds(ids);
      if (ids.length === 0) return;
      await runRedis("decision ack", () =>
        execTransaction(
          client
            .multi()
            .xack(stream, GROUP, ...ids)
            .xdel(stream, ...ids),
        ),
      );
    },
    async close() {
      closed = true;
      reader?.disconnect();
    },
  };
}

/** The entries of a stream reply this version can read, as deliveries. */
function toDeliveries(entries: unknown): DeliveredDecision[] {
  if (!Array.isArray(entries)) return [];
  return entries.flatMap((entry: [string, unknown[] | null]) => {
    const [id, fields] = entry;
    // Entries trimmed while pending come back without fields (Redis < 7).
    const record =
      fields?.[0] === FIELD && typeof fields[1] === "string"
        ? decodeDecisionRecord(fields[1])
        : undefined;
    return record === undefined ? [] : [{ id, record }];
  });
}
