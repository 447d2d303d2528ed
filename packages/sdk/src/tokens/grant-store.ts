import type { AuthorizationDetails } from "@agentauth/core";
import type { Clock } from "../clock.js";
import { AgentAuthSdkError, isAgentAuthSdkError } from "../errors.js";
import {
  type GrantStorage,
  parseSavedGrants,
  type SavedGrant,
  type SavedGrants,
} from "../grants/grant-storage.js";
import { serializeSaves } from "../grants/serialize-saves.js";
import { raceAbort } from "../http/http-client.js";
import type { SdkLogger } from "../logger.js";
import type { RegistryClient, TokenAnswer } from "../registry/registry-client.js";
import { readOwnTokenClaims } from "./jwt-claims.js";

/** A grant the agent holds, as `agent.grant()` and `agent.grants()` show it. */
export interface GrantInfo {
  readonly serviceProvider: string;
  /** The registry's id of the grant, from the access token's `grant_id`: how calls name it. */
  readonly grantId: string;
  /** What the human approved: possibly narrower than what was asked for. */
  readonly authorization: AuthorizationDetails;
  /**
   * When the current access token expires (it is refreshed before); `undefined` while none is
   * held — a grant restored from the grant storage gets its first one at first use.
   */
  readonly accessTokenExpiresAt: Date | undefined;
}

interface AccessToken {
  readonly token: string;
  readonly expiresAt: Date;
  readonly lifetimeSeconds: number;
}

/** One grant and its tokens; `select` hands it out, `token` and `renew` take it back. */
export interface HeldGrant {
  readonly serviceProvider: string;
  readonly grantId: string;
  authorization: AuthorizationDetails;
  refreshToken: string | undefined;
  /** `undefined` for a grant restored from storage, until its first refresh. */
  access: AccessToken | undefined;
  refreshing: Promise<AccessToken> | undefined;
}

export interface GrantStoreDeps {
  readonly registry: RegistryClient;
  readonly clock: Clock;
  /** Refresh this many seconds before expiry (at most half the token's lifetime). */
  readonly refreshBeforeExpirySeconds: number;
  readonly logger: SdkLogger | undefined;
  /** Where the grants are saved whenever they change; `undefined` keeps them in memory only. */
  readonly storage: GrantStorage | undefined;
  /** The agent's current key thumbprint, which saved snapshots carry; it follows a rotation. */
  jkt(): string;
  /**
   * Whether a key rotation is pending (a next key staged, not promoted): then the registry
   * refusing the agent's authentication may only mean it holds the next key already, so the
   * grants are kept for `agent.rotateKey()` to complete.
   */
  rotationPending(): boolean;
}

/**
 * The grants the agent holds, keyed by grant id — several per service provider when the human
 * approved several (a step-up beside the standing grant, say) — with their tokens: an access
 * token is handed out until it is due for refresh, then renewed with the refresh token — once,
 * however many callers ask at the same time. A newly approved grant is added; it never replaces
 * or revokes another. A call names the grant it uses by id, or, without one, uses the only grant
 * held for the service provider; with several it refuses to guess (`ERR_GRANT_AMBIGUOUS`), since
 * each grant carries the human's limits and budgets of its own.
 *
 * With a grant storage, every change of the set held or of a refresh token is saved, one write at
 * a time, the last state last. Access tokens are not saved: a restored grant refreshes first.
 */
export class GrantStore {
  private readonly held = new Map<string, HeldGrant>();
  private readonly write: (() => Promise<void>) | undefined;

  constructor(private readonly deps: GrantStoreDeps) {
    const { storage } = deps;
    this.write =
      storage === undefined ? undefined : serializeSaves(() => storage.save(this.snapshot()));
  }

