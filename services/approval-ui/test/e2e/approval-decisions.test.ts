import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestAgent, type TestAgent } from "../../../registry/test/kit/agent-client.js";
import {
  type E2eBrowser,
  launchBrowser,
  type PasskeyPage,
  skipWithoutBrowser,
} from "./support/browser.js";
import { buildApprovalApp } from "./support/build-app.js";
import { type E2eRegistry, startE2eRegistry } from "./support/e2e-registry.js";
import {
  CIBA,
  createEnrolmentCode,
  createPaymentsProvider,
  enrolAgent,
  enrolFirstHuman,
  poll,
  requestGrant,
} from "./support/flows.js";

// What must go wrong safely: a failed or cancelled passkey, a request that changed on the
// server after it was shown, backing out of the second confirmation, and a denial.

describe.skipIf(skipWithoutBrowser())("approval app, what must fail safely", () => {
  let app: E2eRegistry;
  let browser: E2eBrowser;
  let human: PasskeyPage;
  let agent: TestAgent;

  const PAYMENT = {
    type: "transact",
    resource: "merchant/acme",
    max_amount: "80.00",
    currency: "EUR",
  };
  const READ = { type: "read", resource: "orders/*" };

  beforeAll(async () => {
    const approvalAppDir = await buildApprovalApp();
    [app, browser] = await Promise.all([startE2eRegistry({ approvalAppDir }), launchBrowser()]);
    human = await browser.newPage();
    await enrolFirstHuman(human.page, app.invitationUrl, "Grace Hopper");
    await createPaymentsProvider(human.page, app);
    agent = await enrolAgent(app, await createEnrolmentCode(human.page, app, "shopping bot"));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  /** Asks for a grant and opens its approval link, as the human would from the agent's message. */
  async function openRequest(details: unknown[], bindingMessage: string) {
    const asked = await requestGrant(agent, details, bindingMessage);
    await human.page.goto(asked.approval_uri);
    await human.page.getByText(asked.user_code, { exact: true }).waitFor();
    return asked;
  }

  async function expectPending(authReqId: string): Promise<void> {
    const answer = await poll(agent, { grant_type: CIBA, auth_req_id: authReqId });
    expect(["authorization_pending", "slow_down"]).toContain(answer.body.error);
  }

  it("signs out, and signs back in with the passkey", async () => {
    const { page } = human;
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: /^(Sign in|Requests)$/, level: 1 }).waitFor();
    // Chromium offers passkey autofill (conditional UI), which the virtual authenticator answers
    // by itself; otherwise the button starts the modal prompt. Either signs in with the passkey.
    const button = page.getByRole("button", { name: "Sign in with a passkey" });
    await button.click({ timeout: 2_000 }).catch(() => undefined);
    await page.getByRole("heading", { name: "Requests", level: 1 }).waitFor();
    await page.getByText("Grace Hopper").waitFor();
    await page.goto(`${app.publicUrl}/account`);
    await page.getByText(/last used (in|\d)/).waitFor();
  });

  it("when the passkey cannot verify the human, nothing is approved and the page says why", async () => {
    const { page } = human;
    const asked = await openRequest([READ], "Read my orders");
    await human.setUserVerified(false);
    try {
      await page.getByRole("button", { name: "Approve with passkey" }).click();
      const alert = page.getByRole("alert").filter({ hasText: "Nothing was approved." });
      await alert.waitFor();
      expect(await alert.textContent()).toContain("could not verify you");
    } finally {
      await human.setUserVerified(true);
    }
    await expectPending(asked.auth_req_id);
    // The human can try again once the authenticator verifies them.
    expect(await page.getByRole("button", { name: "Approve with passkey" }).isEnabled()).toBe(true);
  });

  it("backing out of the second confirmation approves nothing; a request changed on the server is refused", async () => {
    const { page } = human;
    const asked = await openRequest([PAYMENT], "Buy the blue kettle");
    const dialog = page.getByRole("dialog", { name: "This grant can move money or delete data" });

    await page.getByRole("button", { name: "Approve with passkey" }).click();
    await dialog
      .getByText("I understand this agent may pay up to 80.00 EUR per payment.")
      .waitFor();
    await dialog.getByRole("button", { name: "Back" }).click();
    await dialog.waitFor({ state: "detached" });
    await expectPending(asked.auth_req_id);

    // The challenge is issued for the grant as shown; then the agent's key changes on the server.
    await page.getByRole("button", { name: "Approve with passkey" }).click();
    await dialog.waitFor();
    const rotated = await createTestAgent(app.registry.app, app.publicUrl);
    const rotation = await request(app.registry.app)
      .post("/agents/rotate-key")
      .set("DPoP", await agent.proof("POST", "/agents/rotate-key"))
      .send({ new_key_proof: await rotated.proof("POST", "/agents/rotate-key") });
    expect(rotation.status, JSON.stringify(rotation.body)).toBe(200);
    rotated.id = agent.id;
    agent = rotated;

    await dialog.getByLabel("I understand this agent may pay up to 80.00 EUR per payment.").check();
    await dialog.getByRole("button", { name: "Confirm and use passkey" }).click();
    const alert = page.getByRole("alert").filter({ hasText: "Nothing was approved." });
    await alert.waitFor();
    expect(await alert.textContent()).toContain("The request changed after it was shown");
    await expectPending(asked.auth_req_id);
  });

  it("a denial with a reason reaches the agent as access_denied", async () => {
    const { page } = human;
    const asked = await openRequest([READ, PAYMENT], "Order groceries");
    await page.getByLabel("Reason (the agent is told)").fill("Not from this shop, please");
    await page.getByRole("button", { name: "Deny request" }).click();
    await page.getByText("The agent is told your reason.").waitFor();
    await page.getByText("Denied", { exact: false }).first().waitFor();

    const answer = await poll(agent, { grant_type: CIBA, auth_req_id: asked.auth_req_id });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      error: "access_denied",
      error_description: "Not from this shop, please",
    });

    // The inbox lists it under Denied, not Waiting.
    await page.goto(`${app.publicUrl}/`);
    await page.getByRole("button", { name: "Denied" }).click();
    await page.getByRole("listitem").filter({ hasText: asked.user_code }).waitFor();
  });

  it("raised no script error and no Content-Security-Policy violation on the way", () => {
    expect(human.errors()).toEqual([]);
  });
});
