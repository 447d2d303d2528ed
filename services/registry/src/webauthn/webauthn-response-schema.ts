import type { AuthenticationResponseJSON, RegistrationResponseJSON } from "@simplewebauthn/server";
import { z } from "zod";
import { webauthnFailed } from "./webauthn-failure.js";

// Bounds keep hostile input cheap to refuse; real values are far smaller (a credential id is at
// most 1023 bytes by WebAuthn L3 §5.8.3).
const base64url = (maxLength: number) =>
  z
    .string()
    .min(1)
    .max(maxLength)
    .regex(/^[A-Za-z0-9_-]+$/, "must be unpadded base64url");

const credentialId = base64url(1366);
const clientDataJSON = base64url(8192);

const KNOWN_TRANSPORTS = new Set<string>([
  "ble",
  "cable",
  "hybrid",
  "internal",
  "nfc",
  "smart-card",
  "usb",
]);

const clientExtensionResults = z
  .object({
    credProps: z.object({ rk: z.boolean().optional() }).optional(),
  })
  .optional();

const registrationSchema = z.object({
  id: credentialId,
  rawId: credentialId,
  type: z.literal("public-key"),
  response: z.object({
    clientDataJSON,
    attestationObject: base64url(32_768),
    transports: z.array(z.string().max(32)).max(16).optional(),
  }),
  authenticatorAttachment: z.enum(["platform", "cross-platform"]).optional(),
  clientExtensionResults,
});

const authenticationSchema = z.object({
  id: credentialId,
  rawId: credentialId,
  type: z.literal("public-key"),
  response: z.object({
    clientDataJSON,
    authenticatorData: base64url(16_384),
    signature: base64url(1024),
    userHandle: base64url(128).nullish(),
  }),
  authenticatorAttachment: z.enum(["platform", "cross-platform"]).optional(),
  clientExtensionResults: z.record(z.string(), z.unknown()).optional(),
});

/** A registration response (`PublicKeyCredential.toJSON()` of `create()`), checked in shape. */
export interface ParsedRegistrationResponse {
  readonly json: RegistrationResponseJSON;
  /** `credProps.rk` as the client reported it; `undefined` when it did not say. */
  readonly residentKey: boolean | undefined;
}

/** Checks the shape of an untrusted registration response; throws `response_malformed`. */
export function parseRegistrationResponse(input: unknown): ParsedRegistrationResponse {
  const parsed = parseOrFail(registrationSchema, input, "registration");
  const transports = (parsed.response.transports ?? []).filter((transport) =>
    KNOWN_TRANSPORTS.has(transport),
  );
  return {
    json: {
      id: parsed.id,
      rawId: parsed.rawId,
      type: parsed.type,
      response: {
        clientDataJSON: parsed.response.clientDataJSON,
        attestationObject: parsed.response.attestationObject,
        transports,
      },
      ...(parsed.authenticatorAttachment === undefined
        ? {}
        : { authenticatorAttachment: parsed.authenticatorAttachment }),
      clientExtensionResults: {},
    },
    residentKey: parsed.clientExtensionResults?.credProps?.rk,
  };
}

/** Checks the shape of an untrusted assertion (`toJSON()` of `get()`); throws `response_malformed`. */
export function parseAuthenticationResponse(input: unknown): AuthenticationResponseJSON {
  const parsed = parseOrFail(authenticationSchema, input, "authentication");
  return {
    id: parsed.id,
    rawId: parsed.rawId,
    type: parsed.type,
    response: {
      clientDataJSON: parsed.response.clientDataJSON,
      authenticatorData: parsed.response.authenticatorData,
      signature: parsed.response.signature,
      ...(parsed.response.userHandle == null ? {} : { userHandle: parsed.response.userHandle }),
    },
    ...(parsed.authenticatorAttachment === undefined
      ? {}
      : { authenticatorAttachment: parsed.authenticatorAttachment }),
    clientExtensionResults: {},
  };
}

function parseOrFail<Schema extends z.ZodType>(
  schema: Schema,
  input: unknown,
  ceremony: string,
): z.output<Schema> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const summary = result.error.issues
    .map(
      (issue) =>
        `${issue.path.length === 0 ? "response" : `response.${issue.path.join(".")}`}: ${issue.message}`,
    )
    .join("; ");
  throw webauthnFailed("response_malformed", `The ${ceremony} response is malformed: ${summary}`);
}
