import type {
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
} from "@simplewebauthn/browser";
import {
  browserSupportsWebAuthn,
  browserSupportsWebAuthnAutofill,
  startAuthentication,
  startRegistration,
  WebAuthnAbortService,
  WebAuthnError,
} from "@simplewebauthn/browser";
import { isApiError } from "../api/api-error.js";
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from "../api/types.js";

/** Thrown when the browser's passkey ceremony did not produce a credential. */
export class PasskeyCeremonyError extends Error {
  override readonly name = "PasskeyCeremonyError";
  /** `cancelled` covers a closed prompt, a timeout and a failed user verification. */
  readonly kind: "unsupported" | "cancelled" | "already-registered" | "failed";
  constructor(kind: PasskeyCeremonyError["kind"], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
  }
}

export function passkeysSupported(): boolean {
  return browserSupportsWebAuthn();
}

export function passkeyAutofillSupported(): Promise<boolean> {
  return browserSupportsWebAuthnAutofill();
}

/** Creates a passkey with the browser (WebAuthn `create`). */
export async function createPasskey(
  options: PublicKeyCredentialCreationOptionsJSON,
): Promise<RegistrationResponseJSON> {
  assertSupported();
  try {
    return await startRegistration({ optionsJSON: options });
  } catch (error) {
    throw toCeremonyError(error, "create");
  }
}

/** Signs a challenge with a passkey (WebAuthn `get`); `autofill` waits on conditional UI. */
export async function signWithPasskey(
  options: PublicKeyCredentialRequestOptionsJSON,
  { autofill = false }: { autofill?: boolean } = {},
): Promise<AuthenticationResponseJSON> {
  assertSupported();
  try {
    return await startAuthentication({ optionsJSON: options, useBrowserAutofill: autofill });
  } catch (error) {
    throw toCeremonyError(error, "get");
  }
}

/** Ends a pending conditional-UI request (leaving the sign-in page). */
export function cancelPendingPasskeyRequest(): void {
  WebAuthnAbortService.cancelCeremony();
}

function assertSupported(): void {
  if (!browserSupportsWebAuthn()) {
    throw new PasskeyCeremonyError(
      "unsupported",
      "This browser cannot use passkeys. Use an up-to-date Chrome, Edge, Firefox or Safari, on a device with a screen lock or a security key.",
    );
  }
}

function toCeremonyError(error: unknown, ceremony: "create" | "get"): PasskeyCeremonyError {
  if (error instanceof PasskeyCeremonyError) return error;
  const name = error instanceof Error ? error.name : "";
  const code = error instanceof WebAuthnError ? error.code : undefined;
  if (code === "ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED" || name === "InvalidStateError") {
    return new PasskeyCeremonyError(
      "already-registered",
      "This device already holds a passkey for your account.",
      { cause: error },
    );
  }
  if (code === "ERROR_CEREMONY_ABORTED" || name === "AbortError" || name === "NotAllowedError") {
    return new PasskeyCeremonyError(
      "cancelled",
      ceremony === "create"
        ? "No passkey was created: the prompt was cancelled, timed out, or your device could not verify you."
        : "The passkey prompt was cancelled, timed out, or your device could not verify you.",
      { cause: error },
    );
  }
  if (
    code === "ERROR_INVALID_DOMAIN" ||
    code === "ERROR_INVALID_RP_ID" ||
    name === "SecurityError"
  ) {
    return new PasskeyCeremonyError(
      "failed",
      "Passkeys only work on the registry's own address over HTTPS (or on localhost).",
      { cause: error },
    );
  }
  return new PasskeyCeremonyError(
    "failed",
    `Your passkey could not be used${error instanceof Error && error.message ? `: ${error.message}` : "."}`,
    { cause: error },
  );
}

/** A message for anything a passkey flow can throw: ceremony errors and registry problems. */
export function describePasskeyFailure(error: unknown): string {
  if (error instanceof PasskeyCeremonyError) return error.message;
  if (isApiError(error, "ERR_WEBAUTHN_FAILED")) {
    return `The registry did not accept the passkey: ${error.message}`;
  }
  if (isApiError(error)) return error.message;
  return error instanceof Error ? error.message : "The passkey could not be used.";
}
