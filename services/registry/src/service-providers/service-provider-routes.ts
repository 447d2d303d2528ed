import { assertNarrowerOrEqual, type Capability, parseCapabilities } from "@agentauth/core";
import { Router } from "express";
import type { Kysely } from "kysely";
import { z } from "zod";
import { enqueueAuditEvent } from "../audit/enqueue-audit-event.js";
import type { Clock } from "../clock.js";
import type { Database, Db } from "../db/database.js";
import { RegistryError } from "../errors.js";
import { jsonBody, parseInput } from "../http/body.js";
import { type HumanAuthentication, signedInHuman } from "../http/signed-in-human.js";
import { issueServiceProviderKey } from "./issue-service-provider-key.js";
import { registerServiceProvider, serviceProviderFields } from "./register-service-provider.js";
import type { ServiceProviderKeyPublisher } from "./service-provider-key-publisher.js";

export interface ServiceProviderRoutesDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly humans: HumanAuthentication;
  /** Publishes API keys to verifiers after each change commits. */
  readonly keys: ServiceProviderKeyPublisher;
}

const createBody = z.strictObject(serviceProviderFields);

/**
 * Admin management of service providers and their verifier API keys, each key change published
 * to the verifiers' key directory once committed.
 */
export function createServiceProviderRouter(deps: ServiceProviderRoutesDeps): Router {
  const router = Router();
  const { requireHuman, requireAdmin, checkOrigin } = deps.humans;
  router.use("/api/service-providers", requireHuman, requireAdmin);

  router.post("/api/service-providers", checkOrigin, jsonBody, async (req, res) => {
    const human = signedInHuman(res);
    const provider = await registerServiceProvider(
      deps.db,
      { ...parseInput(createBody, req.body), now: deps.clock.now() },
      { kind: "human", humanId: human.id },
    );
    res.status(201).json({
      id: provider.id,
      name: provider.name,
      ceiling: provider.ceiling,
      created_at: provider.createdAt.toISOString(),
      disabled_at: null,
      keys: [],
    });
  });

  router.get("/api/service-providers", async (_req, res) => {
    const providers = await deps.db
      .selectFrom("service_providers")
      .selectAll()
      .orderBy("created_at")
      .execute();
    const keys = await deps.db
      .selectFrom("service_provider_keys")
      .select(["id", "service_provider_id", "prefix", "created_at", "revoked_at"])
      .orderBy("created_at")
      .execute();
    res.json({
      service_providers: providers.map((provider) => ({
        id: provider.id,
        name: provider.name,
        ceiling: provider.ceiling,
        created_at: provider.created_at.toISOString(),
        disabled_at: provider.disabled_at?.toISOString() ?? null,
        keys: keys
          .filter((key) => key.service_provider_id === provider.id)
          .map((key) => ({
            id: key.id,
            prefix: key.prefix,
            created_at: key.created_at.toISOString(),
            revoked_at: key.revoked_at?.toISOString() ?? null,
          })),
      })),
    });
  });

  router.post("/api/service-providers/:id/disable", checkOrigin, async (req, res) => {
    const human = signedInHuman(res);
    const now = deps.clock.now();
    const id = await deps.db.transaction().execute(async (trx) => {
      const provider = await findProvider(trx, String(req.params.id));
      if (provider.disabled_at !== null) return provider.id;
      await trx
        .updateTable("service_providers")
        .set({ disabled_at: now })
        .where("id", "=", provider.id)
        .execute();
      await enqueueAuditEvent(trx, {
        type: "service_provider.disabled",
        actor: human.id,
        subject: provider.id,
        occurredAt: now,
      });
      return provider.id;
    });
    // Every key of a disabled provider is published as revoked.
    await deps.keys.publish({ serviceProviderId: id });
    res.status(204).end();
  });

  router.post("/api/service-providers/:id/keys", checkOrigin, async (req, res) => {
    const human = signedInHuman(res);
    const issued = await issueServiceProviderKey(
      deps.db,
      { serviceProviderId: String(req.params.id), now: deps.clock.now() },
      { kind: "human", humanId: human.id },
    );
    await deps.keys.publish({ keyIds: [issued.id] });
    // The only time the key is ever shown.
    res.setHeader("Cache-Control", "no-store");
    res.status(201).json({
      id: issued.id,
      prefix: issued.prefix,
      key: issued.key,
      created_at: issued.createdAt.toISOString(),
    });
  });

  router.delete("/api/service-providers/:id/keys/:keyId", checkOrigin, async (req, res) => {
    const human = signedInHuman(res);
    const now = deps.clock.now();
    const keyId = await deps.db.transaction().execute(async (trx) => {
      const revoked = await trx
        .updateTable("service_provider_keys")
        .set({ revoked_at: now })
        .where("id", "=", String(req.params.keyId))
        .where("service_provider_id", "=", String(req.params.id))
        .where("revoked_at", "is", null)
        .returning("id")
        .executeTakeFirst();
      if (revoked === undefined) throw new RegistryError("ERR_NOT_FOUND", "No such active key");
      await enqueueAuditEvent(trx, {
        type: "service_provider.key_revoked",
        actor: human.id,
        subject: String(req.params.id),
        occurredAt: now,
        data: { key_id: revoked.id },
      });
      return revoked.id;
    });
    await deps.keys.publish({ keyIds: [keyId] });
    res.status(204).end();
  });

  return router;
}

async function findProvider(db: Db, id: string) {
  const provider = await db
    .selectFrom("service_providers")
    .selectAll()
    .where("id", "=", id)
    .executeTakeFirst();
  if (provider === undefined) throw new RegistryError("ERR_NOT_FOUND", "No such service provider");
  return provider;
}

/** The enabled service provider `id`, or `ERR_INVALID_TARGET`. */
export async function findEnabledServiceProvider(db: Db, id: string) {
  const provider = await db
    .selectFrom("service_providers")
    .selectAll()
    .where("id", "=", id)
    .where("disabled_at", "is", null)
    .executeTakeFirst();
  if (provider === undefined)
    throw new RegistryError("ERR_INVALID_TARGET", `Unknown or disabled service provider ${id}`);
  return provider;
}

/** Refuses capabilities outside what the service provider accepts. */
export function assertWithinCeiling(capabilities: readonly Capability[], ceiling: unknown): void {
  assertNarrowerOrEqual(
    { capabilities: [...capabilities], envelope: undefined },
    { capabilities: parseCapabilities(ceiling), envelope: undefined },
  );
}
