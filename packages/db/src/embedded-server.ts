import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { createDb, type DbHandle } from "./client";
import { requirePassword } from "./embedded-password-auth";
import { keepProtocolBatchesTogether } from "./embedded-protocol-batching";
import { embeddedServerFile, ensurePrivateDir } from "./runtime-config";

export type EmbeddedServer = { url: string; handle: DbHandle; stop: () => Promise<void> };

/**
 * Serves the PGlite data directory over the PostgreSQL wire protocol so the web app, the trainer and
 * CLIs (separate processes) share one embedded database; PGlite itself allows one process per dir.
 * Every connection must present `password` (MD5 exchange), so other local users cannot open it; the
 * URL with the password is advertised only in a 0600 file inside the owner-only data dir.
 */
export async function startEmbeddedServer(input: {
  dataDir: string;
  pgliteDir: string;
  port: number;
  host?: string;
  /** Required from every client (see embedded-password-auth.ts); keep it in a 0600 file. */
  password: string;
  /** Runs on the migrated database before any client can connect (seeding). */
  prepare?: (handle: DbHandle) => Promise<void>;
}): Promise<EmbeddedServer> {
  ensurePrivateDir(input.dataDir);
  mkdirSync(input.pgliteDir, { recursive: true });
  const handle = await createDb({ dataDir: input.pgliteDir });
  await handle.migrate();
  await input.prepare?.(handle);
  const host = input.host ?? "127.0.0.1";
  const server = new PGLiteSocketServer({ db: handle.pglite!, port: input.port, host, maxConnections: 32 });
  keepProtocolBatchesTogether(server, readInstalledVersion());
  requirePassword(server, input.password);
  await server.start();
  const url = `postgres://postgres:${encodeURIComponent(input.password)}@${host}:${input.port}/postgres`;
  const serverFile = embeddedServerFile(input.dataDir);
  writeFileSync(serverFile, JSON.stringify({ url, pid: process.pid }), { mode: 0o600 });
  chmodSync(serverFile, 0o600);
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
