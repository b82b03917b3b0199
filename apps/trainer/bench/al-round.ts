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

async function openDb(): Promise<{ db: Db; close: () => Promise<void>; url?: string }> {
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
    url: url.toString(),
    close: async () => {
      await handle.close();
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end({ timeout: 5 });
    },
  };
}

const t0 = performance.now();
const { db, close, url } = await openDb();
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

  // 8 classes, 40 blobs (5 per class) in `dim` dimensions, non-negative features as a GAP layer gives,
  // stored as the predict job stores them (float16, encodeEmbedding). Written with COPY: the setup is
  // not what is measured, and row-by-row inserts of 100,000 embeddings take minutes on a loaded machine.
  let seed = 12345;
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
  const centres = Array.from({ length: 40 }, () => Float32Array.from({ length: dim }, () => rand() * 2));
  const classOf = (i: number) => (i * 7919) % 40;
  if (!url) throw new Error("the COPY setup needs --db postgres");
  const raw = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const stream =
      await raw`copy prediction (cell_id, model_version_id, predicted_class_id, probabilities, confidence, least_confidence, margin, entropy, embedding) from stdin`.writable();
    const v = new Float32Array(dim);
    for (let i = 0; i < n; i++) {
      const blob = classOf(i);
      const k = blob % 8;
      const centre = centres[blob]!;
      for (let j = 0; j < dim; j++) v[j] = Math.max(0, centre[j]! + (rand() - 0.5));
      const probs = scheme.classes.map((_, c) => (c === k ? 0.51 : 0.07)).join(",");
      const line = `${ids[i]}\t${mv.id}\t${scheme.classes[k]!.id}\t{${probs}}\t0.51\t0.49\t0.44\t1.6\t\\\\x${Buffer.from(encodeEmbedding(v)).toString("hex")}\n`;
      if (!stream.write(line)) await new Promise((resolve) => stream.once("drain", resolve));
    }
    await new Promise<void>((resolve, reject) => stream.end((error?: Error | null) => (error ? reject(error) : resolve())));
  } finally {
    await raw.end({ timeout: 5 });
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
  // Labelled cells drawn at random (seeded); every fifth of the first labels forms the frozen evaluation set.
  const labelledAt: number[] = [];
  const taken = new Set<number>();
  while (labelledAt.length < firstLabels + newLabels) {
    const i = Math.floor(rand() * n);
    if (!taken.has(i)) {
      taken.add(i);
      labelledAt.push(i);
    }
  }
  for (const i of labelledAt.slice(0, firstLabels)) await label(i);
  await db.insert(schema.evaluationSetCell).values(
    labelledAt
      .slice(0, firstLabels)
      .filter((_, j) => j % 5 === 4)
      .map((i) => ({ projectId: proj.id, cellId: ids[i]! })),
  );
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
  for (const i of labelledAt.slice(firstLabels)) await label(i);
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
