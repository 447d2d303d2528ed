import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// The agents' client must run in browsers too: no file it loads may import a Node-only module.
const CLIENT = fileURLToPath(new URL("./index.ts", import.meta.url));

async function importsOf(file: string): Promise<string[]> {
  const source = await readFile(file, "utf8");
  return [...source.matchAll(/^(?:import|export)[^;]*?from\s+"([^"]+)"/gms)].map(
    (match) => match[1] as string,
  );
}

describe("@agentauth/example-exchange/client", () => {
  it("loads no Node-only module, directly or through its own files", async () => {
    const seen = new Set<string>();
    const external = new Set<string>();
    const visit = async (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const specifier of await importsOf(file)) {
        if (specifier.startsWith(".")) {
          await visit(resolve(dirname(file), specifier.replace(/\.js$/, ".ts")));
        } else {
          external.add(specifier);
        }
      }
    };
    await visit(CLIENT);
    expect(seen.size).toBeGreaterThan(3);
    expect([...seen].every((file) => file.startsWith(join(dirname(CLIENT), "..")))).toBe(true);
    expect([...external].sort()).toEqual(["@agentauth/core"]);
  });
});
