import type { Request, RequestHandler, Response } from "express";
import type { Kysely } from "kysely";
import type { Clock } from "../clock.js";
import type { Database } from "../db/database.js";
import { RegistryError } from "../errors.js";
import { type HumanAuthentication, signedInHuman } from "../http/signed-in-human.js";
import {
  type ActiveSession,
  findActiveSession,
  readSessionToken,
  requiresSecureCookie,
} from "./sessions.js";

export interface HumanAuthenticationDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  /** The registry's public origin (scheme, host, port), e.g. `https://agentauth.example`. */
  readonly origin: string;
}

/** {@link HumanAuthentication} plus the lookups the humans area itself needs. */
export interface HumanSessions extends HumanAuthentication {
  readonly origin: string;
  /** Whether session cookies carry `Secure`. */
  readonly secureCookies: boolean;
  /** The request's live session, if its cookie opens one. */
  currentSession(req: Request): Promise<ActiveSession | undefined>;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Cookie sessions for humans: `requireHuman` (401 without a live session; sets
 * `res.locals.human` and `res.locals.session`), `requireAdmin` (403 for non-admins) and
 * `checkOrigin` (403 `ERR_ORIGIN_MISMATCH` when a state-changing request's `Origin` is missing
 * or foreign: `SameSite=Strict` is the first defence against cross-site requests, this the second).
 */
export function createHumanAuthentication(deps: HumanAuthenticationDeps): HumanSessions {
  const origin = new URL(deps.origin).origin;
  if (origin !== deps.origin)
    throw new TypeError(`origin must be a bare origin such as "${origin}"`);

  async function currentSession(req: Request): Promise<ActiveSession | undefined> {
    const token = readSessionToken(req);
    return token === undefined ? undefined : findActiveSession(deps.db, token, deps.clock.now());
  }

  const requireHuman: RequestHandler = async (req, res, next) => {
    const session = await currentSession(req);
    if (session === undefined)
      throw new RegistryError("ERR_UNAUTHENTICATED", "Sign in with a passkey first");
    res.locals.human = session.human;
    res.locals.session = session;
    next();
  };

  const requireAdmin: RequestHandler = (_req, res, next) => {
    if (!signedInHuman(res).is_admin)
      throw new RegistryError("ERR_FORBIDDEN", "Only an administrator may do this");
    next();
  };

  const checkOrigin: RequestHandler = (req, _res, next) => {
    if (SAFE_METHODS.has(req.method)) {
      next();
      return;
    }
    const received = req.get("origin");
    if (received === undefined) {
      throw new RegistryError(
        "ERR_ORIGIN_MISMATCH",
        "State-changing requests must carry an Origin header",
      );
    }
    if (received !== origin) {
      throw new RegistryError(
        "ERR_ORIGIN_MISMATCH",
        `Requests from origin "${received.slice(0, 200)}" are refused`,
      );
    }
    next();
  };

  return {
    requireHuman,
    requireAdmin,
    checkOrigin,
    origin,
    secureCookies: requiresSecureCookie(origin),
    currentSession,
  };
}

/** The live session of a request that passed `requireHuman`. */
export function signedInSession(res: Response): ActiveSession {
  const session = res.locals.session as ActiveSession | undefined;
  if (session === undefined)
    throw new RegistryError("ERR_UNAUTHENTICATED", "Sign in with a passkey first");
  return session;
}
