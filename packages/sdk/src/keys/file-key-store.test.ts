import { mkdir, readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { temporaryFiles } from "../../test/support/temporary-files.js";
import { exportPrivateAgentJwk, generateAgentKeyPair } from "./agent-key-pair.js";
import { createFileKeyStore } from "./file-key-store.js";
import { describeKeyStoreContract, expectKeyStoreError } from "./key-store.contract.js";

const { freshPath, write: writeKeyFile } = await temporaryFiles(
  "agentauth-sdk-keys-",
  "agent-key.json",
);

describeKeyStoreContract("file", async () => {
  const path = freshPath();
  return { store: createFileKeyStore(path), reopen: async () => createFileKeyStore(path) };
});

describe("createFileKeyStore", () => {
  it("creates the key file as a P-256 private JWK with mode 0600, and no temporary file", async () => {
    const path = freshPath();
    await createFileKeyStore(path).loadOrCreate();
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const jwk = JSON.parse(await readFile(path, "utf8"));
    expect(Object.keys(jwk).sort()).toEqual(["crv", "d", "kty", "x", "y"]);
    expect(jwk).toMatchObject({ kty: "EC", crv: "P-256" });
    expect(await readdir(join(path, ".."))).toEqual(["agent-key.json"]);
  });

  it("stores the agent id as the JWK's kid, keeping the key and the mode", async () => {
    const path = freshPath();
    const store = createFileKeyStore(path);
    await store.loadOrCreate();
    const before = JSON.parse(await readFile(path, "utf8"));
    await store.saveAgentId("agt_42");
    expect(JSON.parse(await readFile(path, "utf8"))).toEqual({ ...before, kid: "agt_42" });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(join(path, ".."))).toEqual(["agent-key.json"]);
  });

  it("stages the next key in <path>.next (mode 0600) and promotes it by renaming a copy with the kid", async () => {
    const path = freshPath();
    const store = createFileKeyStore(path);
    await store.loadOrCreate();
    await store.saveAgentId("agt_42");
    await store.stageNextKey();
    expect((await stat(`${path}.next`)).mode & 0o777).toBe(0o600);
    const staged = JSON.parse(await readFile(`${path}.next`, "utf8"));
    expect(Object.keys(staged).sort()).toEqual(["crv", "d", "kty", "x", "y"]);
    expect(JSON.parse(await readFile(path, "utf8"))).toMatchObject({ kid: "agt_42" });
    await store.promoteNextKey();
    expect(JSON.parse(await readFile(path, "utf8"))).toEqual({ ...staged, kid: "agt_42" });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(join(path, ".."))).toEqual(["agent-key.json"]);
  });

  it("removes a staged key equal to the current one (a promotion stopped after its rename)", async () => {
    const path = freshPath();
    const jwk = await exportPrivateAgentJwk(await generateAgentKeyPair(true));
    await writeKeyFile(path, { ...jwk, kid: "agt_7" });
    await writeKeyFile(`${path}.next`, jwk);
    const store = createFileKeyStore(path);
    expect((await store.loadOrCreate()).nextKeyPair).toBeUndefined();
    expect(await readdir(join(path, ".."))).toEqual(["agent-key.json"]);
    await expectKeyStoreError(store.promoteNextKey(), /has no next key staged/);
    const next = await store.stageNextKey();
    expect((await crypto.subtle.exportKey("jwk", next.publicKey)).x).not.toBe(jwk.x);
  });

  it("refuses a staged key file that group or others may read, without quoting the key", async () => {
    const path = freshPath();
    await createFileKeyStore(path).loadOrCreate();
    const jwk = await exportPrivateAgentJwk(await generateAgentKeyPair(true));
    await writeKeyFile(`${path}.next`, jwk, 0o644);
    await expectKeyStoreError(
      createFileKeyStore(path).stageNextKey(),
      /next key file .*\.next is accessible by group or others/,
      jwk.d,
    );
  });

  it("ends with one key when several processes create it at once", async () => {
    const path = freshPath();
    const stores = Array.from({ length: 8 }, () => createFileKeyStore(path));
    const keys = await Promise.all(
      stores.map(async (store) => {
        const { keyPair } = await store.loadOrCreate();
        return (await crypto.subtle.exportKey("jwk", keyPair.publicKey)).x;
      }),
    );
    expect(new Set(keys).size).toBe(1);
    expect(JSON.parse(await readFile(path, "utf8")).x).toBe(keys[0]);
  });

  it("loads a key file written by someone else", async () => {
    const path = freshPath();
    const jwk = await exportPrivateAgentJwk(await generateAgentKeyPair(true));
    await writeKeyFile(path, { ...jwk, kid: "agt_7", use: "sig" });
    const { keyPair, agentId } = await createFileKeyStore(path).loadOrCreate();
    expect(agentId).toBe("agt_7");
    expect((await crypto.subtle.exportKey("jwk", keyPair.publicKey)).x).toBe(jwk.x);
  });

  it("refuses a key file that group or others may read, without quoting the key", async () => {
    for (const mode of [0o644, 0o640, 0o604, 0o660]) {
      const path = freshPath();
      const jwk = await exportPrivateAgentJwk(await generateAgentKeyPair(true));
      await writeKeyFile(path, jwk, mode);
      await expectKeyStoreError(
        createFileKeyStore(path).loadOrCreate(),
        new RegExp(`accessible by group or others \\(mode 0${mode.toString(8)}\\).*chmod 600`),
        jwk.d,
      );
    }
  });

  it("refuses what is not a P-256 private key, naming the problem but never the content", async () => {
    const valid = await exportPrivateAgentJwk(await generateAgentKeyPair(true));
    const other = await exportPrivateAgentJwk(await generateAgentKeyPair(true));
    const cases: [unknown, RegExp][] = [
      [`not json ${valid.d}`, /is not JSON/],
      [[valid], /not a JSON object/],
      [{ ...valid, crv: "P-384" }, /"kty": "EC", "crv": "P-256"/],
      [{ kty: "EC", crv: "P-256", x: valid.x, y: valid.y }, /"d" must be 32 bytes/],
      [{ ...valid, x: `${valid.x}A` }, /"x" must be 32 bytes/],
      [{ ...valid, kid: 7 }, /"kid" must be a string/],
      [{ ...valid, d: other.d }, /does not match its public key|does not import/],
    ];
    for (const [content, message] of cases) {
      const path = freshPath();
      await writeKeyFile(path, content);
      await expectKeyStoreError(createFileKeyStore(path).loadOrCreate(), message, valid.d);
    }
  });

  it("refuses a key path that is not a regular file", async () => {
    const path = freshPath();
    await mkdir(path, { recursive: true });
    await expectKeyStoreError(createFileKeyStore(path).loadOrCreate(), /not a regular file/);
  });

  it("refuses to label a key it did not load with the agent id", async () => {
    const path = freshPath();
    const store = createFileKeyStore(path);
    await store.loadOrCreate();
    await writeKeyFile(path, await exportPrivateAgentJwk(await generateAgentKeyPair(true)));
    await expectKeyStoreError(store.saveAgentId("agt_1"), /another key than the one loaded/);
  });

  it("tries again after a failure instead of remembering it", async () => {
    const path = freshPath();
    await writeKeyFile(path, "{}");
    const store = createFileKeyStore(path);
    await expectKeyStoreError(store.loadOrCreate(), /does not hold an agent key/);
    await rm(path);
    expect((await store.loadOrCreate()).agentId).toBeUndefined();
  });

  it("needs a path", () => {
    expect(() => createFileKeyStore("")).toThrow(TypeError);
  });
});
