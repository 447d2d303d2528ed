import { readFile, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { introspect } from "@agentauth/registry/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Agent, createAgent } from "../../src/agent.js";
import { createFileGrantStorage } from "../../src/grants/file-grant-storage.js";
import { CIBA_GRANT_TYPE } from "../../src/grants/grant-request.js";
import type { GrantStorage, SavedGrants } from "../../src/grants/grant-storage.js";
import { createMemoryGrantStorage } from "../../src/grants/memory-grant-storage.js";
import { createFileKeyStore } from "../../src/keys/file-key-store.js";
import type { KeyStore } from "../../src/keys/key-store.js";
import { createMemoryKeyStore } from "../../src/keys/memory-key-store.js";
import type { SdkLogger } from "../../src/logger.js";
import { claimsOf, expectSdkError, failure } from "../support/assertions.js";
import {
  approvingRegistry,
  registryMetadata,
  STUB_TOKEN_ANSWER,
  startStubServer,
} from "../support/stub-server.js";
import { temporaryFiles } from "../support/temporary-files.js";
import { createTestClock } from "../support/test-clock.js";
import {
  describeEachBackend,
  payAcme,
  startTestPlatform,
  type TestPlatform,
  uniqueBindingMessage,
} from "../support/test-platform.js";

/**
 * A storage around `inner` that records every snapshot saved and how many saves ran at once;
 * `failWith` makes saves fail, `gate` holds them until it resolves.
 */
function watched(inner: GrantStorage) {
  const watch = {
    saves: [] as SavedGrants[],
    running: 0,
    mostAtOnce: 0,
    failWith: undefined as Error | undefined,
    gate: undefined as Promise<void> | undefined,
    storage: {
      load: () => inner.load(),
      async save(saved) {
        watch.running += 1;
        watch.mostAtOnce = Math.max(watch.mostAtOnce, watch.running);
        try {
          await watch.gate;
          if (watch.failWith !== undefined) throw watch.failWith;
          await inner.save(saved);
          watch.saves.push(saved);
        } finally {
          watch.running -= 1;
        }
      },
    } satisfies GrantStorage,
  };
  return watch;
}

const keyFiles = await temporaryFiles("agentauth-sdk-restarts-", "agent-key.json");

describeEachBackend("grants kept across restarts", (backend) => {
  let platform: TestPlatform;
  beforeAll(async () => {
    platform = await startTestPlatform(backend);
  });
  afterAll(() => platform?.close());

  /** A key file and a grant file of their own, and an agent on them ("a process"). */
  const files = () => {
    const keyPath = keyFiles.freshPath();
    const grantPath = join(dirname(keyPath), "grants.json");
    return {
      grantPath,
      start: () =>
        platform.createAgent({
          keyStore: createFileKeyStore(keyPath),
          grantStorage: createFileGrantStorage(grantPath),
        }),
      saved: async () => JSON.parse(await readFile(grantPath, "utf8")),
    };
  };
  /** An enrolled agent on `start`, approved a grant for the payments provider. */
  const approved = async (start: () => Promise<{ agent: Agent }>) => {
    const { agent } = await start();
    await agent.enroll(await platform.enrolmentCode());
    const request = await ask(agent);
    await platform.approve(request.requestId);
    return { agent, grant: await request.waitForApproval() };
  };
  const ask = (agent: Agent) =>
    agent.requestGrant({
      serviceProvider: platform.serviceProviderId,
      capabilities: [
        { type: "transact", resource: "merchant/acme", max_amount: "50.00", currency: "EUR" },
      ],
      bindingMessage: uniqueBindingMessage(),
    });
  const pay = (agent: Agent) => payAcme(platform, agent);

  it("comes back holding the grant its human approved, and pays without a new approval", async () => {
    const process = files();
    const { agent: first, grant } = await approved(process.start);
    // waitForApproval resolved after the save: the file has the grant, mode 0600.
    const saved = await process.saved();
    expect(saved).toEqual({
      version: 1,
      jkt: first.jkt,
      grants: [
        {
          serviceProvider: platform.serviceProviderId,
          grantId: grant.grantId,
          refreshToken: expect.stringMatching(/^art_/),
          authorization: grant.authorization,
        },
      ],
    });
    expect((await stat(process.grantPath)).mode & 0o777).toBe(0o600);

    const { agent: restarted, fetch } = await process.start();
    expect(restarted.id).toBe(first.id);
    const [restored] = restarted.grants();
    expect(restored).toEqual({ ...grant, accessTokenExpiresAt: undefined });

    expect((await pay(restarted)).status).toBe(200);
    // It refreshed with the saved refresh token, and asked no one for anything.
    const refreshes = fetch.to("/oauth/token", "refresh_token");
    expect(refreshes.at(-1)?.status).toBe(200);
    expect(new URLSearchParams(refreshes.at(-1)?.body).get("refresh_token")).toBe(
      saved.grants[0].refreshToken,
    );
    expect(fetch.to("/oauth/backchannel")).toEqual([]);
    expect(fetch.to("/oauth/token", CIBA_GRANT_TYPE)).toEqual([]);
    const token = await restarted.getToken(platform.serviceProviderId);
    expect(claimsOf(token)).toMatchObject({
      grant_id: grant.grantId,
      sub: first.id,
      cnf: { jkt: first.jkt },
    });
    const expiresAt = restarted.grant(platform.serviceProviderId)?.accessTokenExpiresAt;
    expect(
      Math.abs((expiresAt?.getTime() ?? 0) - (claimsOf(token).exp as number) * 1000),
    ).toBeLessThan(2000);
    // Nothing changed but the access token, which is not saved: the file is as it was.
    expect(await process.saved()).toEqual(saved);
  });

  it("drops a grant the human revoked while it was down, from the storage too", async () => {
    const process = files();
    const { grant } = await approved(process.start);
    await platform.revokeGrant(grant.grantId);

    const { agent: restarted } = await process.start();
    expect(restarted.grants().map((held) => held.grantId)).toEqual([grant.grantId]);
    expect(await failure(restarted.getToken(platform.serviceProviderId))).toMatchObject({
      code: "ERR_GRANT_INVALID",
      serviceProvider: platform.serviceProviderId,
    });
    expect(restarted.grants()).toEqual([]);
    expect((await process.saved()).grants).toEqual([]);
    const { agent: again } = await process.start();
    expect(again.grants()).toEqual([]);
  });

  it("forgets a grant it revoked itself, in the storage too, and keeps the others", async () => {
    const process = files();
    const { agent, grant: kept } = await approved(process.start);
    const request = await ask(agent);
    await platform.approve(request.requestId);
    const revoked = await request.waitForApproval();
    expect(
      (await process.saved()).grants.map((saved: { grantId: string }) => saved.grantId),
    ).toEqual([kept.grantId, revoked.grantId]);

    const { agent: restarted } = await process.start();
    const token = await restarted.getToken(platform.serviceProviderId, {
      grantId: revoked.grantId,
    });
    await restarted.revokeGrant(platform.serviceProviderId, { grantId: revoked.grantId });
    expect((await introspect(platform.registry.app, platform.apiKey, token)).body.active).toBe(
      false,
    );
    expect(
      (await process.saved()).grants.map((saved: { grantId: string }) => saved.grantId),
    ).toEqual([kept.grantId]);
    const { agent: again } = await process.start();
    expect(again.grants().map((held) => held.grantId)).toEqual([kept.grantId]);
    expect((await pay(again)).status).toBe(200);
  });

  it("refuses the saved grants of another key, and leaves them as they are", async () => {
    const grantStorage = createMemoryGrantStorage();
    const { agent: owner } = await approved(() => platform.createAgent({ grantStorage }));
    const saved = await grantStorage.load();
    expect(saved?.jkt).toBe(owner.jkt);

    const stranger = await failure(
      createAgent({ registryUrl: platform.registryUrl, clock: platform.clock, grantStorage }),
    );
    expect(stranger.code).toBe("ERR_GRANT_STORAGE");
    expect(stranger.message).toMatch(
      new RegExp(`another key \\(jkt ${owner.jkt}\\) than this agent's \\(jkt [\\w-]{43}\\)`),
    );
    expect(stranger.message).not.toContain(saved?.grants[0]?.refreshToken);
    expect(await grantStorage.load()).toEqual(saved);
  });

  it("holds several agent objects of one process apart, each with its own storage", async () => {
    const keyStores: KeyStore[] = [createMemoryKeyStore(), createMemoryKeyStore()];
    const storages = [createMemoryGrantStorage(), createMemoryGrantStorage()];
    const grants = [];
    for (const [index, keyStore] of keyStores.entries()) {
      const { grant } = await approved(() =>
        platform.createAgent({ keyStore, grantStorage: storages[index] }),
      );
      grants.push(grant.grantId);
    }
    for (const [index, keyStore] of keyStores.entries()) {
      const { agent } = await platform.createAgent({ keyStore, grantStorage: storages[index] });
      expect(agent.grants().map((held) => held.grantId)).toEqual([grants[index]]);
      expect((await pay(agent)).status).toBe(200);
    }
  });

  it("resolves waitForApproval only once the grant is saved, one save at a time", async () => {
    const watch = watched(createMemoryGrantStorage());
    const { agent } = await platform.createAgent({ grantStorage: watch.storage });
    await agent.enroll(await platform.enrolmentCode());
    const requests = [await ask(agent), await ask(agent)];
    let release = () => {};
    watch.gate = new Promise((resolve) => {
      release = resolve;
    });
    let settled = 0;
    const waiting = requests.map((request) =>
      request.waitForApproval().finally(() => {
        settled += 1;
      }),
    );
    for (const request of requests) await platform.approve(request.requestId);
    // Both approvals are held, their saves are held at the gate: neither wait has resolved.
    await expect.poll(() => agent.grants().length).toBe(2);
    expect(settled).toBe(0);
    release();
    const approvedGrants = await Promise.all(waiting);
    expect(watch.mostAtOnce).toBe(1);
    // The last save has both: the last state won.
    expect(watch.saves.at(-1)?.grants.map((saved) => saved.grantId)).toEqual(
      approvedGrants.map((grant) => grant.grantId),
    );
  });

  it("surfaces a failed save of an approval, keeps the grant, and saves it when asked again", async () => {
    const watch = watched(createMemoryGrantStorage());
    const lines: string[] = [];
    const logger: SdkLogger = {
      debug: () => {},
      warn: (fields, message) => lines.push(`${message} ${JSON.stringify(fields)}`),
    };
    const { agent } = await platform.createAgent({ grantStorage: watch.storage, logger });
    await agent.enroll(await platform.enrolmentCode());
    const request = await ask(agent);
    await platform.approve(request.requestId);
    watch.failWith = new Error("disk full");

    const lost = await expectSdkError(
      request.waitForApproval(),
      "ERR_GRANT_STORAGE",
      /^Grant grt_[\w-]+ was approved and the agent holds it, but saving it failed \(The grant storage could not save the grants\): a restart would lose it/,
    );
    expect(lost).toMatchObject({
      requestId: request.requestId,
      serviceProvider: platform.serviceProviderId,
    });
    expect((lost.cause as { cause?: unknown }).cause).toBe(watch.failWith);
    const [held] = agent.grants();
    expect(held).toBeDefined();
    expect((await pay(agent)).status).toBe(200);

    watch.failWith = undefined;
    expect(await request.waitForApproval()).toEqual(held);
    expect(watch.saves.at(-1)?.grants.map((saved) => saved.grantId)).toEqual([held?.grantId]);
    const refreshToken = watch.saves.at(-1)?.grants[0]?.refreshToken as string;

    // A failed save of a revocation: the revocation still succeeds; the log warns, without secrets.
    watch.failWith = new Error(`cannot write ${refreshToken}`);
    await agent.revokeGrant(platform.serviceProviderId);
    expect(agent.grants()).toEqual([]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/saving the grants failed.*"code":"ERR_GRANT_STORAGE"/);
    expect(lines[0]).not.toContain(refreshToken);
    expect(watch.saves.at(-1)?.grants).toHaveLength(1);
  });
});

describe("a rotated refresh token", () => {
  it("is what gets saved, before the new access token is used", async () => {
    let issued = 0;
    const registry = await startStubServer((request, server) => {
      if (request.path === "/.well-known/oauth-authorization-server") {
        return { json: registryMetadata(server.url) };
      }
      if (request.path !== "/oauth/token") return approvingRegistry(request);
      // A registry that rotates: every token answer carries a new refresh token.
      issued += 1;
      return { json: { ...STUB_TOKEN_ANSWER, refresh_token: `rt_${issued}` } };
    });
    try {
      const keyStore = createMemoryKeyStore({ agentId: "agt_stub" });
      const watch = watched(createMemoryGrantStorage());
      const clock = createTestClock();
      const start = () =>
        createAgent({ registryUrl: registry.url, keyStore, grantStorage: watch.storage, clock });
      const refreshTokensSent = () =>
        registry
          .to("/oauth/token")
          .map((sent) => new URLSearchParams(sent.body).get("refresh_token"))
          .filter((token) => token !== null);
      const savedRefreshToken = async () => (await watch.storage.load())?.grants[0]?.refreshToken;

      const first = await start();
      const request = await first.requestGrant({
        serviceProvider: "https://payments.example.com",
        capabilities: [{ type: "read", resource: "balance" }],
      });
      await request.waitForApproval();
      expect(await savedRefreshToken()).toBe("rt_1");

      const restarted = await start();
      await restarted.getToken("https://payments.example.com");
      expect(refreshTokensSent()).toEqual(["rt_1"]);
      expect(await savedRefreshToken()).toBe("rt_2");
      // The refresh answer is not handed out until its refresh token is saved.
      let release = () => {};
      watch.gate = new Promise((resolve) => {
        release = resolve;
      });
      clock.advance(600);
      let refreshed = false;
      const refreshing = restarted.getToken("https://payments.example.com").then(() => {
        refreshed = true;
      });
      await expect.poll(() => refreshTokensSent()).toEqual(["rt_1", "rt_2"]);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(refreshed).toBe(false);
      release();
      await refreshing;
      expect(await savedRefreshToken()).toBe("rt_3");
      expect(watch.saves.map((saved) => saved.grants[0]?.refreshToken)).toEqual([
        "rt_1",
        "rt_2",
        "rt_3",
      ]);

      // The next process starts from the latest one.
      const again = await start();
      await again.getToken("https://payments.example.com");
      expect(refreshTokensSent().at(-1)).toBe("rt_3");
    } finally {
      await registry.close();
    }
  });
});
