import { and, eq } from "drizzle-orm";
import { expect, it } from "vitest";
import { ConflictError, InvalidInputError, NotFoundError } from "../src/errors";
import { collectExportCells } from "../src/export/collect-export-cells";
import { listImageCells, listProjectCells } from "../src/queries/cells";
import { listLabelHistory } from "../src/queries/labels";
import { listCellsForPrediction, listProjectReviewQueue, upsertReviewQueue } from "../src/queries/review-queue";
import { listTrainingCells } from "../src/queries/training-set";
import { auditEvent, cell, label } from "../src/schema";
import { saveProjectLabel } from "../src/services/label-service";
import {
  createFieldCell,
  deleteFieldCell,
  restoreFieldCell,
  updateFieldCellShape,
  type CreateFieldCellInput,
} from "../src/services/field-cell-service";
import { useProjectSuite } from "./helpers/project-suite";
import { describeEachDb } from "./helpers/test-db";

describeEachDb("field cell service", (kind) => {
  const s = useProjectSuite(kind);
  const actor = () => ({ projectId: s.f.projectId, actorId: s.f.users.annotator.id });
  const box = (x: number, y: number, width = 40, height = 30) => ({ geometry: "box" as const, x, y, width, height });
  const audits = (entityId: string) =>
    s.db.select().from(auditEvent).where(eq(auditEvent.entityId, entityId)).orderBy(auditEvent.createdAt);

  it("creates a box with a class: cell, label, history and audit in one go, and the viewer lists it", async () => {
    const { cell: c, label: l } = await createFieldCell(s.db, actor(), {
      imageId: s.f.fieldImageId,
      shape: box(10, 20),
      classId: s.f.classIds.neutrophil,
    });
    expect(c).toMatchObject({ geometry: "box", x: 10, y: 20, width: 40, height: 30, version: 1, deletedAt: null });
    expect(l).toMatchObject({
      cellId: c.id,
      classId: s.f.classIds.neutrophil,
      readerId: s.f.users.annotator.id,
      version: 1,
      source: "human",
    });
    expect((await listLabelHistory(s.db, l!.id)).map((h) => h.version)).toEqual([1]);
    expect((await audits(c.id)).map((a) => a.action)).toEqual(["cell.create"]);
    expect((await audits(l!.id)).map((a) => a.action)).toEqual(["label.create"]);
    const [row] = await s.db.select().from(cell).where(eq(cell.id, c.id));
    expect(row?.createdBy).toBe(s.f.users.annotator.id);
    const listed = await listImageCells(s.db, { imageId: s.f.fieldImageId, schemeId: s.f.schemeId, readerId: s.f.users.annotator.id });
    expect(listed.find((x) => x.cellId === c.id)).toMatchObject({ cellVersion: 1, myLabel: { classId: s.f.classIds.neutrophil } });
  });

  it("creates points and polygons (with their bounding box) and no label without a class", async () => {
    const p = await createFieldCell(s.db, actor(), { imageId: s.f.fieldImageId, shape: { geometry: "point", x: 5, y: 6 } });
    expect(p.cell).toMatchObject({ geometry: "point", x: 5, y: 6, width: null, points: null });
    expect(p.label).toBeNull();
    const poly = await createFieldCell(s.db, actor(), {
      imageId: s.f.fieldImageId,
      shape: {
        geometry: "polygon",
        points: [
          [100, 100],
          [140, 100],
          [150, 130],
          [110, 140],
        ],
      },
    });
    expect(poly.cell).toMatchObject({ geometry: "polygon", x: 100, y: 100, width: 50, height: 40 });
    expect(poly.cell.points).toHaveLength(4);
  });

  it("refuses every invalid shape and target with a clear error, writing nothing", async () => {
    const before = await s.db.select().from(cell).where(eq(cell.imageId, s.f.fieldImageId));
    const attempt = (input: Partial<CreateFieldCellInput>) =>
      createFieldCell(s.db, actor(), { imageId: s.f.fieldImageId, shape: box(1, 1), ...input }).catch((e: unknown) => e);
    const cases: Array<[Partial<CreateFieldCellInput>, RegExp]> = [
      [{ shape: box(10, 10, 3, 30) }, /at least 4/],
      [{ shape: box(620, 10, 40, 30) }, /outside the image/],
      [{ shape: box(-1, 10) }, /outside the image/],
      [{ shape: box(Number.NaN, 10) }, /finite/],
      [{ shape: { geometry: "point", x: 700, y: 1 } }, /outside/],
      [{ shape: { geometry: "point", x: Number.POSITIVE_INFINITY, y: 1 } }, /finite/],
      [
        {
          shape: {
            geometry: "polygon",
            points: [
              [1, 1],
              [5, 5],
            ],
          },
        },
        /at least 3 points/,
      ],
      [
        { shape: { geometry: "polygon", points: Array.from({ length: 501 }, (_, i) => [i % 600, Math.floor(i / 2)] as [number, number]) } },
        /at most 500/,
      ],
      [
        {
          shape: {
            geometry: "polygon",
            points: [
              [10, 10],
              [60, 60],
              [60, 10],
              [10, 40],
            ],
          },
        },
        /cross/,
      ],
      [
        {
          shape: {
            geometry: "polygon",
            points: [
              [10, 10],
              [20, 20],
              [30, 30],
            ],
          },
        },
        /no area/,
      ],
      [
        {
          shape: {
            geometry: "polygon",
            points: [
              [10, 10],
              [10, 10],
              [30, 30],
              [10, 40],
            ],
          },
        },
        /repeats/,
      ],
      [
        {
          shape: {
            geometry: "polygon",
            points: [
              [10, 10],
              [700, 10],
              [30, 30],
            ],
          },
        },
        /outside/,
      ],
      [{ classId: "00000000-0000-4000-8000-000000000000" }, /scheme/],
    ];
    for (const [input, message] of cases) {
      const err = await attempt(input);
      expect(err, String(message)).toBeInstanceOf(InvalidInputError);
      expect((err as Error).message).toMatch(message);
    }
    // a crop image is not a field; another project's image is not found
    const crop = await listProjectCells(s.db, {
      project: { id: s.f.projectId, schemeId: s.f.schemeId },
      readerId: s.f.users.annotator.id,
      imageKind: "crop",
      page: 1,
      pageSize: 1,
    });
    expect(await attempt({ imageId: crop.items[0]!.imageId })).toBeInstanceOf(InvalidInputError);
    const foreign = await createFieldCell(
      s.db,
      { projectId: s.f.otherProjectId, actorId: s.f.users.outsider.id },
      {
        imageId: s.f.fieldImageId,
        shape: box(1, 1),
      },
    ).catch((e: unknown) => e);
    expect(foreign).toBeInstanceOf(NotFoundError);
    const after = await s.db.select().from(cell).where(eq(cell.imageId, s.f.fieldImageId));
    expect(after).toHaveLength(before.length);
  });

  it("moves and resizes with a version; a stale version is CONFLICT with the current cell", async () => {
    const { cell: c } = await createFieldCell(s.db, actor(), { imageId: s.f.fieldImageId, shape: box(200, 200) });
    const moved = await updateFieldCellShape(s.db, actor(), { cellId: c.id, expectedVersion: 1, shape: box(210, 220, 50, 50) });
    expect(moved).toMatchObject({ x: 210, y: 220, width: 50, version: 2 });
    const stale = await updateFieldCellShape(s.db, actor(), { cellId: c.id, expectedVersion: 1, shape: box(0, 0) }).catch(
      (e: unknown) => e,
    );
    expect(stale).toBeInstanceOf(ConflictError);
    expect((stale as ConflictError).details?.current).toMatchObject({ id: c.id, x: 210, version: 2 });
    const staleDelete = await deleteFieldCell(s.db, actor(), { cellId: c.id, expectedVersion: 1 }).catch((e: unknown) => e);
    expect(staleDelete).toBeInstanceOf(ConflictError);
    const invalid = await updateFieldCellShape(s.db, actor(), { cellId: c.id, expectedVersion: 2, shape: box(630, 0) }).catch(
      (e: unknown) => e,
    );
    expect(invalid).toBeInstanceOf(InvalidInputError);
    const kindChange = await updateFieldCellShape(s.db, actor(), {
      cellId: c.id,
      expectedVersion: 2,
      shape: { geometry: "point", x: 1, y: 1 },
    }).catch((e: unknown) => e);
    expect(kindChange).toBeInstanceOf(InvalidInputError);
    const [row] = await s.db.select().from(cell).where(eq(cell.id, c.id));
    expect(row).toMatchObject({ x: 210, y: 220, version: 2 });
    const update = (await audits(c.id)).find((a) => a.action === "cell.update");
    expect(update?.before).toMatchObject({ x: 200, y: 200, version: 1 });
    expect(update?.after).toMatchObject({ x: 210, y: 220, version: 2 });
  });

  it("changes the class with the label's own version, and refuses a stale one", async () => {
    const { cell: c, label: l } = await createFieldCell(s.db, actor(), {
      imageId: s.f.fieldImageId,
      shape: box(300, 300),
      classId: s.f.classIds.lymphocyte,
    });
    const changed = await saveProjectLabel(s.db, actor(), { cellId: c.id, classId: s.f.classIds.monocyte!, expectedVersion: l!.version });
    expect(changed.version).toBe(2);
    const stale = await saveProjectLabel(s.db, actor(), { cellId: c.id, classId: s.f.classIds.basophil!, expectedVersion: 1 }).catch(
      (e: unknown) => e,
    );
    expect(stale).toBeInstanceOf(ConflictError);
    expect((await listLabelHistory(s.db, l!.id)).map((h) => h.classId)).toEqual([s.f.classIds.lymphocyte, s.f.classIds.monocyte]);
  });

  it("soft-deletes: labels and history stay, but the cell leaves the viewer, cell grid, training set, export and review queue", async () => {
    const { cell: c, label: l } = await createFieldCell(s.db, actor(), {
      imageId: s.f.fieldImageId,
      shape: box(400, 300),
      classId: s.f.classIds.eosinophil,
    });
    await upsertReviewQueue(s.db, s.f.projectId, [{ cellId: c.id, predictionId: null, priority: 0.99 }], "entropy");
    const present = async () => {
      const scope = { imageId: s.f.fieldImageId, schemeId: s.f.schemeId, readerId: s.f.users.annotator.id };
      const grid = await listProjectCells(s.db, {
        project: { id: s.f.projectId, schemeId: s.f.schemeId },
        readerId: s.f.users.annotator.id,
        page: 1,
        pageSize: 200,
      });
      const exported = await collectExportCells(s.db, { scope: { projectId: s.f.projectId }, labels: { kind: "consensus" } });
      return {
        viewer: (await listImageCells(s.db, scope)).some((x) => x.cellId === c.id),
        grid: grid.items.some((x) => x.cellId === c.id),
        training: (await listTrainingCells(s.db, s.f.projectId)).some((x) => x.cellId === c.id),
        export: exported.cells.some((x) => x.cellId === c.id),
        prediction: (await listCellsForPrediction(s.db, s.f.projectId, { unlabeledOnly: false })).some((x) => x.cellId === c.id),
        queue: (await listProjectReviewQueue(s.db, { projectId: s.f.projectId })).some((x) => x.cellId === c.id),
      };
    };
    const all = { viewer: true, grid: true, training: true, export: true, prediction: true, queue: true };
    expect(await present()).toEqual(all);

    const deleted = await deleteFieldCell(s.db, actor(), { cellId: c.id, expectedVersion: 1 });
    expect(deleted.version).toBe(2);
    expect(deleted.deletedAt).toBeInstanceOf(Date);
    expect(await present()).toEqual({ viewer: false, grid: false, training: false, export: false, prediction: false, queue: false });
    const [row] = await s.db.select().from(cell).where(eq(cell.id, c.id));
    expect(row?.deletedBy).toBe(s.f.users.annotator.id);
    expect(
      await s.db
        .select()
        .from(label)
        .where(and(eq(label.cellId, c.id))),
    ).toHaveLength(1);
    expect(await listLabelHistory(s.db, l!.id)).toHaveLength(1);

    // a deleted cell cannot be labelled, moved or deleted again
    const relabel = await saveProjectLabel(s.db, actor(), { cellId: c.id, classId: s.f.classIds.basophil!, expectedVersion: 1 }).catch(
      (e: unknown) => e,
    );
    expect(relabel).toBeInstanceOf(NotFoundError);
    const move = await updateFieldCellShape(s.db, actor(), { cellId: c.id, expectedVersion: 2, shape: box(1, 1) }).catch((e: unknown) => e);
    expect(move).toBeInstanceOf(ConflictError);
    expect(await deleteFieldCell(s.db, actor(), { cellId: c.id, expectedVersion: 2 }).catch((e: unknown) => e)).toBeInstanceOf(
      ConflictError,
    );

    // undo = restore
    const restored = await restoreFieldCell(s.db, actor(), { cellId: c.id, expectedVersion: 2 });
    expect(restored).toMatchObject({ version: 3, deletedAt: null });
    expect(await present()).toEqual(all);
    expect((await audits(c.id)).map((a) => a.action)).toEqual(["cell.create", "cell.delete", "cell.restore"]);
  });
});
