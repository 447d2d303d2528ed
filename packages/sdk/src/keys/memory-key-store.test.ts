import { describe, expect, it } from "vitest";
import { generateAgentKeyPair } from "./agent-key-pair.js";
import { describeKeyStoreContract } from "./key-store.contract.js";
import { createMemoryKeyStore } from "./memory-key-store.js";

describeKeyStoreContract("memory", async () => {
  const store = createMemoryKeyStore();
  return { store, reopen: async () => store };
});

describe("createMemoryKeyStore", () => {
  it("uses a key pair it is given, with its agent id", async () => {
    const keyPair = await generateAgentKeyPair(false);
    const store = createMemoryKeyStore({ keyPair, agentId: "agt_1" });
    expect(await store.loadOrCreate()).toEqual({ keyPair, agentId: "agt_1" });
  });

  it("refuses a key pair that is extractable, of another kind, or not a key pair", async () => {
    const extractable = await generateAgentKeyPair(true);
    expect(() => createMemoryKeyStore({ keyPair: extractable })).toThrow(/must not be extractable/);
    const ed25519 = (await crypto.subtle.generateKey({ name: "Ed25519" }, false, [
      "sign",
      "verify",
    ])) as CryptoKeyPair;
    expect(() => createMemoryKeyStore({ keyPair: ed25519 })).toThrow(TypeError);
    expect(() => createMemoryKeyStore({ keyPair: {} as CryptoKeyPair })).toThrow(TypeError);
    expect(() => createMemoryKeyStore({ agentId: "not an id" })).toThrow(TypeError);
  });
});
