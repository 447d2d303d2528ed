import {
  type JsonWebKeySet,
  type KeyCache,
  type VerifyAccessTokenResult,
  verifyAccessToken,
} from "@agentauth/core";

/** What checking a token this registry signed needs. */
export interface OwnAccessTokenDeps {
  readonly jwks: () => Promise<JsonWebKeySet>;
  readonly issuer: string;
  readonly keyCache: KeyCache;
}

/**
 * Verifies an access token this registry signed, whatever service provider it is for: its
 * audience is read from the token (there is no provider to expect here), then core checks it all,
 * that audience included. Throws core's `ERR_TOKEN_*` errors.
 */
export async function verifyOwnAccessToken(
  token: string,
  deps: OwnAccessTokenDeps,
  options: { readonly now: Date; readonly clockSkewSeconds?: number },
): Promise<VerifyAccessTokenResult> {
  return verifyAccessToken(token, {
    keys: await deps.jwks(),
    expectedIssuer: deps.issuer,
    expectedAudience: unverifiedAudience(token),
    now: options.now,
    keyCache: deps.keyCache,
    ...(options.clockSkewSeconds === undefined
      ? {}
      : { clockSkewSeconds: options.clockSkewSeconds }),
  });
}

// Registry tokens have one string audience; anything else cannot match, and core says why.
function unverifiedAudience(token: string): string {
  try {
    const payload = JSON.parse(
      Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"),
    ) as { aud?: unknown };
    return typeof payload.aud === "string" ? payload.aud : "";
  } catch {
    return "";
  }
}
