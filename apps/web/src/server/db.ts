import { createDb, type Db, type DbHandle } from "@hemaloop/db/client";
import { getDbConfig } from "../env";

/**
 * One database handle per server process, created on first use (never at build time). PGlite is
 * used only when no URL is configured and no embedded server is running for the data directory.
 */
const store = globalThis as unknown as { __hemaloopDb?: Promise<DbHandle> };

async function open(): Promise<DbHandle> {
  const config = getDbConfig();
  const handle = await createDb(config);
  if (handle.kind === "pglite") {
    // A PGlite directory is private to this process: bring its schema up to date here.
    await handle.migrate();
    const close = () => void handle.close();
    process.once("beforeExit", close);
  }
  return handle;
}

export function getDbHandle(): Promise<DbHandle> {
  store.__hemaloopDb ??= open().catch((error: unknown) => {
    store.__hemaloopDb = undefined; // let the next request retry
    throw error;
  });
  return store.__hemaloopDb;
}

export async function getDb(): Promise<Db> {
  return (await getDbHandle()).db;
}
