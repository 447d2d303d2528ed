import { randomBytes } from "node:crypto";
import { decodeBase64Url, encodeBase64Url } from "@agentauth/core";
import type { FixedWindowLimiter } from "@agentauth/state";
import { generateAuthenticationOptions, generateRegistrationOptions } from "@simplewebauthn/server";
import { Router } from "express";
import type { Kysely } from "kysely";
import { z } from "zod";
import type { Clock } from "../clock.js";
import type { Database } from "../db/database.js";
import { RegistryError } from "../errors.js";
import { jsonBody, parseInput } from "../http/body.js";
import { rateLimit } from "../http/rate-limit.js";
import { enrolHuman } from "../humans/enrol-human.js";
import type { HumanSessions } from "../humans/human-authentication.js";
import { insertPasskey } from "../humans/insert-passkey.js";
import { findInvitation } from "../humans/invitations.js";
import { noStore } from "../humans/no-store.js";
import { presentHuman } from "../humans/present-human.js";
import { setSessionCookie, startSession } from "../humans/sessions.js";
import {
  assertRelyingParty,
  CHALLENGE_TTL_MS,
  type RelyingParty,
  SUPPORTED_ALGORITHM_IDS,
} from "./relying-party.js";
import { verifyStoredPasskeyAssertion } from "./verify-passkey-assertion.js";
import { verifyPasskeyRegistration } from "./verify-passkey-registration.js";
import { consumeWebauthnChallenge, issueWebauthnChallenge } from "./webauthn-challenges.js";
import { webauthnFailed } from "./webauthn-failure.js";

export interface WebauthnRoutesDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly rp: RelyingParty;
  readonly humans: HumanSessions;
  /** Counts requests to the options endpoints per client IP, shared across replicas. */
  readonly limiter: FixedWindowLimiter;
  /** Per client IP and options endpoint; default 20 a minute. */
  readonly optionsRateLimit?: { readonly limit: number; readonly windowSeconds: number };
}

/** A person's name as shown to others: trimmed, 1–100 characters, no control characters. */
const displayName = z
  .string()
  .trim()
  .min(1, "must not be empty")
  .max(100, "must be at most 100 characters")
  .regex(/^[^\p{Cc}]*$/u, "must not contain control characters");

const passkeyName = displayName;

const registrationOptionsBody = z.strictObject({
  /** The one-time token from an enrolment link; absent when a signed-in human adds a passkey. */
  invitation: z.string().min(1).max(200).optional(),
  display_name: displayName.optional(),
});

const registrationVerifyBody = z.strictObject({
  challenge_id: z.string().min(1).max(100),
  response: z.record(z.string(), z.unknown()),
  passkey_name: passkeyName.optional(),
});

const authenticationVerifyBody = z.strictObject({
  challenge_id: z.string().min(1).max(100),
  response: z.record(z.string(), z.unknown()),
});

// What a registration challenge was issued for; written by us, read back from our own table.
const registrationContext = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("enrol"),
    invitation_hash: z.string(),
    display_name: z.string(),
    webauthn_user_id: z.string(),
  }),
  z.object({ kind: z.literal("add_passkey"), webauthn_user_id: z.string() }),
]);

const DEFAULT_PASSKEY_NAME = "Passkey";

/**
 * Passkey ceremonies (WebAuthn L3 with `@simplewebauthn/server`): enrolment from an invitation,
 * adding a passkey to a signed-in human, and username-less sign-in. User verification and
 * discoverable credentials are required, attestation is not requested, challenges are single-use
 * and live five minutes, options endpoints are rate-limited per client IP.
 */
