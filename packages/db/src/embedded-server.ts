import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { createDb, type DbHandle } from "./client";
import { keepProtocolBatchesTogether } from "./embedded-protocol-batching";
import { embeddedServerFile } from "./runtime-config";

export type EmbeddedServer = { url: string; handle: DbHandle; stop: () => Promise<void> };

/**
 * Serves the PGlite data directory over the PostgreSQL wire protocol so the web app, the trainer and
 * CLIs (separate processes) share one embedded database; PGlite itself allows one process per dir.
 */
export async function startEmbeddedServer(input: {
  dataDir: string;
  pgliteDir: string;
  port: number;
  host?: string;
  /** Runs on the migrated database before any client can connect (seeding). */
  prepare?: (handle: DbHandle) => Promise<void>;
}): Promise<EmbeddedServer> {
  mkdirSync(input.pgliteDir, { recursive: true });
  const handle = await createDb({ dataDir: input.pgliteDir });
  await handle.migrate();
  await input.prepare?.(handle);
  const host = input.host ?? "127.0.0.1";
  const server = new PGLiteSocketServer({ db: handle.pglite!, port: input.port, host, maxConnections: 32 });
  keepProtocolBatchesTogether(server, readInstalledVersion());
  await server.start();
  const url = `postgres://postgres@${host}:${input.port}/postgres`;
  writeFileSync(embeddedServerFile(input.dataDir), JSON.stringify({ url, pid: process.pid }));
  return {
    url,
    handle,
    stop: async () => {
      rmSync(embeddedServerFile(input.dataDir), { force: true });
      await server.stop();
      await handle.close();
    },
  };
}

function readInstalledVersion(): string {
  const require = createRequire(import.meta.url);
  // The package's exports map hides package.json; find it next to the resolved entry point.
  const entry = require.resolve("@electric-sql/pglite-socket");
  const pkgPath = path.join(path.dirname(entry), "..", "package.json");
  return (JSON.parse(readFileSync(pkgPath, "utf8")) as { version: string }).version;
}
