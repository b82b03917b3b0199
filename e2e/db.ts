import { findEmbeddedServerUrl } from "@hemaloop/db/runtime-config";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";

const stateFile = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "test-results", "e2e-server.json");

/**
 * A connection to the database of the running e2e server (scripts/e2e-server.mjs writes where it is), for
 * specs that check what the browser wrote. Close it in afterAll.
 */
export function openE2eDb(): postgres.Sql {
  const state = JSON.parse(readFileSync(stateFile, "utf8")) as { dataDir: string; databaseUrl: string | null };
  const url = state.databaseUrl ?? findEmbeddedServerUrl(state.dataDir);
  if (!url) throw new Error(`no database server is running for the e2e data dir ${state.dataDir}`);
  return postgres(url, { max: 1, onnotice: () => {} });
}