  /**
   * Holds the grants saved in the grant storage, if there is one, after checking they are of
   * this agent's key — or of `nextJkt`, the staged next key's, which a rotation a crash
   * interrupted saved them under; `ERR_GRANT_STORAGE` when they are not, or cannot be loaded.
   */
  async load(nextJkt?: string): Promise<void> {
    const { storage } = this.deps;
    const jkt = this.deps.jkt();
    if (storage === undefined) return;
    let loaded: SavedGrants | undefined;
    try {
      loaded = await storage.load();
    } catch (error) {
      throw storageError(error, "load");
    }
    if (loaded === undefined) return;
    const saved = parseSavedGrants(loaded, "The grant storage");
    if (saved.jkt !== jkt && saved.jkt !== nextJkt) {
      // Refresh tokens are bound to the key they were issued to: another key cannot use them.
      throw new AgentAuthSdkError(
        "ERR_GRANT_STORAGE",
        `The grant storage holds the grants of another key (jkt ${saved.jkt}) than this agent's (jkt ${jkt}): ` +
          "give the agent the key store they belong with, or a grant storage of its own",
      );
    }
    for (const grant of saved.grants) {
      this.held.set(grant.grantId, { ...grant, access: undefined, refreshing: undefined });
    }
  }

  /**
   * Saves the grants held to the grant storage, if there is one; rejects with
   * `ERR_GRANT_STORAGE` when that fails.
   */
  async save(): Promise<void> {
    try {
      await this.write?.();
    } catch (error) {
      throw storageError(error, "save");
    }
  }

  /**
   * {@link save}, for changes whose call succeeds anyway: a failure is logged as a warning (its
   * code, path and message: never a refresh token) and the next change saves everything again.
   */
  async saveOrWarn(): Promise<void> {
    try {
      await this.save();
    } catch (error) {
      const { code, path, message } = error as AgentAuthSdkError;
      this.deps.logger?.warn(
        { code, ...(path === undefined ? {} : { path }), error: message },
        "agentauth: saving the grants failed; a restart before the next save loses the change",
      );
    }
  }

  /** Keeps the tokens of a newly approved grant, beside any other the agent holds. */
  hold(serviceProvider: string, answer: TokenAnswer): GrantInfo {
    const grantId = readOwnTokenClaims(answer.accessToken).grant_id;
    if (typeof grantId !== "string" || grantId === "") {
      throw new AgentAuthSdkError(
        "ERR_PROTOCOL",
        "The registry issued an access token without a grant_id (protocol.md §3)",
        { serviceProvider },
      );
    }
    const grant: HeldGrant = {
      serviceProvider,
      grantId,
      authorization: answer.authorization,
      refreshToken: answer.refreshToken,
      access: this.accessToken(answer),
      refreshing: undefined,
    };
    this.held.set(grantId, grant);
    return info(grant);
  }

  /**
   * Forgets every access token held (a key rotation revoked them): the next use of each grant
   * refreshes it, with the key then current. Grants and refresh tokens are kept.
   */
  forgetAccessTokens(): void {
    for (const grant of this.held.values()) grant.access = undefined;
  }

  /** Every grant held, for `serviceProvider` or for all, in the order they were approved. */
  list(serviceProvider?: string): GrantInfo[] {
    return this.heldFor(serviceProvider).map(info);
  }

  /** What {@link select} would answer, as {@link GrantInfo}; `undefined` when none is held. */
  info(serviceProvider: string, grantId?: string): GrantInfo | undefined {
    if (grantId === undefined && this.heldFor(serviceProvider).length === 0) return undefined;
    if (grantId !== undefined && this.held.get(grantId)?.serviceProvider !== serviceProvider) {
      return undefined;
    }
    return info(this.select(serviceProvider, grantId));
  }

