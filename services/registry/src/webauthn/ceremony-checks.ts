import { createHash } from "node:crypto";
import { constantTimeEqual, decodeBase64Url, decodeUtf8 } from "@agentauth/core";
import {
  type ParsedAuthenticatorData,
  parseAuthenticatorData,
} from "@simplewebauthn/server/helpers";
import { webauthnFailed } from "./webauthn-failure.js";

// These checks run before @simplewebauthn/server verifies the whole response again. They exist
// so that each defect fails with its own stable reason (a wrong origin can never pass for a
// wrong RP ID), which clients, logs and tests can rely on.

export interface ExpectedClientData {
  readonly type: "webauthn.create" | "webauthn.get";
  /** base64url, exactly as sent in the options. */
  readonly challenge: string;
  readonly origin: string;
}

/** Decodes `clientDataJSON` (base64url) and checks type, challenge and origin (WebAuthn L3 §7.1, §7.2). */
export function checkClientData(clientDataJSON: string, expected: ExpectedClientData): void {
  const bytes = decodeBase64Url(clientDataJSON);
  const text = bytes === undefined ? undefined : decodeUtf8(bytes);
  let data: unknown;
  try {
    data = text === undefined ? undefined : JSON.parse(text);
  } catch {
    data = undefined;
  }
  if (typeof data !== "object" || data === null) {
    throw webauthnFailed(
      "response_malformed",
      "clientDataJSON is not base64url-encoded UTF-8 JSON",
    );
  }
  const { type, challenge, origin, crossOrigin, topOrigin } = data as Record<string, unknown>;
  if (typeof type !== "string" || typeof challenge !== "string" || typeof origin !== "string") {
    throw webauthnFailed("response_malformed", "clientDataJSON lacks type, challenge or origin");
  }
  if (type !== expected.type) {
    throw webauthnFailed(
      "type_mismatch",
      `clientDataJSON.type is "${type}", expected "${expected.type}"`,
    );
  }
  if (!constantTimeEqual(challenge, expected.challenge)) {
    throw webauthnFailed("challenge_mismatch", "The response answers a different challenge");
  }
  if (origin !== expected.origin) {
    throw webauthnFailed(
      "origin_mismatch",
      `The ceremony ran on origin "${origin}", not on "${expected.origin}"`,
    );
  }
  // We are never embedded in another site's frame: a cross-origin ceremony is refused.
  if (crossOrigin === true || topOrigin !== undefined) {
    throw webauthnFailed(
      "cross_origin",
      "Passkey ceremonies inside a cross-origin frame are refused",
    );
  }
}

/**
 * Parses authenticator data and checks the RP ID hash and the UP and UV flags (user
 * verification is always required here).
 */
export function checkAuthenticatorData(
  authenticatorData: Uint8Array,
  rpId: string,
): ParsedAuthenticatorData {
  let parsed: ParsedAuthenticatorData;
  try {
    parsed = parseAuthenticatorData(new Uint8Array(authenticatorData));
  } catch (cause) {
    throw webauthnFailed("response_malformed", "The authenticator data cannot be parsed", cause);
  }
  const expectedHash = createHash("sha256").update(rpId, "utf8").digest();
  if (!expectedHash.equals(parsed.rpIdHash)) {
    throw webauthnFailed("rp_id_mismatch", `The passkey is scoped to another RP ID than "${rpId}"`);
  }
  if (!parsed.flags.up) {
    throw webauthnFailed("user_not_present", "The authenticator did not confirm user presence");
  }
  if (!parsed.flags.uv) {
    throw webauthnFailed(
      "user_not_verified",
      "The authenticator did not verify the user (PIN or biometrics required)",
    );
  }
  return parsed;
}
