// Starts the whole product on embedded defaults (or on DATABASE_URL when set): migrate (+ the demo
// project in demo mode), serve the database to the other processes, build and start the web app, start a trainer.
// `npm start` is the product: no demo logins. `npm run demo` (= `npm start -- --demo`, or HEMALOOP_DEMO=1)
// adds the demo project and the logins whose passwords the README publishes.
import {
  authSecretFile,
  createDb,
  embeddedPasswordFile,
  ensurePrivateDir,
  isLoopbackHost,
  readOrCreateSecretFile,
  resolveRuntimeConfig,
  resolveStartOptions,
  seedBuiltInSchemes,
  type DbHandle,
} from "@hemaloop/db";
import { countActiveSystemAdmins } from "@hemaloop/db/admin";
import { startEmbeddedServer } from "@hemaloop/db/embedded-server";
import { DEMO_LOGIN, disableDemoUsers, seedDemo } from "@hemaloop/db/seed-demo";
import { createStorage } from "@hemaloop/db/storage";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const config = resolveRuntimeConfig(process.env, root);
let options: ReturnType<typeof resolveStartOptions>;
try {
  options = resolveStartOptions(process.argv.slice(2), process.env);
} catch (error) {
  console.error(`[hemaloop] ${(error as Error).message}`);
  process.exit(2);
}
const { demo, host, port, dbPort, startTrainer } = options;
ensurePrivateDir(config.dataDir);

let adminCount = 0;
let disabledDemoUsers: string[] = [];

async function prepare(handle: DbHandle) {
  await seedBuiltInSchemes(handle.db);
  if (demo) {
    const storage = createStorage(config.storage);
    const t0 = Date.now();
    await seedDemo(handle.db, storage, { fixtureDir: path.join(root, "fixtures", "demo") });
    console.log(`[hemaloop] demo project ready (${Date.now() - t0} ms)`);
  } else {
    // A data dir (or DATABASE_URL) used by an earlier demo run still holds the published logins.
    disabledDemoUsers = await disableDemoUsers(handle.db);
  }
  adminCount = await countActiveSystemAdmins(handle.db);
}

let databaseUrl: string;
let stopDatabase: () => Promise<void>;
if (config.databaseUrl) {
  const handle = await createDb({ url: config.databaseUrl });
  await handle.migrate();
  await prepare(handle);
  await handle.close();
  databaseUrl = config.databaseUrl;
  stopDatabase = async () => {};
  console.log("[hemaloop] using PostgreSQL from DATABASE_URL");
} else {
  const password = readOrCreateSecretFile(embeddedPasswordFile(config.dataDir));
  const server = await startEmbeddedServer({ dataDir: config.dataDir, pgliteDir: config.pgliteDir, port: dbPort, password, prepare });
  databaseUrl = server.url;
  stopDatabase = server.stop;
  const shown = new URL(server.url);
  shown.password = "***";
  console.log(
    `[hemaloop] embedded PostgreSQL (PGlite) in ${config.pgliteDir}, served at ${shown.toString()} (password in ${embeddedPasswordFile(config.dataDir)})`,
  );
}

if (disabledDemoUsers.length > 0) {
  console.warn(
    `\n[hemaloop] WARNING: demo logins from an earlier \`npm run demo\` were disabled (their passwords are published):\n` +
      `  ${disabledDemoUsers.join(", ")}\n` +
      (process.env.AUTH_SECRET
        ? "  Sessions they already hold stay valid until AUTH_SECRET changes: change it.\n"
        : "  The auth secret was rotated, so sessions they already held are signed out.\n") +
      "  `npm run demo` turns them back on.\n",
  );
  // Auth.js sessions are JWTs signed with this secret: a new one ends every session issued before.
  if (!process.env.AUTH_SECRET) rmSync(authSecretFile(config.dataDir), { force: true });
}
const authSecret = process.env.AUTH_SECRET ?? readOrCreateSecretFile(authSecretFile(config.dataDir));
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
const web = spawn(nextBin, ["start", "-H", host, "-p", String(port)], { cwd: webDir, stdio: "inherit", env: childEnv, detached: true });
children.push(web);
web.on("exit", (code) => void shutdown(code ?? 1));
if (startTrainer) superviseTrainer();

/**
 * The trainer is restarted when it dies (as compose's restart policy does): a crashed trainer must not take
 * the web app down, and its running job is re-queued by the stale sweep of the next one. Backoff doubles
 * up to 30 s and resets after a minute of uptime.
 */
function superviseTrainer(backoffMs = 1_000) {
  const startedAt = Date.now();
  const trainer = spawn(path.join(root, "node_modules", ".bin", "tsx"), [path.join(root, "apps", "trainer", "src", "main.ts")], {
    cwd: root,
    stdio: "inherit",
    env: childEnv,
    detached: true,
  });
  children.push(trainer);
  trainer.on("exit", (code, signal) => {
    children.splice(children.indexOf(trainer), 1);
    if (stopping) return;
    const delay = Date.now() - startedAt > 60_000 ? 1_000 : backoffMs;
    console.error(`[hemaloop] trainer exited (${signal ?? `code ${code}`}); restarting in ${delay / 1000} s`);
    setTimeout(() => {
      if (!stopping) superviseTrainer(Math.min(delay * 2, 30_000));
    }, delay);
  });
}
const anyInterface = host === "0.0.0.0" || host === "::";
const probeHost = anyInterface ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
await waitForHttp(`http://${probeHost}:${port}/sign-in`, 120_000);
// localhost, not 127.0.0.1, for loopback: Auth.js's CSRF check wants the host Next redirects to.
const url = isLoopbackHost(host) ? `http://localhost:${port}` : `http://${anyInterface ? "<this machine>" : probeHost}:${port}`;
const lines = [`HemaLoop is running at ${url}${isLoopbackHost(host) ? "" : ` (listening on ${host}: reachable from other machines)`}`];
if (demo) {
  lines.push(`DEMO MODE: sign in as ${DEMO_LOGIN.email} / ${DEMO_LOGIN.password} (published passwords: never expose a demo)`);
} else if (adminCount === 0) {
  lines.push("Nobody can administer this instance yet. Create the first admin (password printed once):");
  lines.push('  npm run admin -- create-admin --email you@example.org --name "Your Name"');
  lines.push("To try HemaLoop with the demo project and demo logins instead: npm run demo");
}
lines.push("(Ctrl+C stops the web app, the trainer and the embedded database)");
console.log(`\n${lines.map((l) => `  ${l}`).join("\n")}\n`);
if (demo && !isLoopbackHost(host)) {
  console.warn(`[hemaloop] WARNING: demo mode with HEMALOOP_HOST=${host}: anyone who can reach this port can sign in as an admin.`);
}

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

function killGroup(child: ChildProcess) {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    child.kill("SIGTERM");
  }
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