  /**
   * The grant a call uses: `grantId`'s (for `serviceProvider`, when given), or the only one held
   * for `serviceProvider`. `ERR_NO_GRANT` when there is none; `ERR_GRANT_AMBIGUOUS` when several
   * are held and no id says which.
   */
  select(serviceProvider: string | undefined, grantId: string | undefined): HeldGrant {
    if (grantId !== undefined) {
      const grant = this.held.get(grantId);
      if (
        grant === undefined ||
        (serviceProvider !== undefined && grant.serviceProvider !== serviceProvider)
      ) {
        throw new AgentAuthSdkError(
          "ERR_NO_GRANT",
          `The agent holds no grant ${grantId}${serviceProvider === undefined ? "" : ` for ${serviceProvider}`}: it ended, was revoked, or was never approved`,
          serviceProvider === undefined ? {} : { serviceProvider },
        );
      }
      return grant;
    }
    if (serviceProvider === undefined) {
      throw new TypeError("A call needs the service provider or the grant id");
    }
    const candidates = this.heldFor(serviceProvider);
    const [only] = candidates;
    if (only === undefined) {
      throw new AgentAuthSdkError(
        "ERR_NO_GRANT",
        `The agent holds no grant for ${serviceProvider}: request one with agent.requestGrant()`,
        { serviceProvider },
      );
    }
    if (candidates.length > 1) {
      throw new AgentAuthSdkError(
        "ERR_GRANT_AMBIGUOUS",
        `The agent holds ${candidates.length} grants for ${serviceProvider} (${candidates.map((grant) => grant.grantId).join(", ")}): say which with grantId`,
        { serviceProvider },
      );
    }
    return only;
  }

  /**
   * Forgets `grantId`, or every grant held for `serviceProvider`; answers their refresh tokens
   * to revoke. `ERR_NO_GRANT` for a `grantId` not held for `serviceProvider`.
   */
  forget(serviceProvider: string, grantId?: string): Array<{ refreshToken: string | undefined }> {
    const grants =
      grantId === undefined
        ? this.heldFor(serviceProvider)
        : [this.select(serviceProvider, grantId)];
    for (const grant of grants) this.held.delete(grant.grantId);
    return grants.map((grant) => ({ refreshToken: grant.refreshToken }));
  }

  /** A valid access token of `grant`, refreshed first when it is due (or none is held). */
  async token(grant: HeldGrant, signal?: AbortSignal): Promise<string> {
    const { serviceProvider, access } = grant;
    if (access !== undefined && !this.isDue(access)) return access.token;
    try {
      return (await raceAbort(this.refresh(grant), signal)).token;
    } catch (error) {
      // Early refresh failed on the network: the current token still works for a while.
      if (
        isAgentAuthSdkError(error) &&
        (error.code === "ERR_UNAVAILABLE" || error.code === "ERR_TIMEOUT") &&
        grant.access !== undefined &&
        this.deps.clock.now() < grant.access.expiresAt
      ) {
        this.deps.logger?.warn(
          { serviceProvider, code: error.code },
          "agentauth: refreshing the access token failed; using the current one until it expires",
        );
        return grant.access.token;
      }
      throw error;
    }
  }

  /**
   * A new access token of `grant` after the service provider refused `rejected` (RFC 6750 invalid_token):
   * refreshed, unless another caller has renewed it already.
   */
  async renew(grant: HeldGrant, rejected: string, signal?: AbortSignal): Promise<string> {
    if (
      grant.access !== undefined &&
      grant.access.token !== rejected &&
      grant.refreshing === undefined
    ) {
      return grant.access.token;
    }
    return (await raceAbort(this.refresh(grant), signal)).token;
  }

  private heldFor(serviceProvider: string | undefined): HeldGrant[] {
    const all = [...this.held.values()];
    return serviceProvider === undefined
      ? all
      : all.filter((grant) => grant.serviceProvider === serviceProvider);
  }

  private isDue(access: AccessToken): boolean {
    const margin = Math.min(this.deps.refreshBeforeExpirySeconds, access.lifetimeSeconds / 2);
    return this.deps.clock.now().getTime() >= access.expiresAt.getTime() - margin * 1000;
  }

  private accessToken(answer: TokenAnswer): AccessToken {
    return {
      token: answer.accessToken,
      expiresAt: new Date(this.deps.clock.now().getTime() + answer.expiresIn * 1000),
      lifetimeSeconds: answer.expiresIn,
    };
  }

