import { decodeBase64Url } from "@agentauth/core";
import { verifyAuthenticationResponse } from "@simplewebauthn/server";
import { sql } from "kysely";
import type { Db } from "../db/database.js";
import { checkAuthenticatorData, checkClientData } from "./ceremony-checks.js";
import { webauthnFailed } from "./webauthn-failure.js";
import { parseAuthenticationResponse } from "./webauthn-response-schema.js";

export interface VerifyPasskeyAssertionOptions {
  /** The human who must own the passkey. */
  readonly humanId: string;
  /** The challenge that was sent (base64url). */
  readonly expectedChallenge: string;
  /** The untrusted `PublicKeyCredential.toJSON()` of `navigator.credentials.get()`. */
  readonly response: unknown;
  readonly rpId: string;
  readonly origin: string;
  /** Recorded as the passkey's last use; the database's clock when omitted. */
  readonly now?: Date;
}

/** A verified assertion: what a receipt needs to be re-verified later by anyone. */
export interface VerifyPasskeyAssertionResult {
  /** base64url */
  readonly credentialId: string;
  /** The passkey's COSE_Key, as registered. */
  readonly publicKey: Uint8Array;
  /** base64url, exactly as received. */
  readonly authenticatorData: string;
  /** base64url, exactly as received. */
  readonly clientDataJSON: string;
  /** base64url, exactly as received. */
  readonly signature: string;
}

export interface VerifyStoredPasskeyAssertionOptions
  extends Omit<VerifyPasskeyAssertionOptions, "humanId"> {
  /** The human who must own the passkey; `undefined` for discoverable sign-in (anyone's). */
  readonly humanId: string | undefined;
}

export interface VerifyStoredPasskeyAssertionResult extends VerifyPasskeyAssertionResult {
  readonly humanId: string;
}

/**
 * Verifies a passkey assertion by `humanId` over `expectedChallenge` (WebAuthn L3 §7.2): client
 * data, RP ID, user presence and verification, a registered passkey of that (enabled) human,
 * the signature, and a signature counter that moves forward, stored with compare-and-set. Run it
 * in the caller's transaction: the counter update commits or rolls back with the caller's change.
 * Throws `ERR_WEBAUTHN_FAILED` with a stable `reason`.
 *
 * @example
 * const receipt = await verifyPasskeyAssertion(trx, {
 *   humanId, expectedChallenge, response: body.response, rpId: "agentauth.example",
 *   origin: "https://agentauth.example",
 * });
 */
export async function verifyPasskeyAssertion(
  db: Db,
  options: VerifyPasskeyAssertionOptions,
): Promise<VerifyPasskeyAssertionResult> {
  const { humanId: _owner, ...receipt } = await verifyStoredPasskeyAssertion(db, options);
  return receipt;
}

/**
 * {@link verifyPasskeyAssertion} with the relying party bound, for areas that should not know
 * it (the approval flow).
 */
export function createPasskeyAssertionVerifier(rp: {
  readonly rpId: string;
  readonly origin: string;
}): (
  db: Db,
  input: Omit<VerifyPasskeyAssertionOptions, "rpId" | "origin">,
) => Promise<VerifyPasskeyAssertionResult> {
  return (db, input) => verifyPasskeyAssertion(db, { ...input, rpId: rp.rpId, origin: rp.origin });
}

/** The assertion check behind sign-in (any human) and approvals (one human). */
export async function verifyStoredPasskeyAssertion(
  db: Db,
  options: VerifyStoredPasskeyAssertionOptions,
): Promise<VerifyStoredPasskeyAssertionResult> {
  const response = parseAuthenticationResponse(options.response);
  checkClientData(response.response.clientDataJSON, {
    type: "webauthn.get",
    challenge: options.expectedChallenge,
    origin: options.origin,
  });
  const authenticatorData = decodeBase64Url(response.response.authenticatorData);
  if (authenticatorData === undefined) {
    throw webauthnFailed("response_malformed", "authenticatorData is not base64url");
  }
  const parsed = checkAuthenticatorData(authenticatorData, options.rpId);

  const passkey = await db
    .selectFrom("passkeys as p")
    .innerJoin("humans as h", "h.id", "p.human_id")
    .select([
      "p.credential_id",
      "p.public_key",
      "p.counter",
      "p.transports",
      "p.human_id",
      "h.webauthn_user_id",
      "h.disabled_at",
    ])
    .where("p.credential_id", "=", response.id)
    .executeTakeFirst();
  if (passkey === undefined) {
    throw webauthnFailed("credential_unknown", "This passkey is not registered here");
  }
  if (options.humanId !== undefined && passkey.human_id !== options.humanId) {
    throw webauthnFailed("credential_not_owned", "This passkey belongs to someone else");
  }
  if (passkey.disabled_at !== null) {
    throw webauthnFailed("human_disabled", "The passkey's owner has been disabled");
  }
  const userHandle = response.response.userHandle;
  if (userHandle !== undefined && userHandle !== passkey.webauthn_user_id) {
    throw webauthnFailed(
      "user_handle_mismatch",
      "The passkey's user handle does not match its owner",
    );
  }

  // Authenticators that never count report 0 each time, which is allowed (WebAuthn L3 §6.1.1);
  // otherwise a counter that does not move forward means a cloned authenticator.
  const storedCounter = Number(passkey.counter);
  const counter = parsed.counter;
  if ((counter > 0 || storedCounter > 0) && counter <= storedCounter) {
    throw webauthnFailed(
      "counter_not_increased",
      `The signature counter went from ${storedCounter} to ${counter}: possibly a cloned authenticator`,
    );
  }

  const publicKey = Uint8Array.from(passkey.public_key);
  let verified: boolean;
  try {
    const verification = await verifyAuthenticationResponse({
      response,
      expectedChallenge: options.expectedChallenge,
      expectedOrigin: options.origin,
      expectedRPID: options.rpId,
      expectedType: "webauthn.get",
      credential: {
        id: passkey.credential_id,
        publicKey,
        counter: storedCounter,
        transports: passkey.transports,
      },
      requireUserVerification: true,
    });
    verified = verification.verified;
  } catch (cause) {
    throw webauthnFailed(
      "verification_failed",
      "The passkey assertion could not be verified",
      cause,
    );
  }
  if (!verified) {
    throw webauthnFailed("signature_invalid", "The passkey signature does not verify");
  }

  // Compare-and-set: of two concurrent uses carrying the same counter, only one may win.
  const updated = await db
    .updateTable("passkeys")
    .set({ counter, last_used_at: options.now ?? sql<Date>`now()` })
    .where("credential_id", "=", passkey.credential_id)
    .where("counter", "=", passkey.counter)
    .executeTakeFirst();
  if (updated.numUpdatedRows !== 1n) {
    throw webauthnFailed("counter_conflict", "The passkey was used concurrently: try again");
  }

  return {
    humanId: passkey.human_id,
    credentialId: passkey.credential_id,
    publicKey,
    authenticatorData: response.response.authenticatorData,
    clientDataJSON: response.response.clientDataJSON,
    signature: response.response.signature,
  };
}
