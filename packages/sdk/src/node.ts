// @agentauth/sdk/node — everything in @agentauth/sdk, plus what only Node has: the file key
// store (node:fs).

export * from "./index.js";
export { createFileKeyStore } from "./keys/file-key-store.js";
