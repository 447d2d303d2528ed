import { builtinModules } from "node:module";
import { fileURLToPath } from "node:url";
import { rolldown } from "rolldown";

const NODE_BUILTINS = new Set(builtinModules);

/** Export conditions a browser bundler uses; with `source`, the workspace's TypeScript. */
export const BROWSER_CONDITIONS = ["browser", "import", "default"];
export const BROWSER_SOURCE_CONDITIONS = ["source", ...BROWSER_CONDITIONS];

export const SDK_SOURCE_ENTRY = fileURLToPath(new URL("../../src/index.ts", import.meta.url));
export const SDK_NODE_SOURCE_ENTRY = fileURLToPath(new URL("../../src/node.ts", import.meta.url));
export const SDK_DIST_ENTRY = fileURLToPath(new URL("../../dist/src/index.js", import.meta.url));

export interface BrowserBundle {
  readonly code: string;
  /** Every module in the bundle, by absolute path. */
  readonly moduleIds: readonly string[];
  /** Every Node-only module something in the bundle imports (`node:fs`, `crypto`…). */
  readonly nodeImports: readonly string[];
}

/**
 * Bundles `entry` as a browser bundler would (rolldown, `platform: "browser"`), recording
 * every import of a Node built-in — which a browser could not load.
 */
export async function bundleForBrowser(
  entry: string,
  options: { conditions: string[]; format?: "esm" | "iife" },
): Promise<BrowserBundle> {
  const nodeImports = new Set<string>();
  const build = await rolldown({
    input: entry,
    platform: "browser",
    resolve: { conditionNames: options.conditions },
    logLevel: "silent",
    plugins: [
      {
        name: "record-node-imports",
        resolveId(source) {
          if (source.startsWith("node:") || NODE_BUILTINS.has(source.split("/")[0] ?? "")) {
            nodeImports.add(source);
            return { id: source, external: true };
          }
          return null;
        },
      },
    ],
  });
  try {
    const { output } = await build.generate({
      format: options.format ?? "esm",
      ...(options.format === "iife" ? { name: "AgentAuthSdk" } : {}),
    });
    const chunk = output[0];
    return { code: chunk.code, moduleIds: chunk.moduleIds, nodeImports: [...nodeImports] };
  } finally {
    await build.close();
  }
}
