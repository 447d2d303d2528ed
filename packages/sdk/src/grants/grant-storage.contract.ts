import { describe, expect, it } from "vitest";
import { expectSdkError } from "../../test/support/assertions.js";
import type { GrantStorage, SavedGrant, SavedGrants } from "./grant-storage.js";

export interface GrantStorageUnderTest {
  readonly storage: GrantStorage;
  /** Another storage on the same place, as a restarted process would open it. */
  reopen(): Promise<GrantStorage>;
}

/** A thumbprint-shaped `jkt` (43 characters of base64url). */
export const TEST_JKT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

let grants = 0;
/** A grant of the shape the agent saves, with a refresh token no other has. */
export function savedGrant(overrides: Partial<SavedGrant> = {}): SavedGrant {
  grants += 1;
  return {
    serviceProvider: "https://calendar.example.com",
    grantId: `grt_${grants}`,
    refreshToken: `art_secret_${grants}_${crypto.randomUUID()}`,
    authorization: {
      capabilities: [
        { type: "read", resource: "calendar/*" },
        { type: "write", resource: "calendar/events" },
      ],
      envelope: { type: "envelope", rate_limit: { max_requests: 30, window_seconds: 3600 } },
    },
    ...overrides,
  };
}

/** The behaviour every {@link GrantStorage} adapter must have; run once per adapter. */
export function describeGrantStorageContract(
  adapter: string,
  open: () => Promise<GrantStorageUnderTest>,
): void {
  describe(`GrantStorage contract: ${adapter}`, () => {
    it("loads nothing before the first save", async () => {
      const { storage, reopen } = await open();
      expect(await storage.load()).toBeUndefined();
      expect(await (await reopen()).load()).toBeUndefined();
    });

    it("loads what was saved, in order, also after a reopen", async () => {
      const { storage, reopen } = await open();
      const saved: SavedGrants = {
        jkt: TEST_JKT,
        grants: [
          savedGrant(),
          savedGrant({
            serviceProvider: "payments",
            authorization: {
              capabilities: [
                {
                  type: "transact",
                  resource: "merchant/acme",
                  max_amount: "9.99",
                  currency: "EUR",
                },
              ],
            },
          }),
        ],
      };
      await storage.save(saved);
      expect(await storage.load()).toEqual(saved);
      expect(await (await reopen()).load()).toEqual(saved);
    });

    it("replaces the whole snapshot on each save, down to no grants at all", async () => {
      const { storage, reopen } = await open();
      const [first, second] = [savedGrant(), savedGrant()];
      await storage.save({ jkt: TEST_JKT, grants: [first] });
      await storage.save({ jkt: TEST_JKT, grants: [second] });
      expect(await (await reopen()).load()).toEqual({ jkt: TEST_JKT, grants: [second] });
      await storage.save({ jkt: TEST_JKT, grants: [] });
      expect(await storage.load()).toEqual({ jkt: TEST_JKT, grants: [] });
    });

    it("is not changed by changes to a snapshot after it was saved or loaded", async () => {
      const { storage } = await open();
      const grant = savedGrant();
      const list = [grant];
      await storage.save({ jkt: TEST_JKT, grants: list });
      list.push(savedGrant());
      const loaded = (await storage.load()) as SavedGrants;
      (loaded.grants as SavedGrant[]).pop();
      expect(await storage.load()).toEqual({ jkt: TEST_JKT, grants: [grant] });
    });

    it("holds one whole snapshot after concurrent saves", async () => {
      const { storage, reopen } = await open();
      const snapshots = Array.from({ length: 8 }, () => ({
        jkt: TEST_JKT,
        grants: [savedGrant(), savedGrant()],
      }));
      await Promise.all(snapshots.map((snapshot) => storage.save(snapshot)));
      expect(snapshots).toContainEqual(await (await reopen()).load());
    });

    it("gives different storages different snapshots", async () => {
      const [first, second] = await Promise.all([open(), open()]);
      await first.storage.save({ jkt: TEST_JKT, grants: [savedGrant()] });
      expect(await second.storage.load()).toBeUndefined();
    });
  });
}

/** Expects `promise` to reject with `ERR_GRANT_STORAGE`, its message free of `secret`. */
export const expectGrantStorageError = (
  promise: Promise<unknown>,
  message: RegExp,
  secret?: string,
) => expectSdkError(promise, "ERR_GRANT_STORAGE", message, secret);
