import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AuthChallenge,
  findTokenChallenge,
  parseWwwAuthenticate,
} from "./www-authenticate.js";

const plain = (challenges: AuthChallenge[]) =>
  challenges.map((challenge) => ({
    scheme: challenge.scheme,
    ...(challenge.token68 === undefined ? {} : { token68: challenge.token68 }),
    params: Object.fromEntries(challenge.params),
  }));

describe("parseWwwAuthenticate", () => {
  it("reads the verifier's DPoP challenges (docs/verifier.md)", () => {
    expect(
      plain(
        parseWwwAuthenticate(
          'DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof", algs="ES256 EdDSA Ed25519"',
        ),
      ),
    ).toEqual([
      {
        scheme: "dpop",
        params: {
          error: "use_dpop_nonce",
          error_description: "Resource server requires nonce in DPoP proof",
          algs: "ES256 EdDSA Ed25519",
        },
      },
    ]);
    expect(plain(parseWwwAuthenticate('DPoP algs="ES256 EdDSA Ed25519"'))).toEqual([
      { scheme: "dpop", params: { algs: "ES256 EdDSA Ed25519" } },
    ]);
  });

  it("reads RFC 6750 §3 and RFC 9449 §7.1 examples", () => {
    expect(plain(parseWwwAuthenticate('Bearer realm="example"'))).toEqual([
      { scheme: "bearer", params: { realm: "example" } },
    ]);
    expect(
      plain(
        parseWwwAuthenticate(
          'Bearer realm="example", error="invalid_token", error_description="The access token expired"',
        ),
      ),
    ).toEqual([
      {
        scheme: "bearer",
        params: {
          realm: "example",
          error: "invalid_token",
          error_description: "The access token expired",
        },
      },
    ]);
    expect(
      plain(
        parseWwwAuthenticate(
          'DPoP error="invalid_token", error_description="Invalid DPoP key binding", algs="ES256"',
        ),
      )[0]?.params,
    ).toEqual({
      error: "invalid_token",
      error_description: "Invalid DPoP key binding",
      algs: "ES256",
    });
  });

  it("separates several challenges, in one field or joined fields", () => {
    expect(
      plain(
        parseWwwAuthenticate(
          'Basic realm="agentauth", charset="UTF-8", Bearer realm="agentauth", DPoP algs=ES256, Negotiate abc+/==',
        ),
      ),
    ).toEqual([
      { scheme: "basic", params: { realm: "agentauth", charset: "UTF-8" } },
      { scheme: "bearer", params: { realm: "agentauth" } },
      { scheme: "dpop", params: { algs: "ES256" } },
      { scheme: "negotiate", token68: "abc+/==", params: {} },
    ]);
    expect(plain(parseWwwAuthenticate("Newauth, , DPoP"))).toEqual([
      { scheme: "newauth", params: {} },
      { scheme: "dpop", params: {} },
    ]);
  });

  it("is case-insensitive in schemes and parameter names, and unescapes quoted-pairs", () => {
    const [challenge] = parseWwwAuthenticate('dPoP ERROR = "a \\"b\\" \\\\c"');
    expect(challenge?.scheme).toBe("dpop");
    expect(challenge?.params.get("error")).toBe('a "b" \\c');
  });

  it("drops malformed challenges and keeps the well-formed ones after them", () => {
    for (const field of [
      'DPoP error="unterminated',
      "DPoP error = ",
      'DPoP error="a" error="b"',
      'DPoP error="a"junk',
      "DPoP=x",
      'DPoP error="bad\u0001control"',
    ]) {
      expect(parseWwwAuthenticate(field), field).toEqual([]);
    }
    expect(plain(parseWwwAuthenticate('DPoP error="a", error="b", Bearer error="c"'))).toEqual([
      { scheme: "bearer", params: { error: "c" } },
    ]);
    expect(parseWwwAuthenticate(undefined)).toEqual([]);
    expect(parseWwwAuthenticate(null)).toEqual([]);
  });

  it("prefers the DPoP challenge, then Bearer", () => {
    const challenges = parseWwwAuthenticate('Bearer error="x", DPoP error="y", Basic realm="z"');
    expect(findTokenChallenge(challenges)?.params.get("error")).toBe("y");
    expect(findTokenChallenge(parseWwwAuthenticate('Bearer error="x"'))?.scheme).toBe("bearer");
    expect(findTokenChallenge(parseWwwAuthenticate('Basic realm="z"'))).toBeUndefined();
  });

  const token = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}$/);
  const quotable = fc
    .array(fc.constantFrom(...'abc XYZ 09,;="\\\t!~é'.split(""), ...["\u00ff", "\u0080"]), {
      maxLength: 20,
    })
    .map((characters) => characters.join(""));
  const challengeArbitrary = fc.record({
    scheme: token,
    params: fc.uniqueArray(fc.tuple(token, quotable, fc.boolean()), {
      maxLength: 5,
      selector: ([name]) => name.toLowerCase(),
    }),
  });

  const serialize = (challenge: { scheme: string; params: [string, string, boolean][] }) => {
    const params = challenge.params.map(([name, value, asToken]) =>
      asToken && /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(value)
        ? `${name}=${value}`
        : `${name} = "${value.replace(/["\\]/g, (c) => `\\${c}`)}"`,
    );
    return params.length === 0 ? challenge.scheme : `${challenge.scheme} ${params.join(" ,  ")}`;
  };

  it("round-trips any list of challenges (property)", () => {
    fc.assert(
      fc.property(fc.array(challengeArbitrary, { maxLength: 4 }), (challenges) => {
        const parsed = parseWwwAuthenticate(challenges.map(serialize).join(", "));
        expect(plain(parsed)).toEqual(
          challenges.map((challenge) => ({
            scheme: challenge.scheme.toLowerCase(),
            params: Object.fromEntries(
              challenge.params.map(([name, value]) => [name.toLowerCase(), value]),
            ),
          })),
        );
      }),
    );
  });

  it("never throws, and only returns lower-cased schemes and names (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), (field) => {
        for (const challenge of parseWwwAuthenticate(field)) {
          expect(challenge.scheme).toBe(challenge.scheme.toLowerCase());
          expect(challenge.scheme).toMatch(/^[!#$%&'*+\-.^_`|~0-9a-z]+$/);
          for (const name of challenge.params.keys()) expect(name).toBe(name.toLowerCase());
        }
      }),
    );
  });
});
