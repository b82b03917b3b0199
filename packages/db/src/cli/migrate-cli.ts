// npm run migrate: applies the migrations and seeds the built-in class schemes (both idempotent).
// Outside demo mode it also disables demo logins a database may still hold from an earlier demo seed:
// compose runs this before every deployment, so a published password never survives into production.
import { isDemoMode, resolveRuntimeConfig } from "../runtime-config";
import { disableDemoUsers } from "../seed/seed-demo";
import { openMigratedDb, repoRoot, runCli } from "./cli-support";

runCli(async () => {
  const config = resolveRuntimeConfig(process.env, repoRoot);
  const { handle, where } = await openMigratedDb(config);
  try {
    const disabled = isDemoMode(process.argv.slice(2), process.env) ? [] : await disableDemoUsers(handle.db);
    if (disabled.length > 0) {
      console.warn(
        `warning: disabled the demo logins ${disabled.join(", ")} (published passwords); change AUTH_SECRET to end their sessions`,
      );
    }
  } finally {
    await handle.close();
  }
  console.log(`migrated and seeded the built-in schemes: ${where}`);
});
