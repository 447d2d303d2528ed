import { readdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { createDpopProof, createWebCryptoDpopKey } from "@agentauth/core";
import { introspect } from "@agentauth/registry/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Agent, createAgent } from "../../src/agent.js";
import { AgentAuthSdkError } from "../../src/errors.js";
import { createFileGrantStorage } from "../../src/grants/file-grant-storage.js";
import { CIBA_GRANT_TYPE } from "../../src/grants/grant-request.js";
import type { GrantStorage } from "../../src/grants/grant-storage.js";
import { createMemoryGrantStorage } from "../../src/grants/memory-grant-storage.js";
import { generateAgentKeyPair } from "../../src/keys/agent-key-pair.js";
import { createFileKeyStore } from "../../src/keys/file-key-store.js";
import type { KeyStore } from "../../src/keys/key-store.js";
import { createMemoryKeyStore } from "../../src/keys/memory-key-store.js";
import { randomJti } from "../../src/random.js";
import { claimsOf, expectSdkError } from "../support/assertions.js";
import { temporaryFiles } from "../support/temporary-files.js";
import {
  describeEachBackend,
  payAcme,
  startTestPlatform,
  type TestPlatform,
} from "../support/test-platform.js";

const keyFiles = await temporaryFiles("agentauth-sdk-rotation-", "agent-key.json");

const publicX = async (keyPair: CryptoKeyPair | undefined) =>
  keyPair === undefined ? undefined : (await crypto.subtle.exportKey("jwk", keyPair.publicKey)).x;

/** A key store around `inner` whose first `promoteNextKey` fails, as a crash before it would. */
function crashingOnPromote(inner: KeyStore): KeyStore {
  let crashed = false;
  return {
    loadOrCreate: () => inner.loadOrCreate(),
    saveAgentId: (agentId) => inner.saveAgentId(agentId),
    stageNextKey: () => inner.stageNextKey(),
    async promoteNextKey() {
      if (!crashed) {
        crashed = true;
        throw new AgentAuthSdkError("ERR_KEY_STORE", "simulated crash before the promotion");
      }
      return inner.promoteNextKey();
    },
  };
}

/**
 * A `fetch` to the real services that fails on demand for `/agents/rotate-key`: `down` never
 * sends it (the registry is unreachable), `loseAnswer` sends it and then drops the answer.
 */
function faultyFetch() {
  const faults = { down: false, loseAnswer: false, rotations: 0 };
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const request = new Request(input, init);
    const rotation = new URL(request.url).pathname === "/agents/rotate-key";
    if (rotation) faults.rotations += 1;
    if (rotation && faults.down) throw new TypeError("fetch failed");
    const response = await globalThis.fetch(request);
    if (rotation && faults.loseAnswer) throw new TypeError("fetch failed: connection reset");
    return response;
  };
  return { faults, fetch };
}

