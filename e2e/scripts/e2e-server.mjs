// Playwright's web server, in explicit demo mode (HEMALOOP_DEMO=1: the specs sign in with the demo
// logins): a fresh temporary HEMALOOP_DATA_DIR, migrate + seed (the demo fixture),
// then seed-models.ts (finished model versions, a LODOCV run, a review queue), then the product's own
// launcher (scripts/start-stack.ts, what `npm run demo` runs): the embedded database served over the
// PostgreSQL protocol, `next start` on apps/web/.next (built here when missing) and a trainer. The
// trainer claims only import and round jobs (TRAINER_JOB_TYPES): upload.spec.ts needs uploads imported and
// rounds.spec.ts a round finished (a round decodes no image: cheap), while models.spec.ts and roles.spec.ts
// expect their training and LODOCV jobs to stay queued.
// E2E_DATABASE_URL runs it against a PostgreSQL server instead of the embedded PGlite.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { OIDC_CLIENT, OIDC_PORT } from "./oidc-provider.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const webDir = path.join(root, "apps", "web");
const port = Number(process.env.E2E_PORT ?? process.env.PORT ?? 3217);
const dataDir = mkdtempSync(path.join(os.tmpdir(), "hemaloop-e2e-"));
const keepData = process.env.E2E_KEEP_DATA === "1";
// Where specs that check the database (reader.spec.ts, via e2e/db.ts) find this server's data dir.
const stateFile = path.join(root, "test-results", "e2e-server.json");

const env = {
  ...process.env,
  HEMALOOP_DATA_DIR: dataDir,
  HEMALOOP_STORAGE_DIR: path.join(dataDir, "storage"),
  AUTH_SECRET: randomBytes(32).toString("hex"),
  HEMALOOP_DEMO: "1",
  AUTH_TRUST_HOST: "true",
  NEXT_TELEMETRY_DISABLED: "1",
  NODE_ENV: "production",
  PORT: String(port),
  // A short failed-sign-in window so hardening.spec.ts can watch a locked account unlock again.
  HEMALOOP_SIGNIN_WINDOW_SECONDS: process.env.HEMALOOP_SIGNIN_WINDOW_SECONDS ?? "20",
  // Single sign-on against the provider hardening.spec.ts starts (discovery happens on first use).
  HEMALOOP_OIDC_ISSUER: `http://localhost:${OIDC_PORT}`,
  HEMALOOP_OIDC_CLIENT_ID: OIDC_CLIENT.clientId,
  HEMALOOP_OIDC_CLIENT_SECRET: OIDC_CLIENT.clientSecret,
  HEMALOOP_OIDC_NAME: "Test Hospital",
  // Short reader leases so reader.spec.ts can watch an abandoned claim come back to the queue.
  HEMALOOP_READER_LEASE_SECONDS: process.env.HEMALOOP_READER_LEASE_SECONDS ?? "6",
};
delete env.DATABASE_URL;
delete env.HEMALOOP_NO_TRAINER;
if (process.env.E2E_DATABASE_URL) env.DATABASE_URL = process.env.E2E_DATABASE_URL;

function log(message) {
  console.log(`[e2e-server] ${message}`);
}

function cleanup() {
  rmSync(stateFile, { force: true });
  if (keepData) log(`kept data in ${dataDir}`);
  else rmSync(dataDir, { recursive: true, force: true });
}

function run(command, args, cwd) {
  const result = spawnSync(command, args, { cwd, env, stdio: "inherit" });
  if (result.status !== 0) {
    cleanup();
    throw new Error(`${command} ${args.join(" ")} exited with ${result.status ?? result.signal}`);
  }
}

mkdirSync(path.dirname(stateFile), { recursive: true });
writeFileSync(stateFile, JSON.stringify({ dataDir, databaseUrl: env.DATABASE_URL ?? null }));
log(`data dir ${dataDir}${env.DATABASE_URL ? " (PostgreSQL from E2E_DATABASE_URL)" : " (PGlite)"}`);
const t0 = Date.now();
run(path.join(root, "node_modules", ".bin", "tsx"), [path.join(root, "packages", "db", "src", "cli", "seed-cli.ts")], root);
// Model versions (metrics from packages/ml on synthetic predictions), a LODOCV run and a review queue.
run(path.join(root, "node_modules", ".bin", "tsx"), [path.join(root, "e2e", "scripts", "seed-models.ts")], root);
log(`migrated and seeded in ${Date.now() - t0} ms`);

if (!existsSync(path.join(webDir, ".next", "BUILD_ID"))) {
  log("no build found: running next build");
  run(process.execPath, [path.join(root, "node_modules", "next", "dist", "bin", "next"), "build"], webDir);
}

/** A free loopback port for the embedded database server (a developer's `npm start` may hold 54329). */
function findFreePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port: free } = server.address();
      server.close(() => resolve(free));
    });
  });
}

const stack = spawn(path.join(root, "node_modules", ".bin", "tsx"), [path.join(root, "scripts", "start-stack.ts")], {
  cwd: root,
  env: {
    ...env,
    HEMALOOP_HOST: "127.0.0.1",
    HEMALOOP_DB_PORT: String(await findFreePort()),
    TRAINER_JOB_TYPES: "import,round",
    TRAINER_POLL_MS: "500",
  },
  stdio: "inherit",
});
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    stopping = true;
    // start-stack stops the web app and the trainer, then closes the database.
    stack.kill("SIGTERM");
  });
}
stack.on("exit", (code, signal) => {
  cleanup();
  if (!stopping && code !== 0) log(`start-stack exited with ${code ?? signal}`);
  process.exit(stopping ? 0 : (code ?? 1));
});
