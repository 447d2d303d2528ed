// `pnpm db:migrate`: applies the migrations the registry would apply on start, and nothing else.
// Targets DATABASE_URL when set, otherwise the embedded PGlite under AGENTAUTH_DATA_DIR (default
// `.data`, relative to the working directory: the repository root under pnpm), exactly as the
// registry resolves them.
import { parseConfig } from "../config.js";
import { createDatabase } from "./create-database.js";
import { findMigrationsDir, migrateToLatest } from "./migrate.js";

try {
  const config = parseConfig(process.env);
  const database = await createDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
  });
  try {
    const { applied } = await migrateToLatest(database.db, { migrationsDir: findMigrationsDir() });
    const target =
      database.kind === "postgres" ? "Postgres (DATABASE_URL)" : `PGlite in ${config.dataDir}`;
    for (const name of applied) console.log(`Applied ${name}`);
    console.log(
      applied.length === 0
        ? `${target} is up to date.`
        : `${target} is up to date (${applied.length} applied).`,
    );
  } finally {
    await database.close();
  }
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
}
