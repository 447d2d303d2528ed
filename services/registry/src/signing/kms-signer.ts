import { createHash, createPublicKey, type KeyObject } from "node:crypto";
import { derToJoseSignature } from "@agentauth/core";
import {
  DescribeKeyCommand,
  GetPublicKeyCommand,
  type KMSClient,
  SignCommand,
} from "@aws-sdk/client-kms";
import type { RegistryError } from "../errors.js";
import type { JwkSigner } from "./jwk-signer.js";
import { describeP256PublicKey, isP256Key } from "./p256-public-key.js";
import { type SigningFailureReason, signingError } from "./signing-error.js";

type KmsFailureReason = Extract<SigningFailureReason, `KMS_${string}`>;

/** The production token signer: an `ECC_NIST_P256` key that never leaves AWS KMS. */
export interface KmsSigner extends JwkSigner {
  /** The key's ARN, resolved once from the configured id, ARN or alias; every call uses it. */
  readonly keyArn: string;
}

/**
 * Checks that `keyId` (a key id, key ARN, alias name or alias ARN) names an enabled
 * `ECC_NIST_P256` / `SIGN_VERIFY` key, fetches its public key, and returns a signer for it.
 *
 * The alias is resolved once: a later re-pointing of the alias cannot make this signer sign with
 * a key whose `kid` it does not publish. Each signature hashes locally and sends KMS only the
 * SHA-256 digest (`MessageType: DIGEST`), so a token of any size fits KMS's 4096-byte message
 * limit; KMS's DER signature is converted to the JOSE form. AWS failures become `ERR_UNAVAILABLE`
 * with a `details.reason` and the AWS error name, never AWS's message or request ids.
 *
 * @example const signer = await createKmsSigner(new KMSClient({ region }), "alias/agentauth-tokens");
 */
export async function createKmsSigner(client: KMSClient, keyId: string): Promise<KmsSigner> {
  if (typeof keyId !== "string" || keyId === "") {
    throw new TypeError("The KMS key id must be a non-empty string");
  }
  const described = await callKms("DescribeKey", keyId, () =>
    client.send(new DescribeKeyCommand({ KeyId: keyId })),
  );
  const metadata = described.KeyMetadata;
  const keyArn = metadata?.Arn ?? metadata?.KeyId;
  if (metadata === undefined || keyArn === undefined) {
    throw signingError("KMS_UNAVAILABLE", `AWS KMS described the key ${keyId} without its ARN`, {
      operation: "DescribeKey",
    });
  }
  if (metadata.Enabled !== true || (metadata.KeyState ?? "Enabled") !== "Enabled") {
    const state = metadata.KeyState ?? "Disabled";
    throw signingError(
      "KMS_KEY_DISABLED",
      `The KMS key ${keyId} cannot sign: its state is ${state}. Enable it, or configure an enabled key`,
      { keyState: state },
    );
  }
  const keySpec = metadata.KeySpec ?? metadata.CustomerMasterKeySpec;
  const algorithms = metadata.SigningAlgorithms;
  if (
    metadata.KeyUsage !== "SIGN_VERIFY" ||
    keySpec !== "ECC_NIST_P256" ||
    (algorithms !== undefined && !algorithms.includes("ECDSA_SHA_256"))
  ) {
    throw signingError(
      "KMS_KEY_UNSUITABLE",
      `The KMS key ${keyId} is a ${keySpec ?? "unknown"} key for ${metadata.KeyUsage ?? "unknown"}; ` +
        "tokens need an ECC_NIST_P256 key with key usage SIGN_VERIFY (ES256)",
      { keySpec: keySpec ?? "unknown", keyUsage: metadata.KeyUsage ?? "unknown" },
    );
  }

  const { PublicKey: spki } = await callKms("GetPublicKey", keyId, () =>
    client.send(new GetPublicKeyCommand({ KeyId: keyArn })),
  );
  const publicKey = spki === undefined ? undefined : parseSpki(spki);
  if (publicKey === undefined || !isP256Key(publicKey)) {
    throw signingError(
      "KMS_KEY_UNSUITABLE",
      `AWS KMS returned a public key for ${keyId} that is not a P-256 SubjectPublicKeyInfo`,
      { operation: "GetPublicKey" },
    );
  }
  const { publicJwk, kid } = await describeP256PublicKey(publicKey);

  return Object.freeze({
    kid,
    alg: "ES256" as const,
    publicJwk,
    keyArn,
    async sign(data: Uint8Array): Promise<Uint8Array> {
      const digest = createHash("sha256").update(data).digest();
      const { Signature: der } = await callKms("Sign", undefined, () =>
        client.send(
          new SignCommand({
            KeyId: keyArn,
            Message: digest,
            MessageType: "DIGEST",
            SigningAlgorithm: "ECDSA_SHA_256",
          }),
        ),
      );
      try {
        if (der === undefined) throw new TypeError("No signature");
        return derToJoseSignature(der);
      } catch {
        throw signingError("KMS_UNAVAILABLE", "AWS KMS returned a malformed signature", {
          operation: "Sign",
        });
      }
    },
  });
}

