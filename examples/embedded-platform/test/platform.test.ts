import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXCHANGE, PAYMENTS, writeApiKeyFile } from "@agentauth/examples-kit";
import { createHumanClient } from "@agentauth/registry/testing";
import { isAgentAuthSdkError } from "@agentauth/sdk";
import express from "express";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiKeyFileOf, provisionDemoServiceProviders } from "../src/demo-provisioning.js";
import {
  startGuardedServiceProvider,
  startTestPlatform,
  type TestPlatform,
  testBackend,
} from "./testing.js";

const EXCHANGE_READ = [{ type: "read", resource: "exchange/*" }] as const;

/** A service provider guarded by @agentauth/express, asking the platform's verifier. */
function startProbe(test: TestPlatform) {
  return startGuardedServiceProvider(test, EXCHANGE, (agentAuth) => {
    const app = express();
    app.get(
      "/probe",
      agentAuth.requireCapability({ type: "read", resource: "exchange/probe" }),
      (req, res) => {
        res.json({ agent: req.agentAuth?.agent });
      },
    );
    return app;
  });
}

/** `POST /v1/verify` with `apiKey` for a request that carries no token. */
function askVerifier(verifierUrl: string, apiKey: string): Promise<Response> {
  return fetch(`${verifierUrl}/v1/verify`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({
      method: "GET",
      url: "http://localhost/x",
      action: { type: "read", resource: "exchange/x" },
    }),
  });
}

async function auditEvents(test: TestPlatform, type: string) {
  await test.platform.registry.auditSequencer.runOnce();
  const query = new URLSearchParams({ scope: "all", limit: "500", type });
  const response = await test.admin.get(`/api/audit/events?${query}`).expect(200);
  return response.body.events as Array<{ event: Record<string, unknown> }>;
}

describe(`the embedded platform (${testBackend().name})`, () => {
  let test: TestPlatform;
  beforeAll(async () => {
    test = await startTestPlatform({ enrolFirstHuman: false });
  });
  afterAll(() => test?.close());

  it("registers the demo service providers once the first human enrols, keys in 0600 files", async () => {
    const provisioning = test.platform.demoServiceProviders;
    expect(await provisioning?.firstPass).toEqual({ kind: "waiting-for-admin" });
    const link = test.platform.firstHumanInvitation;
    expect(link).toMatch(new RegExp(`^${test.registryUrl}/enrol#.+`));
    await test.admin.enrol(link as string, { displayName: "Ada" });

    const provisioned = await provisioning?.provisioned;
    expect(provisioned?.map(({ id, status }) => ({ id, status }))).toEqual([
      { id: EXCHANGE.id, status: "registered" },
      { id: PAYMENTS.id, status: "registered" },
    ]);
    for (const provider of provisioned ?? []) {
      expect((await stat(provider.keyFile)).mode & 0o777).toBe(0o600);
      const key = (await readFile(provider.keyFile, "utf8")).trim();
      expect(key).toMatch(/^aask_/);
      (test.apiKeys as Record<string, string>)[provider.id] = key;
    }

    const listed = await test.admin.get("/api/service-providers").expect(200);
    const providers = listed.body.service_providers as Array<{
      id: string;
      ceiling: unknown;
      keys: Array<{ id: string; prefix: string; revoked_at: string | null }>;
    }>;
    expect(providers.map((provider) => provider.id).sort()).toEqual([EXCHANGE.id, PAYMENTS.id]);
    const exchange = providers.find((provider) => provider.id === EXCHANGE.id);
    expect(exchange?.ceiling).toEqual(EXCHANGE.ceiling);
    expect(exchange?.keys).toHaveLength(1);
    expect(test.apiKeys[EXCHANGE.id]).toContain(`aask_${exchange?.keys[0]?.prefix}_`);

    // Registered through the registry's own functions, as the system for the first admin.
    const adminId = test.admin.human?.id;
    const created = await auditEvents(test, "service_provider.created");
    expect(created.map(({ event }) => [event.actor, event.subject, event.data])).toEqual(
      expect.arrayContaining(
        [EXCHANGE, PAYMENTS].map((provider) => [
          "system",
          provider.id,
          { name: provider.name, via: "embedded-platform", created_by: adminId },
        ]),
      ),
    );
    const keysCreated = await auditEvents(test, "service_provider.key_created");
    expect(keysCreated.map(({ event }) => [event.actor, event.subject, event.data])).toEqual(
      expect.arrayContaining(
        providers.map((provider) => [
          "system",
          provider.id,
          {
            key_id: provider.keys[0]?.id,
            prefix: provider.keys[0]?.prefix,
            via: "embedded-platform",
          },
        ]),
      ),
    );
    const owners = await test.platform.database.db
      .selectFrom("service_providers")
      .select("created_by")
      .execute();
    expect(owners.map((owner) => owner.created_by)).toEqual([adminId, adminId]);
  });

  it("co-hosts a verifier that knows the keys, hears revocations and feeds the audit chain", async () => {
    const probe = await startProbe(test);
    try {
      const { agent, grantId } = await test.agentWithGrant({
        serviceProvider: EXCHANGE.id,
        capabilities: [...EXCHANGE_READ],
      });
      const allowed = await agent.fetch(`${probe.url}/probe`, { serviceProvider: EXCHANGE.id });
      expect(allowed.status).toBe(200);
      expect(await allowed.json()).toEqual({ agent: agent.id });

      await test.revokeGrant(grantId);
      const refused = await agent
        .fetch(`${probe.url}/probe`, { serviceProvider: EXCHANGE.id })
        .catch((error: unknown) => error);
      expect(isAgentAuthSdkError(refused)).toBe(true);
      expect(refused).toMatchObject({ reason: "grant_revoked" });

      // The verifier's denial reaches the registry's audit chain through the shared decision log.
      await expect
        .poll(
          async () =>
            (await auditEvents(test, "verifier.decision")).some(
              ({ event }) =>
                event.subject === grantId &&
                (event.data as { decision?: { reason?: string } }).decision?.reason ===
                  "grant_revoked",
            ),
          { timeout: 15_000, interval: 250 },
        )
        .toBe(true);
    } finally {
      await probe.close();
    }
  });

  it("respects a key an admin revoked and a provider an admin disabled", async () => {
    const listed = await test.admin.get("/api/service-providers").expect(200);
    const payments = (
      listed.body.service_providers as Array<{ id: string; keys: Array<{ id: string }> }>
    ).find((provider) => provider.id === PAYMENTS.id);
    const keyId = payments?.keys[0]?.id as string;
    await test.admin
      .delete(`/api/service-providers/${encodeURIComponent(PAYMENTS.id)}/keys/${keyId}`)
      .expect(204);
    await test.admin
      .post(`/api/service-providers/${encodeURIComponent(EXCHANGE.id)}/disable`)
      .expect(204);

    const outcome = await provisionDemoServiceProviders({
      db: test.platform.database.db,
      keyPublisher: {
        publish: async () => {
          throw new Error("nothing is to be published");
        },
      },
      providers: [EXCHANGE, PAYMENTS],
      keyDir: join(test.dataDir, "examples"),
      now: () => new Date(),
      logger: pino({ level: "silent" }),
    });
    expect(outcome).toMatchObject({
      kind: "provisioned",
      providers: [
        { id: EXCHANGE.id, status: "disabled" },
        { id: PAYMENTS.id, status: "key-revoked" },
      ],
    });
    // The revoked key stays where it was, and the verifier refuses it.
    const keyFile = apiKeyFileOf(join(test.dataDir, "examples"), PAYMENTS);
    expect((await readFile(keyFile, "utf8")).trim()).toBe(test.apiKeys[PAYMENTS.id]);
    const verify = await askVerifier(test.verifierUrl, test.apiKeys[PAYMENTS.id] as string);
    expect(verify.status).toBe(401);
  });
});

