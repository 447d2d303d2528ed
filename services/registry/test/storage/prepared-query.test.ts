import { sql } from "kysely";
import { expect, it } from "vitest";
import { prepareQuery } from "../../src/db/prepared-query.js";
import { describeEachDatabase } from "../support/databases.js";

describeEachDatabase("prepareQuery: compiled once, run with each call's values", (database) => {
  const agentNames = prepareQuery((db, p: { humanId: string; after: Date }) =>
    db
      .selectFrom("agents")
      .select("name")
      .where("human_id", "=", p.humanId)
      .where("created_at", ">", p.after)
      .orderBy("name"),
  );
  // A parameter used twice, and one that is a constant of the query rather than a placeholder.
  const echo = prepareQuery(
    (_db, p: { text: string; number: number }) =>
      sql<{ twice: string; sum: number; fixed: string }>`
      SELECT ${p.text}::text || ${p.text}::text AS twice, ${p.number}::int + 1 AS sum,
             ${"constant"}::text AS fixed`,
  );

  it("substitutes each call's values, in builders and sql templates, on the database and in transactions", async () => {
    const db = database.db();
    await db
      .insertInto("humans")
      .values([
        { id: "hum_a", display_name: "A", webauthn_user_id: "wa" },
        { id: "hum_b", display_name: "B", webauthn_user_id: "wb" },
      ])
      .execute();
    const agent = (id: string, human: string, name: string) => ({
      id,
      human_id: human,
      name,
      jkt: `jkt_${id}`,
      public_jwk: JSON.stringify({ kty: "EC" }),
    });
    await db
      .insertInto("agents")
      .values([
        agent("agt_1", "hum_a", "one"),
        agent("agt_2", "hum_a", "two"),
        agent("agt_3", "hum_b", "three"),
      ])
      .execute();
    const epoch = new Date(0);
    const names = async (humanId: string, after = epoch) =>
      (await agentNames.execute(db, { humanId, after })).rows.map((row) => row.name);

    expect(await names("hum_a")).toEqual(["one", "two"]);
    expect(await names("hum_b")).toEqual(["three"]);
    expect(await names("hum_a", new Date(Date.now() + 60_000))).toEqual([]);
    expect(await names("hum_nobody")).toEqual([]);
    expect((await echo.execute(db, { text: "ab", number: 41 })).rows).toEqual([
      { twice: "abab", sum: 42, fixed: "constant" },
    ]);
    expect((await echo.execute(db, { text: "x", number: 1 })).rows).toEqual([
      { twice: "xx", sum: 2, fixed: "constant" },
    ]);
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto("agents")
        .values(agent("agt_4", "hum_b", "four"))
        .execute();
      const { rows } = await agentNames.execute(trx, { humanId: "hum_b", after: epoch });
      expect(rows.map((row) => row.name)).toEqual(["four", "three"]);
    });
  });
});
