// npm run migrate: applies the migrations and seeds the built-in class schemes (both idempotent).
import { resolveRuntimeConfig } from "../runtime-config";
import { openMigratedDb, repoRoot, runCli } from "./cli-support";

runCli(async () => {
  const config = resolveRuntimeConfig(process.env, repoRoot);
  const { handle, where } = await openMigratedDb(config);
  await handle.close();
  console.log(`migrated and seeded the built-in schemes: ${where}`);
});
