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

/** What one DPoP proof must say: the request it is for, and the token and nonce it carries. */
export interface DpopProofRequest {
  readonly method: string;
  /** The absolute URL, the proof's `htu`. */
  readonly url: string;
  readonly accessToken?: string;
  readonly nonce?: string;
}

export interface CreateTestAgentOptions {
  /**
   * The agent's key pair, as WebCrypto holds it (ECDSA P-256: e.g. `dpop.generateKeyPair("ES256")`
   * or `crypto.subtle.generateKey`); its private key may be non-extractable. Default a fresh
   * non-extractable one. It signs client assertions and, unless `createProof`, DPoP proofs.
   */
  readonly keyPair?: CryptoKeyPair;
  /**
   * Makes every DPoP proof of the agent (enrolment, token endpoint) instead of
   * `@agentauth/core`, so the registry sees another library's proofs. It must sign with
   * `keyPair`: `enrolAgent` refuses an agent the registry enrolled under another key.
   */
  readonly createProof?: (request: DpopProofRequest) => Promise<string>;
}

/**
 * An agent of the registry at `issuer` (its public URL), calling `app` through supertest.
 *
 * @example
 * const agent = await createTestAgent(test.registry.app, test.publicUrl, test.clock, { keyPair });
 */
export async function createTestAgent(
  app: Express,
  issuer: string,
  clock: { now(): Date } = { now: () => new Date() },
  options: CreateTestAgentOptions = {},
): Promise<TestAgent> {
  const keyPair =
    options.keyPair ??
    ((await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
      "sign",
      "verify",
    ])) as CryptoKeyPair);
  const key = await createWebCryptoDpopKey(keyPair);
  const createProof =
    options.createProof ??
    ((proof: DpopProofRequest) =>
      createDpopProof({
        key,
        method: proof.method,
        url: proof.url,
        now: clock.now(),
        jti: randomBytes(24).toString("base64url"),
        ...(proof.accessToken === undefined ? {} : { accessToken: proof.accessToken }),
        ...(proof.nonce === undefined ? {} : { nonce: proof.nonce }),
      }));
  const agent: TestAgent = {
    key,
    jkt: await computeJwkThumbprint(key.publicJwk),
    id: undefined,
    nonce: undefined,
    proof: (method, path, proofOptions = {}) => {
      const nonce = proofOptions.nonce ?? agent.nonce;
      return createProof({
        method,
        url: `${issuer}${path}`,
        ...(proofOptions.accessToken === undefined
          ? {}
          : { accessToken: proofOptions.accessToken }),
        ...(nonce === undefined ? {} : { nonce }),
      });
    },
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
