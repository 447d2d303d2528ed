import { Router } from "express";
import type { Registry } from "prom-client";

export interface OperationsRoutesDeps {
  readonly metrics: Registry;
  /** Each dependency's readiness check; a rejection means "not ready". */
  readonly readinessChecks: Readonly<Record<string, () => Promise<unknown>>>;
}

/** Liveness, readiness (which recovers by itself when a dependency comes back) and metrics. */
export function createOperationsRouter(deps: OperationsRoutesDeps): Router {
  const router = Router();
  router.get("/health/live", (_req, res) => {
    res.json({ status: "ok" });
  });
  router.get("/health/ready", async (_req, res) => {
    const results = await Promise.all(
      Object.entries(deps.readinessChecks).map(async ([name, check]) => {
        try {
          await check();
          return [name, "ok"] as const;
        } catch {
          return [name, "unavailable"] as const;
        }
      }),
    );
    const ready = results.every(([, status]) => status === "ok");
    res
      .status(ready ? 200 : 503)
      .json({ status: ready ? "ready" : "not_ready", checks: Object.fromEntries(results) });
  });
  router.get("/metrics", async (_req, res) => {
    res.type(deps.metrics.contentType).send(await deps.metrics.metrics());
  });
  return router;
}
