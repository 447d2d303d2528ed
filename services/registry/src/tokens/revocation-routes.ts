import { type JsonWebKeySet, type KeyCache, verifyAccessToken } from "@agentauth/core";
import { Router } from "express";
import { z } from "zod";
import { enqueueAuditEvent } from "../audit/enqueue-audit-event.js";
import { ENDPOINTS } from "../discovery/discovery-routes.js";
import { RegistryError } from "../errors.js";
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
import { verifyOwnAccessToken } from "./verify-own-access-token.js";

export interface TokenLifecycleRoutesDeps extends ClientAuthenticationDeps {
  readonly jwks: () => Promise<JsonWebKeySet>;
  readonly keyCache: KeyCache;
  readonly revocations: RevocationPublisher;
}

const INTROSPECTION_REALM = "agentauth";

const tokenParameter = z.object({
  token: z.string().min(1).max(65_536),
  // Only a hint, which RFC 7009 §2.1 and RFC 7662 §2.1 let a server ignore: every kind of token
  // is looked for anyway, so a hint naming another kind is no reason to fail.
  token_type_hint: z.string().max(200).optional(),
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
    // Before the transaction: checking the signature may read the key set from the database,
    // and embedded PGlite has a single connection, which the transaction would be holding.
    const jti = await accessTokenId(deps, token);
    const revoked = await deps.db.transaction().execute(async (trx) => {
      const refresh = await trx
        .updateTable("refresh_tokens")
        .set({ revoked_at: now })
        .where("id_hash", "=", hashSecret(token))
        .where("agent_id", "=", agent.id)
        .where("revoked_at", "is", null)
        .returning("grant_id")
        .executeTakeFirst();
      if (refresh !== undefined) {
        // RFC 7009 §2.1: revoking a refresh token also invalidates the access tokens issued on
        // the same grant.
        const accessTokens = await trx
          .updateTable("access_tokens")
          .set({ revoked_at: now })
          .where("grant_id", "=", refresh.grant_id)
          .where("agent_id", "=", agent.id)
          .where("revoked_at", "is", null)
          .where("expires_at", ">", now)
          .returning(["jti", "expires_at"])
          .execute();
        for (const access of accessTokens) {
          await recordRevocation(trx, {
            kind: "token",
            subject: access.jti,
            now,
            expiresAt: access.expires_at,
          });
        }
        await enqueueAuditEvent(trx, {
          type: "token.revoked",
          actor: agent.id,
          subject: refresh.grant_id,
          humanId: agent.human_id,
          occurredAt: now,
          data: {
            token_type: "refresh_token",
            access_tokens: accessTokens.map((access) => access.jti),
          },
        });
        return true;
      }
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
      // The per-task tokens exchanged for it end with it.
      const tasks = await trx
        .updateTable("access_tokens")
        .set({ revoked_at: now })
        .where("task_of", "=", access.jti)
        .where("revoked_at", "is", null)
        .where("expires_at", ">", now)
        .returning(["jti", "expires_at"])
        .execute();
      for (const revokedToken of [access, ...tasks]) {
        await recordRevocation(trx, {
          kind: "token",
          subject: revokedToken.jti,
          now,
          expiresAt: revokedToken.expires_at,
        });
      }
      await enqueueAuditEvent(trx, {
        type: "token.revoked",
        actor: agent.id,
        subject: access.jti,
        humanId: agent.human_id,
        occurredAt: now,
        data: {
          token_type: "access_token",
          ...(tasks.length === 0 ? {} : { task_tokens: tasks.map((task) => task.jti) }),
        },
      });
      return true;
    });
    if (revoked) await deps.revocations.flush();
    // RFC 7009 §2.2: the same answer whether or not the token was known.
    res.status(200).end();
  });

  router.post(ENDPOINTS.introspection, oauthErrors, formBody, async (req, res) => {
    res.setHeader("Cache-Control", "no-store");
    const provider = await authenticateIntrospectionClient(deps, req.headers.authorization);
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
    // Revoking an expired token is a harmless no-op, so expiry is not what decides here.
    const { claims } = await verifyOwnAccessToken(token, deps, {
      now: deps.clock.now(),
      clockSkewSeconds: 900,
    });
    return claims.jti;
  } catch {
    return undefined;
  }
}

/**
 * Service providers authenticate with their API key: as a Bearer credential, or as the password
 * of HTTP Basic (`client_secret_basic`, RFC 6749 §2.3.1), whose user name must then be their id.
 * A failure is a 401 challenging in the scheme the client used (RFC 6749 §5.2, RFC 7662 §2.3),
 * or in both accepted schemes when it sent none.
 */
async function authenticateIntrospectionClient(
  deps: TokenLifecycleRoutesDeps,
  authorization: string | undefined,
): Promise<{ id: string }> {
  const scheme = /^(\S+)/.exec(authorization ?? "")?.[1]?.toLowerCase();
  try {
    if (scheme !== "basic") {
      return await authenticateServiceProvider(deps.db, bearerCredential(authorization));
    }
    const basic = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(authorization ?? "");
    const decoded = Buffer.from(basic?.[1] ?? "", "base64").toString("utf8");
    // API keys never hold ":", so the last one separates them from ids that may (https URIs),
    // whether or not the client form-encoded the id as RFC 6749 asks.
    const separator = decoded.lastIndexOf(":");
    const clientId = separator < 0 ? undefined : formDecode(decoded.slice(0, separator));
    const apiKey = separator < 0 ? undefined : formDecode(decoded.slice(separator + 1));
    const provider = await authenticateServiceProvider(deps.db, apiKey);
    if (clientId !== provider.id) {
      throw new RegistryError("ERR_INVALID_CLIENT", "Invalid or revoked service provider API key");
    }
    return provider;
  } catch (error) {
    if (!(error instanceof RegistryError) || error.code !== "ERR_INVALID_CLIENT") throw error;
    throw new RegistryError(error.code, error.message, {
      headers: { "WWW-Authenticate": introspectionChallenge(scheme) },
    });
  }
}

function introspectionChallenge(scheme: string | undefined): string {
  switch (scheme) {
    case "basic":
      return `Basic realm="${INTROSPECTION_REALM}", charset="UTF-8"`;
    case "bearer":
      return `Bearer realm="${INTROSPECTION_REALM}", error="invalid_token"`;
    default:
      return `Basic realm="${INTROSPECTION_REALM}", charset="UTF-8", Bearer realm="${INTROSPECTION_REALM}"`;
  }
}

/** `application/x-www-form-urlencoded` decoding; `undefined` for broken percent-encoding. */
function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replaceAll("+", " "));
  } catch {
    return undefined;
  }
}
