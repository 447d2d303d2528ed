import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import {
  freePort,
  type GuardedServiceProvider,
  startGuardedServiceProvider,
  startTestPlatform,
  type TestPlatform,
  testBackend,
} from "@agentauth/embedded-platform/testing";
import { createExchangeApp, createMemoryPayloadStore } from "@agentauth/example-exchange";
import { createPaymentsApp, type Payment } from "@agentauth/example-payments";
import { EXCHANGE, PAYMENTS } from "@agentauth/examples-kit";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The demo agent as a person runs it: the built script in its own process (real time, a key
// file), against the real registry and verifier of the embedded platform and the two example
// service providers. The test plays the human: it reads the approval links the script prints
// and approves each request with a software passkey.

const MAIN = fileURLToPath(new URL("../dist/src/main.js", import.meta.url));
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

describe("npm run demo", () => {
  it("builds, then runs this script last, so `npm run demo -- --code <code>` hands it the options", async () => {
    const { scripts } = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    // npm appends what follows `--` to the script's command line: to the last command here.
    expect(scripts.demo).toBe(
      `node scripts/ensure-deps.mjs && tsc -b && node ${relative(ROOT, MAIN)}`,
    );
  });
});

interface DemoRun {
  readonly code: number | null;
  readonly lines: string[];
  readonly approved: string[];
}

/** What the test, playing the human, does with each request the script prints. */
type Decision = "approve" | "deny" | "ignore";

function runDemoScript(
  test: TestPlatform,
  args: string[],
  options: {
    readonly decide?: (requestId: string) => Decision;
    /** Called with the child once the script waits for the human. */
    readonly onWaiting?: (child: ChildProcess) => void;
  } = {},
): Promise<DemoRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { PATH: process.env.PATH ?? "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const lines: string[] = [];
    const approved: string[] = [];
    const decisions: Promise<unknown>[] = [];
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on("line", (line) => {
        lines.push(line);
        if (line.includes("Waiting for the human")) options.onWaiting?.(child);
        const link = /Approve at: (\S+)/.exec(line);
        if (link === null) return;
        const requestId = new URL(link[1] as string).pathname.split("/").pop() as string;
        const decision = options.decide?.(requestId) ?? "approve";
        if (decision === "approve") {
          decisions.push(
            test.approve(requestId).then(({ grantId }) => approved.push(grantId), reject),
          );
        } else if (decision === "deny") {
          decisions.push(test.deny(requestId, "Not today").catch(reject));
        }
      });
    }
    child.once("error", reject);
    child.once("exit", (code) => {
      Promise.all(decisions).then(() => resolve({ code, lines, approved }), reject);
    });
  });
}

