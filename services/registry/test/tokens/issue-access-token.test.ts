import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, expect, it } from "vitest";
import type { Grant } from "../../src/db/database.js";
import { createFileSigner } from "../../src/signing/file-signer.js";
import { issueAccessToken, type TokenIssuance } from "../../src/tokens/issue-tokens.js";
import { obtainToken } from "../grants/grant-helpers.js";
import { createTestAgent } from "../kit/agent-client.js";
import { describeEachDatabase } from "../support/databases.js";
import {
  createPaymentsProvider,
  createTestRegistry,
  enrolAgent,
  PAYMENTS,
  PUBLIC_URL,
  type TestRegistry,
} from "../support/test-registry.js";

// The refresh path reads the grant, signs, then records the token without a transaction: the
// recording statement itself must refuse a grant that stopped being usable in between.
describeEachDatabase("issueAccessToken: recorded only for a grant still usable", (database) => {
  let test: TestRegistry;
  let issuance: TokenIssuance;

  beforeAll(async () => {
    test = await createTestRegistry(database.db());
    await createPaymentsProvider(test.admin);
    const signer = await createFileSigner(
      join(await mkdtemp(join(tmpdir(), "agentauth-issue-")), "key.pem"),
    );
    issuance = { issuer: PUBLIC_URL, signer, accessTokenLifetimeSeconds: 300 };
  });

  /** A grant as the refresh path read it, before whatever the test changes next. */
  async function readGrant(): Promise<Grant> {
    const agent = await enrolAgent(test);
    const { grantId } = await obtainToken(test, agent);
    return database
      .db()
      .selectFrom("grants")
      .selectAll()
      .where("id", "=", grantId)
      .executeTakeFirstOrThrow();
  }

  async function recordedFor(grantId: string) {
    const tokens = await database
      .db()
      .selectFrom("access_tokens")
      .select("jti")
      .where("grant_id", "=", grantId)
      .execute();
    const audited = await database
      .db()
      .selectFrom("audit_queue")
      .select("event")
      .execute()
      .then((rows) =>
        rows.filter(
          (row) =>
            (row.event as { type: string; data: { grant_id?: string } }).type === "token.issued" &&
            (row.event as { data: { grant_id?: string } }).data.grant_id === grantId,
        ),
      );
    return { tokens: tokens.length, audited: audited.length };
  }

  async function expectRefused(grant: Grant) {
    const before = await recordedFor(grant.id);
    await expect(
      issueAccessToken(database.db(), issuance, grant, test.clock.now()),
    ).rejects.toMatchObject({
      code: "ERR_INVALID_GRANT",
    });
    expect(await recordedFor(grant.id)).toEqual(before);
  }

  it("records the token and its audit event together for a usable grant", async () => {
    const grant = await readGrant();
    const before = await recordedFor(grant.id);
    const issued = await issueAccessToken(database.db(), issuance, grant, test.clock.now());
    expect(issued.accessToken.split(".")).toHaveLength(3);
    expect(await recordedFor(grant.id)).toEqual({
      tokens: before.tokens + 1,
      audited: before.audited + 1,
    });
  });

  it("records nothing for a grant revoked since it was read", async () => {
    const grant = await readGrant();
    await test.admin.post(`/api/grants/${grant.id}/revoke`).expect(204);
    await expectRefused(grant);
  });

  it("records nothing once the agent's key has rotated away from the one the token binds", async () => {
    const grant = await readGrant();
    const otherKey = await createTestAgent(test.registry.app, PUBLIC_URL);
    await expectRefused({ ...grant, agent_jkt: otherKey.jkt });
  });

  it("records nothing for a grant that has ended since it was read", async () => {
    const grant = await readGrant();
    await database
      .db()
      .updateTable("grants")
      .set({ expires_at: test.clock.now() })
      .where("id", "=", grant.id)
      .execute();
    await expectRefused(grant);
  });

  // Last: the service provider stays disabled.
  it("records nothing for an agent disabled, or a service provider disabled, since", async () => {
    const ofDisabledAgent = await readGrant();
    await test.admin.post(`/api/agents/${ofDisabledAgent.agent_id}/disable`).expect(200);
    await expectRefused(ofDisabledAgent);

    const ofDisabledProvider = await readGrant();
    await test.admin
      .post(`/api/service-providers/${encodeURIComponent(PAYMENTS)}/disable`)
      .expect(204);
    await expectRefused(ofDisabledProvider);
  });
});
