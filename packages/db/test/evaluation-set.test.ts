import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Db } from "../src/client";
import { ConflictError } from "../src/errors";
import { ensureDataset, ensureInstitution } from "../src/queries/datasets";
import { drawEvaluationCells, listEvaluationCellIds, partitionTrainingCells } from "../src/queries/evaluation-set";
import { saveLabel } from "../src/queries/labels";
import { writePredictions } from "../src/queries/predictions";
import { addProjectDataset, ensureProject, setMembership } from "../src/queries/projects";
import { upsertReviewQueue } from "../src/queries/review-queue";
import { getSchemeByKey } from "../src/queries/schemes";
import { listTrainingCells, type TrainingCell } from "../src/queries/training-set";
import { ensureUser } from "../src/queries/users";
import { claimQueueItems, rebuildWorkQueue } from "../src/queries/work-queue";
import { auditEvent, cell, image, modelVersion, reviewQueueItem } from "../src/schema";
import { drawEvaluationSet } from "../src/services/evaluation-set-service";
import { createTestDb, describeEachDb, type TestDb } from "./helpers/test-db";

const classes = ["neutrophil", "lymphocyte", "monocyte"] as const;

it("drawEvaluationCells keeps groups whole, stratifies by class and skips unverified labels", () => {
  const cells: TrainingCell[] = [];
  for (let g = 0; g < 40; g++) {
    for (let j = 0; j < 3; j++) {
      cells.push({
        cellId: `c${String(g * 3 + j).padStart(4, "0")}`,
        classId: classes[(g + j) % 3]!,
        classKey: classes[(g + j) % 3]!,
        groupKey: `ds/patient:${g}`,
        verified: j !== 2 || g % 4 !== 0,
        inEvaluationSet: false,
      } as TrainingCell);
    }
  }
  const picked = new Set(drawEvaluationCells(cells, { fraction: 0.25, seed: 7 }));
  expect(drawEvaluationCells(cells, { fraction: 0.25, seed: 7 })).toEqual([...picked]);
  expect(cells.filter((c) => !c.verified).some((c) => picked.has(c.cellId))).toBe(false);
  for (const key of classes) {
    const verified = cells.filter((c) => c.verified && c.classKey === key);
    const n = verified.filter((c) => picked.has(c.cellId)).length;
    expect(n / verified.length).toBeGreaterThan(0.15);
    expect(n / verified.length).toBeLessThan(0.35);
  }
  // Whole groups: a group's verified cells are all in or all out.
  const byGroup = new Map<string, boolean[]>();
  for (const c of cells.filter((c) => c.verified)) byGroup.set(c.groupKey, [...(byGroup.get(c.groupKey) ?? []), picked.has(c.cellId)]);
  for (const flags of byGroup.values()) expect(new Set(flags).size).toBe(1);
  expect(() => drawEvaluationCells(cells, { fraction: 1, seed: 1 })).toThrow(RangeError);
});

/**
 * 24 patients x 3 cells (crop images carrying the patient), imported labels cycling through three
 * classes; patient 0..3's third cell carries only a model-accepted label; 4 unlabelled cells.
 */
