import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { describe } from "vitest";
import { createDb, type DbHandle } from "../../src/client";
import { seedBuiltInSchemes } from "../../src/seed/seed-schemes";

export type DbKind = "pglite" | "postgres";

/** Server used for the PostgreSQL leg; a throwaway database is created on it per test file. */
export const adminUrl = process.env.TEST_DATABASE_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

let probe: Promise<string | null> | undefined;

/** null when reachable, otherwise why not. */
export function probePostgres(): Promise<string | null> {
  probe ??= (async () => {
    if (process.env.HEMALOOP_SKIP_POSTGRES === "1") return "HEMALOOP_SKIP_POSTGRES=1";
    const sql = postgres(adminUrl, { max: 1, connect_timeout: 3, onnotice: () => {} });
    try {
      await sql`select 1`;
      return null;
    } catch (error) {
      return (error as Error).message;
    } finally {
      await sql.end({ timeout: 1 }).catch(() => {});
    }
  })();
  return probe;
}

export type TestDb = DbHandle & { url?: string };

/** A migrated, seeded database of the given kind; close() also drops the throwaway server database. */
export async function createTestDb(kind: DbKind): Promise<TestDb> {
  if (kind === "pglite") {
    const handle = await createDb();
    await handle.migrate();
    await seedBuiltInSchemes(handle.db);
    return handle;
  }
  const name = `hemaloop_test_${Date.now()}_${randomBytes(4).toString("hex")}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const handle = await createDb({ url: url.toString() });
  await handle.migrate();
  await seedBuiltInSchemes(handle.db);
  return {
    ...handle,
    url: url.toString(),
    close: async () => {
      await handle.close();
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end({ timeout: 5 });
    },
  };
}

const postgresUnavailable = await probePostgres();
if (postgresUnavailable) {
  console.warn(`\n[hemaloop] PostgreSQL server tests SKIPPED: ${adminUrl} unreachable (${postgresUnavailable})\n`);
}

/** Runs a suite once on PGlite and once on the PostgreSQL server (skipped, visibly, when unreachable). */
export function describeEachDb(name: string, suite: (kind: DbKind) => void): void {
  describe(`${name} [pglite]`, () => suite("pglite"));
  const pgDescribe = postgresUnavailable ? describe.skip : describe;
  pgDescribe(`${name} [postgres${postgresUnavailable ? ": server unreachable, skipped" : ""}]`, () => suite("postgres"));
}

/** Server-only suites (real concurrency); skipped visibly without a server. */
export function describePostgres(name: string, suite: () => void): void {
  const pgDescribe = postgresUnavailable ? describe.skip : describe;
  pgDescribe(`${name} [postgres${postgresUnavailable ? ": server unreachable, skipped" : ""}]`, suite);
}
