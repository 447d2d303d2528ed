import { decodeBase64Url, encodeBase64Url } from "@agentauth/core";
import { verifyRegistrationResponse } from "@simplewebauthn/server";
import {
  cose,
  decodeAttestationObject,
  decodeCredentialPublicKey,
} from "@simplewebauthn/server/helpers";
import { checkAuthenticatorData, checkClientData } from "./ceremony-checks.js";
import { type RelyingParty, SUPPORTED_ALGORITHM_IDS } from "./relying-party.js";
import { webauthnFailed } from "./webauthn-failure.js";
import { parseRegistrationResponse } from "./webauthn-response-schema.js";

export interface VerifyPasskeyRegistrationOptions {
  /** The untrusted `PublicKeyCredential.toJSON()` of `navigator.credentials.create()`. */
  readonly response: unknown;
  /** The challenge that was sent (base64url), already consumed by the caller. */
  readonly expectedChallenge: string;
  readonly rp: Pick<RelyingParty, "id" | "origin">;
}

/** A new passkey, ready to store. */
export interface VerifyPasskeyRegistrationResult {
  /** base64url */
  readonly credentialId: string;
  /** COSE_Key */
  readonly publicKey: Uint8Array;
  readonly algorithm: number;
  readonly counter: number;
  readonly transports: readonly string[];
  readonly deviceType: "singleDevice" | "multiDevice";
  readonly backedUp: boolean;
}

/**
 * Verifies a passkey registration (WebAuthn L3 §7.1): client data, RP ID, user presence and
 * verification, an allowed algorithm, a discoverable credential, then the attestation with
 * `@simplewebauthn/server`. Throws `ERR_WEBAUTHN_FAILED` with a stable `reason`.
 */
export async function verifyPasskeyRegistration(
  options: VerifyPasskeyRegistrationOptions,
): Promise<VerifyPasskeyRegistrationResult> {
  const { json, residentKey } = parseRegistrationResponse(options.response);
  checkClientData(json.response.clientDataJSON, {
    type: "webauthn.create",
    challenge: options.expectedChallenge,
    origin: options.rp.origin,
  });
  const authenticatorData = readAuthenticatorData(json.response.attestationObject);
  const parsed = checkAuthenticatorData(authenticatorData, options.rp.id);
  if (
    !parsed.flags.at ||
    parsed.credentialID === undefined ||
    parsed.credentialPublicKey === undefined
  ) {
    throw webauthnFailed(
      "response_malformed",
      "The authenticator data carries no attested credential",
    );
  }
  if (encodeBase64Url(parsed.credentialID) !== json.id || json.id !== json.rawId) {
    throw webauthnFailed(
      "response_malformed",
      "The credential id differs from the one in the authenticator data",
    );
  }
  const algorithm = readAlgorithm(parsed.credentialPublicKey);
  if (!SUPPORTED_ALGORITHM_IDS.includes(algorithm)) {
    throw webauthnFailed(
      "algorithm_not_allowed",
      `COSE algorithm ${algorithm} is not accepted (ES256 or EdDSA)`,
    );
  }
  // Sign-in is username-less, so a credential the client says is not discoverable is useless.
  if (residentKey === false) {
    throw webauthnFailed(
      "credential_not_discoverable",
      "The passkey must be discoverable (a resident key)",
    );
  }

  let verification: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
  try {
    verification = await verifyRegistrationResponse({
      response: json,
      expectedChallenge: options.expectedChallenge,
      expectedOrigin: options.rp.origin,
      expectedRPID: options.rp.id,
      expectedType: "webauthn.create",
      requireUserPresence: true,
      requireUserVerification: true,
      supportedAlgorithmIDs: [...SUPPORTED_ALGORITHM_IDS],
    });
  } catch (cause) {
    throw webauthnFailed(
      "verification_failed",
      "The passkey registration could not be verified",
      cause,
    );
  }
  if (!verification.verified) {
    throw webauthnFailed("signature_invalid", "The attestation statement does not verify");
  }
  const info = verification.registrationInfo;
  return {
    credentialId: info.credential.id,
    publicKey: Uint8Array.from(info.credential.publicKey),
    algorithm,
    counter: info.credential.counter,
    transports: json.response.transports ?? [],
    deviceType: info.credentialDeviceType,
    backedUp: info.credentialBackedUp,
  };
}

function readAuthenticatorData(attestationObject: string): Uint8Array {
  const bytes = decodeBase64Url(attestationObject);
  if (bytes === undefined)
    throw webauthnFailed("response_malformed", "attestationObject is not base64url");
  try {
    const authData = decodeAttestationObject(new Uint8Array(bytes)).get("authData");
    if (authData instanceof Uint8Array) return authData;
  } catch (cause) {
    throw webauthnFailed("response_malformed", "attestationObject is not valid CBOR", cause);
  }
  throw webauthnFailed("response_malformed", "attestationObject carries no authenticator data");
}

function readAlgorithm(cosePublicKey: Uint8Array): number {
  let algorithm: unknown;
  try {
    algorithm = decodeCredentialPublicKey(new Uint8Array(cosePublicKey)).get(cose.COSEKEYS.alg);
  } catch (cause) {
    throw webauthnFailed(
      "response_malformed",
      "The credential public key is not a COSE key",
      cause,
    );
  }
  if (typeof algorithm !== "number") {
    throw webauthnFailed("response_malformed", "The credential public key names no algorithm");
  }
  return algorithm;
}
