import { platform } from "#platform";
import {
  type AuthorizationDetails,
  toAuthorizationDetails,
} from "../capabilities/authorization-details.js";
import { decodeBase64Url, encodeBase64Url } from "../encoding/base64url.js";
import { canonicalizeJson } from "../encoding/canonical-json.js";

/** The exact grant a human approves: what the passkey signature covers. */
export interface FinalGrant {
  /** The CIBA `auth_req_id` the grant answers. */
  readonly requestId: string;
  /** RFC 7638 thumbprint of the agent's key. */
  readonly agentJkt: string;
  readonly serviceProviderId: string;
  readonly authorization: AuthorizationDetails;
  readonly expiresAt: Date;
}

/**
 * The RFC 8785 canonical JSON document a grant digest is computed over. Published so anyone can
 * recompute a digest from a stored grant (`docs/protocol.md`).
 */
export function canonicalizeGrant(grant: FinalGrant): string {
  return canonicalizeJson({
    typ: "agentauth-grant-v1",
    request_id: grant.requestId,
    agent_jkt: grant.agentJkt,
    service_provider: grant.serviceProviderId,
    authorization_details: toAuthorizationDetails(grant.authorization),
    expires_at: Math.floor(grant.expiresAt.getTime() / 1000),
  });
}

/** base64url(SHA-256(canonical grant)). */
export async function computeGrantDigest(grant: FinalGrant): Promise<string> {
  return encodeBase64Url(await platform.sha256(canonicalizeGrant(grant)));
}

/**
 * The WebAuthn challenge for approving a grant: SHA-256("agentauth-approval-v1." ‖ digest ‖ "." ‖
 * nonce). The server nonce (base64url, fresh per challenge) makes every challenge single-use; the
 * digest makes the passkey signature an approval of exactly that grant.
 */
export async function deriveApprovalChallenge(
  grantDigest: string,
  serverNonce: string,
): Promise<Uint8Array> {
  if (decodeBase64Url(grantDigest)?.length !== 32)
    throw new TypeError("grantDigest must be a base64url SHA-256 digest");
  if ((decodeBase64Url(serverNonce)?.length ?? 0) < 16)
    throw new TypeError("serverNonce must be at least 16 bytes of base64url");
  return platform.sha256(`agentauth-approval-v1.${grantDigest}.${serverNonce}`);
}
