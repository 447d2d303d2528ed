import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// `@agentauth/verifier/engine` is for processes that verify in-process: it must not drag in the
// service's HTTP surface, metrics, logging or configuration. The modules it loads are found by
// following its runtime imports (type-only ones load nothing).

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../../src");
const RUNTIME_IMPORT = /^(?:import|export)\s+(?!type\b)[^;]*?from\s+"([^"]+)";/gms;

function runtimeImports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(RUNTIME_IMPORT)].map((match) => match[1] as string);
}

function loadedBy(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const specifier of runtimeImports(file)) {
      if (specifier.startsWith(".")) visit(join(dirname(file), specifier.replace(/\.js$/, ".ts")));
      else packages.add(specifier);
    }
  };
  visit(entry);
  return { files, packages };
}

describe("@agentauth/verifier/engine", () => {
  it("loads neither the HTTP surface, metrics, logging nor configuration", () => {
    const { files, packages } = loadedBy(join(SRC, "engine/index.ts"));
    expect(files.has(join(SRC, "engine/verification-engine.ts"))).toBe(true);
    expect(files.has(join(SRC, "verification/verify-request.ts"))).toBe(true);
    for (const name of ["pino", "prom-client", "zod", "node:http", "node:cluster"])
      expect(packages, name).not.toContain(name);
    for (const file of files) {
      expect(file).not.toMatch(/\/(http|operations)\/|\/config\.ts$|\/main\.ts$/);
    }
  });

  it("is seen to load them when an entry does (the check can fail)", () => {
    const { packages } = loadedBy(join(SRC, "create-verifier.ts"));
    expect(packages).toContain("prom-client");
  });
});
