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

/** What authenticating an agent needs from storage: its enrolled public key. */
export type AgentKeyRecord = Pick<Agent, "id" | "public_jwk">;

/** Loads the enabled agent `clientId` (`undefined` if unknown or disabled). */
export type AgentLoader<T extends AgentKeyRecord> = (clientId: string) => Promise<T | undefined>;

/**
 * Authenticates an agent the way a stock OAuth client does: `private_key_jwt` (RFC 7523) signed
 * with its enrolled key, `client_id` (when sent) equal to the assertion's issuer. Returns what
 * `load` found for the enabled agent: by default its row; an endpoint may load more in the same
 * query (the token endpoint loads the refresh token's grant with it).
 */
export async function authenticateAgent(
  req: Request,
  deps: ClientAuthenticationDeps,
): Promise<Agent>;
export async function authenticateAgent<T extends AgentKeyRecord>(
  req: Request,
  deps: ClientAuthenticationDeps,
  load: AgentLoader<T>,
): Promise<T>;
export async function authenticateAgent(
  req: Request,
  deps: ClientAuthenticationDeps,
  load: AgentLoader<AgentKeyRecord> = (id) => loadEnabledAgent(deps.db, id),
): Promise<AgentKeyRecord> {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const assertionType = body.client_assertion_type;
  const assertion = body.client_assertion;
  if (assertionType !== CLIENT_ASSERTION_TYPE || typeof assertion !== "string") {
    throw new RegistryError(
      "ERR_INVALID_CLIENT",
      `Authenticate with private_key_jwt (client_assertion_type ${CLIENT_ASSERTION_TYPE})`,
    );
  }
  let agent: AgentKeyRecord | undefined;
  const { clientId } = await verifyClientAssertion(assertion, {
    expectedAudiences: [deps.issuer, `${deps.publicUrl}${req.path}`],
    now: deps.clock.now(),
    keyCache: deps.keyCache,
    resolveClientKey: async (id) => {
      agent = await load(id);
      return agent === undefined ? undefined : parsePublicJwk(agent.public_jwk);
    },
    markJtiUsed: (jti, { clientId: id, expiresAt }) =>
      deps.replayStore.markUsed(`client-assertion:${id}:${jti}`, expiresAt),
  });
  if (body.client_id !== undefined && body.client_id !== clientId) {
    throw new RegistryError("ERR_INVALID_CLIENT", "client_id does not match the client assertion");
  }
  return agent as AgentKeyRecord;
}

function loadEnabledAgent(db: Kysely<Database>, id: string): Promise<Agent | undefined> {
  return db
    .selectFrom("agents")
    .selectAll()
    .where("id", "=", id)
    .where("disabled_at", "is", null)
    .executeTakeFirst();
}
