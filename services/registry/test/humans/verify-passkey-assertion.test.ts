import { createHash, randomBytes } from "node:crypto";
import { beforeEach, expect, it } from "vitest";
import type { RegistryError } from "../../src/errors.js";
import type { VerifyPasskeyAssertion } from "../../src/grants/approval-routes.js";
import {
  createPasskeyAssertionVerifier,
  verifyPasskeyAssertion,
} from "../../src/webauthn/verify-passkey-assertion.js";
import type { HumanClient } from "../kit/human-client.js";
import type { AssertOverrides } from "../kit/software-authenticator.js";
import { describeEachDatabase } from "../support/databases.js";
import { createHumanTestApp, resetHumans } from "./human-test-app.js";

// The approval flow derives the challenge from the grant digest and calls verifyPasskeyAssertion
// in its transaction; these tests drive it the same way, with an approval-style challenge.

describeEachDatabase("humans: verifyPasskeyAssertion", (database) => {
  beforeEach(async () => resetHumans(database.db()));

  async function twoHumans() {
    const db = database.db();
    const testApp = createHumanTestApp(db);
    const ada = await testApp.enrolFirstAdmin("Ada");
    const { body } = await ada.post("/api/invitations", {});
    const bob = testApp.newClient();
    await bob.enrol(body.invitation_url, { displayName: "Bob" });
    return { ...testApp, db, ada, bob };
  }

  function approvalChallenge(): string {
    return createHash("sha256").update(randomBytes(32)).digest("base64url");
  }

  async function assertion(client: HumanClient, challenge: string, overrides?: AssertOverrides) {
    const passkeys = client.authenticator.credentials.map((credential) => ({
      id: credential.id,
      type: "public-key",
    }));
    return client.authenticator.assert(
      { challenge, rpId: "localhost", allowCredentials: passkeys, userVerification: "required" },
      overrides,
    );
  }

  async function failure(promise: Promise<unknown>): Promise<{ code: string; reason: unknown }> {
    const error = (await promise.then(
      () => {
        throw new Error("expected the assertion to be refused");
      },
      (caught: unknown) => caught,
    )) as RegistryError;
    return { code: error.code, reason: error.details?.reason };
  }

  it("returns the receipt of a valid assertion and advances the counter", async () => {
    const { db, ada } = await twoHumans();
    const challenge = approvalChallenge();
    const response = await assertion(ada, challenge);
    const receipt = await db.transaction().execute((trx) =>
      verifyPasskeyAssertion(trx, {
        humanId: ada.human?.id as string,
        expectedChallenge: challenge,
        response,
        rpId: "localhost",
        origin: "http://localhost:4000",
      }),
    );
    expect(receipt).toEqual({
      credentialId: response.id,
      publicKey: expect.any(Uint8Array),
      authenticatorData: response.response.authenticatorData,
      clientDataJSON: response.response.clientDataJSON,
      signature: response.response.signature,
    });
    expect(receipt.publicKey).toEqual(ada.authenticator.credentials[0]?.cosePublicKey);
    expect(
      (
        await db
          .selectFrom("passkeys")
          .select("counter")
          .where("credential_id", "=", response.id)
          .executeTakeFirstOrThrow()
      ).counter,
    ).toBe("1");
  });

  it("binds the relying party once with createPasskeyAssertionVerifier", async () => {
    const { db, ada } = await twoHumans();
    // It fits the approval area's port as it is.
    const verify: VerifyPasskeyAssertion = createPasskeyAssertionVerifier({
      rpId: "localhost",
      origin: "http://localhost:4000",
    });
    const challenge = approvalChallenge();
    const receipt = await verify(db, {
      humanId: ada.human?.id as string,
      expectedChallenge: challenge,
      response: await assertion(ada, challenge),
    });
    expect(receipt.credentialId).toBe(ada.authenticator.credentials[0]?.id);
    const other = createPasskeyAssertionVerifier({
      rpId: "localhost",
      origin: "http://localhost:9999",
    });
    const next = approvalChallenge();
    expect(
      await failure(
        other(db, {
          humanId: ada.human?.id as string,
          expectedChallenge: next,
          response: await assertion(ada, next),
        }),
      ),
    ).toEqual({
      code: "ERR_WEBAUTHN_FAILED",
      reason: "origin_mismatch",
    });
  });

  it("refuses a credential of another human", async () => {
    const { db, ada, bob } = await twoHumans();
    const challenge = approvalChallenge();
    const bobs = await assertion(bob, challenge);
    const verify = createPasskeyAssertionVerifier({
      rpId: "localhost",
      origin: "http://localhost:4000",
    });
    expect(
      await failure(
        verify(db, {
          humanId: ada.human?.id as string,
          expectedChallenge: challenge,
          response: bobs,
        }),
      ),
    ).toEqual({
      code: "ERR_WEBAUTHN_FAILED",
      reason: "credential_not_owned",
    });
    // Bob's counter did not move.
    expect(
      (
        await db
          .selectFrom("passkeys")
          .select("counter")
          .where("credential_id", "=", bobs.id)
          .executeTakeFirstOrThrow()
      ).counter,
    ).toBe("0");
  });

  it("refuses an assertion over another challenge (another grant digest)", async () => {
    const { db, ada } = await twoHumans();
    const verify = createPasskeyAssertionVerifier({
      rpId: "localhost",
      origin: "http://localhost:4000",
    });
    const signed = await assertion(ada, approvalChallenge());
    expect(
      await failure(
        verify(db, {
          humanId: ada.human?.id as string,
          expectedChallenge: approvalChallenge(),
          response: signed,
        }),
      ),
    ).toEqual({
      code: "ERR_WEBAUTHN_FAILED",
      reason: "challenge_mismatch",
    });
  });

  const defects: { name: string; overrides: AssertOverrides; reason: string }[] = [
    { name: "user not verified", overrides: { userVerified: false }, reason: "user_not_verified" },
    { name: "wrong RP ID", overrides: { rpId: "evil.example" }, reason: "rp_id_mismatch" },
    {
      name: "wrong origin",
      overrides: { origin: "https://evil.example" },
      reason: "origin_mismatch",
    },
    { name: "counter going backwards", overrides: { counter: 0 }, reason: "counter_not_increased" },
  ];
  for (const { name, overrides, reason } of defects) {
    it(`refuses a ${name}`, async () => {
      const { db, ada } = await twoHumans();
      await ada.signIn({ counter: 3 });
      const verify = createPasskeyAssertionVerifier({
        rpId: "localhost",
        origin: "http://localhost:4000",
      });
      const challenge = approvalChallenge();
      const response = await assertion(ada, challenge, overrides);
      expect(
        await failure(
          verify(db, { humanId: ada.human?.id as string, expectedChallenge: challenge, response }),
        ),
      ).toEqual({
        code: "ERR_WEBAUTHN_FAILED",
        reason,
      });
    });
  }

  it("lets only one of two concurrent uses of the same counter win (compare-and-set)", async () => {
    const { db, ada } = await twoHumans();
    const verify = createPasskeyAssertionVerifier({
      rpId: "localhost",
      origin: "http://localhost:4000",
    });
    const humanId = ada.human?.id as string;
    const first = approvalChallenge();
    const second = approvalChallenge();
    // A cloned authenticator: both copies sign with counter 1.
    const original = await assertion(ada, first, { counter: 1 });
    const clone = await assertion(ada, second, { counter: 1 });
    const results = await Promise.allSettled([
      db
        .transaction()
        .execute((trx) => verify(trx, { humanId, expectedChallenge: first, response: original })),
      db
        .transaction()
        .execute((trx) => verify(trx, { humanId, expectedChallenge: second, response: clone })),
    ]);
    expect(results.map((result) => result.status).sort()).toEqual(["fulfilled", "rejected"]);
    const rejected = results.find(
      (result) => result.status === "rejected",
    ) as PromiseRejectedResult;
    expect(["counter_conflict", "counter_not_increased"]).toContain(
      (rejected.reason as RegistryError).details?.reason,
    );
  });

  it("refuses a malformed response with response_malformed", async () => {
    const { db, ada } = await twoHumans();
    const verify = createPasskeyAssertionVerifier({
      rpId: "localhost",
      origin: "http://localhost:4000",
    });
    for (const response of [
      undefined,
      null,
      "x",
      { id: 1 },
      { id: "a", rawId: "a", type: "public-key", response: {} },
    ]) {
      expect(
        await failure(
          verify(db, { humanId: ada.human?.id as string, expectedChallenge: "AAAA", response }),
        ),
      ).toEqual({
        code: "ERR_WEBAUTHN_FAILED",
        reason: "response_malformed",
      });
    }
  });
});
