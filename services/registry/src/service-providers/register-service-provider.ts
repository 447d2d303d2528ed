import { type Capability, parseCapabilities } from "@agentauth/core";
import { z } from "zod";
import { type AuditActor, auditActorData, auditActorId } from "../audit/audit-actor.js";
import { enqueueAuditEvent } from "../audit/enqueue-audit-event.js";
import type { Db } from "../db/database.js";
import { inTransaction } from "../db/in-transaction.js";
import { RegistryError } from "../errors.js";
import { parseInput } from "../http/body.js";
import { assertEnabledAdmin } from "../humans/assert-enabled-admin.js";

/** A service provider id: an absolute https URI (RFC 8707 style) or a short slug. */
const serviceProviderId = z
  .string()
  .max(200)
  .refine((id) => /^[a-z0-9][a-z0-9._-]{2,63}$/.test(id) || isHttpsUri(id), {
    error:
      "must be an https URI without query or fragment, or a slug of 3-64 lower-case letters, digits, '.', '_' or '-'",
  });

/** What describes a service provider: `POST /api/service-providers` takes exactly these. */
export const serviceProviderFields = {
  id: serviceProviderId,
  name: z.string().trim().min(1).max(100),
  ceiling: z.array(z.unknown()).min(1).max(64),
};

const fields = z.object(serviceProviderFields);

export interface RegisterServiceProviderInput {
  /** Its id, the tokens' `aud`: an https URI without query or fragment, or a slug. */
  readonly id: string;
  /** Shown to humans in the approval app. */
  readonly name: string;
  /** The capabilities it accepts at most (RFC 9396 entries, protocol.md §2.1). */
  readonly ceiling: readonly unknown[];
  /**
   * The enabled admin accountable for it (`created_by`). Default, and only allowed value, for a
   * human actor: that human. Required when the actor is the system.
   */
  readonly createdBy?: string;
  readonly now: Date;
}

export interface RegisteredServiceProvider {
  readonly id: string;
  readonly name: string;
  readonly ceiling: readonly Capability[];
  readonly createdBy: string;
  readonly createdAt: Date;
}

/**
 * Registers a service provider and audits it (`service_provider.created`, by `actor`) in one
 * transaction — `db`'s, when it is one. It has no API key yet: {@link issueServiceProviderKey}.
 * Refuses a bad id, name or ceiling (`ERR_VALIDATION`, or the core code of a bad capability), an
 * id already registered (`ERR_CONFLICT`), and a `createdBy` who is not an enabled admin
 * (`ERR_FORBIDDEN`). `POST /api/service-providers` is this, with the signed-in admin as actor.
 *
 * @example
 * await registerServiceProvider(db,
 *   { id: "demo-exchange", name: "Exchange", ceiling, createdBy: adminId, now: clock.now() },
 *   { kind: "system", via: "embedded-platform" });
 */
export async function registerServiceProvider(
  db: Db,
  input: RegisterServiceProviderInput,
  actor: AuditActor,
): Promise<RegisteredServiceProvider> {
  const actorId = auditActorId(actor);
  const createdBy = accountableAdmin(input.createdBy, actor);
  if (!(input.now instanceof Date) || Number.isNaN(input.now.getTime())) {
    throw new TypeError("registerServiceProvider: now must be a valid Date");
  }
  const { id, name, ceiling: entries } = parseInput(fields, input);
  const ceiling = parseCapabilities(entries);
  return inTransaction(db, async (trx) => {
    await assertEnabledAdmin(trx, createdBy, "Registering a service provider");
    // Atomic: of two registrations racing for one id, one inserts and the other is told.
    const inserted = await trx
      .insertInto("service_providers")
      .values({
        id,
        name,
        ceiling: JSON.stringify(ceiling),
        created_by: createdBy,
        created_at: input.now,
      })
      .onConflict((conflict) => conflict.column("id").doNothing())
      .returning("id")
      .executeTakeFirst();
    if (inserted === undefined) {
      throw new RegistryError("ERR_CONFLICT", `Service provider ${id} already exists`);
    }
    await enqueueAuditEvent(trx, {
      type: "service_provider.created",
      actor: actorId,
      subject: id,
      occurredAt: input.now,
      data: {
        name,
        ...auditActorData(actor),
        ...(actor.kind === "system" ? { created_by: createdBy } : {}),
      },
    });
    return { id, name, ceiling, createdBy, createdAt: input.now };
  });
}

function accountableAdmin(createdBy: string | undefined, actor: AuditActor): string {
  if (actor.kind === "human") {
    if (createdBy !== undefined && createdBy !== actor.humanId) {
      throw new TypeError(
        "registerServiceProvider: a human registers service providers as themself",
      );
    }
    return actor.humanId;
  }
  if (typeof createdBy !== "string" || createdBy === "") {
    throw new TypeError(
      "registerServiceProvider: the system registers a service provider for an admin: give createdBy",
    );
  }
  return createdBy;
}

function isHttpsUri(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === "https:" && !url.search && !url.hash && !url.username && !url.password;
  } catch {
    return false;
  }
}
