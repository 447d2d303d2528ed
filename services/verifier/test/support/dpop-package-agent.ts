import { randomBytes } from "node:crypto";
import {
  CLIENT_ASSERTION_TYPE,
  computeJwkThumbprint,
  createClientAssertion,
  createWebCryptoDpopKey,
} from "@agentauth/core";
import { PUBLIC_URL, type TestAgent, type TestRegistry } from "@agentauth/registry/testing";
import * as dpop from "dpop";
import request from "supertest";

/**
 * An agent whose every DPoP proof — at enrolment, at the token endpoint — is made by panva's
 * `dpop` package with a key pair it generated, so the registry binds tokens to that key. It
 * speaks to the registry as the kit's `TestAgent` does (private_key_jwt with our own helper,
 * which is not DPoP), so the registry kit's `obtainToken` works with it.
 */
export async function enrolDpopPackageAgent(
  test: TestRegistry,
): Promise<{ agent: TestAgent; keyPair: dpop.KeyPair }> {
  const keyPair = await dpop.generateKeyPair("ES256");
  const key = await createWebCryptoDpopKey(keyPair);
  const agent: TestAgent = {
    key,
    jkt: await computeJwkThumbprint(key.publicJwk),
    id: undefined,
    nonce: undefined,
    proof: (method, path, options = {}) =>
      dpop.generateProof(
        keyPair,
        `${PUBLIC_URL}${path}`,
        method,
        options.nonce ?? agent.nonce,
        options.accessToken,
      ),
    assertion: () =>
      createClientAssertion({
        key,
        clientId: agent.id as string,
        audience: PUBLIC_URL,
        now: test.clock.now(),
        jti: randomBytes(24).toString("base64url"),
      }),
    async postForm(path, form, options = {}) {
      const fields = { ...form };
      if (options.authenticate !== false) {
        fields.client_assertion_type = CLIENT_ASSERTION_TYPE;
        fields.client_assertion = await agent.assertion();
      }
      let call = request(test.registry.app)
        .post(path)
        .type("form")
        .set("Origin", PUBLIC_URL)
        .send(fields);
      if (options.dpop !== false) call = call.set("DPoP", await agent.proof("POST", path));
      const response = await call;
      const nonce = response.headers["dpop-nonce"];
      if (typeof nonce === "string") agent.nonce = nonce;
      return response;
    },
  };
  const { body } = await test.admin
    .post("/api/agent-enrolment-codes", { name: "dpop package bot" })
    .expect(201);
  const enrolled = await request(test.registry.app)
    .post("/agents/enroll")
    .set("DPoP", await agent.proof("POST", "/agents/enroll"))
    .send({ code: body.code });
  if (enrolled.status !== 201) throw new Error(`Enrolment failed: ${enrolled.text}`);
  if (enrolled.body.jkt !== (await dpop.calculateThumbprint(keyPair.publicKey))) {
    throw new Error("The registry enrolled another key than the dpop package's");
  }
  agent.id = enrolled.body.agent_id as string;
  return { agent, keyPair };
}
