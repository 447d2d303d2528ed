import express, { type Express, type RequestHandler, type Router } from "express";
import type { Logger } from "pino";
import { RegistryError } from "./errors.js";
import { createErrorMiddleware } from "./http/error-middleware.js";
import { logRequests } from "./http/log-requests.js";
import { assignRequestId } from "./http/request-id.js";

/** What `createApp` needs: every outside thing is injected by `main.ts` (or a test). */
export interface AppDeps {
  readonly logger: Logger;
  /** Routers mounted in order; each area of the API builds its own from its deps. */
  readonly routers: readonly Router[];
  /** Middleware run before every route (e.g. request metrics). */
  readonly beforeRoutes?: readonly RequestHandler[];
  readonly trustProxy?: boolean;
}

/** Builds the registry's HTTP application. No globals: everything comes from `deps`. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable("x-powered-by");
  // An API's answers are not revalidated by clients, and hashing every body costs on hot paths.
  app.disable("etag");
  app.set("trust proxy", deps.trustProxy ?? false);
  app.set("query parser", "simple");
  app.use(assignRequestId);
  app.use(logRequests(deps.logger));
  for (const middleware of deps.beforeRoutes ?? []) app.use(middleware);
  for (const router of deps.routers) app.use(router);
  app.use((req, _res, next) =>
    next(new RegistryError("ERR_NOT_FOUND", `No route for ${req.method} ${req.path}`)),
  );
  app.use(createErrorMiddleware(deps.logger));
  return app;
}
