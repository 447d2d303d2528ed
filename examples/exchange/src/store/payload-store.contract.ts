import { randomBytes } from "node:crypto";
import { expect, it } from "vitest";
import type { PayloadStore, RetrievalMode, StoredPayload } from "./payload-store.js";

/** A store under test, with the retention it was made with. */
export interface PayloadStoreUnderTest {
  readonly store: PayloadStore;
  readonly retentionSeconds: number;
}

// Now, to the second: Redis expires keys by its own clock.
const T0 = new Date(Math.floor(Date.now() / 1000) * 1000);
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

function payload(mode: RetrievalMode, overrides: Partial<StoredPayload> = {}): StoredPayload {
  return {
    tokenHash: randomBytes(32).toString("hex"),
    namespace: "trip-42",
    ciphertext: `v1.${randomBytes(12).toString("base64url")}.${randomBytes(40).toString("base64url")}`,
    contentType: "application/json",
    mode,
    publishedBy: "agt_publisher",
    createdAt: T0,
    expiresAt: at(60),
    ...overrides,
  };
}

/** The behaviour every {@link PayloadStore} adapter must have; `create` makes a fresh one. */
export function testPayloadStoreContract(create: () => Promise<PayloadStoreUnderTest>): void {
  it("hands a reusable payload out until it expires, counting retrievals", async () => {
    const { store } = await create();
    const stored = payload("reusable");
    await store.put(stored);
    for (const count of [1, 2, 3]) {
      const taken = await store.take(stored.tokenHash, { namespace: "trip-42", now: at(10) });
      expect(taken).toEqual({ kind: "payload", payload: stored, retrievals: count });
    }
    expect(await store.take(stored.tokenHash, { namespace: "trip-42", now: at(60) })).toEqual({
      kind: "expired",
    });
  });

  it("hands a one-time payload out once, then answers used", async () => {
    const { store } = await create();
    const stored = payload("once");
    await store.put(stored);
    expect(await store.take(stored.tokenHash, { namespace: "trip-42", now: at(1) })).toEqual({
      kind: "payload",
      payload: stored,
      retrievals: 1,
    });
    expect(await store.take(stored.tokenHash, { namespace: "trip-42", now: at(2) })).toEqual({
      kind: "used",
    });
  });

  it("hands a one-time payload to exactly one of many concurrent retrievals", async () => {
    const { store } = await create();
    const stored = payload("once");
    await store.put(stored);
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        store.take(stored.tokenHash, { namespace: "trip-42", now: at(1) }),
      ),
    );
    expect(results.filter((result) => result.kind === "payload")).toHaveLength(1);
    expect(results.filter((result) => result.kind === "used")).toHaveLength(49);
  });

  it("answers expired for a one-time payload never taken, and never hands it out", async () => {
    const { store } = await create();
    const stored = payload("once");
    await store.put(stored);
    expect(await store.take(stored.tokenHash, { namespace: "trip-42", now: at(61) })).toEqual({
      kind: "expired",
    });
    expect(await store.take(stored.tokenHash, { namespace: "trip-42", now: at(62) })).toEqual({
      kind: "expired",
    });
    // A replica whose clock is behind does not bring it back either.
    expect(await store.take(stored.tokenHash, { namespace: "trip-42", now: at(1) })).toEqual({
      kind: "expired",
    });
  });

  it("forgets a token once its tombstone's retention is over", async () => {
    const { store, retentionSeconds } = await create();
    const stored = payload("reusable");
    await store.put(stored);
    expect(
      await store.take(stored.tokenHash, { namespace: "trip-42", now: at(60 + retentionSeconds) }),
    ).toEqual({ kind: "unknown" });
  });

  it("answers unknown for an unknown token and for a token of another namespace, taking nothing", async () => {
    const { store } = await create();
    const stored = payload("once");
    await store.put(stored);
    expect(
      await store.take(randomBytes(32).toString("hex"), { namespace: "trip-42", now: at(1) }),
    ).toEqual({
      kind: "unknown",
    });
    expect(await store.take(stored.tokenHash, { namespace: "trip-43", now: at(1) })).toEqual({
      kind: "unknown",
    });
    expect((await store.take(stored.tokenHash, { namespace: "trip-42", now: at(1) })).kind).toBe(
      "payload",
    );
  });

  it("keeps a payload without a content type as such", async () => {
    const { store } = await create();
    const stored = payload("reusable", { contentType: undefined });
    await store.put(stored);
    const taken = await store.take(stored.tokenHash, { namespace: "trip-42", now: at(1) });
    expect(taken).toMatchObject({ kind: "payload", payload: { contentType: undefined } });
  });

  it("refuses a second payload under the same token hash, keeping the first", async () => {
    const { store } = await create();
    const stored = payload("reusable");
    await store.put(stored);
    await expect(store.put({ ...stored, ciphertext: "v1.AAAA.BBBB" })).rejects.toMatchObject({
      code: "ERR_VALIDATION",
    });
    const taken = await store.take(stored.tokenHash, { namespace: "trip-42", now: at(1) });
    expect(taken).toMatchObject({ kind: "payload", payload: { ciphertext: stored.ciphertext } });
  });

  it("answers a ping", async () => {
    const { store } = await create();
    await expect(store.ping()).resolves.toBeUndefined();
  });
}
