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
}

describe.skipIf(skipWithoutBrowser())("the SDK in Chromium", () => {
  let platform: TestPlatform;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    platform = await startTestPlatform(backends()[0] as Backend);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
    });
    page = await browser.newPage();
    // A page on the registry's origin: the registry's endpoints are same-origin for it, and the
    // service provider answers cross-origin requests (CORS).
    await page.goto(`${platform.registryUrl}/health/live`);
    const bundle = await bundleForBrowser(SDK_SOURCE_ENTRY, {
      conditions: BROWSER_SOURCE_CONDITIONS,
      format: "iife",
    });
    await page.evaluate(bundle.code);
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
        // The human approves before the agent polls, so the polls need not really wait.
        const clock = {
          now: () => new Date(),
          sleep: () => new Promise<void>((resolve) => setTimeout(resolve, 10)),
        };
        const agent = await createAgent({ registryUrl, keyStore, clock });
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
});
