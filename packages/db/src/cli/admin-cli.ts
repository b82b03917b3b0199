// npm run admin -- <command> [options]: headless administration for scripted deployments (see --help).
// The same service functions as the web app; the CLI acts as the system (audit events without an actor).
import { resolveRuntimeConfig } from "../runtime-config";
import { parseAdminCommandLine } from "./admin-commands";
import { openMigratedDb, repoRoot, runCli } from "./cli-support";

runCli(async () => {
  const command = parseAdminCommandLine(process.argv.slice(2));
  if (command.kind === "help") {
    console.log(command.text);
    return;
  }
  const config = resolveRuntimeConfig(process.env, repoRoot);
  const { handle, where } = await openMigratedDb(config);
  try {
    console.log(await command.run({ db: handle.db, where, env: process.env }));
  } finally {
    await handle.close();
  }
});
