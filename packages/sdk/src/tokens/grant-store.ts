import type { AuthorizationDetails } from "@agentauth/core";
import type { Clock } from "../clock.js";
import { AgentAuthSdkError, isAgentAuthSdkError } from "../errors.js";
import { raceAbort } from "../http/http-client.js";
import type { SdkLogger } from "../logger.js";
import type { RegistryClient, TokenAnswer } from "../registry/registry-client.js";
import { readOwnTokenClaims } from "./jwt-claims.js";

/** What the agent holds for a service provider, as `agent.grant(serviceProvider)` shows it. */
export interface GrantInfo {
  readonly serviceProvider: string;
  /** The registry's id of the grant, from the access token's `grant_id`. */
  readonly grantId: string | undefined;
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

interface HeldGrant {
  readonly serviceProvider: string;
  readonly grantId: string | undefined;
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
 * The grants the agent holds, one per service provider, with their tokens: an access token is
 * handed out until it is due for refresh, then renewed with the refresh token — once, however
 * many callers ask at the same time.
 */
export class GrantStore {
  private readonly held = new Map<string, HeldGrant>();

  constructor(private readonly deps: GrantStoreDeps) {}

  /** Keeps the tokens of a newly approved grant (replacing any earlier grant for the provider). */
  hold(serviceProvider: string, answer: TokenAnswer): GrantInfo {
    const grantId = readOwnTokenClaims(answer.accessToken).grant_id;
    const grant: HeldGrant = {
      serviceProvider,
      grantId: typeof grantId === "string" ? grantId : undefined,
      authorization: answer.authorization,
      refreshToken: answer.refreshToken,
      access: this.accessToken(answer),
      refreshing: undefined,
    };
    this.held.set(serviceProvider, grant);
    return info(grant);
  }

  info(serviceProvider: string): GrantInfo | undefined {
    const grant = this.held.get(serviceProvider);
    return grant === undefined ? undefined : info(grant);
  }

  /** Forgets the grant for `serviceProvider`; answers its refresh token, if any, to revoke. */
  forget(serviceProvider: string): { refreshToken: string | undefined } | undefined {
    const grant = this.held.get(serviceProvider);
    if (grant === undefined) return undefined;
    this.held.delete(serviceProvider);
    return { refreshToken: grant.refreshToken };
  }

  /** A valid access token for `serviceProvider`, refreshed first when it is due. */
  async token(serviceProvider: string, signal?: AbortSignal): Promise<string> {
    const grant = this.grant(serviceProvider);
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
   * A new access token after the service provider refused `rejected` (RFC 6750 invalid_token):
   * refreshed, unless another caller has renewed it already.
   */
  async renew(serviceProvider: string, rejected: string, signal?: AbortSignal): Promise<string> {
    const grant = this.grant(serviceProvider);
    if (grant.access.token !== rejected && grant.refreshing === undefined) {
      return grant.access.token;
    }
    return (await raceAbort(this.refresh(grant), signal)).token;
  }

  private grant(serviceProvider: string): HeldGrant {
    const grant = this.held.get(serviceProvider);
    if (grant === undefined) {
      throw new AgentAuthSdkError(
        "ERR_NO_GRANT",
        `The agent holds no grant for ${serviceProvider}: request one with agent.requestGrant()`,
        { serviceProvider },
      );
    }
    return grant;
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
    if (this.held.get(grant.serviceProvider) === grant) this.held.delete(grant.serviceProvider);
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
