import type { RevocationBus, RevocationRecord } from "@agentauth/state";
import type { Express } from "express";
import request from "supertest";
import { expect } from "vitest";
import type { TestAgent } from "../kit/agent-client.js";
import type { HumanClient } from "../kit/human-client.js";
import type { AssertOverrides } from "../kit/software-authenticator.js";
import {
  createBrowserHuman,
  PAYMENTS,
  PUBLIC_URL,
  type TestRegistry,
} from "../support/test-registry.js";

// Helpers shared by the endpoint suites of test/agents, test/grants and test/tokens.

export const CIBA = "urn:openid:params:grant-type:ciba";

export const PAYMENT_DETAILS = [
  { type: "transact", resource: "merchant/acme", max_amount: "50.00", currency: "EUR" },
  { type: "envelope", spend_caps: [{ amount: "200.00", currency: "EUR", window_seconds: 86400 }] },
];

let requestCount = 0;

/** A binding message no other request of the run has, so requests are never de-duplicated. */
export function uniqueBindingMessage(): string {
  requestCount += 1;
  return `Order ${requestCount}`;
}

/** Asks for a grant at the backchannel endpoint; returns the raw answer. */
export function requestGrant(
  agent: TestAgent,
  options: { details?: unknown; form?: Record<string, string> } = {},
): Promise<request.Response> {
  return agent.postForm(
    "/oauth/backchannel",
    {
      authorization_details: JSON.stringify(options.details ?? PAYMENT_DETAILS),
      resource: PAYMENTS,
      binding_message: uniqueBindingMessage(),
      ...options.form,
    },
    { dpop: false },
  );
}

/** Asks for a grant and expects it accepted; returns its `auth_req_id`. */
export async function requestGrantId(
  agent: TestAgent,
  options: { details?: unknown; form?: Record<string, string> } = {},
): Promise<string> {
  const response = await requestGrant(agent, options);
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body.auth_req_id as string;
}

/** Posts to the token endpoint once, fetching a DPoP nonce first when the registry asks. */
export async function poll(
  agent: TestAgent,
  form: Record<string, string>,
): Promise<request.Response> {
  const response = await agent.postForm("/oauth/token", form);
  if (response.body.error !== "use_dpop_nonce") return response;
  return agent.postForm("/oauth/token", form);
}

export interface ApproveOptions {
  /** The narrowed `authorization_details`; default what was requested. */
  readonly details?: unknown;
  readonly grantLifetime?: number;
  readonly overrides?: AssertOverrides;
}

/** The approval challenge for `authReqId`, expecting success. */
export async function approvalChallenge(
  human: HumanClient,
  authReqId: string,
  options: ApproveOptions = {},
) {
  const response = await human.post(`/api/grant-requests/${authReqId}/approval-challenge`, {
    ...(options.details === undefined ? {} : { authorization_details: options.details }),
    ...(options.grantLifetime === undefined ? {} : { grant_lifetime: options.grantLifetime }),
  });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body as {
    challenge_id: string;
    digest: string;
    final_grant: { expires_at: string };
    options: Parameters<HumanClient["authenticator"]["assert"]>[0];
  };
}

/** Signs `challenge` with the human's passkey and posts the approval; returns the raw answer. */
export async function approveWith(
  human: HumanClient,
  authReqId: string,
  challenge: Awaited<ReturnType<typeof approvalChallenge>>,
  overrides?: AssertOverrides,
): Promise<request.Response> {
  const response = await human.authenticator.assert(challenge.options, overrides);
  return human.post(`/api/grant-requests/${authReqId}/approve`, {
    challenge_id: challenge.challenge_id,
    response,
  });
}

/** Narrows (optionally), gets the challenge and approves; returns the raw answer. */
export async function approve(
  human: HumanClient,
  authReqId: string,
  options: ApproveOptions = {},
): Promise<request.Response> {
  const challenge = await approvalChallenge(human, authReqId, options);
  return approveWith(human, authReqId, challenge, options.overrides);
}

export interface ObtainedToken {
  readonly authReqId: string;
  readonly grantId: string;
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly expiresIn: number;
  readonly claims: Record<string, unknown>;
}

/** The whole happy path: request, approval by `human` (default the admin), token. */
export async function obtainToken(
  test: TestRegistry,
  agent: TestAgent,
  options: ApproveOptions & { requestDetails?: unknown; human?: HumanClient } = {},
): Promise<ObtainedToken> {
  const authReqId = await requestGrantId(agent, {
    ...(options.requestDetails === undefined ? {} : { details: options.requestDetails }),
  });
  const approved = await approve(options.human ?? test.admin, authReqId, options);
  expect(approved.status, JSON.stringify(approved.body)).toBe(201);
  const token = await poll(agent, { grant_type: CIBA, auth_req_id: authReqId });
  expect(token.status, JSON.stringify(token.body)).toBe(200);
  return {
    authReqId,
    grantId: approved.body.id as string,
    accessToken: token.body.access_token as string,
    refreshToken: token.body.refresh_token as string,
    expiresIn: token.body.expires_in as number,
    claims: decodeJwtPayload(token.body.access_token as string),
  };
}

/** Refreshes with `refreshToken`; returns the raw answer. */
export function refresh(agent: TestAgent, refreshToken: string): Promise<request.Response> {
  return poll(agent, { grant_type: "refresh_token", refresh_token: refreshToken });
}