async function createGroupedProject(db: Db, tag: string) {
  const inst = await ensureInstitution(db, `inst-${tag}`);
  const ds = await ensureDataset(db, { institutionId: inst.id, name: `ds-${tag}`, schemeKey: "pbc-8" });
  const scheme = await getSchemeByKey(db, "pbc-8");
  const classId = (key: string) => scheme.classes.find((c) => c.key === key)!.id;
  const proj = await ensureProject(db, { slug: `ev-${tag}`, name: `ev ${tag}`, schemeKey: "pbc-8" });
  await addProjectDataset(db, proj.id, ds.id);
  const lead = await ensureUser(db, { email: `lead-${tag}@x.org`, name: "Lead" });
  await setMembership(db, { projectId: proj.id, userId: lead.id, role: "lead" });
  const cells: Array<{ id: string; patient: string | null; label: "imported" | "model_accepted" | null }> = [];
  let i = 0;
  const addCell = async (patient: string | null) => {
    const sha = `${tag}${String(i++).padStart(5, "0")}`.padEnd(64, "0");
    const [img] = await db
      .insert(image)
      .values({
        datasetId: ds.id,
        sha256: sha,
        kind: "crop",
        originalName: `${sha.slice(0, 12)}.jpg`,
        format: "jpeg",
        width: 10,
        height: 10,
        byteSize: 100,
        storageKey: `images/${sha}.jpg`,
        thumbnailKey: `thumbs/${sha}.webp`,
        patient,
      })
      .returning();
    const [c] = await db.insert(cell).values({ imageId: img!.id, geometry: "whole" }).returning();
    return c!.id;
  };
  for (let p = 0; p < 24; p++) {
    for (let j = 0; j < 3; j++) {
      const id = await addCell(`P${p}`);
      const modelOnly = j === 2 && p < 4;
      await saveLabel(db, {
        cellId: id,
        classId: classId(classes[(p + j) % 3]!),
        readerId: modelOnly ? lead.id : null,
        source: modelOnly ? "model_accepted" : "imported",
        expectedVersion: null,
        actorId: null,
      });
      cells.push({ id, patient: `P${p}`, label: modelOnly ? "model_accepted" : "imported" });
    }
  }
  for (let u = 0; u < 4; u++) cells.push({ id: await addCell(null), patient: null, label: null });
  const [mv] = await db
    .insert(modelVersion)
    .values({ projectId: proj.id, schemeId: scheme.id, name: "m", backbone: "small-cnn" })
    .returning();
  return { proj, scheme, lead, cells, classId, modelVersionId: mv!.id };
}

