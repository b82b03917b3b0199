import { expect, it } from "vitest";
import { listProjectDatasets } from "../src/queries/datasets";
import { useProjectSuite } from "./helpers/project-suite";
import { describeEachDb } from "./helpers/test-db";

describeEachDb("dataset queries", (kind) => {
  const s = useProjectSuite(kind);

  it("summarises the project's datasets with provenance and image/cell counts", async () => {
    const { db, f } = s;
    const datasets = await listProjectDatasets(db, f.projectId);
    expect(datasets).toHaveLength(2);
    const crops = datasets.find((d) => d.id === f.cropDatasetId)!;
    expect(crops).toMatchObject({
      site: "Barcelona",
      device: "CellaVision DM96",
      licence: "CC BY 4.0",
      cropCount: 6,
      fieldCount: 0,
      cellCount: 6,
      schemeKey: "pbc-8",
    });
    expect(crops.institution).toMatch(/^Test Hospital /);
    const fields = datasets.find((d) => d.id === f.fieldDatasetId)!;
    expect(fields).toMatchObject({ cropCount: 0, fieldCount: 1, cellCount: 3, schemeKey: "wbc-5" });
    expect((await listProjectDatasets(db, f.otherProjectId)).map((d) => d.id)).toEqual([f.otherDatasetId]);
  });
});
