import { describe, expect, it } from "vitest";
import { ExpiringMap } from "./expiring-map.js";
import { isStateError } from "./state-error.js";

describe("ExpiringMap", () => {
  it("hides an entry from the moment it expires", () => {
    const map = new ExpiringMap<string>({ label: "test map" });
    map.set("k", "v", 1000, 0);
    expect(map.get("k", 999)?.value).toBe("v");
    expect(map.get("k", 1000)).toBeUndefined();
    expect(map.size).toBe(0);
  });

  it("refuses a new key when full of live entries, and never evicts one", () => {
    const map = new ExpiringMap<true>({ label: "test map", maxEntries: 3 });
    for (const key of ["a", "b", "c"]) map.set(key, true, 1000, 0);
    expect(() => map.set("d", true, 1000, 10)).toThrow(
      expect.toSatisfy((error) => isStateError(error, "ERR_STATE_CAPACITY_EXCEEDED")),
    );
    for (const key of ["a", "b", "c"]) expect(map.get(key, 10)).toBeDefined();
    // Updating a key it holds is not growth.
    map.set("a", true, 2000, 10);
    // Once entries expire, their room is free again.
    map.set("d", true, 3000, 1000);
    expect(map.get("a", 1000)).toBeDefined();
    expect(map.get("b", 1000)).toBeUndefined();
  });

  it("tells whether several new keys fit before any is added", () => {
    const map = new ExpiringMap<true>({ label: "test map", maxEntries: 3 });
    map.set("a", true, 1000, 0);
    map.assertRoomFor(2, 10);
    expect(() => map.assertRoomFor(3, 10)).toThrow(
      expect.toSatisfy((error) => isStateError(error, "ERR_STATE_CAPACITY_EXCEEDED")),
    );
    // Expired entries are swept to make room.
    map.assertRoomFor(3, 1000);
  });

  it("sweeps expired entries as it grows, without being read", () => {
    const map = new ExpiringMap<true>({ label: "test map" });
    for (let i = 0; i < 10_000; i += 1) map.set(`old-${i}`, true, 1000, 0);
    for (let i = 0; i < 10_000; i += 1) map.set(`new-${i}`, true, 5000, 2000);
    // Without sweeping it would hold 20,000 entries; the expired ones went as it doubled.
    expect(map.size).toBeLessThan(12_000);
    expect([...map.entries(2000)]).toHaveLength(10_000);
  });

  it("refuses a bad maxEntries with TypeError", () => {
    expect(() => new ExpiringMap({ label: "test map", maxEntries: 0 })).toThrow(TypeError);
    expect(() => new ExpiringMap({ label: "test map", maxEntries: 1.5 })).toThrow(TypeError);
  });
});
