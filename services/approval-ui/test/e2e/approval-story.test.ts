import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
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
  introspect,
  nav,
  poll,
  requestGrant,
  screenshot,
  verifyPayment,
} from "./support/flows.js";

// The whole story in a real browser: Chromium with a virtual passkey, the real registry serving
// the built app, an agent speaking DPoP and CIBA to the same registry.

describe.skipIf(skipWithoutBrowser())("approval app, end to end", () => {
  let app: E2eRegistry;
  let browser: E2eBrowser;
  let human: PasskeyPage;

  beforeAll(async () => {
    const approvalAppDir = await buildApprovalApp();
    [app, browser] = await Promise.all([startE2eRegistry({ approvalAppDir }), launchBrowser()]);
    human = await browser.newPage();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it("enrol → agent code → request → narrow → approve with a passkey → token → revoke", async () => {
    const { page } = human;

    // 1. The first human opens the printed link and enrols with a passkey.
    await enrolFirstHuman(page, app.invitationUrl, "Ada Lovelace");
    expect(await human.credentialCount()).toBe(1);
    await page.getByText("Nothing is waiting for you.").waitFor();
    await screenshot(page, "inbox-empty");

    // 2. As admin, registers the service provider the agent will call, and takes its API key.
    const apiKey = await createPaymentsProvider(page, app);

    // 3. Creates an agent enrolment code; the agent enrols with it and its own key.
    const code = await createEnrolmentCode(page, app, "travel bot");
    const agent = await enrolAgent(app, code);
    await page.getByRole("listitem", { name: "Agent travel bot" }).waitFor();

    // 4. The inbox is open when the agent asks: the request appears without a reload.
    await nav(page, "Requests");
    await page.getByText("Nothing is waiting for you.").waitFor();
    const asked = await requestGrant(
      agent,
      [
        { type: "transact", resource: "merchant/acme", max_amount: "50.00", currency: "EUR" },
        { type: "read", resource: "orders/*" },
        {
          type: "envelope",
          rate_limit: { max_requests: 30, window_seconds: 60 },
          spend_caps: [{ amount: "200.00", currency: "EUR", window_seconds: 86_400 }],
        },
      ],
      "Pay ACME for order 42",
    );
    expect(asked.approval_uri).toBe(`${app.publicUrl}/requests/${asked.auth_req_id}`);
    const card = page.getByRole("listitem").filter({ hasText: asked.user_code });
    await card.waitFor();
    expect(await card.textContent()).toContain("“Pay ACME for order 42”");
    await screenshot(page, "inbox");

    // 5. The request in plain English, with the code to match; the human narrows the payment
    //    limit and approves with the passkey, confirming the amount a second time.
    await card.getByRole("link").click();
    await page
      .getByRole("heading", { name: "travel bot asks for access to Payments", level: 1 })
      .waitFor();
    expect(page.url()).toBe(asked.approval_uri);
    await page.getByText(asked.user_code, { exact: true }).waitFor();
    await page
      .getByRole("checkbox", {
        name: "High risk Make payments to merchant/acme of at most 50.00 EUR each",
      })
      .waitFor();
    await page.getByText("At most 30 requests a minute").first().waitFor();
    await page.getByRole("textbox", { name: "Most per payment (EUR)" }).fill("30");
    const approving = page.getByRole("region", { name: "You are approving" });
    await approving.getByText("Make payments to merchant/acme of at most 30.00 EUR each").waitFor();
    await screenshot(page, "request");
    await page.getByRole("button", { name: "Approve with passkey" }).click();

    const dialog = page.getByRole("dialog", { name: "This grant can move money or delete data" });
    await dialog.waitFor();
    await dialog.getByText("Make payments to merchant/acme of at most 30.00 EUR each").waitFor();
    const confirm = dialog.getByRole("button", { name: "Confirm and use passkey" });
    expect(await confirm.isDisabled()).toBe(true);
    await dialog.getByLabel("I understand this agent may pay up to 30.00 EUR per payment.").check();
    await screenshot(page, "confirm-high-risk", { fullPage: false });
    await confirm.click();
    await page.getByText("Approved.", { exact: false }).first().waitFor();

    // 6. The agent's poll returns a DPoP-bound token carrying the narrowed limit.
    const token = await poll(agent, { grant_type: CIBA, auth_req_id: asked.auth_req_id });
    expect(token.status, JSON.stringify(token.body)).toBe(200);
    expect(token.body.token_type).toBe("DPoP");
    expect(token.body.authorization_details[0]).toEqual({
      type: "transact",
      resource: "merchant/acme",
      max_amount: "30.00",
      currency: "EUR",
    });
    const active = await introspect(app, apiKey, token.body.access_token);
    expect(active.body).toMatchObject({ active: true, sub: agent.id });
    // The verifier (once it has heard of the provider's new API key) allows a payment.
    await vi.waitFor(
      async () =>
        expect(await verifyPayment(app, apiKey, agent, token.body.access_token)).toMatchObject({
          decision: "allow",
        }),
      { timeout: 5000, interval: 100 },
    );

    // 7. The grant, its receipt re-verified in the browser, then revocation.
    await nav(page, "Grants");
    const grant = page
      .getByRole("listitem")
      .filter({ hasText: "travel bot → https://payments.example.com" });
    await grant.waitFor();
    await grant.getByRole("button", { name: "Check passkey receipt" }).click();
    await grant
      .getByText("Receipt verified in this browser: your passkey approved exactly this grant.")
      .waitFor();
    await screenshot(page, "grants");
    await grant.getByRole("button", { name: "Revoke" }).click();
    await page
      .getByRole("dialog", { name: "Revoke this grant?" })
      .getByRole("button", { name: "Revoke grant" })
      .click();
    await page.getByText(/^Revoked travel bot's grant/).waitFor();

    // 8. The verifier refuses the agent (revocations reach it within 100 ms; asserted
    //    generously), and so does the registry: the token is inactive, the refresh token dead.
    await vi.waitFor(
      async () =>
        expect(await verifyPayment(app, apiKey, agent, token.body.access_token)).toMatchObject({
          decision: "deny",
          reason: "grant_revoked",
        }),
      { timeout: 1000, interval: 20 },
    );
    expect((await introspect(app, apiKey, token.body.access_token)).body).toEqual({
      active: false,
    });
    const refreshed = await poll(agent, {
      grant_type: "refresh_token",
      refresh_token: token.body.refresh_token,
    });
    expect(refreshed.body.error).toBe("invalid_grant");

    // 9. Activity: the chain is intact and the approval is there, with its receipt.
    await app.registry.auditSequencer.runOnce();
    await nav(page, "Activity");
    await page.getByText("Audit chain intact.").waitFor();
    const approved = page.getByRole("listitem").filter({ hasText: "grant.approved" });
    await approved.waitFor();
    expect(await approved.textContent()).toContain("Link ✓");
    await approved.getByRole("button", { name: "Check passkey receipt" }).click();
    await approved.getByText("Receipt verified in this browser").waitFor();
    await screenshot(page, "activity");
    expect(human.errors()).toEqual([]);
  });
});
