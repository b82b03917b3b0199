// npm run seed -- --demo (or HEMALOOP_DEMO=1): migrate, built-in schemes, then the demo project from
// fixtures/demo with its published logins (all idempotent). Refuses without the explicit demo flag: a
// deployment that runs it by mistake would get an admin whose password is in the README.
import path from "node:path";
import { isDemoMode, resolveRuntimeConfig } from "../runtime-config";
import { DEMO_LOGIN, seedDemo } from "../seed/seed-demo";
import { createStorage } from "../storage";
import { CliError, openMigratedDb, repoRoot, runCli } from "./cli-support";

runCli(async () => {
  if (!isDemoMode(process.argv.slice(2), process.env)) {
    throw new CliError(
      "the demo seed creates logins whose passwords are published; run it only for a demo: npm run seed -- --demo (or HEMALOOP_DEMO=1).\n" +
        "For a real instance: npm run migrate, then npm run admin -- create-admin --email <email>",
      2,
    );
  }
  const config = resolveRuntimeConfig(process.env, repoRoot);
  const { handle, where } = await openMigratedDb(config);
  try {
    const storage = createStorage(config.storage);
    const result = await seedDemo(handle.db, storage, {
      fixtureDir: path.join(repoRoot, "fixtures", "demo"),
      maxImagePixels: config.maxImagePixels,
    });
    for (const [name, r] of [
      ["pbc-demo", result.pbc],
      ["bccd-demo", result.bccd],
    ] as const) {
      for (const rejected of r.rejected) console.error(`warning: ${name}: ${rejected.file}: ${rejected.reason}`);
      console.log(`${name}: imported=${r.imported} duplicates=${r.duplicates} rejected=${r.rejected.length} cells=${r.cells}`);
    }
    console.log(`demo project "pbc-demo" ready in ${where}, storage ${storage.location}`);
    console.log(`sign in as ${DEMO_LOGIN.email} / ${DEMO_LOGIN.password}`);
  } finally {
    await handle.close();
  }
});
