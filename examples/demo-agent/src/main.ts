import { resolve } from "node:path";
import { createInterface } from "node:readline/promises";
import { parseArgs } from "node:util";
import { EXCHANGE, PAYMENTS } from "@agentauth/examples-kit";
import { createFileKeyStore } from "@agentauth/sdk/node";
import { explainDemoFailure, runDemo } from "./run-demo.js";

const USAGE = `Usage: npm run demo -- [--code <enrolment code>] [options]

  --code <code>       The agent enrolment code the human created in the approval app
                      (asked for when missing and the key is not enrolled yet)
  --key-file <path>   The agent's key (JWK, mode 0600); default <data dir>/demo-agent/agent-key.json
  --registry <url>    Default $AGENTAUTH_REGISTRY_URL or http://localhost:4000
  --exchange <url>    Default $EXCHANGE_PUBLIC_URL or http://localhost:${EXCHANGE.defaultPort}
  --payments <url>    Default $PAYMENTS_PUBLIC_URL or http://localhost:${PAYMENTS.defaultPort}
  --help`;

async function main(): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        code: { type: "string" },
        "key-file": { type: "string" },
        registry: { type: "string" },
        exchange: { type: "string" },
        payments: { type: "string" },
        help: { type: "boolean" },
      },
      strict: true,
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help === true) {
    console.log(USAGE);
    return 0;
  }
  const env = process.env;
  const dataDir = env.AGENTAUTH_DATA_DIR ?? ".data";
  const keyFile = resolve(
    (values["key-file"] as string | undefined) ?? `${dataDir}/demo-agent/agent-key.json`,
  );
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort(new Error("Interrupted")));
  const say = (line: string) => console.log(line);

  try {
    await runDemo({
      registryUrl:
        (values.registry as string | undefined) ??
        env.AGENTAUTH_REGISTRY_URL ??
        "http://localhost:4000",
      exchangeUrl:
        (values.exchange as string | undefined) ??
        env.EXCHANGE_PUBLIC_URL ??
        `http://localhost:${EXCHANGE.defaultPort}`,
      paymentsUrl:
        (values.payments as string | undefined) ??
        env.PAYMENTS_PUBLIC_URL ??
        `http://localhost:${PAYMENTS.defaultPort}`,
      keyStore: createFileKeyStore(keyFile),
      say,
      signal: controller.signal,
      async enrolmentCode() {
        if (typeof values.code === "string") return values.code;
        if (process.stdin.isTTY !== true) {
          throw new TypeError("This key is not enrolled yet: give the enrolment code with --code");
        }
        const prompt = createInterface({ input: process.stdin, output: process.stdout });
        try {
          return (
            await prompt.question(
              "Enrolment code (create one in the approval app, under Agents): ",
              { signal: controller.signal },
            )
          ).trim();
        } finally {
          prompt.close();
        }
      },
    });
    say(`\nThe agent's key stays in ${keyFile}: run the demo again without --code.`);
    return 0;
  } catch (error) {
    if (controller.signal.aborted) {
      console.error("\nStopped.");
      return 130;
    }
    if (error instanceof TypeError) {
      console.error(error.message);
      return 2;
    }
    const explained = explainDemoFailure(error);
    if (explained === undefined) throw error;
    console.error(`\n${explained}`);
    return 1;
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error("The demo failed:", error);
    process.exitCode = 1;
  },
);
