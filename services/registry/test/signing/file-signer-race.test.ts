import { generateKeyPairSync } from "node:crypto";
import * as fs from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as jose from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createFileSigner } from "../../src/signing/file-signer.js";

// Another process publishing its key between our "no key file yet" and our publishing, made
// deterministic: `link` is wrapped so the competitor's file appears just before ours would.
vi.mock("node:fs/promises", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:fs/promises")>();
  return { ...actual, link: vi.fn(actual.link) };
});

const actualFs = await vi.importActual<typeof import("node:fs/promises")>("node:fs/promises");
let root: string;

beforeAll(async () => {
  root = await actualFs.mkdtemp(join(tmpdir(), "agentauth-file-signer-race-"));
});

afterAll(async () => {
  await actualFs.rm(root, { recursive: true, force: true });
});

describe("createFileSigner racing another process", () => {
  it("loads the key the other process published instead of replacing it", async () => {
    const path = join(root, "registry", "signing-key.pem");
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const competitorPem = privateKey.export({ type: "pkcs8", format: "pem" });
    vi.mocked(fs.link).mockImplementationOnce(async (existing, target) => {
      await actualFs.writeFile(target, competitorPem, { mode: 0o600, flag: "wx" });
      return actualFs.link(existing, target);
    });

    const signer = await createFileSigner(path);

    const competitorKid = await jose.calculateJwkThumbprint(
      publicKey.export({ format: "jwk" }) as jose.JWK,
      "sha256",
    );
    expect(vi.mocked(fs.link)).toHaveBeenCalledTimes(1);
    expect(signer.kid).toBe(competitorKid);
    expect(await actualFs.readFile(path, "utf8")).toBe(competitorPem);
    // Our candidate key was discarded, not left lying around.
    expect(await actualFs.readdir(join(root, "registry"))).toEqual(["signing-key.pem"]);
  });
});
