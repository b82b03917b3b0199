import { claimNextJob, enqueueJob, getJob, getProjectBySlug, listModelVersions, schema } from "@hemaloop/db";
import { seedDemo } from "@hemaloop/db/seed-demo";
import { drawEvaluationSet } from "@hemaloop/db/services";
import { createS3Storage, type Storage } from "@hemaloop/db/storage";
import { eq } from "drizzle-orm";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startS3Server, type TestS3Server } from "../../../packages/db/test/helpers/s3-server";
import { createTestDb, type TestDb } from "../../../packages/db/test/helpers/test-db";
import { createPredictHandler } from "../src/handlers/predict-handler";
import { createTrainHandler } from "../src/handlers/train-handler";
import { runClaimedJob, type JobHandler } from "../src/worker";

const fixtureDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../fixtures/demo");

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const keys: string[] = [];
  for await (const key of iterable) keys.push(key);
  return keys.sort();
}

/** Trainers on two hosts: each has only the shared database and bucket, and its own local cache. */
describe("train and predict with S3 storage (PGlite, s3rver, wasm)", () => {
  let t: TestDb;
  let server: TestS3Server;
  let storage: Storage;
  let work: string;
  beforeAll(async () => {
    [t, server] = await Promise.all([createTestDb("pglite"), startS3Server()]);
    storage = createS3Storage(server.storageConfig("hemaloop/"));
    work = mkdtempSync(path.join(tmpdir(), "hemaloop-train-s3-"));
    const seeded = await seedDemo(t.db, storage, { fixtureDir });
    // Train jobs test on the project's frozen evaluation set: a lead draws it first.
    await drawEvaluationSet(
      t.db,
      { projectId: seeded.projectId, actorId: seeded.users.lead.id },
      { mode: "draw", fraction: 0.25, seed: 1 },
    );
  }, 180_000);
  afterAll(async () => {
    await t?.close();
    await server?.close();
    rmSync(work, { recursive: true, force: true });
  });

  async function runJob(type: "train" | "predict", handler: JobHandler, payload: Record<string, unknown>) {
    const project = await getProjectBySlug(t.db, "pbc-demo");
    const job = await enqueueJob(t.db, { type, projectId: project.id, payload });
    const claimed = await claimNextJob(t.db, { workerId: "test", types: [type] });
    await runClaimedJob(
      claimed!,
      { db: t.db, workerId: "test", handlers: { [type]: handler }, signal: new AbortController().signal },
      () => {},
    );
    return getJob(t.db, job.id);
  }

  it("trains from images read through the bucket and stores the model artifacts in it", async () => {
    const cacheA = path.join(work, "host-a-cache");
    const train = createTrainHandler({ storage, cacheDir: cacheA, tfBackend: "auto" });
    const done = await runJob("train", train, {
      backbone: "small-cnn",
      inputSize: 32,
      epochs: 2,
      timeBudgetMinutes: 2,
      testFraction: 0.25,
    });
    expect(done.error).toBeNull();
    expect(done.status).toBe("succeeded");
    const [mv] = await listModelVersions(t.db, (await getProjectBySlug(t.db, "pbc-demo")).id);
    const artifacts = await collect(storage.list(mv!.artifactKey!));
    for (const file of ["model.json", "config.json", "model.onnx"]) expect(artifacts).toContain(`${mv!.artifactKey}${file}`);
    expect(artifacts.some((k) => k.endsWith(".bin"))).toBe(true);
    expect(mv!.onnxKey).toBe(`${mv!.artifactKey}model.onnx`);
    // The crops were decoded from this host's cached copies of the bucket's objects.
    const [bucketCache] = readdirSync(cacheA);
    expect(readdirSync(path.join(cacheA, bucketCache!, "images")).length).toBeGreaterThan(0);
  }, 300_000);

  it("a trainer with an empty cache loads the model from the bucket (tfjs and ONNX) and predicts", async () => {
    const project = await getProjectBySlug(t.db, "pbc-demo");
    const [mv] = await listModelVersions(t.db, project.id);
    // A 2-epoch model may be flagged as collapsed; loading it back is what is tested here.
    await t.db.update(schema.modelVersion).set({ status: "ready" }).where(eq(schema.modelVersion.id, mv!.id));
    const cacheB = path.join(work, "host-b-cache");
    const predict = createPredictHandler({ storage, cacheDir: cacheB, tfBackend: "auto" });

    const viaTfjs = await runJob("predict", predict, { modelVersionId: mv!.id, mcPasses: 2, chunkSize: 16 });
    expect(viaTfjs.error).toBeNull();
    expect(viaTfjs.result).toMatchObject({ runtime: "tfjs", mcPasses: 2 });
    const cells = (viaTfjs.result as { cells: number }).cells;
    expect(cells).toBeGreaterThan(20);
    const modelDir = path.join(cacheB, readdirSync(cacheB)[0]!, ...mv!.artifactKey!.split("/").filter(Boolean));
    expect(readdirSync(modelDir)).toEqual(expect.arrayContaining(["model.json", "config.json"]));

    const viaOnnx = await runJob("predict", predict, { modelVersionId: mv!.id, mcPasses: 0, chunkSize: 16 });
    expect(viaOnnx.error).toBeNull();
    expect(viaOnnx.result).toMatchObject({ runtime: "onnxruntime", cells });
    const preds = await t.db.select().from(schema.prediction).where(eq(schema.prediction.modelVersionId, mv!.id));
    expect(preds).toHaveLength(cells);
    for (const p of preds) expect(p.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
  }, 300_000);
});
