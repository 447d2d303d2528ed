import { access } from "node:fs/promises";
import { dirname } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { decodeJwtPayload, inviteHuman, obtainToken } from "../grants/grant-helpers.js";
import { createTestAgent } from "../kit/agent-client.js";
import { describeEachDatabase } from "./databases.js";
import { createPaymentsProvider, enrolAgent, PUBLIC_URL } from "./test-registry.js";
import { startTestRegistryServer, type TestRegistryServer } from "./test-registry-server.js";

// The kit's registry on a real socket: its public URL is where it listens, so clients other than
// supertest (the SDK, a verifier, oauth4webapi) reach it at the URLs it names.

describeEachDatabase("test kit: startTestRegistryServer", (database) => {
  let test: TestRegistryServer;
  let closed = false;

  beforeAll(async () => {
    test = await startTestRegistryServer({ db: database.db() });
    await createPaymentsProvider(test.admin);
  });
  afterAll(async () => {
    if (!closed) await test?.close();
  });

  it("listens at its public URL, which is its issuer and its passkey origin", async () => {
    expect(test.url).toMatch(/^http:\/\/localhost:\d+$/);
    expect(test.publicUrl).toBe(test.url);
    const metadata = await fetch(`${test.url}/.well-known/oauth-authorization-server`);
    expect(metadata.status).toBe(200);
    expect(await metadata.json()).toMatchObject({
      issuer: test.url,
      token_endpoint: `${test.url}/oauth/token`,
      jwks_uri: `${test.url}/.well-known/jwks.json`,
    });
    expect((await fetch(`${test.url}/.well-known/jwks.json`)).status).toBe(200);
    expect(test.admin.authenticator).toMatchObject({ rpId: "localhost", origin: test.url });
    const bob = await inviteHuman(test, "Bob");
    expect(bob.authenticator.origin).toBe(test.url);
  });

  it("takes DPoP proofs for its own URL over the socket, not for the default one", async () => {
    const enrol = async (proof: string) => {
      const { body } = await test.admin
        .post("/api/agent-enrolment-codes", { name: "socket bot" })
        .expect(201);
      const response = await fetch(`${test.url}/agents/enroll`, {
        method: "POST",
        headers: { "content-type": "application/json", dpop: proof },
        body: JSON.stringify({ code: body.code }),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const misdirected = await createTestAgent(test.registry.app, PUBLIC_URL, test.clock);
    const refused = await enrol(await misdirected.proof("POST", "/agents/enroll"));
    expect(refused).toMatchObject({ status: 400, body: { reason: "ERR_DPOP_HTU_MISMATCH" } });
    const own = await createTestAgent(test.registry.app, test.url, test.clock);
    const enrolled = await enrol(await own.proof("POST", "/agents/enroll"));
    expect(enrolled).toMatchObject({ status: 201, body: { jkt: own.jkt } });

    // The kit's helpers name this registry's URL in proofs, client assertions and tokens.
    const agent = await enrolAgent(test);
    expect(decodeJwtPayload(await agent.assertion()).aud).toBe(test.url);
    const token = await obtainToken(test, agent);
    expect(token.claims).toMatchObject({ iss: test.url, sub: agent.id });
  });

  it("closes its socket and removes its key file's directory", async () => {
    expect((await fetch(`${test.url}/health/live`)).status).toBe(200);
    closed = true;
    await test.close();
    await expect(fetch(`${test.url}/health/live`)).rejects.toThrow();
    await expect(access(dirname(test.signingKeyFile))).rejects.toMatchObject({ code: "ENOENT" });
  });
});
