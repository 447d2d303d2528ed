import { randomBytes } from "node:crypto";
import {
  CLIENT_ASSERTION_TYPE,
  computeJwkThumbprint,
  createClientAssertion,
  createDpopProof,
  createWebCryptoDpopKey,
  type DpopKey,
} from "@agentauth/core";
import type { Express } from "express";
import request from "supertest";

/** A test agent: a real P-256 key, speaking DPoP and private_key_jwt to a registry app. */
export interface TestAgent {
  readonly key: DpopKey;
  readonly jkt: string;
  id: string | undefined;
  /** Latest `DPoP-Nonce` the registry handed out. */
  nonce: string | undefined;
  proof(
    method: string,
    path: string,
    options?: { accessToken?: string; nonce?: string },
  ): Promise<string>;
  assertion(): Promise<string>;
  /** POSTs a form to an OAuth endpoint with client authentication and a DPoP proof. */
  postForm(
    path: string,
    form: Record<string, string>,
    options?: { dpop?: boolean; authenticate?: boolean },
  ): Promise<request.Response>;
}

export async function createTestAgent(
  app: Express,
  issuer: string,
  clock: { now(): Date } = { now: () => new Date() },
): Promise<TestAgent> {
  const keyPair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const key = await createWebCryptoDpopKey(keyPair);
  const agent: TestAgent = {
    key,
    jkt: await computeJwkThumbprint(key.publicJwk),
    id: undefined,
    nonce: undefined,
    proof: (method, path, options = {}) =>
      createDpopProof({
        key,
        method,
        url: `${issuer}${path}`,
        now: clock.now(),
        jti: randomBytes(24).toString("base64url"),
        ...(options.accessToken === undefined ? {} : { accessToken: options.accessToken }),
        ...((options.nonce ?? agent.nonce) === undefined
          ? {}
          : { nonce: (options.nonce ?? agent.nonce) as string }),
      }),
    assertion: () =>
      createClientAssertion({
        key,
        clientId: agent.id as string,
        audience: issuer,
        now: clock.now(),
        jti: randomBytes(24).toString("base64url"),
      }),
    async postForm(path, form, options = {}) {
      const fields = { ...form };
      if (options.authenticate !== false) {
        fields.client_assertion_type = CLIENT_ASSERTION_TYPE;
        fields.client_assertion = await agent.assertion();
      }
      let call = request(app).post(path).type("form").set("Origin", issuer).send(fields);
      if (options.dpop !== false) call = call.set("DPoP", await agent.proof("POST", path));
      const response = await call;
      const nonce = response.headers["dpop-nonce"];
      if (typeof nonce === "string") agent.nonce = nonce;
      return response;
    },
  };
  return agent;
}
