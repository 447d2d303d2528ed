import type { RequestHandler, Response } from "express";
import { RegistryError } from "../errors.js";

/** The human a request is signed in as, put on `res.locals.human` by the session middleware. */
export interface SignedInHuman {
  readonly id: string;
  readonly is_admin: boolean;
}

/** The signed-in human; only valid behind the session middleware. */
export function signedInHuman(res: Response): SignedInHuman {
  const human = res.locals.human as SignedInHuman | undefined;
  if (human === undefined)
    throw new RegistryError("ERR_UNAUTHENTICATED", "Sign in with a passkey first");
  return human;
}

/** The middleware that authenticates humans, supplied by the humans area. */
export interface HumanAuthentication {
  /** 401 unless a valid session cookie is present; sets `res.locals.human`. */
  readonly requireHuman: RequestHandler;
  /** 403 unless the signed-in human is an admin. */
  readonly requireAdmin: RequestHandler;
  /** 403 unless a state-changing request comes from the registry's own origin. */
  readonly checkOrigin: RequestHandler;
}
