// Starts the whole product on embedded defaults (or on DATABASE_URL when set):
// migrate + seed, serve the database to the other processes, build and start the web app, start a trainer.
import { createDb, resolveRuntimeConfig, seedBuiltInSchemes, type DbHandle } from "@hemaloop/db";
import { startEmbeddedServer } from "@hemaloop/db/embedded-server";
import { DEMO_LOGIN, seedDemo } from "@hemaloop/db/seed-demo";
import { createStorage } from "@hemaloop/db/storage";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const config = resolveRuntimeConfig(process.env, root);
const port = Number(process.env.PORT ?? 3000);
const dbPort = Number(process.env.HEMALOOP_DB_PORT ?? 54329);
const startTrainer = process.env.HEMALOOP_NO_TRAINER !== "1";
mkdirSync(config.dataDir, { recursive: true });

async function seed(handle: DbHandle) {
  await seedBuiltInSchemes(handle.db);
  const storage = createStorage(config.storage);
  const t0 = Date.now();
  await seedDemo(handle.db, storage, { fixtureDir: path.join(root, "fixtures", "demo") });
  console.log(`[hemaloop] demo project ready (${Date.now() - t0} ms)`);
}

let databaseUrl: string;
let stopDatabase: () => Promise<void>;
if (config.databaseUrl) {
  const handle = await createDb({ url: config.databaseUrl });
  await handle.migrate();
  await seed(handle);
  await handle.close();
  databaseUrl = config.databaseUrl;
  stopDatabase = async () => {};
  console.log("[hemaloop] using PostgreSQL from DATABASE_URL");
} else {
  const server = await startEmbeddedServer({ dataDir: config.dataDir, pgliteDir: config.pgliteDir, port: dbPort, prepare: seed });
  databaseUrl = server.url;
  stopDatabase = server.stop;
  console.log(`[hemaloop] embedded PostgreSQL (PGlite) in ${config.pgliteDir}, served at ${server.url}`);
}

const authSecret = process.env.AUTH_SECRET ?? readOrCreateSecret(path.join(config.dataDir, "auth-secret"));
const childEnv = {
  ...process.env,
  DATABASE_URL: databaseUrl,
  HEMALOOP_DATA_DIR: config.dataDir,
  HEMALOOP_STORAGE_DIR: config.storageDir,
  AUTH_SECRET: authSecret,
  AUTH_TRUST_HOST: "true",
  NEXT_TELEMETRY_DISABLED: "1",
  PORT: String(port),
};

const webDir = path.join(root, "apps", "web");
if (needsWebBuild()) {
  console.log("[hemaloop] building the web app (next build)...");
  const built = spawnSync(path.join(root, "node_modules", ".bin", "next"), ["build"], { cwd: webDir, stdio: "inherit", env: childEnv });
  if (built.status !== 0) {
    await stopDatabase();
    process.exit(built.status ?? 1);
  }
}

const children: ChildProcess[] = [];
const nextBin = path.join(root, "node_modules", ".bin", "next");
// Each child leads its own process group so shutdown also reaches the servers they spawn.
children.push(spawn(nextBin, ["start", "-p", String(port)], { cwd: webDir, stdio: "inherit", env: childEnv, detached: true }));
if (startTrainer) {
  children.push(
    spawn(path.join(root, "node_modules", ".bin", "tsx"), [path.join(root, "apps", "trainer", "src", "main.ts")], {
      cwd: root,
      stdio: "inherit",
      env: childEnv,
      detached: true,
    }),
  );
}
await waitForHttp(`http://localhost:${port}/sign-in`, 120_000);
console.log(
  `\n  HemaLoop is running at http://localhost:${port}\n  Sign in as ${DEMO_LOGIN.email} / ${DEMO_LOGIN.password}\n  (Ctrl+C stops the web app, the trainer and the embedded database)\n`,
);

let stopping = false;
async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  for (const child of children) killGroup(child);
  await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once("exit", r)))));
  await stopDatabase();
  process.exit(code);
}
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => void shutdown(0));
for (const child of children) child.on("exit", (code) => void shutdown(code ?? 1));

function killGroup(child: ChildProcess) {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    child.kill("SIGTERM");
  }
}

function readOrCreateSecret(file: string): string {
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  const secret = randomBytes(32).toString("base64url");
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

/** Rebuild when there is no build or any web/ui/db source is newer than it. */
function needsWebBuild(): boolean {
  const buildId = path.join(webDir, ".next", "BUILD_ID");
  if (!existsSync(buildId)) return true;
  const builtAt = statSync(buildId).mtimeMs;
  const newer = (dir: string): boolean =>
    existsSync(dir) &&
    readdirSync(dir, { withFileTypes: true }).some((e) => {
      if (e.name === "node_modules" || e.name === ".next" || e.name.startsWith(".")) return false;
      const p = path.join(dir, e.name);
      return e.isDirectory() ? newer(p) : statSync(p).mtimeMs > builtAt;
    });
  return ["apps/web/src", "apps/web/app", "packages/ui/src", "packages/db/src"].some((d) => newer(path.join(root, d)));
}

async function waitForHttp(url: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`web app did not answer at ${url} within ${timeoutMs / 1000}s`);
}
