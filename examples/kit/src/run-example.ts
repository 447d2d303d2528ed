import { createServer, type RequestListener } from "node:http";
import { type AgentAuth, createAgentAuth, createRemoteVerification } from "@agentauth/express";
import { type Logger, pino } from "pino";
import { ApiKeyFileError, resolveApiKey } from "./api-key-file.js";
import { ConfigError } from "./config-error.js";
import { closeServer, listen, stopOnSignals } from "./serve.js";
import type { ServiceProviderConfig } from "./service-provider-config.js";

/** What an example builds once it has its configuration and its AgentAuth middleware. */
export interface ExampleApp {
  readonly listener: RequestListener;
  /** Logged with "listening". */
  readonly details?: Readonly<Record<string, unknown>>;
  /** Releases what the app holds (a Redis client…). */
  close?(): Promise<void>;
}

export interface RunExampleOptions<C extends ServiceProviderConfig> {
  /** Its name in the logs: "exchange", "payments". */
  readonly name: string;
  readonly parseConfig: (env: Readonly<Record<string, string | undefined>>) => C;
  readonly createApp: (deps: {
    readonly config: C;
    readonly agentAuth: AgentAuth;
    readonly logger: Logger;
  }) => ExampleApp | Promise<ExampleApp>;
}

/**
 * The `main` of an example service provider, the only place that reads its environment: parse
 * the configuration (exit 2 listing every bad variable), get the verifier API key (waiting for
 * its file if need be), guard the app with `@agentauth/express` over the verifier, listen, and
 * stop cleanly on SIGINT or SIGTERM.
 */
export async function runExample<C extends ServiceProviderConfig>(
  options: RunExampleOptions<C>,
): Promise<void> {
  let config: C;
  try {
    config = options.parseConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(2);
  }
  const logger = pino({ level: config.logLevel, base: { service: options.name } });
  const stopped = new AbortController();
  const server = createServer();
  let built: ExampleApp | undefined;
  let agentAuth: AgentAuth | undefined;
  stopOnSignals(async () => {
    stopped.abort();
    await closeServer(server);
    await agentAuth?.close();
    await built?.close?.();
  }, logger);

  try {
    const apiKey = await resolveApiKey(config.apiKey, {
      signal: stopped.signal,
      onWaiting: () =>
        logger.info(
          { file: config.apiKey.kind === "file" ? config.apiKey.path : undefined },
          "waiting for the verifier API key file (the platform writes it once the first human has enrolled)",
        ),
    });
    agentAuth = createAgentAuth({
      verification: createRemoteVerification({ verifierUrl: config.verifierUrl, apiKey }),
      serviceProvider: config.serviceProviderId,
      authorizationServer: config.registryUrl,
      publicUrl: config.publicUrl,
      onError: (error, req) =>
        logger.warn({ code: error.code, err: error.message, path: req.path }, "no decision"),
    });
    built = await options.createApp({ config, agentAuth, logger });
    server.on("request", built.listener);
    await listen(server, config.port, config.host);
  } catch (error) {
    if (stopped.signal.aborted) return;
    if (error instanceof ApiKeyFileError) {
      logger.fatal({ file: error.path }, error.message);
      process.exit(1);
    }
    throw error;
  }
  logger.info(
    {
      url: config.publicUrl,
      serviceProvider: config.serviceProviderId,
      verifier: config.verifierUrl,
      ...built.details,
    },
    `${options.name} listening`,
  );
}