describeEachDb("frozen evaluation set", (kind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(kind);
  });
  afterAll(async () => t.close());

  it("is drawn once by a lead (audited), grouped, verified-only, and extended only explicitly", async () => {
    const f = await createGroupedProject(t.db, "d1");
    const actor = { projectId: f.proj.id, actorId: f.lead.id, isSystemAdmin: false };
    // A pending review item that exists before the draw must leave the queue with its cell.
    const queuedBefore = f.cells[0]!.id;
    await t.db.insert(reviewQueueItem).values({ projectId: f.proj.id, cellId: queuedBefore, priority: 1, strategy: "entropy" });

    const { added, total } = await drawEvaluationSet(t.db, actor, { mode: "draw", fraction: 0.25, seed: 3 });
    expect(total).toBe(added.length);
    const inSet = new Set(await listEvaluationCellIds(t.db, f.proj.id));
    expect(inSet.size).toBe(added.length);
    const modelOnly = f.cells.filter((c) => c.label === "model_accepted").map((c) => c.id);
    expect(modelOnly.some((id) => inSet.has(id))).toBe(false);
    expect(f.cells.filter((c) => c.label === null).some((c) => inSet.has(c.id))).toBe(false);

    const training = await listTrainingCells(t.db, f.proj.id);
    for (const key of classes) {
      const verified = training.filter((c) => c.verified && c.classKey === key);
      const share = verified.filter((c) => c.inEvaluationSet).length / verified.length;
      expect(share).toBeGreaterThan(0.1);
      expect(share).toBeLessThan(0.4);
    }
    // Exclusion from training, and no patient on both sides.
    const part = partitionTrainingCells(training);
    expect(part.evaluation.map((c) => c.cellId).sort()).toEqual([...inSet].sort());
    expect(part.trainable.some((c) => inSet.has(c.cellId))).toBe(false);
    const evalPatients = new Set(part.evaluation.map((c) => c.patient));
    expect(part.trainable.some((c) => evalPatients.has(c.patient))).toBe(false);
    expect(part.heldOut.every((c) => evalPatients.has(c.patient) && !c.verified)).toBe(true);

    const audits = await t.db.select().from(auditEvent).where(eq(auditEvent.entityId, f.proj.id));
    expect(audits.find((a) => a.action === "evaluation_set.draw")).toMatchObject({
      actorId: f.lead.id,
      before: { cells: 0 },
      after: { cells: added.length },
    });
    if (inSet.has(queuedBefore)) {
      const left = await t.db.select().from(reviewQueueItem).where(eq(reviewQueueItem.cellId, queuedBefore));
      expect(left).toHaveLength(0);
    }

    // Drawn once: a second draw is refused, extending is the explicit way to grow it.
    await expect(drawEvaluationSet(t.db, actor, { mode: "draw", fraction: 0.25, seed: 3 })).rejects.toBeInstanceOf(ConflictError);
    const extended = await drawEvaluationSet(t.db, actor, { mode: "extend", fraction: 0.5, seed: 4 });
    expect(extended.total).toBeGreaterThan(added.length);
    expect(extended.added.some((id) => inSet.has(id))).toBe(false);
    const afterExtend = partitionTrainingCells(await listTrainingCells(t.db, f.proj.id));
    const patientsNow = new Set(afterExtend.evaluation.map((c) => c.patient));
    expect(afterExtend.trainable.some((c) => patientsNow.has(c.patient))).toBe(false);
    expect((await t.db.select().from(auditEvent).where(eq(auditEvent.action, "evaluation_set.extend"))).length).toBe(1);
  });

  it("never offers evaluation cells to a work queue", async () => {
    const f = await createGroupedProject(t.db, "q1");
    const actor = { projectId: f.proj.id, actorId: f.lead.id, isSystemAdmin: false };
    const { added } = await drawEvaluationSet(t.db, actor, { mode: "draw", fraction: 0.3, seed: 5 });
    const evalIds = new Set(added);
    const rows = f.cells.map((c) => ({
      cellId: c.id,
      predictedClassId: f.classId("neutrophil"),
      probabilities: [0.5, 0.5, 0, 0, 0, 0, 0, 0],
      confidence: 0.5,
      leastConfidence: 0.5,
      margin: 0,
      entropy: 0.69,
      bald: null,
    }));
    const { idsByCell } = await writePredictions(t.db, f.modelVersionId, rows);
    // The predict job's path.
    await upsertReviewQueue(
      t.db,
      f.proj.id,
      f.cells.map((c) => ({ cellId: c.id, predictionId: idsByCell.get(c.id) ?? null, priority: 1 })),
      "entropy",
    );
    // The queue builders' path.
    await rebuildWorkQueue(t.db, { projectId: f.proj.id, schemeId: f.scheme.id, kind: "review", modelVersionId: f.modelVersionId });
    await rebuildWorkQueue(t.db, { projectId: f.proj.id, schemeId: f.scheme.id, kind: "labeling" });
    const queued = await t.db.select().from(reviewQueueItem).where(eq(reviewQueueItem.projectId, f.proj.id));
    expect(queued.length).toBeGreaterThan(0);
    expect(queued.filter((q) => evalIds.has(q.cellId))).toEqual([]);
    expect(queued.filter((q) => q.kind === "labeling")).toHaveLength(4);

    // An item queued behind the builders' back (e.g. before a later extension) is never claimed.
    const evalCell = added[0]!;
    await t.db
      .insert(reviewQueueItem)
      .values({ projectId: f.proj.id, kind: "review", cellId: evalCell, priority: 99, strategy: "entropy" });
    const claimed = await claimQueueItems(t.db, { projectId: f.proj.id, kind: "review", userId: f.lead.id, limit: 1000 });
    const claimedCells = await t.db
      .select({ cellId: reviewQueueItem.cellId })
      .from(reviewQueueItem)
      .where(and(eq(reviewQueueItem.projectId, f.proj.id), eq(reviewQueueItem.status, "claimed")));
    expect(claimed.length).toBeGreaterThan(0);
    expect(claimedCells.some((c) => evalIds.has(c.cellId))).toBe(false);
  });
});
