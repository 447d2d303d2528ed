import request from "supertest";
import { beforeAll, describe, expect, it } from "vitest";
import {
  expectMalformedBodiesRefused,
  introspect,
  inviteHuman,
  obtainToken,
} from "../grants/grant-helpers.js";
import type { HumanClient } from "../kit/human-client.js";
import { describeEachDatabase } from "../support/databases.js";
import {
  createPaymentsProvider,
  createTestRegistry,
  enrolAgent,
  PAYMENTS,
  PUBLIC_URL,
  type TestRegistry,
} from "../support/test-registry.js";

const KEY_PATTERN = /^aask_([A-Za-z0-9_-]{11})_([A-Za-z0-9_-]{43})$/;

describeEachDatabase("service providers: admin management and verifier API keys", (database) => {
  let test: TestRegistry;
  let bob: HumanClient;

  beforeAll(async () => {
    test = await createTestRegistry(database.db());
    bob = await inviteHuman(test);
  });

  const path = (id: string, rest = "") => `/api/service-providers/${encodeURIComponent(id)}${rest}`;
  const createProvider = async (
    id: string,
    ceiling: unknown[] = [{ type: "read", resource: "*" }],
  ) => {
    const response = await test.admin.post("/api/service-providers", { id, name: id, ceiling });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    return response.body;
  };
  const createKey = async (id: string) => {
    const response = await test.admin.post(path(id, "/keys"));
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    return response.body as { id: string; prefix: string; key: string };
  };
  const listed = async (id: string) => {
    const { body } = await test.admin.get("/api/service-providers").expect(200);
    return body.service_providers.find((provider: { id: string }) => provider.id === id);
  };
  const introspectWith = (authorization: string | undefined, token = "not-a-token") => {
    const call = request(test.registry.app).post("/oauth/introspect").type("form");
    return (authorization === undefined ? call : call.set("Authorization", authorization)).send({
      token,
    });
  };
  const basic = (user: string, password: string) =>
    `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
  /** A 401 invalid_client, challenging in the scheme the client used (RFC 6749 §5.2). */
  const expectInvalidClient = async (authorization: string | undefined) => {
    const response = await introspectWith(authorization);
    const label = `${authorization}: ${JSON.stringify(response.body)}`;
    expect(response.status, label).toBe(401);
    expect(response.body.error, label).toBe("invalid_client");
    const challenge = response.headers["www-authenticate"];
    const scheme = authorization?.split(" ")[0];
    if (scheme === "Basic") {
      expect(challenge, label).toBe('Basic realm="agentauth", charset="UTF-8"');
    } else if (scheme === "Bearer") {
      expect(challenge, label).toBe('Bearer realm="agentauth", error="invalid_token"');
    } else {
      expect(challenge, label).toBe(
        'Basic realm="agentauth", charset="UTF-8", Bearer realm="agentauth"',
      );
    }
  };

  describe("access", () => {
    it("is for signed-in admins only: 401 signed out, 403 for other humans", async () => {
      await createProvider("access-check");
      const key = await createKey("access-check");
      const app = test.registry.app;
      const attempts = [
        () => request(app).get("/api/service-providers"),
        () =>
          request(app)
            .post("/api/service-providers")
            .set("Origin", PUBLIC_URL)
            .send({ id: "sneaky", name: "Sneaky", ceiling: [{ type: "read", resource: "*" }] }),
        () => request(app).post(path("access-check", "/keys")).set("Origin", PUBLIC_URL),
        () => request(app).post(path("access-check", "/disable")).set("Origin", PUBLIC_URL),
        () =>
          request(app)
            .delete(path("access-check", `/keys/${key.id}`))
            .set("Origin", PUBLIC_URL),
      ];
      for (const attempt of attempts) {
        const signedOut = await attempt();
        expect(signedOut.status).toBe(401);
        expect(signedOut.body.code).toBe("ERR_UNAUTHENTICATED");
        const notAdmin = await attempt().set("Cookie", bob.cookie as string);
        expect(notAdmin.status).toBe(403);
        expect(notAdmin.body.code).toBe("ERR_FORBIDDEN");
      }
      const provider = await listed("access-check");
      expect(provider.disabled_at).toBeNull();
      expect(provider.keys).toHaveLength(1);
      expect(provider.keys[0].revoked_at).toBeNull();
      expect(await listed("sneaky")).toBeUndefined();
    });

    it("refuses a state change from another origin", async () => {
      const response = await request(test.registry.app)
        .post("/api/service-providers")
        .set("Cookie", test.admin.cookie as string)
        .set("Origin", "https://evil.example")
        .send({ id: "cross-site", name: "Cross", ceiling: [{ type: "read", resource: "*" }] });
      expect(response.status).toBe(403);
      expect(response.body.code).toBe("ERR_ORIGIN_MISMATCH");
    });
  });

  describe("creation", () => {
    it("creates a provider with its parsed ceiling", async () => {
      const body = await createProvider("https://calendar.example.com", [
        { type: "read", resource: "calendars/*" },
        { type: "write", resource: "calendars/*", max_items: 10 },
      ]);
      expect(body).toMatchObject({
        id: "https://calendar.example.com",
        ceiling: [
          { type: "read", resource: "calendars/*" },
          { type: "write", resource: "calendars/*", max_items: 10 },
        ],
        disabled_at: null,
        keys: [],
      });
    });

    it.each([
      ["an http URI", "http://insecure.example.com"],
      ["a URI with a query", "https://q.example.com/?tenant=1"],
      ["a URI with a fragment", "https://f.example.com/#x"],
      ["a URI with credentials", "https://user:pw@c.example.com"],
      ["upper case", "Payments"],
      ["a slug too short", "ab"],
      ["a slug too long", "a".repeat(65)],
      ["spaces", "my provider"],
      ["an empty id", ""],
    ])("refuses %s as an id", async (_label, id) => {
      const response = await test.admin.post("/api/service-providers", {
        id,
        name: "Bad id",
        ceiling: [{ type: "read", resource: "*" }],
      });
      expect(response.status).toBe(400);
      expect(response.body.code).toBe("ERR_VALIDATION");
      expect(response.body.issues[0].path).toBe("id");
    });

    it.each([
      ["no name", { id: "no-name", ceiling: [{ type: "read", resource: "*" }] }],
      [
        "a blank name",
        { id: "blank-name", name: "  ", ceiling: [{ type: "read", resource: "*" }] },
      ],
      ["no ceiling", { id: "no-ceiling", name: "X" }],
      ["an empty ceiling", { id: "empty-ceiling", name: "X", ceiling: [] }],
      ["a ceiling that is not an array", { id: "object-ceiling", name: "X", ceiling: {} }],
      [
        "an unknown field",
        { id: "extra", name: "X", ceiling: [{ type: "read", resource: "*" }], admin: true },
      ],
    ])("refuses %s", async (_label, body) => {
      const response = await test.admin.post("/api/service-providers", body);
      expect(response.status).toBe(400);
      expect(response.body.code).toBe("ERR_VALIDATION");
      expect(await listed(body.id)).toBeUndefined();
    });

    it.each([
      ["an unknown capability type", [{ type: "teleport", resource: "*" }]],
      ["a capability without a resource", [{ type: "read" }]],
      [
        "an amount that is not a decimal",
        [{ type: "transact", resource: "m/*", max_amount: "lots", currency: "EUR" }],
      ],
      [
        "an unknown currency",
        [{ type: "transact", resource: "m/*", max_amount: "5.00", currency: "XXZ" }],
      ],
      ["an envelope, which is no capability", [{ type: "envelope", spend_caps: [] }]],
      [
        "the same capability twice",
        [
          { type: "read", resource: "*" },
          { type: "read", resource: "*" },
        ],
      ],
    ])("refuses a ceiling with %s as invalid capabilities", async (_label, ceiling) => {
      const id = `bad-ceiling-${Math.random().toString(36).slice(2, 10)}`;
      const response = await test.admin.post("/api/service-providers", { id, name: "X", ceiling });
      expect(response.status).toBe(400);
      expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(response.body.code).toBe("ERR_INVALID_AUTHORIZATION_DETAILS");
      expect(response.body.reason).toBe("ERR_CAPABILITY_INVALID");
      expect(await listed(id)).toBeUndefined();
    });

    it("refuses a duplicate id with 409, leaving the first untouched", async () => {
      await createProvider("duplicate-me");
      const again = await test.admin.post("/api/service-providers", {
        id: "duplicate-me",
        name: "Impostor",
        ceiling: [{ type: "delete", resource: "*" }],
      });
      expect(again.status).toBe(409);
      expect(again.body.code).toBe("ERR_CONFLICT");
      expect(await listed("duplicate-me")).toMatchObject({
        name: "duplicate-me",
        ceiling: [{ type: "read", resource: "*" }],
      });
    });
  });

  describe("API keys", () => {
    it("shows a key once; the list shows its prefix only", async () => {
      await createProvider("show-once");
      const response = await test.admin.post(path("show-once", "/keys")).expect(201);
      expect(response.headers["cache-control"]).toBe("no-store");
      const match = KEY_PATTERN.exec(response.body.key);
      expect(match).not.toBeNull();
      expect(response.body.prefix).toBe(match?.[1]);
      expect(response.body.id).toMatch(/^spk_/);

      const { body } = await test.admin.get("/api/service-providers").expect(200);
      const provider = body.service_providers.find((p: { id: string }) => p.id === "show-once");
      expect(provider.keys).toEqual([
        {
          id: response.body.id,
          prefix: response.body.prefix,
          created_at: expect.any(String),
          revoked_at: null,
        },
      ]);
      expect(JSON.stringify(body)).not.toContain(match?.[2]);
    });

    it("authenticates introspection with the key as Bearer or as Basic client_secret", async () => {
      const { apiKey } = await createPaymentsProvider(test.admin);
      const agent = await enrolAgent(test);
      const { accessToken } = await obtainToken(test, agent);

      const bearer = await introspect(test.registry.app, apiKey, accessToken);
      expect(bearer.status).toBe(200);
      expect(bearer.headers["cache-control"]).toBe("no-store");
      expect(bearer.body).toMatchObject({ active: true, aud: PAYMENTS, sub: agent.id });
      const viaBasic = await introspectWith(
        basic(encodeURIComponent(PAYMENTS), encodeURIComponent(apiKey)),
        accessToken,
      );
      expect(viaBasic.status).toBe(200);
      expect(viaBasic.body).toMatchObject({ active: true, aud: PAYMENTS });
      // Clients that do not form-encode the id (it holds ":") are understood as well.
      const unencoded = await introspectWith(basic(PAYMENTS, apiKey), accessToken);
      expect(unencoded.body).toMatchObject({ active: true, aud: PAYMENTS });
    });

    it("refuses a missing, unknown, malformed or misattributed key with invalid_client", async () => {
      await createProvider("wrong-keys");
      const { key } = await createKey("wrong-keys");
      const [, prefix, secret] = KEY_PATTERN.exec(key) ?? [];
      const otherSecret = `${secret?.slice(0, -1)}${secret?.endsWith("A") ? "B" : "A"}`;
      expect((await introspectWith(`Bearer ${key}`)).status).toBe(200);
      for (const authorization of [
        undefined,
        "Bearer",
        `Bearer aask_${prefix}_${otherSecret}`,
        "Bearer aask_AAAAAAAAAAA_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        `Bearer ${key}x`,
        `DPoP ${key}`,
        basic("wrong-keys", otherSecret),
        "Basic !!!",
        basic("wrong-keys", ""),
        // Percent-encoding that does not decode (RFC 6749 §2.3.1 form-encodes both parts).
        basic("wrong-keys", "%E0%A4%A"),
        // A real key under another provider's name.
        basic(encodeURIComponent(PAYMENTS), key),
      ]) {
        await expectInvalidClient(authorization);
      }
    });

    it("stops a revoked key, and every key of a disabled provider", async () => {
      await createProvider("short-lived");
      const first = await createKey("short-lived");
      const second = await createKey("short-lived");
      await test.admin.delete(path("short-lived", `/keys/${first.id}`)).expect(204);
      await expectInvalidClient(`Bearer ${first.key}`);
      expect((await introspectWith(`Bearer ${second.key}`)).status).toBe(200);

      const again = await test.admin.delete(path("short-lived", `/keys/${first.id}`));
      expect(again.status).toBe(404);
      expect(again.body.code).toBe("ERR_NOT_FOUND");
      const elsewhere = await test.admin.delete(path("show-once", `/keys/${second.id}`));
      expect(elsewhere.status).toBe(404);

      await test.admin.post(path("short-lived", "/disable")).expect(204);
      await expectInvalidClient(`Bearer ${second.key}`);
      await expectInvalidClient(basic("short-lived", encodeURIComponent(second.key)));
      await test.admin.post(path("short-lived", "/disable")).expect(204);
      const newKey = await test.admin.post(path("short-lived", "/keys"));
      expect(newKey.status).toBe(409);
      expect(newKey.body.code).toBe("ERR_CONFLICT");
      const provider = await listed("short-lived");
      expect(provider.disabled_at).toEqual(expect.any(String));
      expect(
        provider.keys.map((key: { revoked_at: string | null }) => key.revoked_at !== null),
      ).toEqual([true, false]);
    });

    it("answers 404 for an unknown provider", async () => {
      for (const response of [
        await test.admin.post(path("nobody-here", "/keys")),
        await test.admin.post(path("nobody-here", "/disable")),
        await test.admin.delete(path("nobody-here", "/keys/spk_nothing")),
      ]) {
        expect(response.status).toBe(404);
        expect(response.body.code).toBe("ERR_NOT_FOUND");
      }
    });
  });

  it("answers malformed bodies with 4xx errors, never a 500", async () => {
    await expectMalformedBodiesRefused(test.registry.app, {
      method: "post",
      path: "/api/service-providers",
      body: "json",
      human: test.admin,
    });
    await expectMalformedBodiesRefused(test.registry.app, {
      method: "post",
      path: "/oauth/introspect",
      body: "form",
    });
  });
});
