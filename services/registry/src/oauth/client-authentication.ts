import {
  CLIENT_ASSERTION_TYPE,
  type KeyCache,
  parsePublicJwk,
  verifyClientAssertion,
} from "@agentauth/core";
import type { ReplayStore } from "@agentauth/state";
import type { Request } from "express";
import type { Kysely } from "kysely";
import type { Clock } from "../clock.js";
import type { Agent, Database } from "../db/database.js";
import { RegistryError } from "../errors.js";

export interface ClientAuthenticationDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly issuer: string;
  readonly publicUrl: string;
  readonly replayStore: ReplayStore;
  readonly keyCache: KeyCache;
}

/**
 * Authenticates an agent the way a stock OAuth client does: `private_key_jwt` (RFC 7523) signed
 * with its enrolled key, `client_id` (when sent) equal to the assertion's issuer. Returns the
 * enabled agent.
 */
export async function authenticateAgent(
  req: Request,
  deps: ClientAuthenticationDeps,
): Promise<Agent> {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const assertionType = body.client_assertion_type;
  const assertion = body.client_assertion;
  if (assertionType !== CLIENT_ASSERTION_TYPE || typeof assertion !== "string") {
    throw new RegistryError(
      "ERR_INVALID_CLIENT",
      `Authenticate with private_key_jwt (client_assertion_type ${CLIENT_ASSERTION_TYPE})`,
    );
  }
  let agent: Agent | undefined;
  const { clientId } = await verifyClientAssertion(assertion, {
    expectedAudiences: [deps.issuer, `${deps.publicUrl}${req.path}`],
    now: deps.clock.now(),
    keyCache: deps.keyCache,
    resolveClientKey: async (id) => {
      agent = await deps.db
        .selectFrom("agents")
        .selectAll()
        .where("id", "=", id)
        .where("disabled_at", "is", null)
        .executeTakeFirst();
      return agent === undefined ? undefined : parsePublicJwk(agent.public_jwk);
    },
    markJtiUsed: (jti, { clientId: id, expiresAt }) =>
      deps.replayStore.markUsed(`client-assertion:${id}:${jti}`, expiresAt),
  });
  if (body.client_id !== undefined && body.client_id !== clientId) {
    throw new RegistryError("ERR_INVALID_CLIENT", "client_id does not match the client assertion");
  }
  return agent as Agent;
}
