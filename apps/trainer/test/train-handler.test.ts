import { enqueueJob, getJob, getProjectBySlug, listModelVersions, schema } from "@hemaloop/db";
import { seedDemo } from "@hemaloop/db/seed-demo";
import { createLocalStorage } from "@hemaloop/db/storage";
import { eq } from "drizzle-orm";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../../../packages/db/test/helpers/test-db";
import { createTrainHandler } from "../src/handlers/train-handler";
import { runClaimedJob, type WorkerOptions } from "../src/worker";
import { claimNextJob } from "@hemaloop/db";

const fixtureDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../fixtures/demo");

describe("train job on the demo project (PGlite, wasm)", () => {
  let t: TestDb;
  let storageDir: string;
  beforeAll(async () => {
    t = await createTestDb("pglite");
    storageDir = mkdtempSync(path.join(tmpdir(), "hemaloop-train-test-"));
    await seedDemo(t.db, createLocalStorage(storageDir), { fixtureDir });
  }, 180_000);
  afterAll(async () => {
    await t.close();
    rmSync(storageDir, { recursive: true, force: true });
  });

  it("freezes the labelled set, trains, stores tfjs + ONNX artifacts and registers a guarded model version", async () => {
    const storage = createLocalStorage(storageDir);
    const project = await getProjectBySlug(t.db, "pbc-demo");
    const job = await enqueueJob(t.db, {
      type: "train",
      projectId: project.id,
      payload: { backbone: "small-cnn", inputSize: 32, epochs: 2, timeBudgetMinutes: 2, testFraction: 0.25 },
    });
    const claimed = await claimNextJob(t.db, { workerId: "test", types: ["train"] });
    const options: WorkerOptions = {
      db: t.db,
      workerId: "test",
      handlers: { train: createTrainHandler({ storage, tfBackend: "auto" }) },
      signal: new AbortController().signal,
      heartbeatIntervalMs: 1_000,
    };
    await runClaimedJob(claimed!, options, () => {});
    const done = await getJob(t.db, job.id);
    expect(done.error).toBeNull();
    expect(done.status).toBe("succeeded");
    expect(done.progressMessage).toMatch(/saving model|epoch/);

    const [mv] = await listModelVersions(t.db, project.id);
    expect(mv).toBeDefined();
    expect(done.result).toMatchObject({ modelVersionId: mv!.id, status: mv!.status });
    expect(["ready", "rejected"]).toContain(mv!.status);
    const metrics = mv!.metrics as { accuracy: number; confusionMatrix: number[][]; perClass: Record<string, unknown> };
    expect(metrics.accuracy).toBeGreaterThanOrEqual(0);
    expect(metrics.confusionMatrix.length).toBe(Object.keys(metrics.perClass).length);
    for (const file of ["model.json", "config.json", "model.onnx"]) {
      expect(await storage.exists(`${mv!.artifactKey}${file}`)).toBe(true);
    }
    const snapshot = await t.db.select().from(schema.modelSnapshotItem).where(eq(schema.modelSnapshotItem.modelVersionId, mv!.id));
    expect(snapshot.length).toBeGreaterThanOrEqual(40);
    expect(new Set(snapshot.map((s) => s.split))).toEqual(new Set(["train", "val", "test"]));
    // The collapse guard decides publication: a rejected model never becomes current.
    const [proj] = await t.db.select().from(schema.project).where(eq(schema.project.id, project.id));
    expect(proj!.currentModelVersionId).toBe(mv!.status === "ready" ? mv!.id : null);
    expect(mv!.collapseReasons === null).toBe(mv!.status === "ready");
  }, 300_000);
});
