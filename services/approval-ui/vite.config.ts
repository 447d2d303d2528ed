import react from "@vitejs/plugin-react";
import { defaultClientConditions, defineConfig } from "vite";

// The registry's own paths: in development the Vite server answers the app and proxies these to
// a registry started with PUBLIC_URL set to this server's URL, so the browser sees one origin
// (session cookie, WebAuthn RP ID and the registry's Origin check all just work).
const REGISTRY_PATHS = [
  "/api",
  "/oauth",
  "/agents/",
  "/.well-known",
  "/health",
  "/metrics",
  "/openapi.json",
];

const registry = process.env.AGENTAUTH_REGISTRY_URL ?? "http://localhost:4000";

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  // `source` resolves @agentauth/core to its TypeScript; `browser` picks its WebCrypto platform.
  resolve: { conditions: ["source", ...defaultClientConditions] },
  build: {
    outDir: "dist/app",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: true,
    // The polyfill would be an inline script, which the app's Content-Security-Policy forbids.
    modulePreload: { polyfill: false },
  },
  server: {
    port: 5173,
    strictPort: true,
    // `changeOrigin: false` keeps the browser's Host and Origin, which the registry checks.
    proxy: Object.fromEntries(
      REGISTRY_PATHS.map((path) => [path, { target: registry, changeOrigin: false }]),
    ),
  },
});
