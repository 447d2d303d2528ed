import { existsSync } from "node:fs";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Backend,
  backends,
  startTestPlatform,
  type TestPlatform,
} from "../support/test-platform.js";
import { BROWSER_SOURCE_CONDITIONS, bundleForBrowser, SDK_SOURCE_ENTRY } from "./bundle.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * Only a developer machine without Chromium skips this (the README's two commands need nothing
 * but Node); in CI (`CI=true`) a missing browser fails it.
 */
function skipWithoutBrowser(): boolean {
  if (existsSync(CHROMIUM) || process.env.CI === "true") return false;
  console.warn(`Skipping the SDK's Chromium test: no Chromium at ${CHROMIUM} (set CHROMIUM_PATH).`);
  return true;
}

declare global {
  // The bundle's IIFE global, in the page.
  var AgentAuthSdk: typeof import("../../src/index.js");
  // The clock the page's agents use: the human approves before the agent polls, so the polls
  // need not really wait.
  var fastClock: import("../../src/clock.js").Clock;
}

describe.skipIf(skipWithoutBrowser())("the SDK in Chromium", () => {
  let platform: TestPlatform;
  let browser: Browser;
  let bundle: string;
  let page: Page;

  /** Loads (or reloads) a page on the registry's origin and runs the SDK's bundle in it. */
  async function openSdk(tab: Page, reload = false): Promise<void> {
    // The registry's endpoints are same-origin for the page, and the service provider answers
    // cross-origin requests (CORS).
    await (reload ? tab.reload() : tab.goto(`${platform.registryUrl}/health/live`));
    await tab.evaluate(bundle);
    await tab.evaluate(() => {
      globalThis.fastClock = {
        now: () => new Date(),
        sleep: () => new Promise<void>((resolve) => setTimeout(resolve, 10)),
      };
    });
  }

  beforeAll(async () => {
    platform = await startTestPlatform(backends()[0] as Backend);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
    });
    bundle = (
      await bundleForBrowser(SDK_SOURCE_ENTRY, {
        conditions: BROWSER_SOURCE_CONDITIONS,
        format: "iife",
      })
    ).code;
    page = await browser.newPage();
    await openSdk(page);
  });
  afterAll(async () => {
    await browser?.close();
    await platform?.close();
  });

  it("generates a non-extractable key with WebCrypto, enrols, is approved and makes a DPoP call", async () => {
    const code = await platform.enrolmentCode("browser agent");
    const enrolled = await page.evaluate(
      async ({ registryUrl, code, serviceProvider }) => {
        const { createAgent, createMemoryKeyStore } = globalThis.AgentAuthSdk;
        const keyStore = createMemoryKeyStore();
        const { keyPair } = await keyStore.loadOrCreate();
        const exportable = await crypto.subtle.exportKey("jwk", keyPair.privateKey).then(
          () => true,
          () => false,
        );
        const agent = await createAgent({ registryUrl, keyStore, clock: globalThis.fastClock });
        await agent.enroll(code);
        const request = await agent.requestGrant({
          serviceProvider,
          capabilities: [
            { type: "transact", resource: "merchant/acme", max_amount: "50.00", currency: "EUR" },
          ],
          bindingMessage: "From a browser",
        });
        Object.assign(globalThis, { agent, request });
        return {
          exportable,
          algorithm: keyPair.privateKey.algorithm,
          agentId: agent.id,
          requestId: request.requestId,
          approvalUri: request.approvalUri,
        };
      },
      { registryUrl: platform.registryUrl, code, serviceProvider: platform.serviceProviderId },
    );
    expect(enrolled.exportable).toBe(false);
    expect(enrolled.algorithm).toEqual({ name: "ECDSA", namedCurve: "P-256" });
    expect(enrolled.agentId).toMatch(/^agt_/);
    expect(enrolled.approvalUri).toBe(`${platform.registryUrl}/requests/${enrolled.requestId}`);

    await platform.approve(enrolled.requestId);
    const called = await page.evaluate(
      async ({ url, serviceProvider }) => {
        const { agent, request } = globalThis as unknown as {
          agent: Awaited<ReturnType<typeof AgentAuthSdk.createAgent>>;
          request: Awaited<ReturnType<typeof agent.requestGrant>>;
        };
        await request.waitForApproval();
        const response = await agent.fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ merchant: "acme", amount: "7.00", currency: "EUR" }),
          serviceProvider,
        });
        return { status: response.status, body: await response.json() };
      },
      {
        url: `${platform.serviceProvider.url}/payments`,
        serviceProvider: platform.serviceProviderId,
      },
    );
    expect(called).toEqual({
      status: 200,
      body: expect.objectContaining({ ok: true, agent: enrolled.agentId }),
    });
    // The first call learnt the verifier's nonce (401 use_dpop_nonce), the retry went through.
    expect(platform.serviceProvider.received.filter((path) => path === "/payments")).toHaveLength(
      2,
    );
  });

  it("keeps the key and the grants in IndexedDB across a reload: the private key unexportable", async () => {
    const context = await browser.newContext();
    const tab = await context.newPage();
    await openSdk(tab);
    const code = await platform.enrolmentCode("browser agent on IndexedDB");
    const before = await tab.evaluate(
      async ({ registryUrl, code, serviceProvider }) => {
        const { createAgent, createIndexedDbGrantStorage, createIndexedDbKeyStore } =
          globalThis.AgentAuthSdk;
        const keyStore = createIndexedDbKeyStore({ name: "reloaded" });
        const grantStorage = createIndexedDbGrantStorage({ name: "reloaded" });
        const agent = await createAgent({
          registryUrl,
          keyStore,
          grantStorage,
          clock: globalThis.fastClock,
        });
        await agent.enroll(code);
        const request = await agent.requestGrant({
          serviceProvider,
          capabilities: [{ type: "read", resource: "balance" }],
        });
        Object.assign(globalThis, { request });
        return { agentId: agent.id, publicJwk: agent.publicJwk, requestId: request.requestId };
      },
      { registryUrl: platform.registryUrl, code, serviceProvider: platform.serviceProviderId },
    );
    const { grantId } = await platform.approve(before.requestId);
    // waitForApproval resolves once the approved grant is saved.
    await tab.evaluate(() =>
      (globalThis as unknown as { request: { waitForApproval(): Promise<unknown> } }).request
        .waitForApproval()
        .then(() => undefined),
    );

    await openSdk(tab, true);
    const after = await tab.evaluate(
      async ({ registryUrl, url, serviceProvider }) => {
        const { createAgent, createIndexedDbGrantStorage, createIndexedDbKeyStore } =
          globalThis.AgentAuthSdk;
        const reloaded = !("request" in globalThis);
        const keyStore = createIndexedDbKeyStore({ name: "reloaded" });
        const grantStorage = createIndexedDbGrantStorage({ name: "reloaded" });
        const { keyPair, agentId } = await keyStore.loadOrCreate();
        const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", keyPair.publicKey);
        const exported = await crypto.subtle.exportKey("jwk", keyPair.privateKey).then(
          () => "exported",
          (error: Error) => error.name,
        );
        const saved = await grantStorage.load();
        const agent = await createAgent({ registryUrl, keyStore, grantStorage });
        const response = await agent.fetch(url, { serviceProvider });
        return {
          reloaded,
          agentId,
          publicJwk: { kty, crv, x, y },
          extractable: keyPair.privateKey.extractable,
          exported,
          saved: { jkt: saved?.jkt, grantIds: saved?.grants.map((grant) => grant.grantId) },
          agent: { id: agent.id, jkt: agent.jkt, grants: agent.grants().length },
          status: response.status,
        };
      },
      {
        registryUrl: platform.registryUrl,
        url: `${platform.serviceProvider.url}/balance`,
        serviceProvider: platform.serviceProviderId,
      },
    );
    expect(after.reloaded).toBe(true);
    expect(after.agentId).toBe(before.agentId);
    expect(after.publicJwk).toEqual(before.publicJwk);
    expect(after.extractable).toBe(false);
    expect(after.exported).toBe("InvalidAccessError");
    expect(after.saved.grantIds).toEqual([grantId]);
    expect(after.agent).toEqual({ id: before.agentId, jkt: after.saved.jkt, grants: 1 });
    // The restored grant's refresh token got an access token: no new approval was asked for.
    expect(after.status).toBe(200);

    // Two tabs of the origin creating a key at once end up with one key.
    const other = await context.newPage();
    await openSdk(other);
    const keys = await Promise.all(
      [tab, other].map((each) =>
        each.evaluate(async () => {
          const { keyPair } = await globalThis.AgentAuthSdk.createIndexedDbKeyStore({
            name: "two-tabs",
          }).loadOrCreate();
          return (await crypto.subtle.exportKey("jwk", keyPair.publicKey)).x;
        }),
      ),
    );
    expect(keys[1]).toBe(keys[0]);
    await context.close();
  });
});
