import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import express, { type RequestHandler, Router } from "express";
import { RegistryError } from "../errors.js";

export interface ApprovalAppRoutesDeps {
  /** The approval app's build output: `index.html` and `assets/` (Vite's content-hashed files). */
  readonly dir: string;
}

/**
 * The approval app's pages (`services/approval-ui/src/routing/client-routes.ts` keeps the same
 * list). Only these get `index.html`; everything else — `/api`, `/oauth`, `/.well-known`,
 * `/agents/…`, `/health`, `/metrics` and unknown paths — stays the registry's.
 */
const CLIENT_ROUTE =
  /^\/(?:requests(?:\/[^/]+)?|enrol|sign-in|grants|my-agents|service-providers|activity|account)?\/?$/;

/**
 * Content-Security-Policy of the app: its own scripts, styles and API only; no inline script or
 * style, no plugins, no framing (clickjacking an approval button), no `<base>` tricks.
 */
export const APPROVAL_APP_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const HTML_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy": APPROVAL_APP_CSP,
  // The page shows live requests and one-time secrets: never cached, never framed.
  "Cache-Control": "no-store",
  "X-Frame-Options": "DENY",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Permissions-Policy":
    "publickey-credentials-get=(self), publickey-credentials-create=(self), camera=(), microphone=(), geolocation=(), payment=()",
};

/**
 * Serves the built approval app on the registry's own origin, so its session cookie, WebAuthn
 * RP ID and Origin checks need no cross-origin set-up. Hashed assets are cached for a year;
 * `index.html` (for every client route) is never cached and carries the security headers.
 * Middleware rather than routes: these are pages, not API operations for `/openapi.json`.
 */
export function createApprovalAppRouter(deps: ApprovalAppRoutesDeps): Router {
  const dir = resolve(deps.dir);
  const index = join(dir, "index.html");
  const router = Router();

  router.use(
    "/assets",
    express.static(join(dir, "assets"), {
      index: false,
      redirect: false,
      dotfiles: "ignore",
      fallthrough: true,
      immutable: true,
      maxAge: "365d",
      setHeaders: (res) => res.setHeader("X-Content-Type-Options", "nosniff"),
    }),
  );

  const serveIndex: RequestHandler = (req, res, next) => {
    if ((req.method !== "GET" && req.method !== "HEAD") || !CLIENT_ROUTE.test(req.path)) {
      next();
      return;
    }
    res.sendFile(
      index,
      { headers: HTML_HEADERS, cacheControl: false, lastModified: false, etag: false },
      (error) => {
        if (error === undefined || res.headersSent) return;
        next(new RegistryError("ERR_UNAVAILABLE", "The approval app is not built"));
      },
    );
  };
  router.use(serveIndex);
  return router;
}

/**
 * Where `npm run build` puts the approval app (`services/approval-ui/dist/app`), found from
 * this file in `src/` or `dist/src/`; `undefined` when it has not been built.
 */
export function findBuiltApprovalApp(): string | undefined {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const candidate = join(dir, "approval-ui", "dist", "app");
    if (existsSync(join(candidate, "index.html"))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}
