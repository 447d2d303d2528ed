import {
  type AuthorizationDetails,
  isAgentAuthError,
  parseAuthorizationDetails,
} from "@agentauth/core";
import { AgentAuthSdkError } from "../errors.js";

/** One grant as a {@link GrantStorage} keeps it: enough to get tokens again after a restart. */
export interface SavedGrant {
  readonly serviceProvider: string;
  readonly grantId: string;
  /** A secret: with the agent's key, it gets the grant's access tokens. */
  readonly refreshToken: string;
  /** What the human approved, as the registry last answered it. */
  readonly authorization: AuthorizationDetails;
}

/** Every grant an agent holds, with the thumbprint of the key its refresh tokens are bound to. */
export interface SavedGrants {
  /** The RFC 7638 thumbprint of the agent's key (`agent.jkt`). */
  readonly jkt: string;
  /** In the order they were approved. */
  readonly grants: readonly SavedGrant[];
}

/**
 * Where an agent keeps the grants its human approved, so that a restarted agent holds them
 * again instead of asking the human again. Adapters: {@link createMemoryGrantStorage} (this
 * process only), {@link createIndexedDbGrantStorage} (browsers), and `createFileGrantStorage`
 * from `@agentauth/sdk/node` (a JSON file, mode 0600). The agent saves the whole set each time it changes; access tokens and per-task tokens
 * are never saved. One storage is for one agent at a time: two live agents on the same storage
 * overwrite each other's grants.
 */
export interface GrantStorage {
  /** The last snapshot saved, or `undefined` if none ever was. */
  load(): Promise<SavedGrants | undefined>;
  /** Replaces the saved snapshot with `saved`. */
  save(saved: SavedGrants): Promise<void>;
}

/** Whether `value` has the shape of a {@link GrantStorage} (for option validation). */
export function isGrantStorage(value: unknown): value is GrantStorage {
  if (typeof value !== "object" || value === null) return false;
  const storage = value as Record<string, unknown>;
  return typeof storage.load === "function" && typeof storage.save === "function";
}

const JKT = /^[A-Za-z0-9_-]{43}$/;

/** The version of the format a storage writes a snapshot in; another is refused, not misread. */
const FORMAT_VERSION = 1;

/** `saved` as a storage writes it: `{ version: 1, jkt, grants }`. */
export function versionedSavedGrants(saved: SavedGrants): Record<string, unknown> {
  return { version: FORMAT_VERSION, jkt: saved.jkt, grants: saved.grants };
}

/**
 * The snapshot in `value`, written by {@link versionedSavedGrants}: refused (`ERR_GRANT_STORAGE`)
 * if it is of another version, else checked as {@link parseSavedGrants} does.
 */
export function parseVersionedSavedGrants(
  value: unknown,
  where: string,
  path?: string,
): SavedGrants {
  if ((value as { version?: unknown } | null)?.version !== FORMAT_VERSION) {
    throw new AgentAuthSdkError(
      "ERR_GRANT_STORAGE",
      `${where} is not version ${FORMAT_VERSION} of the saved grants format`,
      { path },
    );
  }
  return parseSavedGrants(value, where, path);
}

/**
 * Checks that `value` is a {@link SavedGrants} — a thumbprint, and grants with a service
 * provider, a grant id (each once), a refresh token and authorization details core accepts —
 * without ever quoting it: an error (`ERR_GRANT_STORAGE`) names what is wrong, never a refresh
 * token. `where` says where the value came from, for the message.
 */
export function parseSavedGrants(value: unknown, where: string, path?: string): SavedGrants {
  const invalid = (problem: string, cause?: unknown) =>
    new AgentAuthSdkError("ERR_GRANT_STORAGE", `${where} does not hold saved grants: ${problem}`, {
      path,
      cause,
    });
  if (!isObject(value)) throw invalid("it is not a JSON object");
  if (typeof value.jkt !== "string" || !JKT.test(value.jkt)) {
    throw invalid('"jkt" must be a key thumbprint (43 characters of base64url)');
  }
  if (!Array.isArray(value.grants)) throw invalid('"grants" must be an array');
  const seen = new Set<string>();
  const grants = value.grants.map((grant: unknown, index): SavedGrant => {
    const at = `grants[${index}]`;
    if (!isObject(grant)) throw invalid(`${at} is not a JSON object`);
    for (const member of ["serviceProvider", "grantId", "refreshToken"] as const) {
      const field = grant[member];
      if (typeof field !== "string" || field === "" || field.length > 200) {
        throw invalid(`${at}.${member} must be a string of 1 to 200 characters`);
      }
    }
    const grantId = grant.grantId as string;
    if (seen.has(grantId)) throw invalid(`${at}.grantId ${grantId} is there twice`);
    seen.add(grantId);
    return {
      serviceProvider: grant.serviceProvider as string,
      grantId,
      refreshToken: grant.refreshToken as string,
      authorization: parseAuthorization(grant.authorization, `${at}.authorization`, invalid),
    };
  });
  return { jkt: value.jkt, grants };
}

function parseAuthorization(
  value: unknown,
  at: string,
  invalid: (problem: string, cause?: unknown) => AgentAuthSdkError,
): AuthorizationDetails {
  if (!isObject(value) || !Array.isArray(value.capabilities)) {
    throw invalid(`${at} must be an object with a "capabilities" array`);
  }
  const details =
    value.envelope === undefined ? value.capabilities : [...value.capabilities, value.envelope];
  try {
    return parseAuthorizationDetails(details);
  } catch (error) {
    if (!isAgentAuthError(error)) throw error;
    throw invalid(`${at} are not authorization details (${error.code})`, error);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
