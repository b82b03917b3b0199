import { afterAll, beforeAll, expect, it } from "vitest";
import { NotFoundError, InvalidInputError } from "../src/errors";
import {
  assertLabelTarget,
  canViewDataset,
  dziKeyForTile,
  getProjectImage,
  getProjectJob,
  getProjectOverview,
  listProjectCells,
  listProjectDatasets,
  listProjectImages,
  listProjectJobSummaries,
  listProjectsForViewer,
  resolveStorageKeyAccess,
} from "../src/queries/browse";
import { appendJobLog, enqueueJob } from "../src/queries/jobs";
import { saveLabel } from "../src/queries/labels";
import { createProjectFixture, type ProjectFixture } from "./helpers/project-fixture";
import { createTestDb, describeEachDb, type TestDb } from "./helpers/test-db";

it("maps Deep Zoom tile keys to their descriptor", () => {
  expect(dziKeyForTile("dz/ab/abc_files/12/3_4.jpeg")).toBe("dz/ab/abc.dzi");
  expect(dziKeyForTile("dz/ab/abc_files/0/0_0.png")).toBe("dz/ab/abc.dzi");
  expect(dziKeyForTile("dz/ab/abc.dzi")).toBeNull();
  expect(dziKeyForTile("thumbs/ab/abc.webp")).toBeNull();
  expect(dziKeyForTile("dz/ab/abc_files/x/3_4.jpeg")).toBeNull();
});

