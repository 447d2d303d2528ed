import { join, resolve } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import {
  ConfigError,
  DEMO_SERVICE_PROVIDERS,
  type DemoServiceProvider,
  parseServiceProviderConfig,
} from "@agentauth/examples-kit";
import { apiKeyFileOf } from "../demo-provisioning.js";
import {
  type PlatformConfig,
  PlatformConfigError,
  parsePlatformConfig,
} from "../platform-config.js";
import { PLATFORM_READY_MESSAGE } from "../ready.js";
import { type ChildService, startChild } from "./child-service.js";
import { formatLogLine } from "./log-line.js";

export interface LaunchOptions {
  /** The repository root: where the built services are, and the working directory of each. */
  readonly root: string;
  readonly env: NodeJS.ProcessEnv;
  /** Where the launcher writes (default stdout). */
  readonly write?: (text: string) => void;
  /** Whether to colour the labels (default: stdout is a terminal and NO_COLOR is unset). */
  readonly color?: boolean;
}

/** The parts the launcher runs, as built by `tsc -b` (paths from the repository root). */
const SCRIPTS = {
  platform: "examples/embedded-platform/dist/src/main.js",
  provisioner: "examples/embedded-platform/dist/src/provision-main.js",
  registry: "services/registry/dist/src/main.js",
  verifier: "services/verifier/dist/src/main.js",
} as const;
/** The example service providers' processes, by service provider id. */
const EXAMPLES: Readonly<Record<string, { readonly name: string; readonly script: string }>> = {
  "demo-exchange": { name: "exchange", script: "examples/exchange/dist/src/main.js" },
  "demo-payments": { name: "payments", script: "examples/payments/dist/src/main.js" },
};
const COLORS = [36, 35, 33, 32, 34, 31];
const READY_TIMEOUT_MS = 120_000;

/**
 * `npm start`: the registry (serving the approval app), the verifier and the example service
 * providers, with prefixed, readable logs; prints the URLs and the first human's enrolment link.
 * On embedded defaults the registry and verifier share one process (`main.ts` of this package);
 * with both DATABASE_URL and REDIS_URL each runs as its own service. Resolves with the exit
 * code once everything has stopped (Ctrl+C, SIGTERM, or a part that died).
 */
