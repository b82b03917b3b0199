import { PGlite } from "@electric-sql/pglite";
import type { ExtractTablesWithRelations } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import path from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import * as schema from "./schema";

export type Schema = typeof schema;
/** The one database type shared by web, trainer and CLIs, whichever driver is underneath. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
export type Tx = PgTransaction<PgQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>;
/** Anything query functions can run on: the database or an open transaction. */
export type DbOrTx = Db | Tx;

export type DbConfig = {
  /** postgres:// URL. When absent, PGlite is used. */
  url?: string;
  /** PGlite data directory; absent = in-memory (tests). Ignored when url is set. */
  dataDir?: string;
  /** postgres-js pool size. */
  maxConnections?: number;
};

export type DbHandle = {
  db: Db;
  kind: "pglite" | "postgres";
  migrate: () => Promise<void>;
  close: () => Promise<void>;
  /** The PGlite instance when kind is pglite (to serve it over a socket). */
  pglite?: PGlite;
};

// path.resolve rather than `new URL("../drizzle", import.meta.url)`: bundlers (Next's Turbopack)
// treat the URL form as an asset to resolve and fail on a directory.
export const migrationsFolder = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "drizzle");

/** Opens PostgreSQL when a URL is given, PGlite otherwise; the same migrations run on both. */
export async function createDb(config: DbConfig = {}): Promise<DbHandle> {
  if (config.url) {
    const client = postgres(config.url, {
      max: config.maxConnections ?? 10,
      onnotice: () => {},
    });
    const db = drizzlePostgres(client, { schema, casing: "snake_case" }) as unknown as Db;
    return {
      db,
      kind: "postgres",
      migrate: () => migratePostgres(db as never, { migrationsFolder }),
      close: () => client.end({ timeout: 5 }),
    };
  }
  const pglite = config.dataDir ? await PGlite.create(config.dataDir) : await PGlite.create();
  const db = drizzlePglite(pglite, { schema, casing: "snake_case" }) as unknown as Db;
  return {
    db,
    kind: "pglite",
    pglite,
    migrate: () => migratePglite(db as never, { migrationsFolder }),
    close: () => pglite.close(),
  };
}
