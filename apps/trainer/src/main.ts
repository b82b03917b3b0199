import { createDb } from "@hemaloop/db";
import { loadTrainerConfig } from "./env";
import { createJobHandlers, createOrphanedModelFileRemover } from "./handlers";
import { runWorker } from "./worker";

const config = loadTrainerConfig();
const handle = await createDb(config.db);
const shutdown = new AbortController();
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    console.log(`[trainer ${config.workerId}] ${sig}: finishing up`);
    shutdown.abort();
  });
}

console.log(`[trainer ${config.workerId}] polling ${handle.kind === "postgres" ? "PostgreSQL" : "embedded PGlite"} for jobs`);
await runWorker({
  db: handle.db,
  workerId: config.workerId,
  handlers: createJobHandlers(config),
  pollIntervalMs: config.pollIntervalMs,
  heartbeatIntervalMs: config.heartbeatIntervalMs,
  staleAfterMs: config.staleAfterMs,
  removeOrphanedModelFiles: createOrphanedModelFileRemover(config),
  signal: shutdown.signal,
});
await handle.close();