export async function launch(options: LaunchOptions): Promise<number> {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  const color =
    options.color ?? (process.stdout.isTTY === true && options.env.NO_COLOR === undefined);
  const labels = new Map<string, string>();
  const label = (source: string) => {
    let text = labels.get(source);
    if (text === undefined) {
      const padded = source.padEnd(13);
      text = color ? `\x1b[${COLORS[labels.size % COLORS.length]}m${padded}\x1b[0m|` : `${padded}|`;
      labels.set(source, text);
    }
    return text;
  };
  const say = (text: string) => write(`${label("agentauth")} ${text}\n`);

  let config: PlatformConfig;
  let providers: Array<{ provider: DemoServiceProvider; env: NodeJS.ProcessEnv; url: string }>;
  const separate =
    nonEmpty(options.env.DATABASE_URL) !== undefined &&
    nonEmpty(options.env.REDIS_URL) !== undefined;
  try {
    config = parsePlatformConfig(options.env);
    const base = {
      ...options.env,
      AGENTAUTH_REGISTRY_URL: config.verifier.registryUrl,
      AGENTAUTH_VERIFIER_URL:
        options.env.AGENTAUTH_VERIFIER_URL ?? `http://localhost:${config.verifier.port}`,
    };
    const keyDir = resolve(options.root, config.keyDir);
    providers = DEMO_SERVICE_PROVIDERS.map((provider) => {
      const p = provider.envPrefix;
      // The key reaches the example through a 0600 file, never the command line or the logs.
      const env =
        options.env[`${p}_VERIFIER_API_KEY`] !== undefined ||
        options.env[`${p}_VERIFIER_API_KEY_FILE`] !== undefined
          ? base
          : { ...base, [`${p}_VERIFIER_API_KEY_FILE`]: apiKeyFileOf(keyDir, provider) };
      return { provider, env, url: parseServiceProviderConfig(env, provider).publicUrl };
    });
  } catch (error) {
    if (!(error instanceof PlatformConfigError || error instanceof ConfigError)) throw error;
    write(`${error.message}\n`);
    return 2;
  }

  const children: ChildService[] = [];
  let stopping = false;
  let firstHumanLink: string | undefined;
  let failure: ((child: ChildService) => void) | undefined;
  const failed = new Promise<ChildService>((resolveFailure) => {
    failure = resolveFailure;
  });
  const readyWaiters: Array<{ name: string; resolve: () => void }> = [];

  const start = (name: string, script: string, env: NodeJS.ProcessEnv, expected = false) => {
    const child = startChild({
      name,
      script: join(options.root, script),
      cwd: options.root,
      env,
      onLine(line) {
        const link = /^\s+(https?:\/\/\S+\/enrol#\S+)\s*$/.exec(line);
        if (link !== null) firstHumanLink = link[1];
        if (isReadyLine(line)) {
          for (const waiter of readyWaiters.filter((w) => w.name === name)) waiter.resolve();
        }
        const formatted = formatLogLine(line, name);
        write(`${label(formatted.source)} ${formatted.text}\n`);
      },
    });
    children.push(child);
    void child.exited.then((exit) => {
      write(`${label(name)} exited (${exit.signal ?? exit.code})\n`);
      const finishedWork = expected && exit.code === 0;
      if (!stopping && !finishedWork) failure?.(child);
    });
    return child;
  };
  const readyMessage = (name: string) =>
    new Promise<void>((resolveReady) => readyWaiters.push({ name, resolve: resolveReady }));

  const signalled = new Promise<NodeJS.Signals>((resolveSignal) => {
    process.once("SIGINT", () => resolveSignal("SIGINT"));
    process.once("SIGTERM", () => resolveSignal("SIGTERM"));
  });
  const stopAll = async () => {
    stopping = true;
    // The examples first, then the verifier, then the registry: in reverse order of start.
    for (const child of [...children].reverse()) await child.stop();
  };

  const registryLocal = `http://localhost:${config.registry.port}`;
  const verifierLocal = `http://localhost:${config.verifier.port}`;
  const coreReady = separate
    ? (async () => {
        start("registry", SCRIPTS.registry, { ...options.env });
        start("verifier", SCRIPTS.verifier, {
          ...options.env,
          AGENTAUTH_REGISTRY_URL: config.verifier.registryUrl,
        });
        await Promise.all([waitForReady(registryLocal), waitForReady(verifierLocal)]);
        if (!config.provisionDemoServiceProviders) return;
        const ready = readyMessage("provisioner");
        start("provisioner", SCRIPTS.provisioner, { ...options.env }, true);
        await ready;
      })()
    : (async () => {
        const ready = readyMessage("platform");
        start("platform", SCRIPTS.platform, { ...options.env });
        await ready;
      })();

  const first = await Promise.race([
    coreReady.then(() => "ready" as const),
    failed.then(() => "failed" as const),
    signalled.then(() => "signalled" as const),
    delay(READY_TIMEOUT_MS, "timeout" as const),
  ]);
  if (first !== "ready") {
    if (first === "timeout") say(`The platform was not ready within ${READY_TIMEOUT_MS / 1000} s.`);
    await stopAll();
    return first === "signalled" ? 0 : 1;
  }
  if (config.provisionDemoServiceProviders) {
    for (const { provider, env } of providers) {
      const example = EXAMPLES[provider.id];
      if (example !== undefined) start(example.name, example.script, env);
    }
  }

  const dataDir = resolve(options.root, config.registry.dataDir);
  const lines = [
    "",
    separate
      ? "AgentAuth is running on Postgres and Redis (DATABASE_URL, REDIS_URL); each service in its own process."
      : `AgentAuth is running on embedded defaults: ${config.registry.databaseUrl === undefined ? "PGlite" : "Postgres"} and ${config.registry.redisUrl === undefined ? "in-process state" : "Redis"}, the registry and the verifier in one process.`,
    `  Approval app and registry  ${config.registry.publicUrl}`,
    `  Verifier                   ${verifierLocal}`,
    ...(config.provisionDemoServiceProviders
      ? providers.map(({ provider, url }) => `  ${provider.name.padEnd(27)}${url}`)
      : []),
    `  Data directory             ${dataDir}`,
    "",
    ...(firstHumanLink === undefined
      ? []
      : [
          "  No human is enrolled yet. Enrol the first (admin) human with a passkey at this one-time link:",
          `    ${firstHumanLink}`,
          "  (the example service providers start once that is done)",
          "",
        ]),
    "  Then create an agent enrolment code in the approval app (Agents) and run the demo agent:",
    `    ${demoCommand(options.root, config, providers)}`,
    "",
    "  Ctrl+C stops everything.",
    "",
  ];
  for (const line of lines) say(line);

  const outcome = await Promise.race([
    failed.then((child) => ({ kind: "failed" as const, child })),
    signalled.then(() => ({ kind: "signalled" as const })),
  ]);
  if (outcome.kind === "failed") say(`${outcome.child.name} stopped; stopping everything.`);
  else say("Stopping…");
  await stopAll();
  return outcome.kind === "failed" ? 1 : 0;
}

/** The demo agent's command line, with the URLs that differ from its defaults. */
function demoCommand(
  root: string,
  config: PlatformConfig,
  providers: ReadonlyArray<{ provider: DemoServiceProvider; url: string }>,
): string {
  const parts = ["npm run demo -- --code <code>"];
  if (config.registry.publicUrl !== "http://localhost:4000")
    parts.push(`--registry ${config.registry.publicUrl}`);
  for (const { provider, url } of providers) {
    const flag = EXAMPLES[provider.id]?.name;
    if (flag !== undefined && url !== `http://localhost:${provider.defaultPort}`)
      parts.push(`--${flag} ${url}`);
  }
  if (config.registry.dataDir !== ".data")
    parts.push(
      `--key-file ${join(resolve(root, config.registry.dataDir), "demo-agent", "agent-key.json")}`,
    );
  return parts.join(" ");
}

function isReadyLine(line: string): boolean {
  if (!line.startsWith("{")) return false;
  try {
    return (JSON.parse(line) as { msg?: unknown }).msg === PLATFORM_READY_MESSAGE;
  } catch {
    return false;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

/** Polls `<url>/health/ready` until it answers 200. */
async function waitForReady(url: string): Promise<void> {
  for (;;) {
    try {
      const response = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(2_000) });
      await response.body?.cancel();
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await delay(250);
  }
}
