import { describe, expect, it } from "vitest";
import type { RevocationRecord } from "./revocation-bus.js";
import { RevocationSet } from "./revocation-set.js";

const at = (ms: number) => new Date(Date.UTC(2030, 0, 1) + ms);
const token = (subject: string, expiresInMs: number): RevocationRecord => ({
  kind: "token",
  subject,
  expiresAt: at(expiresInMs),
});

describe("RevocationSet", () => {
  it("answers for a subject until its revocation expires", () => {
    const set = new RevocationSet();
    set.apply(token("jti-1", 1000));
    expect(set.isRevoked("token", "jti-1", at(0))).toBe(true);
    expect(set.isRevoked("token", "jti-1", at(999))).toBe(true);
    expect(set.isRevoked("token", "jti-1", at(1000))).toBe(false);
    expect(set.isRevoked("token", "jti-2", at(0))).toBe(false);
  });

  it("keeps kinds apart", () => {
    const set = new RevocationSet();
    set.apply({ kind: "grant", subject: "id-1", expiresAt: at(1000) });
    expect(set.isRevoked("grant", "id-1", at(0))).toBe(true);
    expect(set.isRevoked("agent", "id-1", at(0))).toBe(false);
    expect(set.isRevoked("token", "id-1", at(0))).toBe(false);
  });

  it("keeps the later expiry when a subject is revoked twice, in either order", () => {
    const set = new RevocationSet();
    set.apply(token("jti-1", 2000));
    set.apply(token("jti-1", 1000));
    set.apply(token("jti-2", 1000));
    set.apply(token("jti-2", 2000));
    expect(set.isRevoked("token", "jti-1", at(1500))).toBe(true);
    expect(set.isRevoked("token", "jti-2", at(1500))).toBe(true);
  });

  it("replaces everything on replaceAll", () => {
    const set = new RevocationSet();
    set.apply(token("jti-1", 1000));
    set.replaceAll([token("jti-2", 1000), token("jti-2", 3000)]);
    expect(set.isRevoked("token", "jti-1", at(0))).toBe(false);
    expect(set.isRevoked("token", "jti-2", at(2000))).toBe(true);
  });
});
