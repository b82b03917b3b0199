import { beforeAll, expect, it } from "vitest";
import { InvalidInputError, NotFoundError } from "../src/errors";
import { assertLabelTarget, listProjectCells } from "../src/queries/cells";
import { getProjectById, type ProjectScope } from "../src/queries/projects";
import { getSchemeByKey } from "../src/queries/schemes";
import { labelAsAnnotator, useProjectSuite } from "./helpers/project-suite";
import { describeEachDb } from "./helpers/test-db";

describeEachDb("cell queries", (kind) => {
  const s = useProjectSuite(kind);
  let project: ProjectScope;
  beforeAll(async () => {
    project = await getProjectById(s.db, s.f.projectId);
    await labelAsAnnotator(s, s.f.cropCellIds[0]!, "monocyte");
  });

  it("pages cells with the imported label and the reader's own label", async () => {
    const { db, f } = s;
    const list = (input: Partial<Parameters<typeof listProjectCells>[1]>) =>
      listProjectCells(db, { project, readerId: f.users.annotator.id, page: 1, pageSize: 50, ...input });
    const page1 = await list({ imageKind: "crop", pageSize: 4 });
    expect(page1.total).toBe(6);
    expect(page1.pageCount).toBe(2);
    expect(page1.items).toHaveLength(4);
    const page2 = await list({ imageKind: "crop", page: 2, pageSize: 4 });
    expect(page2.items).toHaveLength(2);
    const all = [...page1.items, ...page2.items];
    expect(new Set(all.map((c) => c.cellId)).size).toBe(6);
    expect(all.every((c) => c.importedLabel !== null && c.thumbnailKey.startsWith("thumbs/"))).toBe(true);
    const labelled = all.find((c) => c.cellId === f.cropCellIds[0])!;
    expect(labelled).toMatchObject({
      datasetId: f.cropDatasetId,
      imageKind: "crop",
      geometry: "whole",
      sourceLabel: "basophil",
      imageWidth: 360,
    });
    expect(labelled.importedLabel).toMatchObject({ key: "basophil", classId: f.classIds.basophil, version: 1 });
    expect(labelled.myLabel).toMatchObject({ key: "monocyte", classId: f.classIds.monocyte, version: 1 });
    // another reader does not see the annotator's label as their own
    const lead = await list({ readerId: f.users.lead.id });
    expect(lead.total).toBe(9);
    expect(lead.items.every((c) => c.myLabel === null)).toBe(true);
    const unlabelled = await list({ status: "unlabelled" });
    expect(unlabelled.total).toBe(8);
    expect(unlabelled.items.some((c) => c.cellId === f.cropCellIds[0])).toBe(false);
    const mine = await list({ status: "labelled" });
    expect(mine.total).toBe(1);
    expect(mine.items.map((c) => c.cellId)).toEqual([f.cropCellIds[0]]);
    const byDataset = await list({ datasetId: f.fieldDatasetId });
    expect(byDataset.items.map((c) => c.geometry)).toEqual(["box", "box", "box"]);
    // the field dataset's own labels are in wbc-5, the field cell without one has none
    expect(byDataset.items.filter((c) => c.importedLabel).length).toBe(2);
    await expect(list({ page: 0 })).rejects.toBeInstanceOf(InvalidInputError);
  });

  it("scopes cells by the project it is given, not another project's datasets", async () => {
    const { db, f } = s;
    const other = await getProjectById(db, f.otherProjectId);
    const page = await listProjectCells(db, { project: other, readerId: f.users.outsider.id, page: 1, pageSize: 50 });
    expect(page.items.map((c) => c.cellId)).toEqual([f.otherCellId]);
  });

  it("checks label targets against the project's datasets and scheme", async () => {
    const { db, f } = s;
    await expect(assertLabelTarget(db, { project, cellId: f.cropCellIds[1]!, classId: f.classIds.ig! })).resolves.toBeUndefined();
    await expect(assertLabelTarget(db, { project, cellId: f.otherCellId, classId: f.classIds.ig! })).rejects.toBeInstanceOf(NotFoundError);
    const wbc = await getSchemeByKey(db, "wbc-5");
    await expect(assertLabelTarget(db, { project, cellId: f.cropCellIds[1]!, classId: wbc.classes[0]!.id })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
  });
});
