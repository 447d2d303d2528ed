import type { ServiceProviderKeyDirectory, ServiceProviderKeyRecord } from "@agentauth/state";
import type { Logger } from "pino";
import type { Db } from "../db/database.js";

/** Which keys to publish: some by id, or all of a service provider's. */
export type PublishedKeys =
  | { readonly keyIds: readonly string[] }
  | { readonly serviceProviderId: string };

/**
 * Publishes service-provider API keys to the {@link ServiceProviderKeyDirectory} verifiers read
 * (they have no database). Every record is read from the database, the source of truth, so a
 * publish always carries the current state: a key revoked, or its provider disabled, is
 * `revoked: true`.
 */
export interface ServiceProviderKeyPublisher {
  /**
   * Publishes the current records of `keys`; call after the commit that changed them. A failure
   * (Redis down) is logged, not thrown: the change is committed, and the reconciler heals it.
   */
  publish(keys: PublishedKeys): Promise<void>;
  /** Publishes every key's current record; returns how many. */
  reconcile(): Promise<number>;
  /** Reconciles now, then every `intervalMs`. */
  start(): void;
  stop(): Promise<void>;
}

export interface CreateServiceProviderKeyPublisherOptions {
  readonly db: Db;
  readonly directory: ServiceProviderKeyDirectory;
  readonly logger: Logger;
  /** Between reconciliations; default 30 s. */
  readonly intervalMs?: number;
}

/** Records per `put` while reconciling. */
const RECONCILE_BATCH = 500;

export function createServiceProviderKeyPublisher(
  options: CreateServiceProviderKeyPublisherOptions,
): ServiceProviderKeyPublisher {
  const { db, directory, logger } = options;
  let timer: NodeJS.Timeout | undefined;
  // One read-and-put at a time in this process: a publish that read older state can never land
  // after one that read newer state (across replicas, the next reconciliation settles it).
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(work: () => Promise<T>): Promise<T> => {
    const result = queue.then(work);
    queue = result.catch(() => undefined);
    return result;
  };

  const recordsQuery = () =>
    db
      .selectFrom("service_provider_keys as k")
      .innerJoin("service_providers as sp", "sp.id", "k.service_provider_id")
      .select([
        "k.prefix",
        "k.service_provider_id",
        "k.secret_hash",
        "k.revoked_at",
        "sp.disabled_at",
      ])
      .orderBy("k.prefix");

  const reconcile = () =>
    serially(async () => {
      const records = (await recordsQuery().execute()).map(toRecord);
      for (let start = 0; start < records.length; start += RECONCILE_BATCH) {
        await directory.put(records.slice(start, start + RECONCILE_BATCH));
      }
      return records.length;
    });

  const reconcileLogged = () => {
    reconcile().catch((error: unknown) =>
      logger.warn({ err: error }, "service-provider key reconciliation failed; will retry"),
    );
  };

  return {
    async publish(keys) {
      try {
        await serially(async () => {
          const rows = await ("keyIds" in keys
            ? recordsQuery().where("k.id", "in", [...keys.keyIds])
            : recordsQuery().where("k.service_provider_id", "=", keys.serviceProviderId)
          ).execute();
          await directory.put(rows.map(toRecord));
        });
      } catch (error) {
        logger.warn(
          { err: error },
          "service-provider key publish failed; reconciliation will retry",
        );
      }
    },
    reconcile,
    start() {
      reconcileLogged();
      timer = setInterval(reconcileLogged, options.intervalMs ?? 30_000);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await queue;
    },
  };
}

function toRecord(row: {
  prefix: string;
  service_provider_id: string;
  secret_hash: string;
  revoked_at: Date | null;
  disabled_at: Date | null;
}): ServiceProviderKeyRecord {
  return {
    prefix: row.prefix,
    serviceProviderId: row.service_provider_id,
    // Exactly what the registry stores: SHA-256 hex of the key's secret part.
    secretHash: row.secret_hash,
    revoked: row.revoked_at !== null || row.disabled_at !== null,
  };
}