describe(`the demo agent script (${testBackend().name})`, () => {
  let test: TestPlatform;
  let dir: string;
  const providers: GuardedServiceProvider[] = [];
  const booked: Payment[] = [];
  let urls: { exchange: string; payments: string };

  beforeAll(async () => {
    test = await startTestPlatform({ clock: "system" });
    dir = await mkdtemp(join(tmpdir(), "agentauth-demo-"));
    const silent = pino({ level: "silent" });
    const exchange = await startGuardedServiceProvider(test, EXCHANGE, (agentAuth) =>
      createExchangeApp({
        agentAuth,
        store: createMemoryPayloadStore(),
        clock: { now: () => new Date() },
        logger: silent,
        limits: { maxTtlSeconds: 3600, maxPayloadBytes: 65_536 },
      }),
    );
    const payments = await startGuardedServiceProvider(test, PAYMENTS, (agentAuth) =>
      createPaymentsApp({
        agentAuth,
        merchants: ["acme"],
        clock: { now: () => new Date() },
        logger: silent,
        onPayment: (payment) => booked.push(payment),
      }),
    );
    providers.push(exchange, payments);
    urls = { exchange: exchange.url, payments: payments.url };
  });
  afterAll(async () => {
    for (const provider of providers) await provider.close();
    await test?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const argsFor = (extra: string[]) => [
    "--key-file",
    join(dir, "agent-key.json"),
    "--registry",
    test.registryUrl,
    "--exchange",
    urls.exchange,
    "--payments",
    urls.payments,
    ...extra,
  ];

  it("enrols, is approved, uses both service providers and says what happened", async () => {
    const code = await test.enrolmentCode("demo agent");
    const run = await runDemoScript(test, argsFor(["--code", code]));
    const output = run.lines.join("\n");
    expect(run.code, output).toBe(0);

    expect(output).toMatch(/Enrolled as agent agt_\S+/);
    expect(run.approved).toHaveLength(3);
    expect(output).toContain(
      'Retrieved (here by this agent standing in for the recipient) and opened: "Meet at gate B12, 09:40. Bring the blue folder."',
    );
    expect(output).toContain("Retrieved again: refused, 410 ERR_DATA_TOKEN_USED");
    expect(output).toContain("retrieved 1.5 s later: refused, 410 ERR_DATA_TOKEN_EXPIRED");
    expect(output).toMatch(
      /12\.50 EUR with the task token: paid \(pay_\S+\), 37\.50 EUR left today/,
    );
    expect(output).toContain("20.00 EUR with the task token: refused, capability_not_granted");
    expect(output).toContain("The task has ended and its token is revoked (yes)");
    expect(output).toContain("Using it now: refused before it leaves the agent: ERR_TASK_REVOKED");
    expect(output).toContain("45.00 EUR: refused, transaction_limit_exceeded");
    expect(output).toContain(
      "30.00 EUR: step-up required above 25.00 EUR: the human must approve this one",
    );
    const stepUpGrant =
      /Approved; 30\.00 EUR under the step-up grant (grt_\S+): paid \(pay_\S+\)/.exec(output)?.[1];
    expect(stepUpGrant, output).toBeDefined();
    expect(output).toMatch(/24\.00 EUR: paid \(pay_\S+\), 13\.50 EUR left today/);
    expect(output).toMatch(
      /20\.00 EUR: refused, spend_cap_exceeded \(the window reopens in (\d+ h )?\d+ (min|s)\)/,
    );
    expect(output).toContain(
      "Summary: 12.50 paid, 20.00 capability_not_granted, 1.00 ERR_TASK_REVOKED, 45.00 transaction_limit_exceeded, 30.00 step_up_required, 30.00 paid, 24.00 paid, 20.00 spend_cap_exceeded",
    );
    // No data token is printed whole.
    expect(output).not.toMatch(/dt_[A-Za-z0-9_-]{43}/);

    // What the service provider booked, and the task token's revocation at the registry.
    expect(booked.map((payment) => payment.amount)).toEqual(["12.50", "30.00", "24.00"]);
    // One agent held both grants: the step-up paid the 30.00, the main grant the rest.
    const [taxi, dinner, books] = booked;
    expect(new Set(booked.map((payment) => payment.agent)).size).toBe(1);
    expect(dinner?.grant).toBe(stepUpGrant);
    expect(taxi?.grant).not.toBe(stepUpGrant);
    expect(books?.grant).toBe(taxi?.grant);
    const taskTokenId = booked[0]?.tokenId;
    await test.platform.registry.auditSequencer.runOnce();
    const revoked = await test.admin
      .get(
        `/api/audit/events?${new URLSearchParams({ scope: "all", type: "token.revoked", limit: "500" })}`,
      )
      .expect(200);
    const subjects = (revoked.body.events as Array<{ event: { subject: string } }>).map(
      ({ event }) => event.subject,
    );
    expect(subjects).toContain(taskTokenId);
    expect((await stat(join(dir, "agent-key.json"))).mode & 0o777).toBe(0o600);
  });

  it("runs again with the same key without a new enrolment code", async () => {
    const run = await runDemoScript(test, argsFor([]));
    const output = run.lines.join("\n");
    expect(run.code, output).toBe(0);
    expect(output).toMatch(/Already enrolled as agent agt_\S+/);
    expect(run.approved).toHaveLength(3);
  });

  it("explains a denial, and stops on Ctrl+C while it waits", async () => {
    const keyFile = join(dir, "denied-key.json");
    const own = (extra: string[]) => [...argsFor(extra).slice(2), "--key-file", keyFile];
    let first = true;
    const denied = await runDemoScript(test, own(["--code", await test.enrolmentCode()]), {
      decide: () => {
        const decision = first ? "deny" : "ignore";
        first = false;
        return decision;
      },
    });
    expect(denied.code).toBe(1);
    expect(denied.lines.join("\n")).toContain("The human denied the request: Not today.");

    const interrupted = await runDemoScript(test, own([]), {
      decide: () => "ignore",
      onWaiting: (child) => child.kill("SIGINT"),
    });
    expect(interrupted.code).toBe(130);
    expect(interrupted.lines.join("\n")).toContain("Stopped.");
  });

  it("says so when the platform is not running", async () => {
    const run = await runDemoScript(test, [
      "--key-file",
      join(dir, "unreachable-key.json"),
      "--code",
      "ANY-CODE",
      "--registry",
      `http://localhost:${await freePort()}`,
    ]);
    expect(run.code).toBe(1);
    expect(run.lines.join("\n")).toContain("Is the platform running (npm start)?");
  });

  it("explains a refused enrolment code, and a missing one", async () => {
    const fresh = join(dir, "other-key.json");
    const refused = await runDemoScript(test, [
      ...argsFor(["--code", "NOT-A-REAL-CODE"]).slice(2),
      "--key-file",
      fresh,
    ]);
    expect(refused.code).toBe(1);
    expect(refused.lines.join("\n")).toContain("The enrolment code was refused");
    const missing = await runDemoScript(test, [...argsFor([]).slice(2), "--key-file", fresh]);
    expect(missing.code).toBe(2);
    expect(missing.lines.join("\n")).toContain("give the enrolment code with --code");
  });
});