type KmsOperation = "DescribeKey" | "GetPublicKey" | "Sign";

/** Runs one KMS call, turning any failure into a coded error without AWS's details. */
async function callKms<T>(
  operation: KmsOperation,
  keyId: string | undefined,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw kmsError(operation, keyId, error);
  }
}

function kmsError(
  operation: KmsOperation,
  keyId: string | undefined,
  error: unknown,
): RegistryError {
  const name = error instanceof Error ? error.name : "";
  const reason = reasonFor(name);
  // At start-up the operator reads the message; at signing time a client may, so it stays generic.
  const message =
    keyId === undefined
      ? `Tokens cannot be signed now: AWS KMS ${operation} failed (${reason})`
      : `AWS KMS ${operation} failed for the key ${keyId}: ${explain(reason)}`;
  const details: Record<string, string> = { operation };
  // The error name is one of AWS's identifiers; anything else could carry arbitrary text.
  if (/^[A-Za-z][A-Za-z0-9]{0,63}$/.test(name)) details.awsError = name;
  return signingError(reason, message, details);
}

function reasonFor(awsErrorName: string): KmsFailureReason {
  switch (awsErrorName) {
    case "NotFoundException":
      return "KMS_KEY_NOT_FOUND";
    case "DisabledException":
    case "KMSInvalidStateException":
      return "KMS_KEY_DISABLED";
    case "InvalidKeyUsageException":
    case "UnsupportedOperationException":
      return "KMS_KEY_UNSUITABLE";
    case "AccessDeniedException":
    case "NotAuthorizedException":
    case "UnrecognizedClientException":
    case "InvalidSignatureException":
    case "IncompleteSignature":
    case "IncompleteSignatureException":
    case "MissingAuthenticationToken":
    case "MissingAuthenticationTokenException":
    case "ExpiredTokenException":
    case "CredentialsProviderError":
      return "KMS_ACCESS_DENIED";
    case "ThrottlingException":
    case "LimitExceededException":
    case "TooManyRequestsException":
      return "KMS_THROTTLED";
    default:
      // KMSInternalException, KeyUnavailableException, DependencyTimeoutException, network
      // errors, timeouts, and anything unexpected.
      return "KMS_UNAVAILABLE";
  }
}

function explain(reason: KmsFailureReason): string {
  switch (reason) {
    case "KMS_KEY_NOT_FOUND":
      return "no such key in this account and region";
    case "KMS_KEY_DISABLED":
      return "the key is disabled or pending deletion";
    case "KMS_KEY_UNSUITABLE":
      return "the key cannot sign with ECDSA_SHA_256";
    case "KMS_ACCESS_DENIED":
      return "access denied; check the credentials and that they allow kms:DescribeKey, kms:GetPublicKey and kms:Sign on the key";
    case "KMS_THROTTLED":
      return "request rate exceeded";
    case "KMS_UNAVAILABLE":
      return "AWS KMS is unreachable or failing";
  }
}

function parseSpki(der: Uint8Array): KeyObject | undefined {
  try {
    return createPublicKey({ key: Buffer.from(der), format: "der", type: "spki" });
  } catch {
    return undefined;
  }
}