export function createWebauthnRouter(deps: WebauthnRoutesDeps): Router {
  const rp = assertRelyingParty(deps.rp);
  if (rp.origin !== deps.humans.origin) {
    throw new TypeError("The WebAuthn origin and the session origin must be the same");
  }
  const router = Router();
  const { checkOrigin } = deps.humans;
  router.use("/api/webauthn", noStore);
  const limit = deps.optionsRateLimit ?? { limit: 20, windowSeconds: 60 };
  const limitRegistration = rateLimit(deps.limiter, {
    name: "webauthn-registration-options",
    ...limit,
    clock: deps.clock,
  });
  const limitAuthentication = rateLimit(deps.limiter, {
    name: "webauthn-authentication-options",
    ...limit,
    clock: deps.clock,
  });

  router.post(
    "/api/webauthn/registration/options",
    // Origin first: a cross-site page cannot spend its visitor's allowance.
    checkOrigin,
    limitRegistration,
    jsonBody,
    async (req, res) => {
      const body = parseInput(registrationOptionsBody, req.body);
      const now = deps.clock.now();

      if (body.invitation !== undefined) {
        // Checked now, consumed only when the ceremony completes.
        const invitation = await findInvitation(deps.db, body.invitation, now);
        const name = body.display_name ?? invitation.displayName;
        if (name === null) {
          throw new RegistryError("ERR_VALIDATION", "display_name: is required", {
            details: { issues: [{ path: "display_name", message: "is required" }] },
          });
        }
        const userId = Uint8Array.from(randomBytes(32));
        const issued = await issueWebauthnChallenge(deps.db, {
          purpose: "registration",
          context: {
            kind: "enrol",
            invitation_hash: invitation.tokenHash,
            display_name: name,
            webauthn_user_id: encodeBase64Url(userId),
          },
          now,
        });
        const options = await registrationOptions(rp, {
          userId,
          name,
          challenge: issued.bytes,
          exclude: [],
        });
        res.json({ challenge_id: issued.id, options });
        return;
      }

      const session = await deps.humans.currentSession(req);
      if (session === undefined) {
        throw new RegistryError(
          "ERR_UNAUTHENTICATED",
          "Sign in to add a passkey, or enrol with an invitation link",
        );
      }
      const human = await deps.db
        .selectFrom("humans")
        .select(["webauthn_user_id", "display_name"])
        .where("id", "=", session.human.id)
        .executeTakeFirstOrThrow();
      const userId = decodeBase64Url(human.webauthn_user_id);
      if (userId === undefined)
        throw new Error(`Stored WebAuthn user handle of ${session.human.id} is not base64url`);
      const existing = await deps.db
        .selectFrom("passkeys")
        .select(["credential_id", "transports"])
        .where("human_id", "=", session.human.id)
        .execute();
      const issued = await issueWebauthnChallenge(deps.db, {
        purpose: "registration",
        humanId: session.human.id,
        context: { kind: "add_passkey", webauthn_user_id: human.webauthn_user_id },
        now,
      });
      const options = await registrationOptions(rp, {
        userId,
        name: human.display_name,
        challenge: issued.bytes,
        exclude: existing.map((passkey) => ({
          id: passkey.credential_id,
          transports: passkey.transports,
        })),
      });
      res.json({ challenge_id: issued.id, options });
    },
  );

  router.post("/api/webauthn/registration/verify", checkOrigin, jsonBody, async (req, res) => {
    const body = parseInput(registrationVerifyBody, req.body);
    const now = deps.clock.now();
    // Consumed before anything can fail, outside the transaction below: a challenge is burnt
    // by any answer, right or wrong.
    const challenge = await consumeWebauthnChallenge(deps.db, {
      id: body.challenge_id,
      purpose: "registration",
      now,
    });
    const parsedContext = registrationContext.safeParse(challenge.context);
    if (!parsedContext.success)
      throw webauthnFailed("challenge_invalid", "The challenge was not issued for a registration");
    const context = parsedContext.data;

    if (context.kind === "add_passkey") {
      const session = await deps.humans.currentSession(req);
      if (session === undefined)
        throw new RegistryError("ERR_UNAUTHENTICATED", "Sign in with a passkey first");
      if (session.human.id !== challenge.humanId) {
        throw webauthnFailed("challenge_invalid", "The challenge was issued to someone else");
      }
      const passkey = await verifyPasskeyRegistration({
        response: body.response,
        expectedChallenge: challenge.challenge,
        rp,
      });
      const name = body.passkey_name ?? DEFAULT_PASSKEY_NAME;
      await deps.db.transaction().execute(async (trx) => {
        await insertPasskey(trx, { humanId: session.human.id, passkey, name, now });
      });
      res.status(201).json({ passkey: { credential_id: passkey.credentialId, name } });
      return;
    }

    const passkey = await verifyPasskeyRegistration({
      response: body.response,
      expectedChallenge: challenge.challenge,
      rp,
    });
    const name = body.passkey_name ?? DEFAULT_PASSKEY_NAME;
    const { human, session } = await deps.db.transaction().execute(async (trx) => {
      const enrolled = await enrolHuman(trx, {
        invitationHash: context.invitation_hash,
        displayName: context.display_name,
        webauthnUserId: context.webauthn_user_id,
        passkey,
        passkeyName: name,
        now,
      });
      return {
        human: enrolled,
        session: await startSession(trx, { humanId: enrolled.id, via: "enrolment", now }),
      };
    });
    setSessionCookie(res, session, { secure: deps.humans.secureCookies, now });
    res
      .status(201)
      .json({ human: presentHuman(human), passkey: { credential_id: passkey.credentialId, name } });
  });

  router.post(
    "/api/webauthn/authentication/options",
    // Origin first: a cross-site page cannot spend its visitor's allowance.
    checkOrigin,
    limitAuthentication,
    jsonBody,
    async (req, res) => {
      parseInput(z.strictObject({}), req.body);
      const now = deps.clock.now();
      const issued = await issueWebauthnChallenge(deps.db, {
        purpose: "authentication",
        context: {},
        now,
      });
      // No allowCredentials: the authenticator offers its discoverable passkeys for this RP.
      const options = await generateAuthenticationOptions({
        rpID: rp.id,
        challenge: new Uint8Array(issued.bytes),
        timeout: CHALLENGE_TTL_MS,
        userVerification: "required",
      });
      res.json({ challenge_id: issued.id, options });
    },
  );

  router.post("/api/webauthn/authentication/verify", checkOrigin, jsonBody, async (req, res) => {
    const body = parseInput(authenticationVerifyBody, req.body);
    const now = deps.clock.now();
    const challenge = await consumeWebauthnChallenge(deps.db, {
      id: body.challenge_id,
      purpose: "authentication",
      now,
    });
    const { human, session } = await deps.db.transaction().execute(async (trx) => {
      const assertion = await verifyStoredPasskeyAssertion(trx, {
        humanId: undefined,
        expectedChallenge: challenge.challenge,
        response: body.response,
        rpId: rp.id,
        origin: rp.origin,
        now,
      });
      const row = await trx
        .selectFrom("humans")
        .select(["id", "display_name", "is_admin"])
        .where("id", "=", assertion.humanId)
        .executeTakeFirstOrThrow();
      return {
        human: row,
        session: await startSession(trx, { humanId: row.id, via: "sign_in", now }),
      };
    });
    setSessionCookie(res, session, { secure: deps.humans.secureCookies, now });
    res.json({ human: presentHuman(human) });
  });

  return router;
}

function registrationOptions(
  rp: RelyingParty,
  options: {
    userId: Uint8Array;
    name: string;
    challenge: Uint8Array;
    exclude: { id: string; transports: string[] }[];
  },
) {
  return generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    userID: new Uint8Array(options.userId),
    userName: options.name,
    userDisplayName: options.name,
    challenge: new Uint8Array(options.challenge),
    timeout: CHALLENGE_TTL_MS,
    attestationType: "none",
    excludeCredentials: options.exclude,
    authenticatorSelection: {
      residentKey: "required",
      requireResidentKey: true,
      userVerification: "required",
    },
    supportedAlgorithmIDs: [...SUPPORTED_ALGORITHM_IDS],
  });
}
