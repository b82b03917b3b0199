/**
 * Reading-room benchmark: seeds a fresh database with N predicted cells and their review queue, then R
 * concurrent readers claim (claimReaderBatch, the reader's batch of 11) and decide (decideQueueItem,
 * accept) through the same service functions the tRPC procedures call, until D decisions are made.
 * Prints one line:
 *   claim p95=<ms> decide p95=<ms> duplicates=<n> lost=<n>
 * duplicates = an item held by two readers at once or a cell decided twice; lost = acknowledged
 * decisions whose label, decision record or done item is missing from the database afterwards.
 * Latencies are measured around each service call in this process (one round trip per statement to
 * the server), so they include the driver and localhost network, not only server time.
 *
 *   npm run bench -- review [--cells 1000000] [--readers 50] [--decisions 2000] [--engine postgres|pglite]
 *     [--admin-url postgres://postgres@127.0.0.1:5432/postgres] [--keep] [--explain]
 *
 * postgres: a throwaway database is created on the server of --admin-url (default DATABASE_URL, else
 * the local server) and dropped at the end unless --keep. pglite: in memory.
 * Progress goes to stderr; the result line alone to stdout.
 */
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { eq, sql } from "drizzle-orm";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { createDb, type Db, type DbHandle } from "../src/client";
import { ConflictError } from "../src/errors";
import { ensureDataset, ensureInstitution } from "../src/queries/datasets";
import { createModelVersion } from "../src/queries/models";
import { addProjectDataset, ensureProject, setMembership } from "../src/queries/projects";
import { getSchemeByKey } from "../src/queries/schemes";
import { ensureUser } from "../src/queries/users";
import { seedBuiltInSchemes } from "../src/seed/seed-schemes";
import { claimReaderBatch, decideQueueItem, type ReaderActor } from "../src/services/reading-service";
import { readRows } from "../src/queries/jobs";
import * as schema from "../src/schema";

const { values } = parseArgs({
  options: {
    cells: { type: "string", default: "100000" },
    readers: { type: "string", default: "10" },
    decisions: { type: "string" },
    engine: { type: "string", default: "postgres" },
    "admin-url": { type: "string", default: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres" },
    keep: { type: "boolean", default: false },
    explain: { type: "boolean", default: false },
  },
});
const cellCount = Number(values.cells);
const readerCount = Number(values.readers);
const decisionTarget = Number(values.decisions ?? readerCount * 40);
const engine = values.engine;
if (!Number.isInteger(cellCount) || cellCount < 100) throw new Error("--cells must be an integer >= 100");
if (!Number.isInteger(readerCount) || readerCount < 1) throw new Error("--readers must be a positive integer");
if (!Number.isInteger(decisionTarget) || decisionTarget < 1 || decisionTarget > cellCount) throw new Error("--decisions must be 1..cells");
if (engine !== "postgres" && engine !== "pglite") throw new Error("--engine is postgres or pglite");

const HOLD = 11; // what the reader page holds: the current cell and 10 prefetched
const CELLS_PER_FIELD = 500;
const t0 = Date.now();
const log = (line: string) => process.stderr.write(`[review +${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}\n`);

function p95(samples: number[]): number {
  const s = [...samples].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.ceil(0.95 * s.length) - 1)]!;
}

function median(samples: number[]): number {
  const s = [...samples].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.floor(s.length / 2)]!;
}

