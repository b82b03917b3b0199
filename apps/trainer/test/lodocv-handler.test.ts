import { addProjectDataset, claimNextJob, enqueueJob, getJob, getProjectBySlug, listJobs, schema } from "@hemaloop/db";
import { importImages } from "@hemaloop/db/import";
import { seedDemo } from "@hemaloop/db/seed-demo";
import { createLocalStorage } from "@hemaloop/db/storage";
import { eq } from "drizzle-orm";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JOB_DEFAULTS, lodocvPlanResultSchema } from "@hemaloop/ml/contracts";
import { createTestDb, type TestDb } from "../../../packages/db/test/helpers/test-db";
import { createLodocvHandler, type LodocvParentResult } from "../src/handlers/lodocv-handler";
import { runClaimedJob } from "../src/worker";

const fixtureDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../fixtures/demo");

describe("LODOCV jobs (PGlite, wasm)", () => {
  let t: TestDb;
  let storageDir: string;
  beforeAll(async () => {
    t = await createTestDb("pglite");
    storageDir = mkdtempSync(path.join(tmpdir(), "hemaloop-lodocv-test-"));
    const storage = createLocalStorage(storageDir);
    await seedDemo(t.db, storage, { fixtureDir });
    // A second crop site for the demo project (same fixture, another institution's dataset).
    const second = await importImages(t.db, storage, {
      source: { kind: "dir", dir: path.join(fixtureDir, "pbc") },
      institution: "Second site",
      dataset: "pbc-site-b",
      schemeKey: "pbc-8",
      maxImagePixels: 50_000_000,
    });
    const project = await getProjectBySlug(t.db, "pbc-demo");
    await addProjectDataset(t.db, project.id, second.datasetId);
  }, 180_000);
  afterAll(async () => {
    await t.close();
    rmSync(storageDir, { recursive: true, force: true });
  });

  it("plans one fold job per dataset, runs them, and the last fold writes per-site and pooled metrics", async () => {
    const handlers = { lodocv: createLodocvHandler({ storage: createLocalStorage(storageDir), tfBackend: "auto" }) };
    const project = await getProjectBySlug(t.db, "pbc-demo");
    const plan = await enqueueJob(t.db, {
      type: "lodocv",
      projectId: project.id,
      payload: { role: "plan", backbone: "small-cnn", inputSize: 32, epochs: 1, timeBudgetMinutes: 2 },
    });
    const runNext = async () => {
      const claimed = await claimNextJob(t.db, { workerId: "test", types: ["lodocv"] });
      if (!claimed) return null;
      await runClaimedJob(claimed, { db: t.db, workerId: "test", handlers, signal: new AbortController().signal }, () => {});
      return getJob(t.db, claimed.id);
    };
    const planned = await runNext();
    expect(planned?.id).toBe(plan.id);
    expect(planned?.status).toBe("succeeded");
    const planResult = planned!.result as unknown as LodocvParentResult;
    expect(planResult.plannedFolds).toBe(3);
    expect(planResult.summary).toBeNull();

    const folds = (await listJobs(t.db, { projectId: project.id })).filter((j) => j.parentJobId === plan.id);
    expect(folds).toHaveLength(3);
    for (let i = 0; i < 3; i++) {
      const fold = await runNext();
      expect(fold?.error).toBeNull();
      expect(fold?.status).toBe("succeeded");
      const partial = (await getJob(t.db, plan.id)).result as unknown as LodocvParentResult;
      expect(Object.keys(partial.folds)).toHaveLength(i + 1);
      expect(partial.summary === null).toBe(i < 2);
    }
    const final = (await getJob(t.db, plan.id)).result as unknown as LodocvParentResult;
    const summary = final.summary!;
    expect(summary.perSite.map((s) => s.heldOut).sort()).toEqual(["bccd-demo", "pbc-demo", "pbc-site-b"]);
    expect(summary.pooled.n).toBe(40 + 40 + 5);
    // The BCCD site only has platelet labels: other classes are N/A there, not zeros.
    const bccd = summary.perSite.find((s) => s.heldOut === "bccd-demo")!.report;
    expect(bccd.perClass.platelet!.support).toBe(5);
    expect(bccd.perClass.neutrophil!.recall).toBeNull();
    expect(summary.acrossSites.accuracy.n).toBe(3);
    // Each held-out site with enough cells is scored with AdaBN (the default) and without; BCCD's 5 cells are too few.
    for (const site of summary.perSite) {
      const n = site.report.n;
      if (n >= JOB_DEFAULTS.minAdaptCells) {
        expect(site.adaptation).toMatchObject({ adapted: true, cells: n });
        expect(site.unadapted?.n).toBe(n);
      } else {
        expect(site.adaptation).toMatchObject({ adapted: false, reason: `fewer than ${JOB_DEFAULTS.minAdaptCells} cells (${n})` });
        expect(site.unadapted).toBeUndefined();
      }
    }
    expect(summary.pooledUnadapted?.n).toBe(summary.pooled.n);
    // What the web app reads back parses with the shared contract.
    expect(lodocvPlanResultSchema.parse(final).summary?.perSite.filter((s) => s.unadapted)).toHaveLength(2);
    const [row] = await t.db.select().from(schema.job).where(eq(schema.job.id, plan.id));
    expect(row!.status).toBe("succeeded");
  }, 400_000);
});
