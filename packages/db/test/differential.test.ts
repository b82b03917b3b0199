import { and, eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { NotFoundError } from "../src/errors";
import { formatDifferentialCsv, getDifferentialSummary, listDifferentialCells, type DifferentialScope } from "../src/queries/differential";
import { createModelVersion } from "../src/queries/models";
import { writePredictions } from "../src/queries/predictions";
import { addProjectDataset, ensureProject } from "../src/queries/projects";
import { getSchemeByKey } from "../src/queries/schemes";
import { auditEvent, label, labelHistory, project } from "../src/schema";
import { reclassifyCells } from "../src/services/differential-service";
import { createProjectFixture, type ProjectFixture } from "./helpers/project-fixture";
import { createTestDb, describeEachDb, type TestDb } from "./helpers/test-db";

describeEachDb("differential count gallery", (kind) => {
  let t: TestDb;
  let f: ProjectFixture;
  let modelId: string;
  beforeAll(async () => {
    t = await createTestDb(kind);
    f = await createProjectFixture(t.db);
    // The current model predicts the three field cells as monocyte, monocyte, lymphocyte.
    const mv = await createModelVersion(t.db, {
      projectId: f.projectId,
      schemeId: f.schemeId,
      name: "m",
      backbone: "cnn",
      hyperParameters: {},
    });
    modelId = mv.id;
    await t.db.update(project).set({ currentModelVersionId: mv.id }).where(eq(project.id, f.projectId));
    const predicted = ["monocyte", "monocyte", "lymphocyte"];
    await writePredictions(
      t.db,
      mv.id,
      f.fieldCellIds.map((cellId, i) => ({
        cellId,
        predictedClassId: f.classIds[predicted[i]!]!,
        probabilities: Array.from({ length: 8 }, () => 0.125),
        confidence: 0.6 + i / 10,
        leastConfidence: 0.4,
        margin: 0.2,
        entropy: 1,
        bald: null,
      })),
    );
  });
  afterAll(async () => t.close());

  const scope = (extra: Partial<DifferentialScope> = {}): DifferentialScope => ({
    project: { id: f.projectId, schemeId: f.schemeId, currentModelVersionId: modelId },
    ...extra,
  });
  const countOf = (s: Awaited<ReturnType<typeof getDifferentialSummary>>, key: string | null) =>
    s.counts.find((c) => c.classId === (key === null ? null : f.classIds[key]))!;

  it("counts the consensus label, else the current model's prediction, with percentages of the classified cells", async () => {
    const crops = await getDifferentialSummary(t.db, scope({ datasetId: f.cropDatasetId }));
    // fixture crops: basophil, eosinophil, lymphocyte, neutrophil x2, platelet (imported ground truth)
    expect(crops.total).toBe(6);
    expect(crops.labelled).toBe(6);
    expect(countOf(crops, "neutrophil")).toMatchObject({ labelled: 2, predicted: 0, total: 2 });
    expect(countOf(crops, "neutrophil").percent).toBeCloseTo(200 / 6, 6);
    expect(crops.counts.reduce((s, c) => s + c.percent, 0)).toBeCloseTo(100, 6);

    // field cells carry wbc-5 labels, which do not map into pbc-8: the model's class counts, marked as predicted
    const fields = await getDifferentialSummary(t.db, scope({ datasetId: f.fieldDatasetId, imageId: f.fieldImageId }));
    expect(fields.predicted).toBe(3);
    expect(countOf(fields, "monocyte")).toMatchObject({ labelled: 0, predicted: 2, total: 2 });
    const page = await listDifferentialCells(t.db, {
      ...scope({ datasetId: f.fieldDatasetId }),
      readerId: f.users.lead.id,
      classId: f.classIds.monocyte!,
      offset: 0,
      limit: 10,
    });
    expect(page.items.map((c) => c.basis)).toEqual(["prediction", "prediction"]);
    expect(page.items.map((c) => c.cellId).sort()).toEqual([f.fieldCellIds[0], f.fieldCellIds[1]].sort());
  });

  it("translates labels of another scheme through its mapping (pbc-8 crops in a wbc-5 project)", async () => {
    const wbc = await getSchemeByKey(t.db, "wbc-5");
    const p = await ensureProject(t.db, { slug: `diff-wbc-${kind}`, name: "wbc", schemeKey: "wbc-5" });
    await addProjectDataset(t.db, p.id, f.cropDatasetId);
    const s = await getDifferentialSummary(t.db, { project: { id: p.id, schemeId: wbc.id, currentModelVersionId: null } });
    const n = (key: string) => s.counts.find((c) => c.classId === wbc.classes.find((k) => k.key === key)!.id)!.total;
    expect([n("basophil"), n("eosinophil"), n("lymphocyte"), n("neutrophil"), n("monocyte")]).toEqual([1, 1, 1, 2, 0]);
    // platelet maps to nothing: unclassified
    expect(s.unclassified).toBe(1);
  });

  it("reclassifies a selection in one transaction: labels, history, audit; stale versions are conflicts, the rest saves", async () => {
    const lead = { projectId: f.projectId, actorId: f.users.lead.id };
    const [baso, eos] = [f.cropCellIds[0]!, f.cropCellIds[1]!];
    const r = await reclassifyCells(t.db, lead, {
      classId: f.classIds.lymphocyte!,
      cells: [
        { cellId: baso, expectedVersion: null },
        { cellId: eos, expectedVersion: null },
      ],
    });
    expect(r.conflicts).toEqual([]);
    expect(r.saved.map((s) => s.cellId)).toEqual([baso, eos]);
    const s = await getDifferentialSummary(t.db, scope({ datasetId: f.cropDatasetId }));
    expect(countOf(s, "lymphocyte").total).toBe(3);
    expect(countOf(s, "basophil").total).toBe(0);
    const mine = await t.db
      .select()
      .from(label)
      .where(and(inArray(label.cellId, [baso, eos]), eq(label.readerId, f.users.lead.id)));
    expect(mine.map((l) => [l.source, l.classId])).toEqual([
      ["human", f.classIds.lymphocyte],
      ["human", f.classIds.lymphocyte],
    ]);
    const history = await t.db
      .select()
      .from(labelHistory)
      .where(
        inArray(
          labelHistory.labelId,
          mine.map((l) => l.id),
        ),
      );
    expect(history).toHaveLength(2);
    const audits = await t.db.select().from(auditEvent).where(eq(auditEvent.action, "differential.reclassify"));
    expect(audits).toHaveLength(1);

    // the gallery gives the reader's own label version; a stale one is a conflict and that cell stays
    const lymph = await listDifferentialCells(t.db, {
      ...scope({ datasetId: f.cropDatasetId }),
      readerId: f.users.lead.id,
      classId: f.classIds.lymphocyte!,
      offset: 0,
      limit: 2,
    });
    expect(lymph.total).toBe(3);
    expect(lymph.items).toHaveLength(2);
    const rest = await listDifferentialCells(t.db, {
      ...scope({ datasetId: f.cropDatasetId }),
      readerId: f.users.lead.id,
      classId: f.classIds.lymphocyte!,
      offset: 2,
      limit: 2,
    });
    expect(rest.items).toHaveLength(1);
    expect(new Set([...lymph.items, ...rest.items].map((c) => c.cellId))).toEqual(new Set([baso, eos, f.cropCellIds[2]]));
    const basoItem = [...lymph.items, ...rest.items].find((c) => c.cellId === baso)!;
    expect(basoItem.myLabelVersion).toBe(1);
    const again = await reclassifyCells(t.db, lead, {
      classId: f.classIds.monocyte!,
      cells: [
        { cellId: baso, expectedVersion: null }, // stale: the lead has version 1
        { cellId: eos, expectedVersion: 1 },
      ],
    });
    expect(again.conflicts).toEqual([{ cellId: baso, currentVersion: 1, currentClassId: f.classIds.lymphocyte }]);
    expect(again.saved).toEqual([expect.objectContaining({ cellId: eos, version: 2 })]);
    const after = await getDifferentialSummary(t.db, scope({ datasetId: f.cropDatasetId }));
    expect([countOf(after, "lymphocyte").total, countOf(after, "monocyte").total]).toEqual([2, 1]);

    // a cell of another project fails the whole batch and saves nothing
    await expect(
      reclassifyCells(t.db, lead, {
        classId: f.classIds.platelet!,
        cells: [
          { cellId: f.cropCellIds[3]!, expectedVersion: null },
          { cellId: f.otherCellId, expectedVersion: null },
        ],
      }),
    ).rejects.toBeInstanceOf(NotFoundError);
    const untouched = await t.db
      .select()
      .from(label)
      .where(and(eq(label.cellId, f.cropCellIds[3]!), eq(label.readerId, f.users.lead.id)));
    expect(untouched).toEqual([]);
  });

  it("refuses a dataset outside the project and writes the CSV in scheme order with the counts", async () => {
    await expect(getDifferentialSummary(t.db, scope({ datasetId: f.otherDatasetId }))).rejects.toBeInstanceOf(NotFoundError);
    const s = await getDifferentialSummary(t.db, scope({ datasetId: f.cropDatasetId }));
    const csv = formatDifferentialCsv(s, { scope: "crops" }).trim().split("\n");
    expect(csv[0]).toBe("scope,class_key,class_name,labelled,predicted,total,percent");
    const rows = csv.slice(1).map((l) => l.split(","));
    expect(rows.map((r) => r[1])).toEqual([...s.classes.map((c) => c.key), "unclassified", "total"]);
    const neut = rows.find((r) => r[1] === "neutrophil")!;
    expect(neut.slice(3)).toEqual(["2", "0", "2", (200 / 6).toFixed(1)]);
    expect(rows.at(-1)!.slice(3, 6)).toEqual(["6", "0", "6"]);
  });
});
