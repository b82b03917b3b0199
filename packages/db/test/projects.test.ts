import { expect, it } from "vitest";
import { NotFoundError } from "../src/errors";
import { getProjectById, getProjectOverview, listProjectsForViewer } from "../src/queries/projects";
import { labelAsAnnotator, useProjectSuite } from "./helpers/project-suite";
import { describeEachDb } from "./helpers/test-db";

describeEachDb("project queries", (kind) => {
  const s = useProjectSuite(kind);

  it("loads a project by id; an unknown id is NOT_FOUND", async () => {
    const { db, f } = s;
    expect(await getProjectById(db, f.projectId)).toMatchObject({ id: f.projectId, slug: f.projectSlug, schemeId: f.schemeId });
    await expect(getProjectById(db, "00000000-0000-4000-8000-000000000000")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("lists the viewer's projects with role and counts; system admins see all", async () => {
    const { db, f } = s;
    const mine = await listProjectsForViewer(db, { id: f.users.annotator.id, isSystemAdmin: false });
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ slug: f.projectSlug, role: "annotator", schemeKey: "pbc-8", datasetCount: 2, cellCount: 9 });
    const outsider = await listProjectsForViewer(db, { id: f.users.outsider.id, isSystemAdmin: false });
    expect(outsider.map((p) => p.slug)).toEqual([f.otherProjectSlug]);
    const admin = await listProjectsForViewer(db, { id: f.users.sysadmin.id, isSystemAdmin: true });
    expect(admin.map((p) => p.slug)).toEqual(expect.arrayContaining([f.projectSlug, f.otherProjectSlug]));
    expect(admin.find((p) => p.slug === f.projectSlug)?.role).toBe("admin");
  });

  it("summarises the loaded project: scheme, datasets and per-class label counts by source", async () => {
    const { db, f } = s;
    await labelAsAnnotator(s, f.cropCellIds[0]!, "monocyte");
    const overview = await getProjectOverview(db, await getProjectById(db, f.projectId));
    expect(overview.project).toMatchObject({ id: f.projectId, slug: f.projectSlug, currentModelVersionId: null });
    expect(overview.scheme).toMatchObject({ id: f.schemeId, key: "pbc-8" });
    expect(overview.datasets.map((d) => d.id).sort()).toEqual([f.cropDatasetId, f.fieldDatasetId].sort());
    expect(overview.classCounts.map((c) => c.key)).toEqual([
      "basophil",
      "eosinophil",
      "erythroblast",
      "ig",
      "lymphocyte",
      "monocyte",
      "neutrophil",
      "platelet",
    ]);
    const byKey = Object.fromEntries(overview.classCounts.map((c) => [c.key, c]));
    expect(byKey.neutrophil).toMatchObject({ imported: 2, human: 0, total: 2 });
    expect(byKey.monocyte).toMatchObject({ imported: 0, human: 1, total: 1 });
    expect(byKey.ig!.total).toBe(0);
    expect(overview.cellCount).toBe(9);
    // the other project sees none of these labels
    const other = await getProjectOverview(db, await getProjectById(db, f.otherProjectId));
    expect(other.classCounts.reduce((s, c) => s + c.total, 0)).toBe(0);
    expect(other.cellCount).toBe(1);
  });
});
