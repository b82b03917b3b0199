// Playwright's web server, in explicit demo mode (HEMALOOP_DEMO=1: the specs sign in with the demo
// logins): a fresh temporary HEMALOOP_DATA_DIR, migrate + seed (the demo fixture),
// then seed-models.ts (finished model versions, a LODOCV run, a review queue), then `next start` on
// the already built apps/web/.next (built here only when missing).
// E2E_DATABASE_URL runs it against a PostgreSQL server instead of the embedded PGlite.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { OIDC_CLIENT, OIDC_PORT } from "./oidc-provider.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const webDir = path.join(root, "apps", "web");
const port = Number(process.env.E2E_PORT ?? process.env.PORT ?? 3217);
const dataDir = mkdtempSync(path.join(os.tmpdir(), "hemaloop-e2e-"));
const keepData = process.env.E2E_KEEP_DATA === "1";

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
};
delete env.DATABASE_URL;
if (process.env.E2E_DATABASE_URL) env.DATABASE_URL = process.env.E2E_DATABASE_URL;

function log(message) {
  console.log(`[e2e-server] ${message}`);
}

function cleanup() {
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

const next = spawn(
  process.execPath,
  [path.join(root, "node_modules", "next", "dist", "bin", "next"), "start", "-H", "127.0.0.1", "-p", String(port)],
  {
    cwd: webDir,
    env,
    stdio: "inherit",
  },
);
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    stopping = true;
    next.kill(signal);
  });
}
next.on("exit", (code, signal) => {
  cleanup();
  if (!stopping && code !== 0) log(`next start exited with ${code ?? signal}`);
  process.exit(stopping ? 0 : (code ?? 1));
});
