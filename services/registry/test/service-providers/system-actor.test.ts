import { createHash } from "node:crypto";
import { sql } from "kysely";
import request from "supertest";
import { beforeAll, describe, expect, it } from "vitest";
import type { AuditActor } from "../../src/audit/audit-actor.js";
import { RegistryError } from "../../src/errors.js";
import { issueServiceProviderKey } from "../../src/service-providers/issue-service-provider-key.js";
import { registerServiceProvider } from "../../src/service-providers/register-service-provider.js";
import { findServiceProviderKey } from "../../src/service-providers/service-provider-keys.js";
import { inviteHuman } from "../grants/grant-helpers.js";
import type { HumanClient } from "../kit/human-client.js";
import { describeEachDatabase } from "../support/databases.js";
import { createTestRegistry, type TestRegistry } from "../support/test-registry.js";

// Registering a service provider and issuing its API key as the system (no admin's session), as
// the embedded platform does for its demo service providers: the same rows and audit events as
// the admin routes, which call the same functions with the signed-in admin as actor.

const SYSTEM: AuditActor = { kind: "system", via: "embedded-platform" };
const CEILING = [{ type: "read", resource: "reports/*" }];

describeEachDatabase("service providers registered by the system", (database) => {
  let test: TestRegistry;
  let adminId: string;
  let bob: HumanClient;

  beforeAll(async () => {
    test = await createTestRegistry(database.db());
    adminId = test.admin.human?.id as string;
    bob = await inviteHuman(test, "Bob");
  });

  const db = () => database.db();
  const register = (id: string, extra: Partial<{ createdBy: string; ceiling: unknown[] }> = {}) =>
    registerServiceProvider(
      db(),
      {
        id,
        name: `Provider ${id}`,
        ceiling: CEILING,
        createdBy: adminId,
        now: new Date(),
        ...extra,
      },
      SYSTEM,
    );
  const issue = (serviceProviderId: string, actor: AuditActor = SYSTEM) =>
    issueServiceProviderKey(db(), { serviceProviderId, now: new Date() }, actor);
  const events = async (subject: string) => {
    await test.registry.auditSequencer.runOnce();
    const { body } = await test.admin
      .get(`/api/audit/events?scope=all&limit=100&subject=${encodeURIComponent(subject)}`)
      .expect(200);
    return (body.events as Array<{ event: Record<string, unknown> }>).map((entry) => entry.event);
  };
  const failure = async (promise: Promise<unknown>) => {
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeDefined();
    return error as Error & { code?: string };
  };
  const introspectWith = (key: string) =>
    request(test.registry.app)
      .post("/oauth/introspect")
      .type("form")
      .set("Authorization", `Bearer ${key}`)
      .send({ token: "not-a-token" });

  it("registers a provider for an admin and audits it as the system", async () => {
    const provider = await register("system-registered");
    expect(provider).toMatchObject({
      id: "system-registered",
      name: "Provider system-registered",
      ceiling: CEILING,
      createdBy: adminId,
    });
    const row = await db()
      .selectFrom("service_providers")
      .selectAll()
      .where("id", "=", "system-registered")
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ created_by: adminId, disabled_at: null, ceiling: CEILING });

    expect(await events("system-registered")).toEqual([
      expect.objectContaining({
        type: "service_provider.created",
        actor: "system",
        subject: "system-registered",
        data: { name: "Provider system-registered", via: "embedded-platform", created_by: adminId },
      }),
    ]);
    // The admin sees it as one of theirs in the approval app's list.
    const { body } = await test.admin.get("/api/service-providers").expect(200);
    expect(body.service_providers).toContainEqual(
      expect.objectContaining({ id: "system-registered", keys: [] }),
    );
  });

  it("issues an API key that only the caller sees, stored hashed, audited as the system", async () => {
    await register("system-keyed");
    const issued = await issue("system-keyed");
    expect(issued.key).toMatch(/^aask_[A-Za-z0-9_-]{11}_[A-Za-z0-9_-]{43}$/);
    expect(issued.key).toContain(`aask_${issued.prefix}_`);
    expect(issued).toMatchObject({ serviceProviderId: "system-keyed" });
    expect(issued.id).toMatch(/^spk_/);

    const row = await db()
      .selectFrom("service_provider_keys")
      .selectAll()
      .where("id", "=", issued.id)
      .executeTakeFirstOrThrow();
    const secret = issued.key.slice(`aask_${issued.prefix}_`.length);
    expect(row.secret_hash).toBe(createHash("sha256").update(secret).digest("hex"));
    // The secret is in no table, the audit queue and chain included.
    const dump = await sql<{ text: string }>`
      select concat_ws(' ', (select json_agg(t)::text from service_provider_keys t),
                            (select json_agg(a)::text from audit_events a),
                            (select json_agg(q)::text from audit_queue q)) as text`.execute(db());
    expect(dump.rows[0]?.text).not.toContain(secret);

    expect(
      (await events("system-keyed")).map(({ type, actor, data }) => ({ type, actor, data })),
    ).toEqual([
      { type: "service_provider.created", actor: "system", data: expect.any(Object) },
      {
        type: "service_provider.key_created",
        actor: "system",
        data: { key_id: issued.id, prefix: issued.prefix, via: "embedded-platform" },
      },
    ]);

    // The key authenticates the provider (RFC 7662 introspection) …
    const introspected = await introspectWith(issued.key);
    expect(introspected.status, JSON.stringify(introspected.body)).toBe(200);
    expect(introspected.body).toEqual({ active: false });
    // … and reaches verifiers once published after the commit.
    expect(await test.keyDirectory.get(issued.prefix)).toBeUndefined();
    await test.registry.keyPublisher.publish({ keyIds: [issued.id] });
    expect(await test.keyDirectory.get(issued.prefix)).toEqual({
      prefix: issued.prefix,
      serviceProviderId: "system-keyed",
      secretHash: row.secret_hash,
      revoked: false,
    });
  });

  it("commits nothing — no row, no key, no event — when the caller's transaction rolls back", async () => {
    const error = await failure(
      db()
        .transaction()
        .execute(async (trx) => {
          await registerServiceProvider(
            trx,
            {
              id: "rolled-back",
              name: "Rolled back",
              ceiling: CEILING,
              createdBy: adminId,
              now: new Date(),
            },
            SYSTEM,
          );
          await issueServiceProviderKey(
            trx,
            { serviceProviderId: "rolled-back", now: new Date() },
            SYSTEM,
          );
          throw new Error("the caller changed its mind");
        }),
    );
    expect(error.message).toBe("the caller changed its mind");
    expect(
      await db()
        .selectFrom("service_providers")
        .select("id")
        .where("id", "=", "rolled-back")
        .execute(),
    ).toEqual([]);
    expect(
      await db()
        .selectFrom("service_provider_keys")
        .select("id")
        .where("service_provider_id", "=", "rolled-back")
        .execute(),
    ).toEqual([]);
    expect(await events("rolled-back")).toEqual([]);
  });

  it("needs an enabled admin to answer for the provider", async () => {
    const noOwner = await failure(
      registerServiceProvider(
        db(),
        { id: "ownerless", name: "Ownerless", ceiling: CEILING, now: new Date() },
        SYSTEM,
      ),
    );
    expect(noOwner).toBeInstanceOf(TypeError);
    const notAdmin = await failure(
      register("owned-by-bob", { createdBy: bob.human?.id as string }),
    );
    expect(notAdmin).toBeInstanceOf(RegistryError);
    expect(notAdmin.code).toBe("ERR_FORBIDDEN");
    const unknown = await failure(register("owned-by-nobody", { createdBy: "hum_nobody" }));
    expect(unknown.code).toBe("ERR_FORBIDDEN");
    expect(
      await db()
        .selectFrom("service_providers")
        .select("id")
        .where("id", "in", ["ownerless", "owned-by-bob", "owned-by-nobody"])
        .execute(),
    ).toEqual([]);
  });

  it("refuses a human actor who is not an admin, or who names another owner", async () => {
    const asBob: AuditActor = { kind: "human", humanId: bob.human?.id as string };
    const registered = await failure(
      registerServiceProvider(
        db(),
        { id: "bobs-provider", name: "Bob's", ceiling: CEILING, now: new Date() },
        asBob,
      ),
    );
    expect(registered.code).toBe("ERR_FORBIDDEN");
    const onBehalf = await failure(
      registerServiceProvider(
        db(),
        {
          id: "not-yours",
          name: "Not yours",
          ceiling: CEILING,
          createdBy: adminId,
          now: new Date(),
        },
        asBob,
      ),
    );
    expect(onBehalf).toBeInstanceOf(TypeError);
    await register("admins-only-keys");
    const keyed = await failure(issue("admins-only-keys", asBob));
    expect(keyed.code).toBe("ERR_FORBIDDEN");
  });

  it("refuses what the admin routes refuse: a bad id, name or ceiling, a taken id", async () => {
    const badId = await failure(register("Not A Slug"));
    expect(badId.code).toBe("ERR_VALIDATION");
    const badName = await failure(
      registerServiceProvider(
        db(),
        { id: "nameless", name: "  ", ceiling: CEILING, createdBy: adminId, now: new Date() },
        SYSTEM,
      ),
    );
    expect(badName.code).toBe("ERR_VALIDATION");
    const badCeiling = await failure(register("bad-ceiling", { ceiling: [{ type: "read" }] }));
    expect(badCeiling.code).toMatch(/^ERR_/);
    await register("taken");
    const taken = await failure(register("taken"));
    expect(taken.code).toBe("ERR_CONFLICT");
    expect(await events("taken")).toHaveLength(1);
  });

  it("gives one of two registrations racing for an id, and the other ERR_CONFLICT", async () => {
    const replica = await database.connectReplica();
    const results = await Promise.allSettled(
      [db(), replica].map((each) =>
        registerServiceProvider(
          each,
          { id: "raced", name: "Raced", ceiling: CEILING, createdBy: adminId, now: new Date() },
          SYSTEM,
        ),
      ),
    );
    expect(results.map((result) => result.status).sort()).toEqual(["fulfilled", "rejected"]);
    const rejected = results.find((result) => result.status === "rejected");
    expect((rejected as PromiseRejectedResult).reason).toMatchObject({ code: "ERR_CONFLICT" });
    expect(await events("raced")).toHaveLength(1);
  });

  it("issues no key for an unknown or disabled provider", async () => {
    const unknown = await failure(issue("never-registered"));
    expect(unknown.code).toBe("ERR_NOT_FOUND");
    await register("to-disable");
    await test.admin.post("/api/service-providers/to-disable/disable").expect(204);
    const disabled = await failure(issue("to-disable"));
    expect(disabled.code).toBe("ERR_CONFLICT");
    expect(
      await db()
        .selectFrom("service_provider_keys")
        .select("id")
        .where("service_provider_id", "in", ["never-registered", "to-disable"])
        .execute(),
    ).toEqual([]);
  });

  it("refuses a malformed actor as a programmer's mistake", async () => {
    for (const actor of [
      { kind: "system", via: "Not A Process Name" },
      { kind: "system", via: "" },
      { kind: "human", humanId: "" },
      { kind: "robot" },
    ]) {
      const error = await failure(
        issueServiceProviderKey(
          db(),
          { serviceProviderId: "system-keyed", now: new Date() },
          actor as AuditActor,
        ),
      );
      expect(error, JSON.stringify(actor)).toBeInstanceOf(TypeError);
    }
  });

  describe("findServiceProviderKey", () => {
    it("finds a key by prefix and secret, and says when it is revoked or its provider disabled", async () => {
      await register("findable");
      const kept = await issue("findable");
      const revoked = await issue("findable");
      expect(await findServiceProviderKey(db(), kept.key)).toEqual({
        id: kept.id,
        serviceProviderId: "findable",
        revoked: false,
        serviceProviderDisabled: false,
      });
      await test.admin.delete(`/api/service-providers/findable/keys/${revoked.id}`).expect(204);
      expect(await findServiceProviderKey(db(), revoked.key)).toMatchObject({ revoked: true });
      expect((await introspectWith(revoked.key)).status).toBe(401);
      await test.admin.post("/api/service-providers/findable/disable").expect(204);
      expect(await findServiceProviderKey(db(), kept.key)).toMatchObject({
        revoked: false,
        serviceProviderDisabled: true,
      });
      expect((await introspectWith(kept.key)).status).toBe(401);
    });

    it("finds nothing for a wrong secret under a real prefix, an unknown key, or not a key", async () => {
      await register("unfindable");
      const { key, prefix } = await issue("unfindable");
      const wrongSecret = `aask_${prefix}_${"A".repeat(43)}`;
      expect(wrongSecret).not.toBe(key);
      for (const candidate of [
        wrongSecret,
        `aask_${"B".repeat(11)}_${"C".repeat(43)}`,
        "not-a-key",
        `${key}x`,
        "",
      ]) {
        expect(await findServiceProviderKey(db(), candidate), candidate).toBeUndefined();
      }
    });
  });
});
