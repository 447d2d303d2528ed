import { decodeBase64Url, decodeUtf8 } from "@agentauth/core";
import { type AgentAuthSdkError, isAgentAuthSdkError } from "../../src/errors.js";

/** The coded error `promise` rejects with; fails the test if it resolves or rejects otherwise. */
export async function failure(promise: Promise<unknown>): Promise<AgentAuthSdkError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!isAgentAuthSdkError(error)) throw new Error(`expected an AgentAuthSdkError, got ${error}`);
  return error;
}

/** The claims of a compact JWT (an access token, a DPoP proof), unverified. */
export function claimsOf(jwt: string | null | undefined): Record<string, unknown> {
  const bytes = decodeBase64Url(jwt?.split(".")[1] ?? "");
  return JSON.parse((bytes === undefined ? undefined : decodeUtf8(bytes)) ?? "{}");
}
