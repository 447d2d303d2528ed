import type { AuthorizationDetails } from "@agentauth/core";
import type { Clock } from "../clock.js";
import { AgentAuthSdkError, isAgentAuthSdkError } from "../errors.js";
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
  /** When the current access token expires (it is refreshed before). */
  readonly accessTokenExpiresAt: Date;
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
  readonly authorization: AuthorizationDetails;
  refreshToken: string | undefined;
  access: AccessToken;
  refreshing: Promise<AccessToken> | undefined;
}

export interface GrantStoreDeps {
  readonly registry: RegistryClient;
  readonly clock: Clock;
  /** Refresh this many seconds before expiry (at most half the token's lifetime). */
  readonly refreshBeforeExpirySeconds: number;
  readonly logger: SdkLogger | undefined;
}

/**
 * The grants the agent holds, keyed by grant id — several per service provider when the human
 * approved several (a step-up beside the standing grant, say) — with their tokens: an access
 * token is handed out until it is due for refresh, then renewed with the refresh token — once,
 * however many callers ask at the same time. A newly approved grant is added; it never replaces
 * or revokes another. A call names the grant it uses by id, or, without one, uses the only grant
 * held for the service provider; with several it refuses to guess (`ERR_GRANT_AMBIGUOUS`), since
 * each grant carries the human's limits and budgets of its own.
 */
export class GrantStore {
  private readonly held = new Map<string, HeldGrant>();

  constructor(private readonly deps: GrantStoreDeps) {}

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

  /** A valid access token of `grant`, refreshed first when it is due. */
  async token(grant: HeldGrant, signal?: AbortSignal): Promise<string> {
    const { serviceProvider } = grant;
    if (!this.isDue(grant.access)) return grant.access.token;
    try {
      return (await raceAbort(this.refresh(grant), signal)).token;
    } catch (error) {
      // Early refresh failed on the network: the current token still works for a while.
      if (
        isAgentAuthSdkError(error) &&
        (error.code === "ERR_UNAVAILABLE" || error.code === "ERR_TIMEOUT") &&
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
    if (grant.access.token !== rejected && grant.refreshing === undefined) {
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
        (error.code === "ERR_GRANT_INVALID" || error.code === "ERR_CLIENT_REJECTED")
      ) {
        this.dropIfHeld(grant);
      }
      throw error;
    }
    if (result.kind !== "token") {
      throw new AgentAuthSdkError("ERR_PROTOCOL", "The registry answered a refresh as pending");
    }
    grant.access = this.accessToken(result.token);
    if (result.token.refreshToken !== undefined) grant.refreshToken = result.token.refreshToken;
    return grant.access;
  }

  private dropIfHeld(grant: HeldGrant): void {
    if (this.held.get(grant.grantId) === grant) this.held.delete(grant.grantId);
  }
}

function info(grant: HeldGrant): GrantInfo {
  return {
    serviceProvider: grant.serviceProvider,
    grantId: grant.grantId,
    authorization: grant.authorization,
    accessTokenExpiresAt: grant.access.expiresAt,
  };
}
