import { describe, expect, it } from "vitest";
import { expectSdkError } from "../../test/support/assertions.js";
import type { KeyStore } from "./key-store.js";

export interface KeyStoreUnderTest {
  readonly store: KeyStore;
  /** Another store on the same storage, as a restarted process would open it. */
  reopen(): Promise<KeyStore>;
}

const ES256 = { name: "ECDSA", hash: "SHA-256" } as const;

async function publicJwk(store: KeyStore): Promise<JsonWebKey | undefined> {
  return publicJwkOf((await store.loadOrCreate()).keyPair);
}

async function publicJwkOf(keyPair: CryptoKeyPair | undefined): Promise<JsonWebKey | undefined> {
  if (keyPair === undefined) return undefined;
  const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", keyPair.publicKey);
  return { kty, crv, x, y };
}

/** The behaviour every {@link KeyStore} adapter must have; run once per adapter. */
export function describeKeyStoreContract(
  adapter: string,
  open: () => Promise<KeyStoreUnderTest>,
): void {
  describe(`KeyStore contract: ${adapter}`, () => {
    it("generates a P-256 key whose private half cannot be exported, and signs with it", async () => {
      const { store } = await open();
      const { keyPair, agentId } = await store.loadOrCreate();
      expect(agentId).toBeUndefined();
      expect(keyPair.privateKey.extractable).toBe(false);
      expect(keyPair.privateKey.algorithm).toMatchObject({ name: "ECDSA", namedCurve: "P-256" });
      await expect(crypto.subtle.exportKey("jwk", keyPair.privateKey)).rejects.toThrow();
      const data = crypto.getRandomValues(new Uint8Array(64));
      const signature = await crypto.subtle.sign(ES256, keyPair.privateKey, data);
      expect(await crypto.subtle.verify(ES256, keyPair.publicKey, signature, data)).toBe(true);
    });

    it("answers the same key every time, concurrent calls and reopened stores included", async () => {
      const { store, reopen } = await open();
      const keys = await Promise.all([publicJwk(store), publicJwk(store), publicJwk(store)]);
      expect(keys[1]).toEqual(keys[0]);
      expect(keys[2]).toEqual(keys[0]);
      expect(await publicJwk(await reopen())).toEqual(keys[0]);
    });

    it("keeps the agent id with the key", async () => {
      const { store, reopen } = await open();
      const before = await publicJwk(store);
      await store.saveAgentId("agt_0123456789abcdef");
      expect((await store.loadOrCreate()).agentId).toBe("agt_0123456789abcdef");
      const reopened = await reopen();
      expect((await reopened.loadOrCreate()).agentId).toBe("agt_0123456789abcdef");
      expect(await publicJwk(reopened)).toEqual(before);
    });

    it("refuses an agent id that is not one", async () => {
      const { store } = await open();
      await store.loadOrCreate();
      for (const id of ["", "a b", "x".repeat(201), 42]) {
        await expect(store.saveAgentId(id as string)).rejects.toBeInstanceOf(TypeError);
      }
      expect((await store.loadOrCreate()).agentId).toBeUndefined();
    });

    it("stages one next key beside the current one, the same on every call", async () => {
      const { store, reopen } = await open();
      const current = await publicJwk(store);
      expect((await store.loadOrCreate()).nextKeyPair).toBeUndefined();
      const staged = await store.stageNextKey();
      expect(staged.privateKey.extractable).toBe(false);
      const next = await publicJwkOf(staged);
      expect(next).not.toEqual(current);
      expect(await publicJwkOf(await store.stageNextKey())).toEqual(next);
      // The current key stays current while a next one is staged, reopened stores included.
      const reopened = await reopen();
      expect(await publicJwk(reopened)).toEqual(current);
      expect(await publicJwkOf((await reopened.loadOrCreate()).nextKeyPair)).toEqual(next);
      expect(await publicJwkOf(await reopened.stageNextKey())).toEqual(next);
      expect(await publicJwk(store)).toEqual(current);
    });

    it("ends with one staged key when several stage at once", async () => {
      const { store, reopen } = await open();
      await store.loadOrCreate();
      const others = await Promise.all([reopen(), reopen()]);
      const staged = await Promise.all(
        [store, store, ...others].map(async (each) => publicJwkOf(await each.stageNextKey())),
      );
      for (const next of staged) expect(next).toEqual(staged[0]);
      expect(await publicJwkOf((await (await reopen()).loadOrCreate()).nextKeyPair)).toEqual(
        staged[0],
      );
    });

    it("promotes the staged key to current, keeping the agent id, and unstages it", async () => {
      const { store, reopen } = await open();
      const before = await publicJwk(store);
      await store.saveAgentId("agt_rotating");
      const next = await publicJwkOf(await store.stageNextKey());
      const promoted = await store.promoteNextKey();
      expect(await publicJwkOf(promoted.keyPair)).toEqual(next);
      expect(promoted).toMatchObject({ agentId: "agt_rotating", nextKeyPair: undefined });
      for (const each of [store, await reopen()]) {
        const loaded = await each.loadOrCreate();
        expect(await publicJwkOf(loaded.keyPair)).toEqual(next);
        expect(loaded).toMatchObject({ agentId: "agt_rotating", nextKeyPair: undefined });
      }
      // The next rotation stages another key again, neither the old nor the promoted one.
      const following = await publicJwkOf(await (await reopen()).stageNextKey());
      expect(following).not.toEqual(next);
      expect(following).not.toEqual(before);
    });

    it("refuses to promote when no next key is staged, keeping the current key", async () => {
      const { store, reopen } = await open();
      const current = await publicJwk(store);
      await expectKeyStoreError(store.promoteNextKey(), /has no next key staged to promote/);
      await store.stageNextKey();
      await store.promoteNextKey();
      const promoted = await publicJwk(store);
      await expectKeyStoreError(
        (await reopen()).promoteNextKey(),
        /has no next key staged to promote/,
      );
      expect(promoted).not.toEqual(current);
      expect(await publicJwk(await reopen())).toEqual(promoted);
    });

    it("gives different stores different keys", async () => {
      const [first, second] = await Promise.all([open(), open()]);
      expect(await publicJwk(first.store)).not.toEqual(await publicJwk(second.store));
    });
  });
}

/** Expects `promise` to reject with `ERR_KEY_STORE`, its message free of `secret`. */
export const expectKeyStoreError = (promise: Promise<unknown>, message: RegExp, secret?: string) =>
  expectSdkError(promise, "ERR_KEY_STORE", message, secret);
