import request from "supertest";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  approvalChallenge,
  approve,
  approveWith,
  CIBA,
  captureRevocations,
  decodeJwtPayload,
  expectMalformedBodiesRefused,
  humanRequest,
  introspect,
  inviteHuman,
  obtainToken,
  poll,
  refresh,
  requestGrant,
  requestGrantId,
} from "../grants/grant-helpers.js";
import { createTestAgent, type TestAgent } from "../kit/agent-client.js";
import type { HumanClient } from "../kit/human-client.js";
import { describeEachDatabase } from "../support/databases.js";
import {
  createPaymentsProvider,
  createTestRegistry,
  enrolAgent,
  PUBLIC_URL,
  type TestRegistry,
} from "../support/test-registry.js";

const DAY_SECONDS = 24 * 3600;

describeEachDatabase(
  "agents: enrolment, listing, renaming, disabling and key rotation",
  (database) => {
    let test: TestRegistry;
    let bob: HumanClient;
    let apiKey: string;

    beforeAll(async () => {
      test = await createTestRegistry(database.db());
      ({ apiKey } = await createPaymentsProvider(test.admin));
      bob = await inviteHuman(test);
    });
    // Enrolment is limited to 20 a minute per IP: give each test a fresh window.
    beforeEach(() => test.clock.advance(61));

    const createCode = async (human: HumanClient = test.admin, name = "travel bot") => {
      const response = await human.post("/api/agent-enrolment-codes", { name });
      expect(response.status, JSON.stringify(response.body)).toBe(201);
      return response.body.code as string;
    };
    const newAgent = () => createTestAgent(test.registry.app, PUBLIC_URL, test.clock);
    const enrol = async (
      code: string,
      agent: TestAgent,
      options: { dpop?: string | null; name?: string } = {},
    ) => {
      let call = request(test.registry.app).post("/agents/enroll");
      const proof =
        options.dpop === undefined ? await agent.proof("POST", "/agents/enroll") : options.dpop;
      if (proof !== null) call = call.set("DPoP", proof);
      return call.send({ code, ...(options.name === undefined ? {} : { name: options.name }) });
    };
    const expectProblem = (response: request.Response, status: number, code: string) => {
      expect(response.status, JSON.stringify(response.body)).toBe(status);
      expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(response.body.code).toBe(code);
    };

    const listedAgent = async (id: string | undefined) => {
      const agents = (await test.admin.get("/api/agents").expect(200)).body.agents;
      return agents.find((agent: { id: string }) => agent.id === id);
    };
    /** Rotates `agent` to `next`'s key: DPoP by `current`, `new_key_proof` by `next`. */
    const rotate = async (current: TestAgent, next: TestAgent) =>
      request(test.registry.app)
        .post("/agents/rotate-key")
        .set("DPoP", await current.proof("POST", "/agents/rotate-key"))
        .send({ new_key_proof: await next.proof("POST", "/agents/rotate-key") });
    /** `next` takes over `agent`'s id (its new key, as the SDK would hold it). */
    const asRotated = (agent: TestAgent, next: TestAgent) => {
      next.id = agent.id;
      return next;
    };

    describe("enrolment codes", () => {
      it("are created for the signed-in human, valid for 24 hours", async () => {
        const before = test.clock.now().getTime();
        const response = await test.admin
          .post("/api/agent-enrolment-codes", { name: "  mail bot  " })
          .expect(201);
        expect(response.body.code).toMatch(/^aec_[A-Za-z0-9_-]{32}$/);
        expect(response.body.agent_name).toBe("mail bot");
        const expiresAt = Date.parse(response.body.expires_at);
        expect(expiresAt - before).toBeGreaterThanOrEqual(DAY_SECONDS * 1000);
        expect(expiresAt - before).toBeLessThan(DAY_SECONDS * 1000 + 60_000);
      });

      it("need a signed-in human on the registry's own origin", async () => {
        const app = test.registry.app;
        expectProblem(
          await request(app)
            .post("/api/agent-enrolment-codes")
            .set("Origin", PUBLIC_URL)
            .send({ name: "x" }),
          401,
          "ERR_UNAUTHENTICATED",
        );
        const cookie = test.admin.cookie as string;
        expectProblem(
          await request(app).post("/api/agent-enrolment-codes").set("Cookie", cookie).send({
            name: "x",
          }),
          403,
          "ERR_ORIGIN_MISMATCH",
        );
        expectProblem(
          await request(app)
            .post("/api/agent-enrolment-codes")
            .set("Cookie", cookie)
            .set("Origin", "https://evil.example")
            .send({ name: "x" }),
          403,
          "ERR_ORIGIN_MISMATCH",
        );
      });

      it.each([
        ["no name", {}],
        ["an empty name", { name: "" }],
        ["a blank name", { name: "   " }],
        ["a name of 101 characters", { name: "x".repeat(101) }],
        ["a name that is not a string", { name: 42 }],
        ["an unknown field", { name: "ok", human_id: "hum_someone_else" }],
      ])("refuse %s", async (_label, body) => {
        expectProblem(
          await test.admin.post("/api/agent-enrolment-codes", body),
          400,
          "ERR_VALIDATION",
        );
      });
    });

    describe("enrolment", () => {
      it("binds the agent's id to its key and names it from the code", async () => {
        const agent = await newAgent();
        const response = await enrol(await createCode(), agent);
        expect(response.status).toBe(201);
        expect(response.body).toMatchObject({ name: "travel bot", jkt: agent.jkt });
        expect(response.body.agent_id).toMatch(/^agt_/);
        expect(response.body.client_id).toBe(response.body.agent_id);
      });

      it("limits each client IP to 20 attempts a minute, counted before the code is checked", async () => {
        // At the start of a fixed window, so every attempt falls in one.
        const now = test.clock.now().getTime();
        test.clock.advance((60_000 - (now % 60_000) + 100) / 1000);
        const guesser = await newAgent();
        for (let attempt = 0; attempt < 20; attempt++) {
          expectProblem(
            await enrol(`aec_guess_${attempt}`, guesser),
            400,
            "ERR_ENROLMENT_CODE_INVALID",
          );
        }
        // Over the limit, even a valid code waits: guessing cannot go faster than 20 a minute.
        const code = await createCode();
        const limited = await enrol(code, guesser);
        expectProblem(limited, 429, "ERR_RATE_LIMITED");
        const retryAfter = Number(limited.headers["retry-after"]);
        expect(retryAfter).toBeGreaterThan(0);
        expect(retryAfter).toBeLessThanOrEqual(60);
        test.clock.advance(retryAfter);
        expect((await enrol(code, guesser)).status).toBe(201);
      });

      it("refuses a name chosen by the agent, and the code stays usable", async () => {
        const code = await createCode(test.admin, "mail bot");
        const agent = await newAgent();
        for (const name of ["Bank of Example assistant", ""]) {
          const refused = await enrol(code, agent, { name });
          expectProblem(refused, 400, "ERR_VALIDATION");
          expect(refused.body.detail).toBe(
            "name: is chosen by the human who created the enrolment code; only they can rename the agent",
          );
        }
        const enrolled = await enrol(code, agent);
        expect(enrolled.status).toBe(201);
        expect(enrolled.body.name).toBe("mail bot");
        expect((await listedAgent(enrolled.body.agent_id))?.name).toBe("mail bot");
      });

      it("refuses an unknown code", async () => {
        expectProblem(
          await enrol("aec_not-a-code-anyone-was-given", await newAgent()),
          400,
          "ERR_ENROLMENT_CODE_INVALID",
        );
      });

      it("refuses a missing, malformed or misdirected DPoP proof, and the code stays usable", async () => {
        const code = await createCode();
        const agent = await newAgent();
        const reasons: Array<[string | null, string]> = [
          [null, "ERR_DPOP_MISSING"],
          ["not-a-jwt", "ERR_DPOP_MALFORMED"],
          [await agent.proof("POST", "/oauth/token"), "ERR_DPOP_HTU_MISMATCH"],
          [await agent.proof("GET", "/agents/enroll"), "ERR_DPOP_HTM_MISMATCH"],
        ];
        for (const [proof, reason] of reasons) {
          const response = await enrol(code, agent, { dpop: proof });
          expectProblem(response, 400, "ERR_INVALID_DPOP_PROOF");
          expect(response.body.reason).toBe(reason);
        }
        // A proof too old: made, then the clock moves on.
        const stale = await agent.proof("POST", "/agents/enroll");
        test.clock.advance(120);
        const late = await enrol(code, agent, { dpop: stale });
        expectProblem(late, 400, "ERR_INVALID_DPOP_PROOF");
        expect(late.body.reason).toBe("ERR_DPOP_IAT_OUT_OF_WINDOW");

        expect((await enrol(code, agent)).status).toBe(201);
      });

      it("refuses a replayed DPoP proof", async () => {
        const agent = await newAgent();
        const proof = await agent.proof("POST", "/agents/enroll");
        expect((await enrol(await createCode(), agent, { dpop: proof })).status).toBe(201);
        const replay = await enrol(await createCode(), await newAgent(), { dpop: proof });
        expectProblem(replay, 400, "ERR_INVALID_DPOP_PROOF");
        expect(replay.body.reason).toBe("ERR_DPOP_JTI_REPLAYED");
      });

      it("refuses a key that is already enrolled with 409, without using up the code", async () => {
        const agent = await enrolAgent(test);
        const code = await createCode();
        expectProblem(await enrol(code, agent), 409, "ERR_CONFLICT");
        expect((await enrol(code, await newAgent())).status).toBe(201);
      });

      it("gives a code to exactly one of two agents racing for it", async () => {
        const code = await createCode();
        const [first, second] = await Promise.all([
          enrol(code, await newAgent()),
          enrol(code, await newAgent()),
        ]);
        expect([first.status, second.status].sort()).toEqual([201, 400]);
        const loser = first.status === 400 ? first : second;
        expect(loser.body.code).toBe("ERR_ENROLMENT_CODE_INVALID");
      });

      it("validates the body", async () => {
        const agent = await newAgent();
        const app = test.registry.app;
        for (const body of [{}, { code: "" }, { code: 7 }, { code: "aec_x", extra: true }]) {
          expectProblem(
            await request(app)
              .post("/agents/enroll")
              .set("DPoP", await agent.proof("POST", "/agents/enroll"))
              .send(body),
            400,
            "ERR_VALIDATION",
          );
        }
      });
    });

    describe("listing and renaming", () => {
      it("lists only the signed-in human's own agents", async () => {
        expect((await bob.get("/api/agents").expect(200)).body.agents).toEqual([]);
        const mine = await enrolAgent(test);
        const bobs = await enrolAgent(test, bob);

        const bobsList = (await bob.get("/api/agents").expect(200)).body.agents;
        expect(bobsList).toEqual([
          {
            id: bobs.id,
            name: "travel bot",
            jkt: bobs.jkt,
            created_at: expect.any(String),
            key_rotated_at: null,
            disabled_at: null,
            status: "active",
          },
        ]);
        const adminsIds = (await test.admin.get("/api/agents").expect(200)).body.agents.map(
          (agent: { id: string }) => agent.id,
        );
        expect(adminsIds).toContain(mine.id);
        expect(adminsIds).not.toContain(bobs.id);

        expectProblem(
          await request(test.registry.app).get("/api/agents"),
          401,
          "ERR_UNAUTHENTICATED",
        );
      });

      it("renames an agent, validating the name", async () => {
        const agent = await enrolAgent(test);
        const app = test.registry.app;
        const renamed = await humanRequest(
          app,
          test.admin,
          "patch",
          `/api/agents/${agent.id}`,
        ).send({
          name: " calendar bot ",
        });
        expect(renamed.status).toBe(200);
        expect(renamed.body).toMatchObject({
          id: agent.id,
          name: "calendar bot",
          status: "active",
        });
        const listed = (await test.admin.get("/api/agents").expect(200)).body.agents;
        expect(listed.find((entry: { id: string }) => entry.id === agent.id).name).toBe(
          "calendar bot",
        );

        for (const body of [
          {},
          { name: "" },
          { name: "y".repeat(101) },
          { name: "ok", jkt: "x" },
        ]) {
          expectProblem(
            await humanRequest(app, test.admin, "patch", `/api/agents/${agent.id}`).send(body),
            400,
            "ERR_VALIDATION",
          );
        }
        expectProblem(
          await request(app)
            .patch(`/api/agents/${agent.id}`)
            .set("Cookie", test.admin.cookie as string)
            .send({ name: "no origin" }),
          403,
          "ERR_ORIGIN_MISMATCH",
        );
      });

      it("answers 404 for another human's agent, to rename or disable", async () => {
        const agent = await enrolAgent(test);
        const app = test.registry.app;
        expectProblem(
          await humanRequest(app, bob, "patch", `/api/agents/${agent.id}`).send({
            name: "mine now",
          }),
          404,
          "ERR_NOT_FOUND",
        );
        expectProblem(await bob.post(`/api/agents/${agent.id}/disable`), 404, "ERR_NOT_FOUND");
        expectProblem(
          await humanRequest(app, test.admin, "patch", "/api/agents/agt_unknown").send({
            name: "ghost",
          }),
          404,
          "ERR_NOT_FOUND",
        );
        const listed = (await test.admin.get("/api/agents").expect(200)).body.agents;
        expect(listed.find((entry: { id: string }) => entry.id === agent.id)).toMatchObject({
          name: "travel bot",
          status: "active",
        });
      });
    });

    describe("disabling", () => {
      it("revokes every grant and token of the agent at once and publishes an agent revocation", async () => {
        const agent = await enrolAgent(test);
        const token = await obtainToken(test, agent);
        const pending = await requestGrantId(agent);
        expect((await introspect(test.registry.app, apiKey, token.accessToken)).body.active).toBe(
          true,
        );

        let disabled: request.Response | undefined;
        const published = await captureRevocations(test.revocationBus, async () => {
          disabled = await test.admin.post(`/api/agents/${agent.id}/disable`);
        });
        expect(disabled?.status).toBe(200);
        expect(disabled?.body).toMatchObject({ id: agent.id, status: "disabled" });
        expect(disabled?.body.disabled_at).toEqual(expect.any(String));
        expect(published).toEqual([
          { kind: "agent", subject: agent.id, expiresAt: expect.any(Date) },
        ]);
        // It must outlive every token the agent holds (at most 15 minutes).
        expect(published[0]?.expiresAt.getTime()).toBeGreaterThanOrEqual(
          test.clock.now().getTime() + 900_000,
        );

        expect((await introspect(test.registry.app, apiKey, token.accessToken)).body).toEqual({
          active: false,
        });
        const refreshed = await refresh(agent, token.refreshToken);
        expect(refreshed.status).toBe(401);
        expect(refreshed.body.error).toBe("invalid_client");
        const asked = await requestGrant(agent);
        expect(asked.status).toBe(401);
        expect(asked.body.error).toBe("invalid_client");
        const polled = await poll(agent, { grant_type: CIBA, auth_req_id: pending });
        expect(polled.status).toBe(401);
        expect(polled.body.error).toBe("invalid_client");

        const grants = (await test.admin.get("/api/grants").expect(200)).body.grants;
        expect(grants.find((grant: { id: string }) => grant.id === token.grantId).status).toBe(
          "revoked",
        );
        expect(await listedAgent(agent.id)).toMatchObject({ status: "disabled" });
      });

      it("is idempotent, and a disabled agent can neither rotate its key nor enrol it again", async () => {
        const agent = await enrolAgent(test);
        await test.admin.post(`/api/agents/${agent.id}/disable`).expect(200);
        const again = await captureRevocations(test.revocationBus, () =>
          test.admin.post(`/api/agents/${agent.id}/disable`).expect(200),
        );
        expect(again).toEqual([]);

        const rotated = await rotate(agent, await newAgent());
        expect(rotated.status).toBe(401);
        expect(rotated.body.code).toBe("ERR_INVALID_CLIENT");

        const { body } = await test.admin
          .post("/api/agent-enrolment-codes", { name: "again" })
          .expect(201);
        const enrolled = await request(test.registry.app)
          .post("/agents/enroll")
          .set("DPoP", await agent.proof("POST", "/agents/enroll"))
          .send({ code: body.code });
        expect(enrolled.status).toBe(409);
        expect(enrolled.body.code).toBe("ERR_CONFLICT");
      });

      it("needs a signed-in human on the registry's origin", async () => {
        const agent = await enrolAgent(test);
        const signedOut = await request(test.registry.app)
          .post(`/api/agents/${agent.id}/disable`)
          .set("Origin", PUBLIC_URL);
        expect(signedOut.status).toBe(401);
        expect(signedOut.body.code).toBe("ERR_UNAUTHENTICATED");
        const foreign = await request(test.registry.app)
          .post(`/api/agents/${agent.id}/disable`)
          .set("Cookie", test.admin.cookie as string)
          .set("Origin", "https://evil.example");
        expect(foreign.status).toBe(403);
        expect(foreign.body.code).toBe("ERR_ORIGIN_MISMATCH");
        expect(await listedAgent(agent.id)).toMatchObject({ status: "active" });
      });
    });

    describe("key rotation", () => {
      it("moves the agent to the new key: the old key is dead, its tokens revoked and published", async () => {
        const agent = await enrolAgent(test);
        const token = await obtainToken(test, agent);
        const next = await newAgent();

        let rotated: request.Response | undefined;
        const published = await captureRevocations(test.revocationBus, async () => {
          rotated = await rotate(agent, next);
        });
        expect(rotated?.status).toBe(200);
        expect(rotated?.body).toEqual({ agent_id: agent.id, jkt: next.jkt });
        expect(published).toEqual([
          { kind: "token", subject: token.claims.jti, expiresAt: expect.any(Date) },
        ]);
        expect(await listedAgent(agent.id)).toMatchObject({
          jkt: next.jkt,
          key_rotated_at: expect.any(String),
          status: "active",
        });

        // The old key's token is dead; the old key authenticates nothing any more.
        expect((await introspect(test.registry.app, apiKey, token.accessToken)).body).toEqual({
          active: false,
        });
        const oldAssertion = await requestGrant(agent);
        expect(oldAssertion.status).toBe(401);
        expect(oldAssertion.body.error).toBe("invalid_client");
        const oldRefresh = await refresh(agent, token.refreshToken);
        expect(oldRefresh.status).toBe(401);
        expect(oldRefresh.body.error).toBe("invalid_client");

        // The new key refreshes the same grant, and the token follows the new key.
        const current = asRotated(agent, next);
        const renewed = await refresh(current, token.refreshToken);
        expect(renewed.status).toBe(200);
        expect(decodeJwtPayload(renewed.body.access_token).cnf).toEqual({ jkt: next.jkt });
        expect(
          (await introspect(test.registry.app, apiKey, renewed.body.access_token)).body,
        ).toMatchObject({ active: true, sub: agent.id });

        // A DPoP proof by the old key next to the new key's client assertion fails too.
        await poll(agent, { grant_type: "refresh_token", refresh_token: "fetch-a-nonce" });
        const mixed = await request(test.registry.app)
          .post("/oauth/token")
          .type("form")
          .set("DPoP", await agent.proof("POST", "/oauth/token"))
          .send({
            grant_type: "refresh_token",
            refresh_token: token.refreshToken,
            client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            client_assertion: await current.assertion(),
          });
        expect(mixed.status).toBe(400);
        expect(mixed.body.error).toBe("invalid_dpop_proof");
      });

      it("binds the token of a grant approved before the rotation to the new key", async () => {
        const agent = await enrolAgent(test);
        const authReqId = await requestGrantId(agent);
        expect((await approve(test.admin, authReqId)).status).toBe(201);
        const next = await newAgent();
        expect((await rotate(agent, next)).status).toBe(200);

        const token = await poll(asRotated(agent, next), {
          grant_type: CIBA,
          auth_req_id: authReqId,
        });
        expect(token.status).toBe(200);
        expect(decodeJwtPayload(token.body.access_token).cnf).toEqual({ jkt: next.jkt });
      });

      it("voids an approval challenge shown for the old key", async () => {
        const agent = await enrolAgent(test);
        const authReqId = await requestGrantId(agent);
        const challenge = await approvalChallenge(test.admin, authReqId);
        const next = await newAgent();
        expect((await rotate(agent, next)).status).toBe(200);
        const approved = await approveWith(test.admin, authReqId, challenge);
        expect(approved.status).toBe(409);
        expect(approved.body.code).toBe("ERR_CONFLICT");
      });

      it("refuses the same key twice (400) and a key already enrolled (409)", async () => {
        const agent = await enrolAgent(test);
        const same = await rotate(agent, agent);
        expect(same.status).toBe(400);
        expect(same.body.code).toBe("ERR_VALIDATION");

        const other = await enrolAgent(test);
        const taken = await rotate(agent, other);
        expect(taken.status).toBe(409);
        expect(taken.body.code).toBe("ERR_CONFLICT");
        expect(await listedAgent(agent.id)).toMatchObject({ jkt: agent.jkt, key_rotated_at: null });
        expect(await listedAgent(other.id)).toMatchObject({ jkt: other.jkt });
      });

      it("needs both proofs, for this endpoint, by an enrolled key", async () => {
        const agent = await enrolAgent(test);
        const next = await newAgent();
        const app = test.registry.app;
        const send = (dpop: string | undefined, body: unknown) => {
          const call = request(app).post("/agents/rotate-key");
          return (dpop === undefined ? call : call.set("DPoP", dpop)).send(body as object);
        };
        const proof = (key: TestAgent, path = "/agents/rotate-key") => key.proof("POST", path);

        const noHeader = await send(undefined, { new_key_proof: await proof(next) });
        expect(noHeader.status).toBe(400);
        expect(noHeader.body).toMatchObject({
          code: "ERR_INVALID_DPOP_PROOF",
          reason: "ERR_DPOP_MISSING",
        });
        const noNewProof = await send(await proof(agent), {});
        expect(noNewProof.status).toBe(400);
        expect(noNewProof.body.code).toBe("ERR_VALIDATION");
        const misdirected = await send(await proof(agent), {
          new_key_proof: await proof(next, "/agents/enroll"),
        });
        expect(misdirected.status).toBe(400);
        expect(misdirected.body).toMatchObject({
          code: "ERR_INVALID_DPOP_PROOF",
          reason: "ERR_DPOP_HTU_MISMATCH",
        });
        const stranger = await send(await proof(await newAgent()), {
          new_key_proof: await proof(next),
        });
        expect(stranger.status).toBe(401);
        expect(stranger.body.code).toBe("ERR_INVALID_CLIENT");

        expect(await listedAgent(agent.id)).toMatchObject({ jkt: agent.jkt, key_rotated_at: null });
        expect((await requestGrant(agent)).status).toBe(200);
      });
    });

    it("answers malformed bodies with 4xx problems, never a 500", async () => {
      const agent = await enrolAgent(test);
      const app = test.registry.app;
      await expectMalformedBodiesRefused(app, {
        method: "post",
        path: "/api/agent-enrolment-codes",
        body: "json",
        human: test.admin,
      });
      await expectMalformedBodiesRefused(app, {
        method: "post",
        path: "/agents/enroll",
        body: "json",
      });
      await expectMalformedBodiesRefused(app, {
        method: "patch",
        path: `/api/agents/${agent.id}`,
        body: "json",
        human: test.admin,
      });
      await expectMalformedBodiesRefused(app, {
        method: "post",
        path: "/agents/rotate-key",
        body: "json",
      });
    });

    // Last: it moves the clock a day on, which ends the admin's session.
    it("accepts a code until 24 hours after its creation, and not after", async () => {
      const early = await createCode();
      const late = await createCode();
      test.clock.advance(DAY_SECONDS - 60);
      expect((await enrol(early, await newAgent())).status).toBe(201);
      test.clock.advance(61);
      expectProblem(await enrol(late, await newAgent()), 400, "ERR_ENROLMENT_CODE_INVALID");
      await test.admin.signIn();
    });
  },
);
