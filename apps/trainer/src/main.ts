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

const handlers = createJobHandlers(config);
console.log(
  `[trainer ${config.workerId}] polling ${handle.kind === "postgres" ? "PostgreSQL" : "embedded PGlite"} for ${config.jobTypes ? config.jobTypes.join(", ") : "all"} jobs`,
);
await runWorker({
  db: handle.db,
  workerId: config.workerId,
  handlers,
  pollIntervalMs: config.pollIntervalMs,
  heartbeatIntervalMs: config.heartbeatIntervalMs,
  staleAfterMs: config.staleAfterMs,
  removeOrphanedModelFiles: createOrphanedModelFileRemover(config),
  signal: shutdown.signal,
});
await handle.close();
