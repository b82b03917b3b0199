/**
 * A round after 100 new labels on a project of 100,000 cells with cached embeddings, through the
 * product's own job path: startNextRound (the lead's click) -> claimNextJob -> the trainer's round
 * handler (load embeddings, fit the light head, re-score every cell, pick, write the labeling queue)
 * -> job succeeded. Synthetic embeddings of the real default model's size (ResNet: 256-d, float16).
 *
 *   npm run bench -- al-round [--cells 100000 --dim 256 --labels 100 --new-labels 100 --batch 100 --strategy hybrid]
 *                             [--db postgres|pglite] [--admin-url postgres://postgres@127.0.0.1:5432/postgres]
 */
import {
  addProjectDataset,
  claimNextJob,
  createDb,
  createModelVersion,
  ensureDataset,
  ensureInstitution,
  ensureProject,
  ensureUser,
  finishModelVersion,
  getJob,
  getSchemeByKey,
  saveLabel,
  schema,
  seedBuiltInSchemes,
  startNextRound,
  writePredictions,
  type Db,
} from "@hemaloop/db";
import { encodeEmbedding } from "@hemaloop/ml";
import { ROUND_STRATEGIES, roundJobResultSchema, type RoundStrategy } from "@hemaloop/ml/contracts";
import { eq, sql } from "drizzle-orm";
import { randomBytes } from "node:crypto";
import os from "node:os";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { createRoundHandler } from "../src/handlers/round-handler";
import { runClaimedJob } from "../src/worker";

