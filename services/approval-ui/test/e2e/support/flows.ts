import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createDpopProof } from "@agentauth/core";
import { createTestAgent, type TestAgent } from "@agentauth/registry/testing";
import type { Page } from "playwright-core";
import request from "supertest";
import { expect } from "vitest";
import type { E2eRegistry } from "./e2e-registry.js";

// What the human does in the app, step by step, and what the agent does with the registry's
// test kit (the same DPoP + private_key_jwt calls the SDK makes).

export const PAYMENTS = "https://payments.example.com";
export const CIBA = "urn:openid:params:grant-type:ciba";

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..", "..");

/** With AGENTAUTH_UPDATE_SCREENSHOTS=1, saves the page as docs/images/approval-<name>.png. */
export async function screenshot(
  page: Page,
  name: string,
  { fullPage = true }: { fullPage?: boolean } = {},
): Promise<void> {
  if (process.env.AGENTAUTH_UPDATE_SCREENSHOTS !== "1") return;
  const dir = join(REPO_ROOT, "docs", "images");
  await mkdir(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `approval-${name}.png`), fullPage });
}

/** Follows a link of the main navigation. */
export async function nav(page: Page, name: string): Promise<void> {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name }).click();
}

/** Opens the printed first-human link and enrols with the page's virtual passkey. */
export async function enrolFirstHuman(page: Page, invitationUrl: string, name: string) {
  await page.goto(invitationUrl);
  await page.getByRole("heading", { name: "Create your passkey", level: 1 }).waitFor();
  // The invitation is read from the fragment and dropped from the address bar.
  expect(new URL(page.url()).hash).toBe("");
  await page.getByLabel("Your name").fill(name);
  await page.getByLabel("Name this passkey (optional)").fill("Test laptop");
  await page.getByRole("button", { name: "Create passkey and sign in" }).click();
  await page.getByRole("heading", { name: "Requests", level: 1 }).waitFor();
}

/** Registers the payments provider through the admin page; returns its verifier API key. */
export async function createPaymentsProvider(page: Page, app: E2eRegistry): Promise<string> {
  await page.goto(`${app.publicUrl}/service-providers`);
  await page.getByRole("heading", { name: "Service providers", level: 1 }).waitFor();
  await page.getByText("Register a service provider").click();
  await page.getByLabel("Identifier").fill(PAYMENTS);
  await page.getByLabel("Name", { exact: true }).fill("Payments");
  await page.getByRole("textbox", { name: /^Ceiling/ }).fill(
    JSON.stringify([
      { type: "transact", resource: "merchant/*", max_amount: "500.00", currency: "EUR" },
      { type: "delete", resource: "orders/*" },
      { type: "read", resource: "*" },
    ]),
  );
  await page.getByRole("button", { name: "Create service provider" }).click();
  await page.getByText("Payments created.").waitFor();
  await page.getByRole("button", { name: "Create API key" }).click();
  const key = await page.getByRole("textbox", { name: "Verifier API key" }).inputValue();
  expect(key).toMatch(/^aask_/);
  return key;
}

/** Creates a one-time agent enrolment code on the Agents page; returns it. */
export async function createEnrolmentCode(page: Page, app: E2eRegistry, name: string) {
  await page.goto(`${app.publicUrl}/my-agents`);
  await page.getByRole("heading", { name: "Agents", level: 1 }).waitFor();
  await page.getByLabel("Agent name").fill(name);
  await page.getByRole("button", { name: "Create enrolment code" }).click();
  const code = await page.getByRole("textbox", { name: "Enrolment code" }).inputValue();
  expect(code).toMatch(/^aec_/);
  return code;
}

/** An agent with a fresh P-256 key, enrolled with `code` (DPoP proof of its key). */
export async function enrolAgent(app: E2eRegistry, code: string): Promise<TestAgent> {
  const agent = await createTestAgent(app.registry.app, app.publicUrl);
  const enrolled = await request(app.registry.app)
    .post("/agents/enroll")
    .set("DPoP", await agent.proof("POST", "/agents/enroll"))
    .send({ code });
  expect(enrolled.status, JSON.stringify(enrolled.body)).toBe(201);
  agent.id = enrolled.body.agent_id as string;
  return agent;
}

/** The agent asks for a grant (CIBA backchannel); returns the registry's answer. */
export async function requestGrant(
  agent: TestAgent,
  details: unknown[],
  bindingMessage: string,
): Promise<{ auth_req_id: string; user_code: string; approval_uri: string }> {
  const response = await agent.postForm(
    "/oauth/backchannel",
    {
      authorization_details: JSON.stringify(details),
      resource: PAYMENTS,
      binding_message: bindingMessage,
    },
    { dpop: false },
  );
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body;
}

/** One token-endpoint call, after the DPoP-nonce round trip when the registry asks for one. */
export async function poll(
  agent: TestAgent,
  form: Record<string, string>,
): Promise<request.Response> {
  const response = await agent.postForm("/oauth/token", form);
  if (response.body.error !== "use_dpop_nonce") return response;
  return agent.postForm("/oauth/token", form);
}

/** RFC 7662 introspection, as the service provider's verifier asks. */
export function introspect(app: E2eRegistry, apiKey: string, token: string): request.Test {
  return request(app.registry.app)
    .post("/oauth/introspect")
    .set("Authorization", `Bearer ${apiKey}`)
    .type("form")
    .send({ token });
}

/**
 * What the payments provider asks the verifier when the agent pays 10.00 EUR with `accessToken`
 * (a fresh DPoP proof for the provider's URL); the verifier's decision and reason.
 */
export async function verifyPayment(
  app: E2eRegistry,
  apiKey: string,
  agent: TestAgent,
  accessToken: string,
): Promise<{ decision: string; reason: string }> {
  const url = `${PAYMENTS}/v1/payments`;
  const dpop = await createDpopProof({
    key: agent.key,
    method: "POST",
    url,
    now: new Date(),
    jti: randomBytes(24).toString("base64url"),
    accessToken,
  });
  const response = await fetch(`${app.verifierUrl}/v1/verify`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({
      authorization: `DPoP ${accessToken}`,
      dpop,
      method: "POST",
      url,
      action: {
        type: "transact",
        resource: "merchant/acme",
        amount: { amount: "10.00", currency: "EUR" },
      },
    }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { decision: string; reason: string };
}
