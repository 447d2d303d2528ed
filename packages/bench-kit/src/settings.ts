import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { cpus as cpus_, loadavg } from "node:os";

/**
 * A comma-separated list of positive integers from the environment variable `name`, or
 * `fallback`; exits with status 2 and a message when it is malformed.
 */
export function readIntegerList(name: string, fallback: string): number[] {
  const values = (process.env[name] ?? fallback).split(",").map((value) => Number(value.trim()));
  if (values.length === 0 || values.some((value) => !Number.isInteger(value) || value < 1)) {
    console.error(`${name} must be a comma-separated list of positive integers`);
    process.exit(2);
  }
  return values;
}

/** A positive number from the environment variable `name`, or `fallback`; exits 2 otherwise. */
export function readPositiveNumber(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`${name} must be a positive number`);
    process.exit(2);
  }
  return value;
}

/** The environment variable `name` when set and not empty. */
export function readOptional(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === "" ? undefined : value;
}

/** A URL to print: scheme, user, host and path, never a password or query. */
export function describeUrl(value: string): string {
  const url = new URL(value);
  return `${url.protocol}//${url.username === "" ? "" : `${url.username}@`}${url.host}${url.pathname}`;
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address !== null
          ? resolvePort(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}

/**
 * A random address in 127.0.0.0/8, as a source address: per-IP limits a service keeps in shared
 * state (Redis) are then not spent by an earlier run in the same window.
 */
export function randomLoopbackAddress(): string {
  const [a, b, c] = randomBytes(3);
  return `127.${((a ?? 0) % 254) + 1}.${b ?? 0}.${((c ?? 0) % 254) + 1}`;
}

/**
 * The machine as a benchmark should report it: CPUs, their model, and the load average at the
 * moment (the machine may be shared: figures mean little without it).
 */
export function describeMachine(): string {
  const cpus = cpus_();
  const [one, five, fifteen] = loadavg();
  return (
    `${cpus.length} CPU(s) (${cpus[0]?.model.trim() ?? "unknown model"}); load average ` +
    `${(one ?? 0).toFixed(2)} / ${(five ?? 0).toFixed(2)} / ${(fifteen ?? 0).toFixed(2)} (1 / 5 / 15 min)`
  );
}