describe("the embedded platform across restarts", () => {
  it("keeps its data, its signing key and the demo keys; prints no enrolment link again", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "agentauth-restart-"));
    try {
      const first = await startTestPlatform({ dataDir, embedded: true });
      const kid = first.platform.signingKeyId;
      const keys = { ...first.apiKeys };
      const authenticator = first.admin.authenticator;
      await first.close();

      const second = await startTestPlatform({
        dataDir,
        embedded: true,
        enrolFirstHuman: false,
        ports: first.ports,
      });
      try {
        expect(second.platform.signingKeyId).toBe(kid);
        expect(second.platform.firstHumanInvitation).toBeUndefined();
        const jwks = await fetch(`${second.registryUrl}/.well-known/jwks.json`);
        expect(((await jwks.json()) as { keys: Array<{ kid: string }> }).keys).toContainEqual(
          expect.objectContaining({ kid }),
        );
        expect(await second.platform.demoServiceProviders?.firstPass).toMatchObject({
          kind: "provisioned",
          providers: [
            { id: EXCHANGE.id, status: "unchanged" },
            { id: PAYMENTS.id, status: "unchanged" },
          ],
        });
        for (const provider of [EXCHANGE, PAYMENTS]) {
          const file = apiKeyFileOf(join(dataDir, "examples"), provider);
          expect((await readFile(file, "utf8")).trim()).toBe(keys[provider.id]);
        }
        // The same passkey signs in: the human is still there.
        const admin = createHumanClient(second.platform.registry.app, { authenticator });
        expect((await admin.signIn()).display_name).toBe("Ada");
        // And the verifier of the new process knows the old keys at once.
        const verify = await askVerifier(second.verifierUrl, keys[EXCHANGE.id] as string);
        expect(verify.status).toBe(200);
        expect(await verify.json()).toMatchObject({ decision: "deny", reason: "token_missing" });
      } finally {
        await second.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it("deletes key files left from an earlier database before anyone can use them", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "agentauth-stale-"));
    try {
      const stale = apiKeyFileOf(join(dataDir, "examples"), EXCHANGE);
      await writeApiKeyFile(stale, `aask_${"A".repeat(11)}_${"b".repeat(43)}`);
      const test = await startTestPlatform({ dataDir, embedded: true, enrolFirstHuman: false });
      try {
        expect(await test.platform.demoServiceProviders?.firstPass).toEqual({
          kind: "waiting-for-admin",
        });
        await expect(stat(stale)).rejects.toMatchObject({ code: "ENOENT" });
      } finally {
        await test.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
