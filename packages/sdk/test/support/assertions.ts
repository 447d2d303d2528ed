import { decodeBase64Url, decodeUtf8 } from "@agentauth/core";
import { expect } from "vitest";
import {
  type AgentAuthSdkError,
  isAgentAuthSdkError,
  type SdkErrorCode,
} from "../../src/errors.js";

/** The coded error `promise` rejects with; fails the test if it resolves or rejects otherwise. */
export async function failure(promise: Promise<unknown>): Promise<AgentAuthSdkError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!isAgentAuthSdkError(error)) throw new Error(`expected an AgentAuthSdkError, got ${error}`);
  return error;
}

/** Expects `promise` to reject with `code` and a message matching `message`, free of `secret`. */
export async function expectSdkError(
  promise: Promise<unknown>,
  code: SdkErrorCode,
  message: RegExp,
  secret?: string,
): Promise<AgentAuthSdkError> {
  const error = await failure(promise);
  expect(error.code, String(error)).toBe(code);
  expect(error.message).toMatch(message);
  if (secret !== undefined) {
    expect(JSON.stringify({ ...error, message: error.message })).not.toContain(secret);
  }
  return error;
}

/** The claims of a compact JWT (an access token, a DPoP proof), unverified. */
export function claimsOf(jwt: string | null | undefined): Record<string, unknown> {
  const bytes = decodeBase64Url(jwt?.split(".")[1] ?? "");
  return JSON.parse((bytes === undefined ? undefined : decodeUtf8(bytes)) ?? "{}");
}
