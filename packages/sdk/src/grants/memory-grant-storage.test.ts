import { describeGrantStorageContract } from "./grant-storage.contract.js";
import { createMemoryGrantStorage } from "./memory-grant-storage.js";

describeGrantStorageContract("memory", async () => {
  const storage = createMemoryGrantStorage();
  return { storage, reopen: async () => storage };
});
