/**
 * Browser upload vs `npm run import -- --zip` on all of PBC (6,400 JPEGs):
 *   1. zips ../shared/data/pbc/images as <class>/<image> once (kept in --zip, default /tmp);
 *   2. on a throwaway PostgreSQL database (demo seed: a lead and an institution), starts the production
 *      web server (`next start` on the built apps/web) and a trainer that claims import jobs;
 *   3. signs in as the lead, POSTs the zip to /api/projects/pbc-demo/uploads while sampling the web
 *      process tree's resident memory (VmRSS every 100 ms, VmHWM at the end), and waits for the job;
 *   4. imports the same zip with the CLI into a second throwaway database and storage folder.
 * Prints web peak RSS (target <= 600 MB) and upload + import time against the CLI's (target <= 1.5x).
 *
 *   npm run bench -- upload [--images ../shared/data/pbc/images] [--zip /tmp/hemaloop-bench-pbc.zip]
 *     [--admin-url postgres://postgres@127.0.0.1:5432/postgres] [--port 3291]
 */
import { createDb, getJob, seedBuiltInSchemes } from "@hemaloop/db";
import { DEMO_LOGIN, seedDemo } from "@hemaloop/db/seed-demo";
import { createLocalStorage } from "@hemaloop/db/storage";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, existsSync, openAsBlob, readdirSync, readFileSync, renameSync, statSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir, loadavg } from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import postgres from "postgres";
import yazl from "yazl";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const { values } = parseArgs({
  options: {
    images: { type: "string", default: path.resolve(root, "../shared/data/pbc/images") },
    zip: { type: "string", default: path.join(tmpdir(), "hemaloop-bench-pbc.zip") },
    "admin-url": { type: "string", default: process.env.TEST_DATABASE_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres" },
    port: { type: "string", default: "3291" },
  },
});
const port = Number(values.port);
const t0 = Date.now();
const log = (line: string) => console.log(`[upload-bench +${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(0)} MB`;

if (!existsSync(path.join(root, "apps/web/.next/BUILD_ID"))) {
  console.error("no production build: run `cd apps/web && npx next build` first");
  process.exit(2);
}

/** The PBC folder as one zip of <class>/<image> entries, stored (JPEGs do not compress); built once. */
async function ensureZip(imagesDir: string, zipPath: string): Promise<number> {
  if (existsSync(zipPath)) return statSync(zipPath).size;
  const zip = new yazl.ZipFile();
  let count = 0;
  for (const cls of (await readdir(imagesDir)).sort()) {
    for (const file of (await readdir(path.join(imagesDir, cls))).sort()) {
      zip.addFile(path.join(imagesDir, cls, file), `${cls}/${file}`, { compress: false });
      count += 1;
    }
  }
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(`${zipPath}.part`));
  renameSync(`${zipPath}.part`, zipPath);
  log(`zipped ${count} images into ${zipPath}`);
  return statSync(zipPath).size;
}

async function createThrowawayDb(admin: postgres.Sql, label: string) {
  const name = `hemaloop_bench_${label}_${Date.now()}_${randomBytes(3).toString("hex")}`;
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(values["admin-url"]);
  url.pathname = `/${name}`;
  return { name, url: url.toString() };
}

/** Migrated, built-in schemes, the demo project with its lead (an admin of the PBC institution). */
async function prepareDb(url: string, storageDir: string) {
  const handle = await createDb({ url, maxConnections: 2 });
  await handle.migrate();
  await seedBuiltInSchemes(handle.db);
  const demo = await seedDemo(handle.db, createLocalStorage(storageDir), { fixtureDir: path.join(root, "fixtures/demo") });
  await handle.close();
  return demo;
}

/** pid and every descendant (next start may fork the server). */
function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${entry}/status`, "utf8"))?.[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // exited meanwhile
    }
  }
  const all = [pid];
  for (let i = 0; i < all.length; i++) all.push(...(children.get(all[i]!) ?? []));
  return all;
}

function statusKb(pid: number, field: "VmRSS" | "VmHWM"): number {
  try {
    return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Samples the tree's summed VmRSS every 100 ms; stop() returns the peak sum and the largest per-process VmHWM. */
function sampleRss(pid: number) {
  let peakSum = 0;
  const timer = setInterval(() => {
    const sum = processTree(pid).reduce((s, p) => s + statusKb(p, "VmRSS"), 0) * 1024;
    peakSum = Math.max(peakSum, sum);
  }, 100);
  return {
    stop: () => {
      clearInterval(timer);
      const hwm = Math.max(...processTree(pid).map((p) => statusKb(p, "VmHWM"))) * 1024;
      return { peakSum, hwm };
    },
  };
}

async function waitForHttp(url: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).status < 500) return;
    } catch {
      // not listening yet
    }
    await sleep(300);
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
}

/** Auth.js credentials sign-in over HTTP; returns the Cookie header of the session. */
async function signIn(base: string, email: string, password: string): Promise<string> {
  const jar = new Map<string, string>();
  const keep = (res: Response) => {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair!.indexOf("=");
      jar.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
  };
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
  const csrfRes = await fetch(`${base}/api/auth/csrf`);
  keep(csrfRes);
  const { csrfToken } = (await csrfRes.json()) as { csrfToken: string };
  const res = await fetch(`${base}/api/auth/callback/credentials`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: cookie() },
    body: new URLSearchParams({ csrfToken, email, password, callbackUrl: `${base}/` }),
  });
  keep(res);
  if (![...jar.keys()].some((k) => k.includes("session-token"))) throw new Error(`sign-in failed (HTTP ${res.status})`);
  return cookie();
}

function startProcess(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, tag: string): ChildProcess {
  const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const tail: string[] = [];
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n").filter(Boolean)) {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      if (process.env.BENCH_VERBOSE === "1") console.log(`[${tag}] ${line}`);
    }
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  child.on("exit", (code, signal) => {
    if (!stopped.has(child)) console.error(`[${tag}] exited (${signal ?? code}); last output:\n${tail.join("\n")}`);
  });
  return child;
}

/** Children this script stopped itself: their exit is not reported as a failure. */
const stopped = new WeakSet<ChildProcess>();

function stopGroup(child: ChildProcess | undefined) {
  if (!child?.pid || child.exitCode !== null) return;
  stopped.add(child);
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    child.kill("SIGTERM");
  }
}

const admin = postgres(values["admin-url"], { max: 1, onnotice: () => {} });
const dbs: string[] = [];
const dirs: string[] = [];
let web: ChildProcess | undefined;
let trainer: ChildProcess | undefined;

try {
  const zipBytes = await ensureZip(values.images, values.zip);
  log(
    `zip ${values.zip}: ${mb(zipBytes)}; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );

  // --- browser path: production web server + trainer on a throwaway database ---
  const upDb = await createThrowawayDb(admin, "upload");
  dbs.push(upDb.name);
  const upData = await mkdtemp(path.join(tmpdir(), "hemaloop-bench-upload-"));
  dirs.push(upData);
  const demo = await prepareDb(upDb.url, path.join(upData, "storage"));
  const env = {
    ...process.env,
    NODE_ENV: "production" as const,
    DATABASE_URL: upDb.url,
    HEMALOOP_DATA_DIR: upData,
    HEMALOOP_STORAGE_DIR: path.join(upData, "storage"),
    AUTH_SECRET: randomBytes(32).toString("hex"),
    AUTH_TRUST_HOST: "true",
    NEXT_TELEMETRY_DISABLED: "1",
    PORT: String(port),
    TRAINER_JOB_TYPES: "import",
    TRAINER_POLL_MS: "500",
  };
  web = startProcess(
    path.join(root, "node_modules/.bin/next"),
    ["start", "-H", "127.0.0.1", "-p", String(port)],
    path.join(root, "apps/web"),
    env,
    "web",
  );
  trainer = startProcess(path.join(root, "node_modules/.bin/tsx"), [path.join(root, "apps/trainer/src/main.ts")], root, env, "trainer");
  const base = `http://localhost:${port}`;
  await waitForHttp(`${base}/sign-in`, 120_000);
  const cookie = await signIn(base, DEMO_LOGIN.email, DEMO_LOGIN.password);
  log(
    `web app up (pid ${web.pid}), signed in; RSS before the upload ${mb(processTree(web.pid!).reduce((s, p) => s + statusKb(p, "VmRSS"), 0) * 1024)}`,
  );

  const form = new FormData();
  form.set("targetKind", "new");
  form.set("datasetName", "pbc-upload");
  form.set("institutionId", demo.pbc.institutionId);
  form.set("schemeKey", "pbc-8");
  form.set("site", "Hospital Clinic Barcelona");
  // openAsBlob reads the file lazily: the client does not hold the zip in memory either.
  form.set("files", await openAsBlob(values.zip, { type: "application/zip" }), path.basename(values.zip));
  const rss = sampleRss(web.pid!);
  const tUpload = Date.now();
  const res = await fetch(`${base}/api/projects/pbc-demo/uploads`, { method: "POST", headers: { cookie }, body: form });
  const body = (await res.json()) as { jobId?: string; error?: string };
  const uploadMs = Date.now() - tUpload;
  if (res.status !== 201 || !body.jobId) throw new Error(`upload answered ${res.status}: ${body.error ?? JSON.stringify(body)}`);
  log(`uploaded ${mb(zipBytes)} in ${(uploadMs / 1000).toFixed(1)} s; import job ${body.jobId}`);

  const watch = await createDb({ url: upDb.url, maxConnections: 1 });
  let job = await getJob(watch.db, body.jobId);
  let lastLog = 0;
  while (job.status === "queued" || job.status === "running") {
    await sleep(1_000);
    job = await getJob(watch.db, body.jobId);
    if (job.progressMessage && Date.now() - lastLog > 15_000) {
      log(`${job.status}: ${job.progressMessage}`);
      lastLog = Date.now();
    }
  }
  const totalMs = Date.now() - tUpload;
  const memory = rss.stop();
  await watch.close();
  if (job.status !== "succeeded") throw new Error(`import job ${job.status}: ${job.error}`);
  const result = job.result as { imported: number; duplicates: number; rejected: number };
  log(`import job succeeded: imported=${result.imported} duplicates=${result.duplicates} rejected=${result.rejected}`);
  stopGroup(web);
  stopGroup(trainer);

  // --- the CLI on the same zip, its own database and storage ---
  const cliDb = await createThrowawayDb(admin, "cli");
  dbs.push(cliDb.name);
  const cliData = await mkdtemp(path.join(tmpdir(), "hemaloop-bench-cli-"));
  dirs.push(cliData);
  await prepareDb(cliDb.url, path.join(cliData, "storage"));
  const tCli = Date.now();
  const cli = spawn(
    path.join(root, "node_modules/.bin/tsx"),
    [
      path.join(root, "packages/db/src/cli/import-cli.ts"),
      "--zip",
      values.zip,
      "--institution",
      "Hospital Clinic Barcelona",
      "--dataset",
      "pbc-cli",
      "--scheme",
      "pbc-8",
    ],
    {
      cwd: root,
      env: { ...process.env, DATABASE_URL: cliDb.url, HEMALOOP_DATA_DIR: cliData, HEMALOOP_STORAGE_DIR: path.join(cliData, "storage") },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let cliOut = "";
  cli.stdout.on("data", (c: Buffer) => (cliOut += c.toString()));
  const cliCode = await new Promise<number | null>((r) => cli.on("exit", r));
  const cliMs = Date.now() - tCli;
  if (cliCode !== 0) throw new Error(`npm run import exited with ${cliCode}`);
  log(`CLI: ${cliOut.trim().split("\n").pop()}`);

  const ratio = totalMs / cliMs;
  const peak = Math.max(memory.peakSum, memory.hwm);
  console.log(
    [
      "",
      `zip: ${mb(zipBytes)}, ${result.imported + result.duplicates + result.rejected} entries; load average at the end ${loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}`,
      `web peak RSS during the upload and import: ${mb(peak)} (sampled tree sum ${mb(memory.peakSum)}, VmHWM ${mb(memory.hwm)}); target <= 600 MB: ${peak <= 600 * 1024 ** 2 ? "met" : "NOT met"}`,
      `browser path: upload ${(uploadMs / 1000).toFixed(1)} s + import = ${(totalMs / 1000).toFixed(1)} s; CLI ${(cliMs / 1000).toFixed(1)} s; ratio ${ratio.toFixed(2)}x; target <= 1.5x: ${ratio <= 1.5 ? "met" : "NOT met"}`,
    ].join("\n"),
  );
} finally {
  stopGroup(web);
  stopGroup(trainer);
  await sleep(1_000);
  for (const name of dbs) await admin.unsafe(`drop database if exists "${name}" with (force)`).catch(() => {});
  await admin.end({ timeout: 5 });
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
}