describeEachBackend("agent.rotateKey", (backend) => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await startTestPlatform(backend);
  });
  afterAll(() => platform?.close());

  const pay = (agent: Agent) => payAcme(platform, agent);

  /** `GET /balance` at the service provider with `token` and a proof by `keyPair`. */
  const balanceWith = async (keyPair: CryptoKeyPair, token: string) => {
    const key = await createWebCryptoDpopKey(keyPair);
    const url = `${platform.serviceProvider.url}/balance`;
    const call = async (nonce?: string) => {
      const proof = await createDpopProof({
        key,
        method: "GET",
        url,
        now: platform.clock.now(),
        jti: randomJti(),
        accessToken: token,
        ...(nonce === undefined ? {} : { nonce }),
      });
      return fetch(url, { headers: { Authorization: `DPoP ${token}`, DPoP: proof } });
    };
    // The verifier demands its nonce first (RFC 9449 §8).
    const first = await call();
    const nonce = first.headers.get("DPoP-Nonce");
    return nonce === null ? first : call(nonce);
  };

  /** A file key store and grant storage of their own, and an agent on them ("a process"). */
  const files = () => {
    const keyPath = keyFiles.freshPath();
    const grantPath = join(dirname(keyPath), "grants.json");
    return {
      keyPath,
      start: (keyStore: KeyStore = createFileKeyStore(keyPath), options = {}) =>
        platform.createAgent({
          keyStore,
          grantStorage: createFileGrantStorage(grantPath),
          ...options,
        }),
      savedJkt: async () => JSON.parse(await readFile(grantPath, "utf8")).jkt as string,
      directory: () => readdir(dirname(keyPath)),
    };
  };

  /** An enrolled agent holding a grant for the payments provider, on `start`. */
  const approved = async (start: () => Promise<{ agent: Agent }>) => {
    const { agent } = await start();
    await agent.enroll(await platform.enrolmentCode());
    const request = await agent.requestGrant({
      serviceProvider: platform.serviceProviderId,
      capabilities: [
        { type: "transact", resource: "merchant/acme", max_amount: "50.00", currency: "EUR" },
        { type: "read", resource: "balance" },
      ],
      bindingMessage: `Rotation ${randomJti().slice(0, 8)}`,
    });
    await platform.approve(request.requestId);
    await request.waitForApproval();
    return agent;
  };

  it("replaces the key without a new approval; the old key is refused everywhere", async () => {
    const oldKeyPair = await generateAgentKeyPair(false);
    const keyStore = createMemoryKeyStore({ keyPair: oldKeyPair });
    const grantStorage = createMemoryGrantStorage();
    const { agent, fetch } = await platform.agentWithGrant({ keyStore, grantStorage });
    expect((await pay(agent)).status).toBe(200);
    const oldToken = await agent.getToken(platform.serviceProviderId);
    const { jkt: oldJkt, publicJwk: oldPublicJwk, id } = agent;
    const [grant] = agent.grants();

    // Two calls at once share one rotation.
    const [rotated, again] = await Promise.all([agent.rotateKey(), agent.rotateKey()]);
    expect(again).toEqual(rotated);
    expect(fetch.to("/agents/rotate-key").map((request) => request.status)).toEqual([200]);
    expect(rotated.jkt).not.toBe(oldJkt);
    expect(agent.jkt).toBe(rotated.jkt);
    expect(agent.publicJwk).not.toEqual(oldPublicJwk);
    expect(agent.id).toBe(id);
    const stored = await keyStore.loadOrCreate();
    expect(stored).toMatchObject({ agentId: id, nextKeyPair: undefined });
    expect(await publicX(stored.keyPair)).toBe((agent.publicJwk as { x?: string }).x);
    expect((await grantStorage.load())?.jkt).toBe(rotated.jkt);
    // The access token held was revoked with the old key; the grant is kept, token-less.
    expect((await introspect(platform.registry.app, platform.apiKey, oldToken)).body.active).toBe(
      false,
    );
    expect(agent.grants()).toEqual([{ ...grant, accessTokenExpiresAt: undefined }]);

    expect((await pay(agent)).status).toBe(200);
    expect(fetch.to("/oauth/backchannel")).toHaveLength(1);
    expect(fetch.to("/oauth/token", CIBA_GRANT_TYPE).filter((r) => r.status === 200)).toHaveLength(
      1,
    );
    const token = await agent.getToken(platform.serviceProviderId);
    expect(claimsOf(token)).toMatchObject({
      grant_id: grant?.grantId,
      sub: id,
      cnf: { jkt: rotated.jkt },
    });

    // The verifier refuses a proof by the old key for the new token, and accepts the new key's.
    const refused = await balanceWith(oldKeyPair, token);
    expect(refused.status).toBe(401);
    expect(refused.headers.get("WWW-Authenticate")).toMatch(/invalid_dpop_proof|invalid_token/);
    expect((await balanceWith(stored.keyPair, token)).status).toBe(200);

    // The registry refuses the old key: an agent on it cannot refresh the grant.
    const saved = await grantStorage.load();
    const stale = createMemoryGrantStorage();
    await stale.save({ jkt: oldJkt, grants: saved?.grants ?? [] });
    const { agent: old } = await platform.createAgent({
      keyStore: createMemoryKeyStore({ keyPair: oldKeyPair, ...(id ? { agentId: id } : {}) }),
      grantStorage: stale,
    });
    await expectSdkError(pay(old), "ERR_CLIENT_REJECTED", /Refreshing the access token/);
  });

  it("a persisted agent rotates, restarts on the new key, and keeps calling", async () => {
    const process = files();
    const agent = await approved(() => process.start());
    const before = agent.jkt;
    const { jkt } = await agent.rotateKey();
    expect(await process.savedJkt()).toBe(jkt);
    expect((await process.directory()).sort()).toEqual(["agent-key.json", "grants.json"]);

    const { agent: restarted, fetch } = await process.start();
    expect(restarted.jkt).toBe(jkt);
    expect(restarted.jkt).not.toBe(before);
    expect(restarted.id).toBe(agent.id);
    expect((await pay(restarted)).status).toBe(200);
    expect(fetch.to("/oauth/token", "refresh_token").at(-1)?.status).toBe(200);
    expect(fetch.to("/oauth/backchannel")).toEqual([]);
  });

  it("completes a rotation a crash interrupted after the registry swapped the key", async () => {
    const process = files();
    const agent = await approved(() =>
      process.start(crashingOnPromote(createFileKeyStore(process.keyPath))),
    );
    const before = agent.jkt;
    await expectSdkError(agent.rotateKey(), "ERR_KEY_STORE", /simulated crash/);
    expect((await process.directory()).sort()).toEqual([
      "agent-key.json",
      "agent-key.json.next",
      "grants.json",
    ]);

    // The restarted process has the old key, a staged one beside it, and the grants.
    const { agent: restarted, fetch } = await process.start();
    expect(restarted.jkt).toBe(before);
    expect(restarted.grants()).toHaveLength(1);
    // A call before the rotation is completed fails, but does not lose the grant.
    await expectSdkError(pay(restarted), "ERR_CLIENT_REJECTED", /Refreshing the access token/);
    expect(restarted.grants()).toHaveLength(1);

    const { jkt } = await restarted.rotateKey();
    expect(jkt).toBe(agent.jkt);
    // The registry no longer knew the current key; the staged key proved it holds it.
    expect(fetch.to("/agents/rotate-key").map((request) => request.status)).toEqual([401]);
    expect(fetch.to("/oauth/revoke").map((request) => request.status)).toEqual([200]);
    expect(restarted.jkt).toBe(jkt);
    expect((await pay(restarted)).status).toBe(200);
    expect(await process.savedJkt()).toBe(jkt);
    expect((await process.directory()).sort()).toEqual(["agent-key.json", "grants.json"]);
    expect((await process.start()).agent.jkt).toBe(jkt);
  });

  it("the running agent finishes a rotation whose promotion failed by calling it again", async () => {
    const process = files();
    const agent = await approved(() =>
      process.start(crashingOnPromote(createFileKeyStore(process.keyPath))),
    );
    await expectSdkError(agent.rotateKey(), "ERR_KEY_STORE", /simulated crash/);
    // It switched to the key the registry now holds: its calls work.
    expect((await pay(agent)).status).toBe(200);
    const { jkt } = await agent.rotateKey();
    expect(jkt).toBe(agent.jkt);
    expect((await process.start()).agent.jkt).toBe(jkt);
  });

  it("after a lost answer, or with the registry down, both keys are kept and a retry completes", async () => {
    const { faults, fetch } = faultyFetch();
    const keyStore = createMemoryKeyStore();
    const { agent } = await platform.agentWithGrant({ keyStore, fetch });
    const before = agent.jkt;

    faults.down = true;
    await expectSdkError(agent.rotateKey(), "ERR_UNAVAILABLE", /Could not reach/);
    const staged = (await keyStore.loadOrCreate()).nextKeyPair;
    expect(staged).toBeDefined();
    expect(agent.jkt).toBe(before);
    expect((await pay(agent)).status).toBe(200);

    faults.down = false;
    faults.loseAnswer = true;
    await expectSdkError(agent.rotateKey(), "ERR_UNAVAILABLE", /Could not reach/);
    expect(agent.jkt).toBe(before);
    expect(await publicX((await keyStore.loadOrCreate()).nextKeyPair)).toBe(await publicX(staged));

    faults.loseAnswer = false;
    const { jkt } = await agent.rotateKey();
    expect(await publicX((await keyStore.loadOrCreate()).keyPair)).toBe(await publicX(staged));
    expect(jkt).toBe(agent.jkt);
    expect((await pay(agent)).status).toBe(200);
    expect(faults.rotations).toBe(3);
  });

  it("a grant storage that fails to save stops the rotation before the promotion; a retry completes it", async () => {
    const inner = createMemoryGrantStorage();
    let failing = false;
    const grantStorage: GrantStorage = {
      load: () => inner.load(),
      async save(saved) {
        if (failing) throw new Error("disk full");
        await inner.save(saved);
      },
    };
    const keyStore = createMemoryKeyStore();
    const { agent, fetch } = await platform.agentWithGrant({ keyStore, grantStorage });
    const before = agent.jkt;
    failing = true;
    await expectSdkError(agent.rotateKey(), "ERR_GRANT_STORAGE", /could not save the grants/);
    const stored = await keyStore.loadOrCreate();
    expect(await publicX(stored.keyPair)).not.toBe(await publicX(stored.nextKeyPair));
    expect((await inner.load())?.jkt).toBe(before);
    failing = false;
    const { jkt } = await agent.rotateKey();
    // The registry swapped the key once; the retry only saved and promoted.
    expect(fetch.to("/agents/rotate-key").map((request) => request.status)).toEqual([200]);
    expect((await inner.load())?.jkt).toBe(jkt);
    expect(await publicX((await keyStore.loadOrCreate()).keyPair)).toBe(
      await publicX(stored.nextKeyPair),
    );
    expect((await pay(agent)).status).toBe(200);
  });

  it("refuses a next key enrolled already, keeping both keys", async () => {
    const otherKeyPair = await generateAgentKeyPair(false);
    const taken = createMemoryKeyStore({ keyPair: otherKeyPair });
    const { agent: owner } = await platform.createAgent({ keyStore: taken });
    await owner.enroll(await platform.enrolmentCode("owner bot"));

    // An agent whose key store stages a key another agent is enrolled with.
    const inner = createMemoryKeyStore();
    const keyStore: KeyStore = { ...inner, stageNextKey: async () => otherKeyPair };
    const { agent } = await platform.agentWithGrant({ keyStore });
    const before = agent.jkt;
    await expectSdkError(agent.rotateKey(), "ERR_ALREADY_ENROLLED", /already enrolled/);
    expect(agent.jkt).toBe(before);
    expect((await pay(agent)).status).toBe(200);
  });

  it("refuses an agent that is not enrolled, or was disabled, staging nothing or keeping both keys", async () => {
    const unenrolledStore = createMemoryKeyStore();
    const { agent: unenrolled } = await platform.createAgent({ keyStore: unenrolledStore });
    await expectSdkError(unenrolled.rotateKey(), "ERR_NOT_ENROLLED", /Enrol the agent/);
    expect((await unenrolledStore.loadOrCreate()).nextKeyPair).toBeUndefined();

    const keyStore = createMemoryKeyStore();
    const grantStorage: GrantStorage = createMemoryGrantStorage();
    const { agent } = await platform.agentWithGrant({ keyStore, grantStorage });
    const response = await platform.admin.post(`/api/agents/${agent.id}/disable`);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    const before = agent.jkt;
    await expectSdkError(
      agent.rotateKey(),
      "ERR_CLIENT_REJECTED",
      /no enabled agent holds the current key or the staged next key/,
    );
    expect(agent.jkt).toBe(before);
    const stored = await keyStore.loadOrCreate();
    expect(stored.nextKeyPair).toBeDefined();
    expect((await grantStorage.load())?.jkt).toBe(before);
  });

  it("answers an aborted signal with ERR_ABORTED", async () => {
    const { agent } = await platform.agentWithGrant();
    await expectSdkError(agent.rotateKey({ signal: AbortSignal.abort() }), "ERR_ABORTED", /abort/i);
  });
});

describe("agent.rotateKey without a registry", () => {
  it("needs an enrolled agent", async () => {
    const agent = await createAgent({ registryUrl: "https://registry.example.com" });
    await expectSdkError(agent.rotateKey(), "ERR_NOT_ENROLLED", /Enrol the agent/);
  });
});