/** RFC 7662 introspection with a service provider's API key as a Bearer credential. */
export function introspect(app: Express, apiKey: string, token: string): request.Test {
  return request(app)
    .post("/oauth/introspect")
    .set("Authorization", `Bearer ${apiKey}`)
    .type("form")
    .send({ token });
}

/** The revocations published on the bus while `action` runs. */
export async function captureRevocations(
  bus: RevocationBus,
  action: () => Promise<unknown>,
): Promise<RevocationRecord[]> {
  const received: RevocationRecord[] = [];
  const subscription = await bus.subscribe({
    onRevocation: (record) => received.push(record),
    onReload: () => undefined,
  });
  try {
    await action();
  } finally {
    await subscription.close();
  }
  return received;
}

/** A JWT's payload, unverified (tests read what the registry put in it). */
export function decodeJwtPayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"));
}

/** Another human invited by the admin (not an admin unless asked), enrolled and signed in. */
export async function inviteHuman(
  test: TestRegistry,
  displayName = "Bob",
  options: { isAdmin?: boolean } = {},
): Promise<HumanClient> {
  const invitation = await test.admin
    .post("/api/invitations", { display_name: displayName, is_admin: options.isAdmin ?? false })
    .expect(201);
  const human = createBrowserHuman(test.registry.app, test.publicUrl);
  await human.enrol(invitation.body.invitation_url as string, { displayName });
  return human;
}

/** A request as `human`'s browser makes it, for the methods `HumanClient` lacks (PATCH). */
export function humanRequest(
  app: Express,
  human: HumanClient,
  method: "patch" | "put",
  path: string,
): request.Test {
  const test = request(app)[method](path).set("Origin", human.authenticator.origin);
  return human.cookie === undefined ? test : test.set("Cookie", human.cookie);
}

/** The audit events of `type` about `subject` (or by `actor`), once the sequencer has chained them. */
export async function auditEvents(
  test: TestRegistry,
  filter: { type: string; subject?: string; actor?: string },
): Promise<Array<{ event: Record<string, unknown> }>> {
  await test.registry.auditSequencer.runOnce();
  const query = new URLSearchParams({ scope: "all", limit: "500", ...filter });
  const response = await test.admin.get(`/api/audit/events?${query}`).expect(200);
  return response.body.events;
}

/** An endpoint whose handling of broken bodies is checked by {@link expectMalformedBodiesRefused}. */
export interface BodyEndpoint {
  readonly method: "post" | "patch";
  readonly path: string;
  /** `json`: answers RFC 9457 problems; `form`: an OAuth endpoint answering OAuth error JSON. */
  readonly body: "json" | "form";
  /** The signed-in human whose cookie (and Origin) the request carries, if any. */
  readonly human?: HumanClient;
}

/**
 * Sends `endpoint` a body of the wrong type, an oversized body, an unparseable body, too many
 * form fields and a corrupt gzip body; each must get its own 4xx, never a 500.
 */
export async function expectMalformedBodiesRefused(
  app: Express,
  endpoint: BodyEndpoint,
): Promise<void> {
  const send = (
    contentType: string,
    body: string | Buffer,
    headers: Record<string, string> = {},
  ) => {
    const origin = endpoint.human?.authenticator.origin ?? PUBLIC_URL;
    let call = request(app)[endpoint.method](endpoint.path).set("Origin", origin);
    if (endpoint.human?.cookie !== undefined) call = call.set("Cookie", endpoint.human.cookie);
    for (const [name, value] of Object.entries(headers)) call = call.set(name, value);
    return call.set("Content-Type", contentType).send(body);
  };
  const expectRefused = (response: request.Response, status: number, code: string) => {
    const label = `${endpoint.method.toUpperCase()} ${endpoint.path}: ${JSON.stringify(response.body)}`;
    expect(response.status, label).toBe(status);
    if (endpoint.body === "json") {
      expect(response.headers["content-type"], label).toMatch(/^application\/problem\+json/);
      expect(response.body.code, label).toBe(code);
    } else {
      expect(response.body.error, label).toBe("invalid_request");
    }
  };
  const own = endpoint.body === "json" ? "application/json" : "application/x-www-form-urlencoded";
  const other = endpoint.body === "json" ? "application/x-www-form-urlencoded" : "application/json";
  const big = "a".repeat(70 * 1024);

  expectRefused(await send("text/plain", "hello"), 415, "ERR_UNSUPPORTED_MEDIA_TYPE");
  expectRefused(
    await send(other, endpoint.body === "json" ? "name=x" : '{"a":1}'),
    415,
    "ERR_UNSUPPORTED_MEDIA_TYPE",
  );
  expectRefused(
    await send(`${own}; charset=utf-7`, endpoint.body === "json" ? "{}" : "a=1"),
    415,
    "ERR_UNSUPPORTED_MEDIA_TYPE",
  );
  expectRefused(
    await send(own, endpoint.body === "json" ? JSON.stringify({ name: big }) : `name=${big}`),
    413,
    "ERR_PAYLOAD_TOO_LARGE",
  );
  expectRefused(
    await send(own, Buffer.from("definitely not gzip"), { "Content-Encoding": "gzip" }),
    400,
    "ERR_VALIDATION",
  );
  if (endpoint.body === "json") {
    expectRefused(await send(own, '{"name":'), 400, "ERR_VALIDATION");
    expectRefused(await send(own, '"just a string"'), 400, "ERR_VALIDATION");
  } else {
    const fields = Array.from({ length: 60 }, (_, index) => `f${index}=1`).join("&");
    expectRefused(await send(own, fields), 413, "ERR_PAYLOAD_TOO_LARGE");
  }
}
