import { mkdir, readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { temporaryFiles } from "../../test/support/temporary-files.js";
import { createFileGrantStorage } from "./file-grant-storage.js";
import {
  describeGrantStorageContract,
  expectGrantStorageError,
  savedGrant,
  TEST_JKT,
} from "./grant-storage.contract.js";

const { freshPath, write: writeGrantFile } = await temporaryFiles(
  "agentauth-sdk-grants-",
  "grants.json",
);

describeGrantStorageContract("file", async () => {
  const path = freshPath();
  return {
    storage: createFileGrantStorage(path),
    reopen: async () => createFileGrantStorage(path),
  };
});

describe("createFileGrantStorage", () => {
  it("writes a version 1 JSON file with mode 0600 in a 0700 directory, and no temporary file", async () => {
    const path = freshPath();
    const grant = savedGrant();
    await createFileGrantStorage(path).save({ jkt: TEST_JKT, grants: [grant] });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(path, ".."))).mode & 0o777).toBe(0o700);
    expect(JSON.parse(await readFile(path, "utf8"))).toEqual({
      version: 1,
      jkt: TEST_JKT,
      grants: [grant],
    });
    await createFileGrantStorage(path).save({ jkt: TEST_JKT, grants: [] });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(join(path, ".."))).toEqual(["grants.json"]);
  });

  it("leaves no temporary file behind after many concurrent saves", async () => {
    const path = freshPath();
    const storage = createFileGrantStorage(path);
    await Promise.all(
      Array.from({ length: 10 }, () => storage.save({ jkt: TEST_JKT, grants: [savedGrant()] })),
    );
    expect(await readdir(join(path, ".."))).toEqual(["grants.json"]);
  });

  it("loads a file written by someone else", async () => {
    const path = freshPath();
    const grant = savedGrant({
      authorization: { capabilities: [{ type: "read", resource: "balance" }] },
    });
    await writeGrantFile(path, { version: 1, jkt: TEST_JKT, grants: [grant], note: "extra" });
    expect(await createFileGrantStorage(path).load()).toEqual({ jkt: TEST_JKT, grants: [grant] });
  });

  it("refuses a file that group or others may read, without quoting a refresh token", async () => {
    for (const mode of [0o644, 0o640, 0o604, 0o660]) {
      const path = freshPath();
      const grant = savedGrant();
      await writeGrantFile(path, { version: 1, jkt: TEST_JKT, grants: [grant] }, mode);
      await expectGrantStorageError(
        createFileGrantStorage(path).load(),
        new RegExp(`accessible by group or others \\(mode 0${mode.toString(8)}\\).*chmod 600`),
        grant.refreshToken,
      );
    }
  });

  it("refuses what is not saved grants, naming the problem but never the content", async () => {
    const grant = savedGrant();
    const file = (grants: unknown[], extra: Record<string, unknown> = {}) => ({
      version: 1,
      jkt: TEST_JKT,
      grants,
      ...extra,
    });
    const cases: [unknown, RegExp][] = [
      [`{"version":1,"grants":[{"refreshToken":"${grant.refreshToken}"`, /is not JSON/],
      [[grant], /is not version 1 of the saved grants format/],
      [{ ...file([grant]), version: 2 }, /is not version 1/],
      [file([grant], { jkt: "short" }), /"jkt" must be a key thumbprint/],
      [file([grant], { grants: { 0: grant } }), /"grants" must be an array/],
      [file([grant, "grt"]), /grants\[1\] is not a JSON object/],
      [file([{ ...grant, refreshToken: 7 }]), /grants\[0\]\.refreshToken must be a string/],
      [file([{ ...grant, serviceProvider: "" }]), /grants\[0\]\.serviceProvider must be/],
      [file([{ ...grant, grantId: "g".repeat(201) }]), /grants\[0\]\.grantId must be/],
      [file([grant, { ...grant }]), /grants\[1\]\.grantId grt_\d+ is there twice/],
      [file([{ ...grant, authorization: [] }]), /grants\[0\]\.authorization must be an object/],
      [
        file([{ ...grant, authorization: { capabilities: [{ type: "fly" }] } }]),
        /grants\[0\]\.authorization are not authorization details \(ERR_CAPABILITY_INVALID\)/,
      ],
      [
        file([{ ...grant, authorization: { capabilities: [] } }]),
        /grants\[0\]\.authorization are not authorization details/,
      ],
    ];
    for (const [content, message] of cases) {
      const path = freshPath();
      await writeGrantFile(path, content);
      const error = await expectGrantStorageError(
        createFileGrantStorage(path).load(),
        message,
        grant.refreshToken,
      );
      expect(error.path).toBe(path);
    }
  });

  it("refuses a file larger than 1 MiB without reading it", async () => {
    const path = freshPath();
    await writeGrantFile(path, " ".repeat(1024 * 1024 + 1));
    await expectGrantStorageError(createFileGrantStorage(path).load(), /larger than a grant file/);
  });

  it("refuses a grant path that is not a regular file", async () => {
    const path = freshPath();
    await mkdir(path, { recursive: true });
    await expectGrantStorageError(createFileGrantStorage(path).load(), /not a regular file/);
    await expectGrantStorageError(
      createFileGrantStorage(path).save({ jkt: TEST_JKT, grants: [] }),
      /Could not replace the grant file .* \(E[A-Z]+\)/,
    );
    expect(await readdir(path)).toEqual([]);
  });

  it("reports a directory it cannot write in", async () => {
    const blocker = join(freshPath(), "..");
    await writeGrantFile(blocker, "not a directory");
    await expectGrantStorageError(
      createFileGrantStorage(join(blocker, "grants.json")).save({ jkt: TEST_JKT, grants: [] }),
      /Could not create the grant directory .* \(E[A-Z]+\)/,
    );
  });

  it("needs a path", () => {
    expect(() => createFileGrantStorage("")).toThrow(TypeError);
  });
});