/** Images, cells and predictions in three set-based statements (generate_series), then the queue via the product's own build. */
async function seed(db: Db) {
  await seedBuiltInSchemes(db);
  const scheme = await getSchemeByKey(db, "pbc-8");
  const inst = await ensureInstitution(db, "Bench Hospital");
  const ds = await ensureDataset(db, { institutionId: inst.id, name: "bench-fields", schemeKey: "pbc-8" });
  const p = await ensureProject(db, { slug: "bench-review", name: "Bench review", schemeKey: "pbc-8" });
  await addProjectDataset(db, p.id, ds.id);
  const readers: ReaderActor[] = [];
  for (let i = 0; i < readerCount; i++) {
    const u = await ensureUser(db, { email: `reader-${i}@bench.local`, name: `Reader ${i}` });
    await setMembership(db, { projectId: p.id, userId: u.id, role: "annotator" });
    readers.push({ projectId: p.id, actorId: u.id });
  }
  const mv = await createModelVersion(db, { projectId: p.id, schemeId: scheme.id, name: "bench", backbone: "bench", hyperParameters: {} });
  await db.update(schema.project).set({ currentModelVersionId: mv.id }).where(eq(schema.project.id, p.id));
  const fields = Math.ceil(cellCount / CELLS_PER_FIELD);
  let t = Date.now();
  await db.execute(sql`
    insert into image (dataset_id, sha256, kind, original_name, format, width, height, byte_size, storage_key, thumbnail_key)
    select ${ds.id}, md5(g::text) || md5((g + 1)::text), 'field', 'field_' || lpad(g::text, 6, '0') || '.jpg', 'jpeg', 4000, 3000, 1,
      'images/bench/' || g || '.jpg', 'thumbs/bench/' || g || '.webp'
    from generate_series(1, ${fields}) g`);
  await db.execute(sql`
    insert into cell (image_id, geometry, x, y, width, height)
    select i.id, 'box', (g % 50) * 80, (g / 50) * 80, 64, 64
    from image i cross join generate_series(0, ${CELLS_PER_FIELD - 1}) g
    where i.dataset_id = ${ds.id}
    limit ${cellCount}`);
  log(`${fields} fields and ${cellCount} cells in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  t = Date.now();
  // Class k gets probability 0.3 + 0.6 * r, the others share the rest: uncertainty varies from cell to cell.
  const classIds = scheme.classes.map((c) => c.id);
  const classArray = sql.raw(`array[${classIds.map((id) => `'${id}'`).join(",")}]::uuid[]`);
  await db.execute(sql`
    insert into prediction (cell_id, model_version_id, predicted_class_id, probabilities, confidence, least_confidence, margin, entropy)
    select id, ${mv.id}, (${classArray})[k + 1], probs, top, 1 - top, top - (1 - top) / 7,
      -(top * ln(top) + (1 - top) * ln((1 - top) / 7))
    from (
      select c.id, k, top, array(select case when j = k then top else (1 - top) / 7 end from generate_series(0, 7) j)::real[] as probs
      from (select c.id, (abs(hashtext(c.id::text)) % 8) as k, 0.3 + 0.6 * random() as top from cell c
            join image i on i.id = c.image_id where i.dataset_id = ${ds.id}) c
    ) s`);
  log(`predictions in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  t = Date.now();
  // The same rows buildWorkQueue writes for the entropy strategy (its anti-joins find nothing to skip in a fresh project), in one statement.
  await db.execute(sql`
    insert into review_queue_item (project_id, kind, cell_id, prediction_id, priority, strategy)
    select ${p.id}, 'review', p.cell_id, p.id, p.entropy, 'entropy' from prediction p where p.model_version_id = ${mv.id}`);
  log(`review queue items in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  // Planner statistics for the fresh tables, on both engines (PGlite too: without them it plans blind).
  t = Date.now();
  await db.execute(sql`vacuum analyze`);
  log(`vacuum analyze in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  return { projectId: p.id, schemeId: scheme.id, readers };
}

type Ack = { readerId: string; itemId: string; cellId: string; labelId: string };

async function runReaders(db: Db, readers: ReaderActor[]) {
  const claimMs: number[] = [];
  const decideMs: number[] = [];
  const acks: Ack[] = [];
  const holder = new Map<string, string>(); // item -> reader holding it now
  const decidedCells = new Map<string, string>(); // cell -> reader who decided it
  let duplicates = 0;
  let started = 0;
  let conflicts = 0;
  const tRun = Date.now();
  let lastLog = Date.now();

  async function reader(r: ReaderActor) {
    while (started < decisionTarget) {
      started += 1;
      const c0 = performance.now();
      const held = await claimReaderBatch(db, r, { kind: "review", hold: HOLD });
      claimMs.push(performance.now() - c0);
      for (const id of held) {
        const other = holder.get(id);
        if (other && other !== r.actorId) duplicates += 1;
        holder.set(id, r.actorId);
      }
      const itemId = held[0];
      if (!itemId) return;
      const d0 = performance.now();
      try {
        const res = await decideQueueItem(db, r, { itemId, decision: { action: "accept" }, expectedVersion: null });
        decideMs.push(performance.now() - d0);
        holder.delete(itemId);
        const cellId = res.label.cellId;
        const prev = decidedCells.get(cellId);
        if (prev !== undefined) duplicates += 1;
        decidedCells.set(cellId, r.actorId);
        acks.push({ readerId: r.actorId, itemId, cellId, labelId: res.label.id });
      } catch (e) {
        if (!(e instanceof ConflictError)) throw e;
        conflicts += 1;
      }
      if (Date.now() - lastLog > 10_000) {
        lastLog = Date.now();
        log(`${acks.length} decisions (${(acks.length / ((Date.now() - tRun) / 1000)).toFixed(0)}/s)`);
      }
    }
  }
  await Promise.all(readers.map((r) => reader(r)));
  const seconds = (Date.now() - tRun) / 1000;
  return { claimMs, decideMs, acks, duplicates, conflicts, seconds };
}

/** Acknowledged decisions whose label, decision row or done queue item is missing. */
async function countLost(db: Db, acks: Ack[]): Promise<number> {
  if (acks.length === 0) return 0;
  const rows = readRows<{ lost: number }>(
    await db.execute(sql`
      with a as (
        select * from unnest(${`{${acks.map((a) => a.labelId).join(",")}}`}::uuid[], ${`{${acks.map((a) => a.itemId).join(",")}}`}::uuid[],
          ${`{${acks.map((a) => a.readerId).join(",")}}`}::uuid[]) as t(label_id, item_id, reader_id)
      )
      select count(*)::int as lost from a
      where not exists (select 1 from label l where l.id = a.label_id and l.reader_id = a.reader_id)
         or not exists (select 1 from review_decision d where d.item_id = a.item_id and d.user_id = a.reader_id and d.undone_at is null)
         or not exists (select 1 from review_queue_item q where q.id = a.item_id and q.status = 'done')`),
  );
  return Number(rows[0]?.lost ?? 0);
}

/**
 * --explain: the plans of one claim and one decision with their actual times, through auto_explain on a
 * separate connection whose LOG messages come back as notices. Rolled back: the run is not changed.
 */
async function explainReader(url: string, r: ReaderActor) {
  const plans: string[] = [];
  const client = postgres(url, { max: 1, onnotice: (n) => plans.push(String(n.message)) });
  const db = drizzlePostgres(client, { schema, casing: "snake_case" }) as unknown as Db;
  try {
    await db
      .transaction(async (tx) => {
        await tx.execute(sql`load 'auto_explain'`);
        await tx.execute(sql`set local auto_explain.log_min_duration = 0`);
        await tx.execute(sql`set local auto_explain.log_analyze = on`);
        await tx.execute(sql`set local auto_explain.log_nested_statements = on`);
        await tx.execute(sql`set local client_min_messages = log`);
        const held = await claimReaderBatch(tx, r, { kind: "review", hold: HOLD });
        await decideQueueItem(tx, r, { itemId: held[0]!, decision: { action: "accept" }, expectedVersion: null });
        tx.rollback();
      })
      .catch((e: unknown) => {
        if (!(e instanceof Error && e.message.includes("Rollback"))) throw e;
      });
  } finally {
    await client.end({ timeout: 5 });
  }
  for (const p of plans) process.stderr.write(`${p}\n\n`);
}

let handle: DbHandle;
let dropDb: (() => Promise<void>) | null = null;
let dbUrl: string | null = null;
if (engine === "postgres") {
  const dbName = `hemaloop_bench_review_${Date.now()}_${randomBytes(3).toString("hex")}`;
  const admin = postgres(values["admin-url"], { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${dbName}"`);
  const url = new URL(values["admin-url"]);
  url.pathname = `/${dbName}`;
  dbUrl = url.toString();
  handle = await createDb({ url: dbUrl, maxConnections: readerCount + 2 });
  dropDb = async () => {
    if (!values.keep) await admin.unsafe(`drop database if exists "${dbName}" with (force)`);
    else log(`kept database ${dbName}`);
    await admin.end({ timeout: 5 });
  };
  log(`database ${dbName}`);
} else {
  handle = await createDb();
}

try {
  await handle.migrate();
  const s = await seed(handle.db);
  if (values.explain) {
    if (!dbUrl) throw new Error("--explain needs --engine postgres");
    await explainReader(dbUrl, s.readers[0]!);
  }
  log(`${readerCount} readers, ${decisionTarget} decisions`);
  const r = await runReaders(handle.db, s.readers);
  const lost = await countLost(handle.db, r.acks);
  log(
    `${r.acks.length} decisions in ${r.seconds.toFixed(1)} s (${(r.acks.length / r.seconds).toFixed(0)}/s), ${r.claimMs.length} claims, ` +
      `claim p50=${median(r.claimMs).toFixed(1)} decide p50=${median(r.decideMs).toFixed(1)} ms; conflicts=${r.conflicts}`,
  );
  console.log(`claim p95=${p95(r.claimMs).toFixed(1)} decide p95=${p95(r.decideMs).toFixed(1)} duplicates=${r.duplicates} lost=${lost}`);
} finally {
  await handle.close();
  await dropDb?.();
}
