import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  BROWSER_CONDITIONS,
  BROWSER_SOURCE_CONDITIONS,
  bundleForBrowser,
  SDK_DIST_ENTRY,
  SDK_NODE_SOURCE_ENTRY,
  SDK_SOURCE_ENTRY,
} from "./bundle.js";

const platformModules = (moduleIds: readonly string[]) =>
  moduleIds.filter((id) => /platform-(web|node)\.[jt]s$/.test(id)).map((id) => id.split("/").pop());

describe("the SDK's browser build", () => {
  it("bundles from source with no Node-only import, on core's WebCrypto platform", async () => {
    const bundle = await bundleForBrowser(SDK_SOURCE_ENTRY, {
      conditions: BROWSER_SOURCE_CONDITIONS,
    });
    expect(bundle.nodeImports).toEqual([]);
    expect(platformModules(bundle.moduleIds)).toEqual(["platform-web.ts"]);
    for (const nodeOnly of ["file-key-store.ts", "file-grant-storage.ts", "private-json-file.ts"]) {
      expect(bundle.moduleIds.some((id) => id.endsWith(nodeOnly))).toBe(false);
    }
    for (const browserSafe of [
      "memory-grant-storage.ts",
      "indexed-db-key-store.ts",
      "indexed-db-grant-storage.ts",
    ]) {
      expect(bundle.moduleIds.some((id) => id.endsWith(browserSafe))).toBe(true);
    }
    expect(bundle.code).not.toMatch(/["']node:|\brequire\(/);
    expect(bundle.code).toContain("createAgent");
  });

  it("bundles from the built package (what npm consumers get) the same way", async () => {
    expect(existsSync(SDK_DIST_ENTRY), "build first: npx tsc -b packages/sdk").toBe(true);
    const bundle = await bundleForBrowser(SDK_DIST_ENTRY, { conditions: BROWSER_CONDITIONS });
    expect(bundle.nodeImports).toEqual([]);
    expect(platformModules(bundle.moduleIds)).toEqual(["platform-web.js"]);
    expect(bundle.code).not.toMatch(/["']node:|\brequire\(/);
  });

  it("would notice a Node-only import: the node entry has them", async () => {
    const bundle = await bundleForBrowser(SDK_NODE_SOURCE_ENTRY, {
      conditions: BROWSER_SOURCE_CONDITIONS,
    });
    expect(bundle.nodeImports).toEqual(expect.arrayContaining(["node:fs/promises", "node:crypto"]));
  });
});
