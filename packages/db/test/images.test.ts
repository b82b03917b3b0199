import { expect, it } from "vitest";
import { NotFoundError } from "../src/errors";
import { getProjectImage, listProjectImages } from "../src/queries/images";
import { getProjectById } from "../src/queries/projects";
import { useProjectSuite } from "./helpers/project-suite";
import { describeEachDb } from "./helpers/test-db";

describeEachDb("image queries", (kind) => {
  const s = useProjectSuite(kind);

  it("lists the project's images by kind with their cell counts", async () => {
    const { db, f } = s;
    const fields = await listProjectImages(db, { projectId: f.projectId, kind: "field" });
    expect(fields).toHaveLength(1);
    expect(fields[0]).toMatchObject({ id: f.fieldImageId, cellCount: 3, dziKey: f.keys.dzi, datasetId: f.fieldDatasetId });
    const crops = await listProjectImages(db, { projectId: f.projectId, kind: "crop" });
    expect(crops).toHaveLength(6);
    expect(crops.every((c) => c.cellCount === 1 && c.dziKey === null)).toBe(true);
    expect(await listProjectImages(db, { projectId: f.projectId, limit: 2, offset: 6 })).toHaveLength(1);
    expect(await listProjectImages(db, { projectId: f.otherProjectId, kind: "field" })).toEqual([]);
  });

  it("returns a field with its box cells top to bottom, and nothing outside the project", async () => {
    const { db, f } = s;
    const project = await getProjectById(db, f.projectId);
    const detail = await getProjectImage(db, { project, imageId: f.fieldImageId, readerId: f.users.annotator.id });
    expect(detail.image).toMatchObject({ width: 640, height: 480, kind: "field", cellCount: 3 });
    expect(detail.image.storageKey).toMatch(/^images\//);
    expect(detail.cells.map((c) => c.y)).toEqual([20, 80, 200]);
    expect(detail.cells[0]).toMatchObject({ geometry: "box", x: 500, y: 20, width: 60, height: 70, myLabel: null });
    expect(detail.cells.filter((c) => c.importedLabel).length).toBe(2);
    const other = await getProjectById(db, f.otherProjectId);
    await expect(getProjectImage(db, { project: other, imageId: f.fieldImageId, readerId: f.users.outsider.id })).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });
});
