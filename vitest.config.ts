import { defineConfig } from "vitest/config";

// One config for the whole workspace. `source` resolves workspace packages to their TypeScript
// sources (see each package's `exports`), so tests never run stale builds.
export default defineConfig({
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"] } },
  test: {
    include: ["{packages,services,examples}/*/{src,test}/**/*.test.{ts,tsx}"],
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
});
