import { randomUUID } from "node:crypto";
import { beforeEach, expect, it } from "vitest";
import type { FixedWindowLimiter } from "./fixed-window-limiter.js";

/** The behaviour every {@link FixedWindowLimiter} adapter must show; call inside a `describe`. */
export function testFixedWindowLimiterContract(setup: () => Promise<FixedWindowLimiter>): void {
  let limiter: FixedWindowLimiter;
  let key: string;
  // 15.5 s into a minute, so a 60 s window has 44.5 s left.
  const now = new Date("2030-01-01T00:00:15.500Z");
  const later = (ms: number) => new Date(now.getTime() + ms);

  beforeEach(async () => {
    limiter = await setup();
    key = `sign-in:${randomUUID()}`;
  });

  it("allows exactly `limit` of 4 × limit concurrent hits", async () => {
    const results = await Promise.all(
      Array.from({ length: 40 }, () => limiter.hit(key, 10, 60, now)),
    );
    const allowed = results.filter((result) => result.allowed);
    expect(allowed).toHaveLength(10);
    expect(allowed.map((result) => result.remaining).sort()).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
    for (const refused of results.filter((result) => !result.allowed)) {
      expect(refused).toEqual({ allowed: false, remaining: 0, retryAfterSeconds: 45 });
    }
  });

  it("counts down `remaining` and says when to retry", async () => {
    expect(await limiter.hit(key, 2, 60, now)).toEqual({
      allowed: true,
      remaining: 1,
      retryAfterSeconds: 0,
    });
    expect(await limiter.hit(key, 2, 60, later(1000))).toEqual({
      allowed: true,
      remaining: 0,
      retryAfterSeconds: 0,
    });
    expect(await limiter.hit(key, 2, 60, later(44_000))).toEqual({
      allowed: false,
      remaining: 0,
      retryAfterSeconds: 1,
    });
  });

  it("starts afresh in the next window", async () => {
    await limiter.hit(key, 1, 60, now);
    expect((await limiter.hit(key, 1, 60, now)).allowed).toBe(false);
    expect(await limiter.hit(key, 1, 60, later(44_500))).toEqual({
      allowed: true,
      remaining: 0,
      retryAfterSeconds: 0,
    });
  });

  it("counts each hit in the window its `now` falls in, whatever the order of arrival", async () => {
    expect((await limiter.hit(key, 1, 60, later(50_000))).allowed).toBe(true);
    expect((await limiter.hit(key, 1, 60, now)).allowed).toBe(true);
    expect((await limiter.hit(key, 1, 60, later(1000))).allowed).toBe(false);
  });

  it("keeps keys and window lengths apart", async () => {
    await limiter.hit(key, 1, 60, now);
    expect((await limiter.hit(`${key}:other`, 1, 60, now)).allowed).toBe(true);
    expect((await limiter.hit(key, 1, 3600, now)).allowed).toBe(true);
  });

  it("refuses bad arguments with TypeError", async () => {
    await expect(limiter.hit("", 1, 60, now)).rejects.toThrow(TypeError);
    await expect(limiter.hit(key, 0, 60, now)).rejects.toThrow(TypeError);
    await expect(limiter.hit(key, 1.5, 60, now)).rejects.toThrow(TypeError);
    await expect(limiter.hit(key, 1, 0, now)).rejects.toThrow(TypeError);
    await expect(limiter.hit(key, 1, 60, new Date(Number.NaN))).rejects.toThrow(TypeError);
  });
}
