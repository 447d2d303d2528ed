import { type JsonWebKeySet, type KeyCache, verifyAccessToken } from "@agentauth/core";
import { Router } from "express";
import { z } from "zod";
import { enqueueAuditEvent } from "../audit/enqueue-audit-event.js";
import { ENDPOINTS } from "../discovery/discovery-routes.js";
import { formBody, parseInput } from "../http/body.js";
import { oauthErrors } from "../http/error-middleware.js";
import { hashSecret } from "../ids.js";
import {
  authenticateAgent,
  type ClientAuthenticationDeps,
} from "../oauth/client-authentication.js";
import { type RevocationPublisher, recordRevocation } from "../revocation/revocation-outbox.js";
import {
  authenticateServiceProvider,
  bearerCredential,
} from "../service-providers/service-provider-keys.js";

export interface TokenLifecycleRoutesDeps extends ClientAuthenticationDeps {
  readonly jwks: () => Promise<JsonWebKeySet>;
  readonly keyCache: KeyCache;
  readonly revocations: RevocationPublisher;
}

const tokenParameter = z.object({
  token: z.string().min(1).max(65_536),
  token_type_hint: z.enum(["access_token", "refresh_token"]).optional(),
});

/**
 * RFC 7009 revocation (agents revoke their own tokens, e.g. a per-task token when the task
 * ends) and RFC 7662 introspection (service providers ask whether a token is active).
 */
export function createTokenLifecycleRouter(deps: TokenLifecycleRoutesDeps): Router {
  const router = Router();

  router.post(ENDPOINTS.revocation, oauthErrors, formBody, async (req, res) => {
    const agent = await authenticateAgent(req, deps);
    const { token } = parseInput(tokenParameter, req.body, "ERR_INVALID_REQUEST");
    const now = deps.clock.now();
    const revoked = await deps.db.transaction().execute(async (trx) => {
      const refresh = await trx
        .updateTable("refresh_tokens")
        .set({ revoked_at: now })
        .where("id_hash", "=", hashSecret(token))
        .where("agent_id", "=", agent.id)
        .where("revoked_at", "is", null)
        .returning("grant_id")
        .executeTakeFirst();
      if (refresh !== undefined) return true;
      const jti = await accessTokenId(deps, token);
      if (jti === undefined) return false;
      const access = await trx
        .updateTable("access_tokens")
        .set({ revoked_at: now })
        .where("jti", "=", jti)
        .where("agent_id", "=", agent.id)
        .where("revoked_at", "is", null)
        .returning(["jti", "expires_at"])
        .executeTakeFirst();
      if (access === undefined) return false;
      await recordRevocation(trx, {
        kind: "token",
        subject: access.jti,
        now,
        expiresAt: access.expires_at,
      });
      await enqueueAuditEvent(trx, {
        type: "token.revoked",
        actor: agent.id,
        subject: access.jti,
        humanId: agent.human_id,
        occurredAt: now,
      });
      return true;
    });
    if (revoked) await deps.revocations.flush();
    // RFC 7009 §2.2: the same answer whether or not the token was known.
    res.status(200).end();
  });

  router.post(ENDPOINTS.introspection, oauthErrors, formBody, async (req, res) => {
    res.setHeader("Cache-Control", "no-store");
    const provider = await authenticateServiceProvider(
      deps.db,
      introspectionCredential(req.headers.authorization),
    );
    const { token } = parseInput(tokenParameter, req.body, "ERR_INVALID_REQUEST");
    const now = deps.clock.now();
    const verified = await verifyAccessToken(token, {
      keys: await deps.jwks(),
      expectedIssuer: deps.issuer,
      expectedAudience: provider.id,
      now,
      keyCache: deps.keyCache,
    }).catch(() => undefined);
    const live =
      verified === undefined
        ? undefined
        : await deps.db
            .selectFrom("access_tokens as t")
            .innerJoin("grants as g", "g.id", "t.grant_id")
            .innerJoin("agents as a", "a.id", "t.agent_id")
            .select("t.jti")
            .where("t.jti", "=", verified.claims.jti)
            .where("t.revoked_at", "is", null)
            .where("g.revoked_at", "is", null)
            .where("a.disabled_at", "is", null)
            .executeTakeFirst();
    // RFC 7662 §2.2: an inactive token gets `{"active": false}` and nothing more.
    if (verified === undefined || live === undefined) {
      res.json({ active: false });
      return;
    }
    res.json({ active: true, token_type: "DPoP", ...verified.claims });
  });

  return router;
}

/** The `jti` of an access token this registry signed, or `undefined` for anything else. */
async function accessTokenId(
  deps: TokenLifecycleRoutesDeps,
  token: string,
): Promise<string | undefined> {
  try {
    const payload = JSON.parse(
      Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"),
    ) as { aud?: unknown };
    if (typeof payload.aud !== "string") return undefined;
    const { claims } = await verifyAccessToken(token, {
      keys: await deps.jwks(),
      expectedIssuer: deps.issuer,
      expectedAudience: payload.aud,
      // Revoking an expired token is a harmless no-op, so expiry is not what decides here.
      now: deps.clock.now(),
      clockSkewSeconds: 900,
      keyCache: deps.keyCache,
    });
    return claims.jti;
  } catch {
    return undefined;
  }
}

/** Service providers authenticate with their API key: Basic (client_secret_basic) or Bearer. */
function introspectionCredential(authorization: string | undefined): string | undefined {
  const basic =
    authorization === undefined ? null : /^Basic ([A-Za-z0-9+/=]+)$/i.exec(authorization);
  if (basic === null) return bearerCredential(authorization);
  const decoded = Buffer.from(basic[1] as string, "base64").toString("utf8");
  const separator = decoded.indexOf(":");
  return separator < 0 ? undefined : decodeURIComponent(decoded.slice(separator + 1));
}
