import { pino } from "pino";
import { Registry } from "prom-client";
import request from "supertest";
import { it } from "vitest";
import { createApp } from "../../src/app.js";
import { createOperationsRouter } from "../../src/operations/operations-routes.js";

it("reports not ready while a dependency is down, and ready again when it returns", async () => {
  let redisUp = true;
  const app = createApp({
    logger: pino({ level: "silent" }),
    routers: [
      createOperationsRouter({
        metrics: new Registry(),
        readinessChecks: {
          database: async () => undefined,
          redis: async () => {
            if (!redisUp) throw new Error("connection refused");
          },
        },
      }),
    ],
  });
  await request(app)
    .get("/health/ready")
    .expect(200, { status: "ready", checks: { database: "ok", redis: "ok" } });
  redisUp = false;
  await request(app)
    .get("/health/ready")
    .expect(503, { status: "not_ready", checks: { database: "ok", redis: "unavailable" } });
  await request(app).get("/health/live").expect(200);
  redisUp = true;
  await request(app).get("/health/ready").expect(200);
});