describeEachDb("browse queries", (kind) => {
  let t: TestDb;
  let f: ProjectFixture;
  beforeAll(async () => {
    t = await createTestDb(kind);
    f = await createProjectFixture(t.db);
  });
  afterAll(async () => {
    await t.close();
  });

  it("lists the viewer's projects with role and counts; system admins see all", async () => {
    const mine = await listProjectsForViewer(t.db, { id: f.users.annotator.id, isSystemAdmin: false });
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ slug: f.projectSlug, role: "annotator", schemeKey: "pbc-8", datasetCount: 2, cellCount: 9 });
    const outsider = await listProjectsForViewer(t.db, { id: f.users.outsider.id, isSystemAdmin: false });
    expect(outsider.map((p) => p.slug)).toEqual([f.otherProjectSlug]);
    const admin = await listProjectsForViewer(t.db, { id: f.users.sysadmin.id, isSystemAdmin: true });
    expect(admin.map((p) => p.slug)).toEqual(expect.arrayContaining([f.projectSlug, f.otherProjectSlug]));
    expect(admin.find((p) => p.slug === f.projectSlug)?.role).toBe("admin");
  });

  it("summarises datasets with provenance and per-class label counts", async () => {
    const datasets = await listProjectDatasets(t.db, f.projectId);
    expect(datasets).toHaveLength(2);
    const crops = datasets.find((d) => d.id === f.cropDatasetId)!;
    expect(crops).toMatchObject({ site: "Barcelona", device: "CellaVision DM96", licence: "CC BY 4.0", cropCount: 6, fieldCount: 0, cellCount: 6, schemeKey: "pbc-8" });
    const fields = datasets.find((d) => d.id === f.fieldDatasetId)!;
    expect(fields).toMatchObject({ cropCount: 0, fieldCount: 1, cellCount: 3, schemeKey: "wbc-5" });

    await saveLabel(t.db, {
      cellId: f.cropCellIds[0]!,
      classId: f.classIds.monocyte!,
      readerId: f.users.annotator.id,
      source: "human",
      expectedVersion: null,
      actorId: f.users.annotator.id,
    });
    const overview = await getProjectOverview(t.db, f.projectId);
    expect(overview.scheme.key).toBe("pbc-8");
    expect(overview.classCounts.map((c) => c.key)).toEqual(["basophil", "eosinophil", "erythroblast", "ig", "lymphocyte", "monocyte", "neutrophil", "platelet"]);
    const byKey = Object.fromEntries(overview.classCounts.map((c) => [c.key, c]));
    expect(byKey.neutrophil).toMatchObject({ imported: 2, human: 0, total: 2 });
    expect(byKey.monocyte).toMatchObject({ imported: 0, human: 1, total: 1 });
    expect(byKey.ig!.total).toBe(0);
    expect(overview.cellCount).toBe(9);
  });

  it("pages cells with the imported label and the reader's own label", async () => {
    const page1 = await listProjectCells(t.db, { projectId: f.projectId, readerId: f.users.annotator.id, imageKind: "crop", page: 1, pageSize: 4 });
    expect(page1.total).toBe(6);
    expect(page1.pageCount).toBe(2);
    expect(page1.items).toHaveLength(4);
    const page2 = await listProjectCells(t.db, { projectId: f.projectId, readerId: f.users.annotator.id, imageKind: "crop", page: 2, pageSize: 4 });
    expect(page2.items).toHaveLength(2);
    const all = [...page1.items, ...page2.items];
    expect(new Set(all.map((c) => c.cellId)).size).toBe(6);
    expect(all.every((c) => c.importedLabel !== null && c.thumbnailKey.startsWith("thumbs/"))).toBe(true);
    const labelled = all.find((c) => c.cellId === f.cropCellIds[0])!;
    expect(labelled.importedLabel?.key).toBe("basophil");
    expect(labelled.myLabel).toMatchObject({ key: "monocyte", version: 1 });
    // another reader does not see the annotator's label as their own
    const lead = await listProjectCells(t.db, { projectId: f.projectId, readerId: f.users.lead.id, page: 1, pageSize: 50 });
    expect(lead.total).toBe(9);
    expect(lead.items.every((c) => c.myLabel === null)).toBe(true);
    const unlabelled = await listProjectCells(t.db, { projectId: f.projectId, readerId: f.users.annotator.id, status: "unlabelled", page: 1, pageSize: 50 });
    expect(unlabelled.total).toBe(8);
    const byDataset = await listProjectCells(t.db, { projectId: f.projectId, readerId: f.users.annotator.id, datasetId: f.fieldDatasetId, page: 1, pageSize: 50 });
    expect(byDataset.items.map((c) => c.geometry)).toEqual(["box", "box", "box"]);
  });

  it("returns a field with its box cells, and nothing outside the project", async () => {
    const fields = await listProjectImages(t.db, { projectId: f.projectId, kind: "field" });
    expect(fields).toHaveLength(1);
    expect(fields[0]).toMatchObject({ id: f.fieldImageId, cellCount: 3, dziKey: f.keys.dzi });
    const detail = await getProjectImage(t.db, { projectId: f.projectId, imageId: f.fieldImageId, readerId: f.users.annotator.id });
    expect(detail.image).toMatchObject({ width: 640, height: 480, kind: "field" });
    expect(detail.cells).toHaveLength(3);
    expect(detail.cells[0]).toMatchObject({ geometry: "box", x: 500, y: 20, width: 60, height: 70 });
    expect(detail.cells.filter((c) => c.importedLabel).length).toBe(2);
    await expect(getProjectImage(t.db, { projectId: f.otherProjectId, imageId: f.fieldImageId, readerId: f.users.outsider.id })).rejects.toBeInstanceOf(NotFoundError);
  });

  it("checks label targets against the project's datasets and scheme", async () => {
    await expect(assertLabelTarget(t.db, { projectId: f.projectId, cellId: f.cropCellIds[1]!, classId: f.classIds.ig! })).resolves.toEqual({ schemeId: f.schemeId });
    await expect(assertLabelTarget(t.db, { projectId: f.projectId, cellId: f.otherCellId, classId: f.classIds.ig! })).rejects.toBeInstanceOf(NotFoundError);
    const overview = await getProjectOverview(t.db, f.projectId);
    const wbcClass = (await listProjectCells(t.db, { projectId: f.projectId, readerId: f.users.lead.id, datasetId: f.fieldDatasetId, page: 1, pageSize: 5 })).items.find((c) => c.importedLabel)!.importedLabel!.classId;
    expect(overview.scheme.classes.some((c) => c.id === wbcClass)).toBe(false);
    await expect(assertLabelTarget(t.db, { projectId: f.projectId, cellId: f.cropCellIds[1]!, classId: wbcClass })).rejects.toBeInstanceOf(InvalidInputError);
  });

  it("lists job summaries and scopes a job to its project", async () => {
    const j = await enqueueJob(t.db, { type: "train", projectId: f.projectId, payload: { backbone: "small-cnn" } });
    await appendJobLog(t.db, j.id, { level: "info", message: "queued by test" });
    await enqueueJob(t.db, { type: "train", projectId: f.otherProjectId });
    const jobs = await listProjectJobSummaries(t.db, { projectId: f.projectId });
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ id: j.id, status: "queued", progress: 0, payload: { backbone: "small-cnn" } });
    expect(jobs[0]!.lastLog?.message).toBe("queued by test");
    expect("logs" in jobs[0]!).toBe(false);
    await expect(getProjectJob(t.db, { projectId: f.otherProjectId, jobId: j.id })).rejects.toBeInstanceOf(NotFoundError);
  });

  it("decides who may read stored image files", async () => {
    const v = (u: { id: string; isSystemAdmin: boolean }) => ({ id: u.id, isSystemAdmin: u.isSystemAdmin });
    expect(await resolveStorageKeyAccess(t.db, v(f.users.annotator), f.keys.thumb)).toBe("visible");
    expect(await resolveStorageKeyAccess(t.db, v(f.users.annotator), f.keys.original)).toBe("visible");
    expect(await resolveStorageKeyAccess(t.db, v(f.users.annotator), f.keys.dzi)).toBe("visible");
    expect(await resolveStorageKeyAccess(t.db, v(f.users.annotator), f.keys.tile)).toBe("visible");
    expect(await resolveStorageKeyAccess(t.db, v(f.users.annotator), f.keys.otherThumb)).toBe("forbidden");
    expect(await resolveStorageKeyAccess(t.db, v(f.users.outsider), f.keys.thumb)).toBe("forbidden");
    expect(await resolveStorageKeyAccess(t.db, v(f.users.outsider), f.keys.otherThumb)).toBe("visible");
    // institution members see their institution's datasets without being in a project
    expect(await resolveStorageKeyAccess(t.db, v(f.users.instMember), f.keys.tile)).toBe("visible");
    expect(await resolveStorageKeyAccess(t.db, v(f.users.instMember), f.keys.otherThumb)).toBe("forbidden");
    expect(await resolveStorageKeyAccess(t.db, v(f.users.sysadmin), f.keys.otherThumb)).toBe("visible");
    expect(await resolveStorageKeyAccess(t.db, v(f.users.annotator), "thumbs/00/unknown.webp")).toBe("not_found");
    expect(await canViewDataset(t.db, v(f.users.annotator), f.cropDatasetId)).toBe(true);
    expect(await canViewDataset(t.db, v(f.users.annotator), f.otherDatasetId)).toBe(false);
    expect(await canViewDataset(t.db, v(f.users.instMember), f.fieldDatasetId)).toBe(true);
  });
});
