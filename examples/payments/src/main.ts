import { runExample } from "@agentauth/examples-kit";
import { parsePaymentsConfig } from "./config.js";
import { createPaymentsApp } from "./create-payments-app.js";

// The payments example as `npm start` runs it.
runExample({
  name: "payments",
  parseConfig: parsePaymentsConfig,
  createApp: ({ config, agentAuth, logger }) => ({
    listener: createPaymentsApp({
      agentAuth,
      merchants: config.merchants,
      clock: { now: () => new Date() },
      logger,
    }),
    details: { merchants: config.merchants },
  }),
}).catch((error: unknown) => {
  console.error("The payments example failed:", error);
  process.exit(1);
});
