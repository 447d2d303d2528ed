// @agentauth/sdk/node — everything in @agentauth/sdk, plus what only Node has: the file key
// store and the file grant storage (node:fs).

export { createFileGrantStorage } from "./grants/file-grant-storage.js";
export * from "./index.js";
export { createFileKeyStore } from "./keys/file-key-store.js";