const { values: args } = parseArgs({
  options: {
    cells: { type: "string", default: "100000" },
    dim: { type: "string", default: "256" },
    labels: { type: "string", default: "100" },
    "new-labels": { type: "string", default: "100" },
    batch: { type: "string", default: "100" },
    strategy: { type: "string", default: "hybrid" },
    db: { type: "string", default: "postgres" },
    "admin-url": { type: "string", default: process.env.TEST_DATABASE_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres" },
  },
});
const n = Number(args.cells);
const dim = Number(args.dim);
const firstLabels = Number(args.labels);
const newLabels = Number(args["new-labels"]);
const batch = Number(args.batch);
const strategy = args.strategy as RoundStrategy;
if (!ROUND_STRATEGIES.includes(strategy)) throw new Error(`--strategy must be one of ${ROUND_STRATEGIES.join(", ")}`);

async function openDb(): Promise<{ db: Db; close: () => Promise<void> }> {
  if (args.db === "pglite") {
    const handle = await createDb();
    await handle.migrate();
    await seedBuiltInSchemes(handle.db);
    return handle;
  }
  const name = `hemaloop_bench_${Date.now()}_${randomBytes(4).toString("hex")}`;
  const admin = postgres(args["admin-url"], { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(args["admin-url"]);
  url.pathname = `/${name}`;
  const handle = await createDb({ url: url.toString() });
  await handle.migrate();
  await seedBuiltInSchemes(handle.db);
  return {
    db: handle.db,
    close: async () => {
      await handle.close();
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end({ timeout: 5 });
    },
  };
}

const t0 = performance.now();
const { db, close } = await openDb();
try {
  const inst = await ensureInstitution(db, "bench");
  const ds = await ensureDataset(db, { institutionId: inst.id, name: "al-round-bench", schemeKey: "pbc-8" });
  const scheme = await getSchemeByKey(db, "pbc-8");
  const lead = await ensureUser(db, { email: "lead@bench.local", name: "Lead", password: "pw-bench-lead" });
  const proj = await ensureProject(db, { slug: "al-round-bench", name: "AL round bench", schemeKey: "pbc-8" });
  await addProjectDataset(db, proj.id, ds.id);
  await db
    .update(schema.project)
    .set({ settings: { fineTuneEveryLabels: 1_000_000 } })
    .where(eq(schema.project.id, proj.id));
  await db.execute(sql`
    insert into image (dataset_id, sha256, kind, original_name, format, width, height, byte_size, storage_key, thumbnail_key)
    select ${ds.id}::uuid, lpad(to_hex(i), 64, '0'), 'crop', i || '.jpg', 'jpeg', 64, 64, 100, 'images/' || i || '.jpg', 'thumbs/' || i || '.webp'
    from generate_series(1, ${n}) as i`);
  await db.execute(sql`insert into cell (image_id, geometry) select id, 'whole' from image where dataset_id = ${ds.id}::uuid`);
  const cellIds = await db.execute<{ id: string }>(
    sql`select c.id from cell c join image i on i.id = c.image_id where i.dataset_id = ${ds.id}::uuid order by i.original_name`,
  );
  const ids = (Array.isArray(cellIds) ? cellIds : (cellIds as { rows: Array<{ id: string }> }).rows).map((r: { id: string }) => r.id);
  const mv = await createModelVersion(db, {
    projectId: proj.id,
    schemeId: scheme.id,
    name: "start",
    backbone: "resnet",
    hyperParameters: { inputSize: 64 },
  });
  await finishModelVersion(db, { id: mv.id, metrics: {}, artifactKey: `models/${mv.id}/`, collapseReasons: [] });
  await db.update(schema.project).set({ currentModelVersionId: mv.id }).where(eq(schema.project.id, proj.id));

  // 8 classes, 40 blobs (5 per class) in `dim` dimensions, ReLU-like non-negative features as a GAP layer gives.
  let seed = 12345;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
  const centres = Array.from({ length: 40 }, () => Float32Array.from({ length: dim }, () => rand() * 2));
  const classOf = (i: number) => (i * 7919) % 40;
  for (let start = 0; start < n; start += 5_000) {
    const rows = ids.slice(start, start + 5_000).map((cellId, j) => {
      const blob = classOf(start + j);
      const k = blob % 8;
      const v = centres[blob]!.map((c) => Math.max(0, c + (rand() - 0.5)));
      return {
        cellId,
        predictedClassId: scheme.classes[k]!.id,
        probabilities: scheme.classes.map((_, c) => (c === k ? 0.51 : 0.07)),
        confidence: 0.51,
        leastConfidence: 0.49,
        margin: 0.44,
        entropy: 1.6,
        embedding: encodeEmbedding(v),
      };
    });
    await writePredictions(db, mv.id, rows, { batchSize: 1_000 });
  }
  const label = async (i: number) =>
    saveLabel(db, {
      cellId: ids[i]!,
      classId: scheme.classes[classOf(i) % 8]!.id,
      readerId: lead.id,
      source: "human",
      expectedVersion: null,
      actorId: lead.id,
    });
  // Labelled cells spread over the dataset; every fifth of the first batch forms the frozen evaluation set.
  const stride = Math.floor(n / (firstLabels + newLabels + 1));
  for (let i = 0; i < firstLabels; i++) await label(i * stride);
  await db
    .insert(schema.evaluationSetCell)
    .values(Array.from({ length: Math.floor(firstLabels / 5) }, (_, j) => ({ projectId: proj.id, cellId: ids[j * 5 * stride]! })));
  const setupSeconds = (performance.now() - t0) / 1000;

  const handlers = { round: createRoundHandler({ tfBackend: "auto" }) };
  const runRound = async () => {
    const started = performance.now();
    const { job } = await startNextRound(db, { projectId: proj.id, actorId: lead.id }, { strategy, batchSize: batch });
    const claimed = await claimNextJob(db, { workerId: "bench", types: ["round"] });
    if (claimed?.id !== job.id) throw new Error("the bench's round job was not the one claimed");
    await runClaimedJob(claimed, { db, workerId: "bench", handlers, signal: new AbortController().signal }, () => {});
    const done = await getJob(db, job.id);
    if (done.status !== "succeeded") throw new Error(`round job ${done.status}: ${done.error}`);
    return { wall: (performance.now() - started) / 1000, result: roundJobResultSchema.parse(done.result) };
  };
  const cpu0 = process.cpuUsage();
  const first = await runRound();
  for (let i = firstLabels; i < firstLabels + newLabels; i++) await label(i * stride);
  const cpu1 = process.cpuUsage();
  const second = await runRound();
  const cpu2 = process.cpuUsage(cpu1);
  const fmt = (x: number) => x.toFixed(2);
  const line = (name: string, r: typeof first) =>
    `${name}: ${fmt(r.wall)} s wall (start -> job succeeded), labels ${r.result.labelsSoFar}, picked ${r.result.picked}, ${r.result.effectiveStrategy}; ` +
    Object.entries(r.result.timings)
      .map(([k, v]) => `${k} ${fmt(v)}`)
      .join(", ") +
    `; head accuracy on the evaluation set ${r.result.headAccuracy?.toFixed(3) ?? "-"}`;
  console.log(`al-round bench: ${n} cells x ${dim}-d float16 embeddings, ${args.db}, batch ${batch}, strategy ${strategy}`);
  console.log(
    `setup ${fmt(setupSeconds)} s; load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}; cpus ${os.cpus().length}`,
  );
  console.log(line(`round 1 (after ${firstLabels} labels)`, first));
  console.log(line(`round 2 (after ${newLabels} new labels)`, second));
  console.log(
    `round 2 process CPU: ${fmt((cpu2.user + cpu2.system) / 1e6)} s (round 1 + labelling: ${fmt((cpu1.user + cpu1.system - cpu0.user - cpu0.system) / 1e6)} s)`,
  );
} finally {
  await close();
}