  /** One refresh per grant at a time: every caller meanwhile shares it. */
  private refresh(grant: HeldGrant): Promise<AccessToken> {
    grant.refreshing ??= this.refreshNow(grant).finally(() => {
      grant.refreshing = undefined;
    });
    return grant.refreshing;
  }

  private async refreshNow(grant: HeldGrant): Promise<AccessToken> {
    const { serviceProvider } = grant;
    if (grant.refreshToken === undefined) {
      this.dropIfHeld(grant);
      throw new AgentAuthSdkError(
        "ERR_GRANT_INVALID",
        `The access token for ${serviceProvider} cannot be renewed (no refresh token): request a new grant`,
        { serviceProvider },
      );
    }
    this.deps.logger?.debug({ serviceProvider }, "agentauth: refreshing the access token");
    let result: Awaited<ReturnType<RegistryClient["token"]>>;
    try {
      result = await this.deps.registry.token(
        { grant_type: "refresh_token", refresh_token: grant.refreshToken },
        {
          retry: true,
          what: `Refreshing the access token for ${serviceProvider} failed`,
          serviceProvider,
        },
      );
    } catch (error) {
      // The grant is over (revoked, expired, its agent disabled): holding it helps no one.
      if (
        isAgentAuthSdkError(error) &&
        (error.code === "ERR_GRANT_INVALID" ||
          (error.code === "ERR_CLIENT_REJECTED" && !this.deps.rotationPending())) &&
        this.dropIfHeld(grant)
      ) {
        await this.saveOrWarn();
      }
      throw error;
    }
    if (result.kind !== "token") {
      throw new AgentAuthSdkError("ERR_PROTOCOL", "The registry answered a refresh as pending");
    }
    const { token } = result;
    const access = this.accessToken(token);
    grant.access = access;
    // Both come from the registry's one record of the grant: equal JSON is the same grant.
    const changed =
      (token.refreshToken !== undefined && token.refreshToken !== grant.refreshToken) ||
      JSON.stringify(token.authorization) !== JSON.stringify(grant.authorization);
    if (token.refreshToken !== undefined) grant.refreshToken = token.refreshToken;
    grant.authorization = token.authorization;
    // A rotated refresh token is saved before it is used, so a restart does not bring back the old one.
    if (changed && this.held.get(grant.grantId) === grant) await this.saveOrWarn();
    return access;
  }

  /** Forgets `grant` unless it was forgotten (or replaced) already; answers whether it did. */
  private dropIfHeld(grant: HeldGrant): boolean {
    if (this.held.get(grant.grantId) !== grant) return false;
    this.held.delete(grant.grantId);
    return true;
  }

  /** What the grant storage keeps: every grant held that has a refresh token, in order. */
  private snapshot(): SavedGrants {
    const grants: SavedGrant[] = [];
    for (const { serviceProvider, grantId, refreshToken, authorization } of this.held.values()) {
      if (refreshToken !== undefined) {
        grants.push({ serviceProvider, grantId, refreshToken, authorization });
      }
    }
    return { jkt: this.deps.jkt(), grants };
  }
}

/** `error` of a grant storage as `ERR_GRANT_STORAGE`. */
function storageError(error: unknown, action: "load" | "save"): AgentAuthSdkError {
  if (isAgentAuthSdkError(error, "ERR_GRANT_STORAGE")) return error;
  // Another adapter's error may say anything: not repeated, kept as the cause.
  const message = `The grant storage could not ${action} the grants`;
  return new AgentAuthSdkError("ERR_GRANT_STORAGE", message, { cause: error });
}

function info(grant: HeldGrant): GrantInfo {
  return {
    serviceProvider: grant.serviceProvider,
    grantId: grant.grantId,
    authorization: grant.authorization,
    accessTokenExpiresAt: grant.access?.expiresAt,
  };
}
