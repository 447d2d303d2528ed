import { createHash, randomUUID } from "node:crypto";
import { beforeEach, expect, it } from "vitest";
import type {
  ServiceProviderKeyDirectory,
  ServiceProviderKeyRecord,
} from "./service-provider-key-directory.js";

/**
 * The behaviour every {@link ServiceProviderKeyDirectory} adapter must show; call inside a
 * `describe`. `setup` gives a directory for the registry to write and one for a verifier to read,
 * on the same records (two connections for Redis, the same directory in memory).
 */
export function testServiceProviderKeyDirectoryContract(
  setup: () => Promise<{
    registry: ServiceProviderKeyDirectory;
    verifier: ServiceProviderKeyDirectory;
  }>,
): void {
  let registry: ServiceProviderKeyDirectory;
  let verifier: ServiceProviderKeyDirectory;
  const record = (overrides: Partial<ServiceProviderKeyRecord> = {}): ServiceProviderKeyRecord => ({
    prefix: randomUUID().slice(0, 11),
    serviceProviderId: `sp_${randomUUID()}`,
    secretHash: createHash("sha256").update(randomUUID()).digest("hex"),
    revoked: false,
    ...overrides,
  });

  beforeEach(async () => {
    ({ registry, verifier } = await setup());
  });

  it("publishes records for verifiers to read by prefix", async () => {
    const [first, second] = [record(), record({ revoked: true })];
    await registry.put([first, second]);
    expect(await verifier.get(first.prefix)).toEqual(first);
    expect(await verifier.get(second.prefix)).toEqual(second);
  });

  it("reads an unknown prefix as absent", async () => {
    expect(await verifier.get(`unknown-${randomUUID()}`)).toBeUndefined();
  });

  it("replaces a record by prefix, revoked flag included, and keeps the others", async () => {
    const [kept, replaced] = [record(), record()];
    await registry.put([kept, replaced]);
    const revoked = { ...replaced, revoked: true };
    await registry.put([revoked]);
    expect(await verifier.get(replaced.prefix)).toEqual(revoked);
    expect(await verifier.get(kept.prefix)).toEqual(kept);
    const rotated = record({
      prefix: replaced.prefix,
      serviceProviderId: replaced.serviceProviderId,
    });
    await registry.put([rotated]);
    expect(await verifier.get(replaced.prefix)).toEqual(rotated);
  });

  it("keeps the last of two records with one prefix in a put", async () => {
    const first = record();
    const last = record({ prefix: first.prefix });
    await registry.put([first, last]);
    expect(await verifier.get(first.prefix)).toEqual(last);
  });

  it("puts a thousand records at once", async () => {
    const records = Array.from({ length: 1000 }, (_, i) => record({ revoked: i % 3 === 0 }));
    await registry.put(records);
    expect(await Promise.all(records.map((r) => verifier.get(r.prefix)))).toEqual(records);
    await registry.put([]);
  });

  it("keeps what was put, whatever the caller does with its objects afterwards", async () => {
    const original = record();
    const given = { ...original };
    await registry.put([given]);
    Object.assign(given, { revoked: true });
    const read = await verifier.get(original.prefix);
    Object.assign(read ?? {}, { secretHash: "0".repeat(64) });
    expect(await verifier.get(original.prefix)).toEqual(original);
  });

  it("reads back only the fields of a record", async () => {
    const original = record();
    await registry.put([{ ...original, note: "not a field" } as ServiceProviderKeyRecord]);
    expect(await verifier.get(original.prefix)).toEqual(original);
  });

  it("refuses bad arguments with TypeError, writing none of a bad batch", async () => {
    const good = record();
    const bad: unknown[] = [
      null,
      { ...good, prefix: "" },
      { ...good, serviceProviderId: undefined },
      { ...good, secretHash: "not-a-hash" },
      { ...good, secretHash: good.secretHash.toUpperCase() },
      { ...good, revoked: "false" },
    ];
    for (const candidate of bad) {
      await expect(
        registry.put([good, candidate as ServiceProviderKeyRecord]),
        JSON.stringify(candidate),
      ).rejects.toThrow(TypeError);
    }
    await expect(registry.put(good as unknown as ServiceProviderKeyRecord[])).rejects.toThrow(
      TypeError,
    );
    expect(await verifier.get(good.prefix)).toBeUndefined();
    await expect(verifier.get("")).rejects.toThrow(TypeError);
  });
}
