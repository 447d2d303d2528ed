import { stopOnSignals } from "@agentauth/examples-kit";
import { pino } from "pino";
import { parsePlatformConfigOrExit } from "./platform-config.js";
import { PLATFORM_READY_MESSAGE } from "./ready.js";
import { startPlatform } from "./start-platform.js";

// The co-hosting process `npm start` runs on embedded defaults: the only place that reads the
// environment and wires the platform. Production runs the registry and the verifier separately.
async function main(): Promise<void> {
  const config = parsePlatformConfigOrExit(process.env);
  // Synchronous writes: this is a demo host, and the link below must not cut through a log line.
  const destination = pino.destination({ dest: 1, sync: true });
  const createLogger = (service: string) =>
    pino({ level: config.registry.logLevel, base: { service } }, destination);
  const logger = createLogger("platform");
  const platform = await startPlatform({ config, createLogger });
  stopOnSignals(() => platform.close(), logger);

  if (platform.firstHumanInvitation !== undefined) {
    // Printed, never logged as data: it is a one-time secret for the operator's eyes.
    process.stdout.write(
      `\nNo human is enrolled yet. Enrol the first (admin) human with a passkey here:\n  ${platform.firstHumanInvitation}\n\n`,
    );
  }
  const firstPass = await platform.demoServiceProviders?.firstPass.catch(() => undefined);
  logger.info(
    {
      registry: platform.registryUrl,
      verifier: platform.verifierUrl,
      demoServiceProviders: firstPass?.kind ?? "off",
    },
    PLATFORM_READY_MESSAGE,
  );
}

main().catch((error: unknown) => {
  console.error("The platform failed to start:", error);
  process.exit(1);
});
