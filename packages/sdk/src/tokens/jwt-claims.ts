import { decodeBase64Url, decodeUtf8 } from "@agentauth/core";

/**
 * The claims of one of the agent's own access tokens, read without verifying them: only for
 * bookkeeping (which grant it is under). The service provider's verifier checks the token.
 */
export function readOwnTokenClaims(token: string): Readonly<Record<string, unknown>> {
  const payload = token.split(".")[1];
  const bytes = payload === undefined ? undefined : decodeBase64Url(payload);
  const text = bytes === undefined ? undefined : decodeUtf8(bytes);
  if (text === undefined) return {};
  try {
    const claims: unknown = JSON.parse(text);
    return typeof claims === "object" && claims !== null && !Array.isArray(claims)
      ? (claims as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}
