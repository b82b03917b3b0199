/**
 * Fault-injection benchmark against a PostgreSQL server (a fresh throwaway database on it):
 * 50 concurrent writers save labels through saveLabel while a trainer process runs a small train job;
 * the trainer is killed with SIGKILL, a second trainer takes the job over after the stale timeout, and
 * the PostgreSQL server is restarted once mid-run. Prints one line:
 *   labels written=<n> acknowledged=<n> lost=<n> duplicated_jobs=<n> stuck_jobs=<n>
 *
 *   npm run bench -- faults [--writers 50] [--admin-url postgres://postgres@127.0.0.1:5432/postgres]
 *     [--restart-cmd "pg_ctlcluster 15 main restart"] [--timeout-min 10]
 *
 * It restarts the server it is pointed at: run it only where that is acceptable.
 */
import { ConflictError, createDb, enqueueJob, getSchemeByKey, saveLabel, schema, seedBuiltInSchemes } from "@hemaloop/db";
import { seedDemo } from "@hemaloop/db/seed-demo";
import { createLocalStorage } from "@hemaloop/db/storage";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { and, eq, inArray, sql } from "drizzle-orm";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const { values } = parseArgs({
  options: {
    writers: { type: "string", default: "50" },
    "admin-url": { type: "string", default: process.env.TEST_DATABASE_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres" },
    "restart-cmd": { type: "string", default: "pg_ctlcluster 15 main restart" },
    "timeout-min": { type: "string", default: "10" },
  },
});
const writerCount = Number(values.writers);
const STALE_MS = 4_000;
const t0 = Date.now();
const log = (line: string) => console.log(`[faults +${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// postgres-js 3.4.9 can throw from a socket write scheduled just before the server went away
// (connection.js nextWrite on a null socket). The query fails and is retried by the writer; the
// stray exception must not end the benchmark.
let strayDriverErrors = 0;
process.on("uncaughtException", (error) => {
  if (String(error.stack).includes("postgres/src/connection.js")) {
    strayDriverErrors += 1;
    return;
  }
  throw error;
});

const dbName = `hemaloop_faults_${Date.now()}_${randomBytes(3).toString("hex")}`;
const admin = postgres(values["admin-url"], { max: 1, onnotice: () => {} });
await admin.unsafe(`create database "${dbName}"`);
const url = new URL(values["admin-url"]);
url.pathname = `/${dbName}`;
const storageDir = await mkdtemp(path.join(tmpdir(), "hemaloop-faults-"));
const trainers: ChildProcess[] = [];
const trainerOutput: string[] = [];
let trainerExits = 0;
let stopping = false;

try {
  const setup = await createDb({ url: url.toString(), maxConnections: 2 });
  await setup.migrate();
  await seedBuiltInSchemes(setup.db);
  const demo = await seedDemo(setup.db, createLocalStorage(storageDir), { fixtureDir: path.join(root, "fixtures/demo") });
  await setup.close();
  log(`database ${dbName} seeded with the demo project`);

  // Writers get their own pool, one connection each.
  const handle = await createDb({ url: url.toString(), maxConnections: writerCount + 5 });
  const db = handle.db;
  const scheme = await getSchemeByKey(db, "pbc-8");
  const cells = await db
    .select({ id: schema.cell.id })
    .from(schema.cell)
    .innerJoin(schema.image, eq(schema.image.id, schema.cell.imageId))
    .innerJoin(schema.projectDataset, eq(schema.projectDataset.datasetId, schema.image.datasetId))
    .where(eq(schema.projectDataset.projectId, demo.projectId));
  const job = await enqueueJob(db, {
    type: "train",
    projectId: demo.projectId,
    payload: { backbone: "small-cnn", inputSize: 32, epochs: 40, timeBudgetMinutes: 3, testFraction: 0.25 },
    maxAttempts: 5,
  });
  log(`train job ${job.id} queued; ${cells.length} cells for ${writerCount} writers`);

  // Writers: each owns the cells i, i + n, ...; an acknowledged save is one whose commit returned.
  type Ack = { labelId: string; version: number; classId: string };
  const acks: Ack[] = [];
  let attempted = 0;
  let retriedErrors = 0;
  let stopWriters = false;
  const readerId = demo.users.annotator.id;
  async function currentVersion(cellId: string): Promise<number | null> {
    const [row] = await db
      .select({ version: schema.label.version })
      .from(schema.label)
      .where(and(eq(schema.label.cellId, cellId), eq(schema.label.schemeId, scheme.id), eq(schema.label.readerId, readerId)));
    return row?.version ?? null;
  }
  async function writer(w: number) {
    const mine = cells.filter((_, i) => i % writerCount === w);
    const versions = new Map<string, number | null>(mine.map((c) => [c.id, null]));
    let failures = 0;
    for (let k = 0; !stopWriters && mine.length > 0; k++) {
      const cellId = mine[k % mine.length]!.id;
      const classId = scheme.classes[(w + k) % scheme.classes.length]!.id;
      attempted += 1;
      try {
        const saved = await saveLabel(db, {
          cellId,
          classId,
          readerId,
          source: "human",
          expectedVersion: versions.get(cellId) ?? null,
          actorId: readerId,
        });
        acks.push({ labelId: saved.id, version: saved.version, classId: saved.classId });
        versions.set(cellId, saved.version);
        failures = 0;
      } catch (error) {
        // A conflict or a dropped connection: whether the last commit landed is unknown, so re-read.
        retriedErrors += 1;
        if (!(error instanceof ConflictError)) {
          failures += 1;
          await sleep(Math.min(5_000, 50 * 2 ** failures) * (0.5 + Math.random() / 2));
        }
        try {
          versions.set(cellId, await currentVersion(cellId));
        } catch {
          // Still down: the next attempt re-reads.
        }
      }
      await sleep(20 + Math.random() * 30);
    }
  }

  const trainerEnv = {
    ...process.env,
    DATABASE_URL: url.toString(),
    HEMALOOP_STORAGE_DIR: storageDir,
    TRAINER_STALE_MS: String(STALE_MS),
    TRAINER_HEARTBEAT_MS: "500",
    TRAINER_POLL_MS: "200",
    TRAINER_TRAIN_THREADS: "1",
  };
  function startTrainer(id: string): ChildProcess {
    // node --import tsx: one process, so SIGKILL kills the trainer itself, not a wrapper.
    const child = spawn(process.execPath, ["--import", "tsx", "apps/trainer/src/main.ts"], {
      cwd: root,
      env: { ...trainerEnv, TRAINER_WORKER_ID: id },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const collect = (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) if (line.trim()) trainerOutput.push(`${id}: ${line}`);
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    trainers.push(child);
    // As docker compose's `restart: unless-stopped` would: a trainer that exits on its own is restarted.
    child.on("exit", (code, signal) => {
      if (signal === "SIGKILL" || stopping) return;
      trainerExits += 1;
      log(`${id} exited (${code ?? signal}); restarting it`);
      startTrainer(id);
    });
    return child;
  }
  const jobRow = async () => (await db.select().from(schema.job).where(eq(schema.job.id, job.id)))[0]!;
  async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number) {
    const until = Date.now() + timeoutMs;
    for (;;) {
      try {
        if (await check()) return;
      } catch {
        // The server may be restarting.
      }
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await sleep(100);
    }
  }

  const writing = Promise.all(Array.from({ length: writerCount }, (_, w) => writer(w)));
  const a = startTrainer("trainer-a");
  log("trainer-a started");
  await waitFor(
    "trainer-a to start training",
    async () => {
      const j = await jobRow();
      if (j.lockedBy !== "trainer-a") return false;
      const mvs = await db.select({ id: schema.modelVersion.id }).from(schema.modelVersion).where(eq(schema.modelVersion.jobId, job.id));
      return mvs.length > 0 && j.progress > 0.1;
    },
    180_000,
  );
  a.kill("SIGKILL");
  log(`kill -9 trainer-a (pid ${a.pid}) during training (attempt ${(await jobRow()).attempts})`);
  startTrainer("trainer-b");
  log(`trainer-b started; it takes the job over after the ${STALE_MS} ms stale timeout`);
  await waitFor("trainer-b to claim the job", async () => (await jobRow()).lockedBy === "trainer-b", 120_000);
  log(`trainer-b claimed the job (attempt ${(await jobRow()).attempts})`);
  await sleep(1_500);
  log(`restarting PostgreSQL: ${values["restart-cmd"]}`);
  const [cmd, ...args] = values["restart-cmd"].split(" ");
  execFileSync(cmd!, args, { stdio: "inherit" });
  log("PostgreSQL restarted");

  const timeoutMs = Number(values["timeout-min"]) * 60_000;
  await waitFor(
    "the job to reach a final state",
    async () => ["succeeded", "failed", "cancelled"].includes((await jobRow()).status),
    timeoutMs,
  );
  await sleep(2_000);
  stopWriters = true;
  await writing;
  const final = await jobRow();
  log(`job ${final.status} after ${final.attempts} attempts${final.error ? ` (last error: ${final.error})` : ""}`);

  // Lost: acknowledged saves missing from the table (version went backwards) or without their history row.
  let lost = 0;
  const labelIds = [...new Set(acks.map((x) => x.labelId))];
  const labels = labelIds.length ? await db.select().from(schema.label).where(inArray(schema.label.id, labelIds)) : [];
  const labelById = new Map(labels.map((l) => [l.id, l]));
  const history = labelIds.length
    ? await db
        .select({ labelId: schema.labelHistory.labelId, version: schema.labelHistory.version, classId: schema.labelHistory.classId })
        .from(schema.labelHistory)
        .where(inArray(schema.labelHistory.labelId, labelIds))
    : [];
  const historyKeys = new Set(history.map((h) => `${h.labelId}:${h.version}:${h.classId}`));
  for (const ack of acks) {
    const row = labelById.get(ack.labelId);
    if (!row || row.version < ack.version || !historyKeys.has(`${ack.labelId}:${ack.version}:${ack.classId}`)) lost += 1;
  }
  const written = (
    await db
      .select({ n: sql<number>`count(*)::int` })
      .from(schema.labelHistory)
      .where(inArray(schema.labelHistory.labelId, labelIds.length ? labelIds : [job.id]))
  )[0]!.n;

  const versions = await db.select().from(schema.modelVersion).where(eq(schema.modelVersion.jobId, job.id));
  const finished = versions.filter((v) => v.status === "ready" || v.status === "rejected");
  const successLines = trainerOutput.filter((l) => l.includes(`job ${job.id} succeeded`)).length;
  const duplicated = finished.length > 1 || successLines > 1 ? 1 : 0;
  const stuck = (
    await db
      .select({ n: sql<number>`count(*)::int` })
      .from(schema.job)
      .where(inArray(schema.job.status, ["queued", "running"]))
  )[0]!.n;
  const stuckVersions = versions.filter((v) => v.status === "training").length;
  log(
    `model versions from the job: ${versions.map((v) => v.status).join(", ")} (left training: ${stuckVersions}); save attempts ${attempted}, errors retried ${retriedErrors}`,
  );
  log(`trainer restarts after unexpected exits: ${trainerExits}; stray driver errors in the writers: ${strayDriverErrors}`);
  await handle.close();
  console.log(`labels written=${written} acknowledged=${acks.length} lost=${lost} duplicated_jobs=${duplicated} stuck_jobs=${stuck}`);
} catch (error) {
  console.error(`[faults] ${(error as Error).message}`);
  console.error(trainerOutput.slice(-40).join("\n"));
  process.exitCode = 1;
} finally {
  stopping = true;
  for (const child of trainers) if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  await sleep(500);
  await admin.unsafe(`drop database if exists "${dbName}" with (force)`).catch(() => {});
  await admin.end({ timeout: 5 });
  await rm(storageDir, { recursive: true, force: true });
}
