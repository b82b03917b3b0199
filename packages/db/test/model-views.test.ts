import { expect, it } from "vitest";
import { NotFoundError } from "../src/errors";
import { getProjectModelVersion, listProjectModelVersions } from "../src/queries/model-views";
import { createModelVersion, finishModelVersion, publishModelVersion } from "../src/queries/models";
import { getProjectById } from "../src/queries/projects";
import { useProjectSuite } from "./helpers/project-suite";
import { describeEachDb } from "./helpers/test-db";

describeEachDb("model views", (kind) => {
  const s = useProjectSuite(kind);

  it("lists model versions with headline metrics read from the report, and scopes one to its project", async () => {
    const { db, f } = s;
    const mk = (projectId: string, name: string) =>
      createModelVersion(db, {
        projectId,
        schemeId: f.schemeId,
        name,
        backbone: "resnet",
        hyperParameters: { inputSize: 96 },
        createdBy: f.users.lead.id,
      });
    const training = await mk(f.projectId, "still-training");
    const good = await mk(f.projectId, "good");
    const bad = await mk(f.projectId, "bad");
    const other = await mk(f.otherProjectId, "other");
    await finishModelVersion(db, {
      id: good.id,
      metrics: {
        accuracy: 0.9,
        balancedAccuracy: 0.85,
        kappa: null,
        macroAuc: 0.95,
        ece: 0.03,
        n: 40,
        split: "test",
        stopReason: "completed",
        history: [{ epoch: 1 }, { epoch: 2 }],
      },
      artifactKey: `models/${good.id}/`,
      collapseReasons: [],
    });
    // a malformed value never breaks the list: it reads as null
    await finishModelVersion(db, {
      id: bad.id,
      metrics: { accuracy: "high", split: 3, history: "none" },
      artifactKey: `models/${bad.id}/`,
      collapseReasons: ["predicts one class"],
    });
    await publishModelVersion(db, good.id);
    // the project as a request loads it, after the publish
    const project = await getProjectById(db, f.projectId);

    const list = await listProjectModelVersions(db, project);
    expect(list.map((m) => m.name).sort()).toEqual(["bad", "good", "still-training"]);
    expect(list.find((m) => m.id === good.id)).toMatchObject({
      status: "ready",
      isCurrent: true,
      accuracy: 0.9,
      balancedAccuracy: 0.85,
      kappa: null,
      macroAuc: 0.95,
      ece: 0.03,
      n: 40,
      split: "test",
      epochs: 2,
      stopReason: "completed",
      inputSize: 96,
      createdByName: f.users.lead.name,
    });
    expect(list.find((m) => m.id === bad.id)).toMatchObject({
      status: "rejected",
      isCurrent: false,
      accuracy: null,
      split: null,
      epochs: null,
      collapseReasons: ["predicts one class"],
    });
    expect(list.find((m) => m.id === training.id)).toMatchObject({ status: "training", accuracy: null, split: null });
    const otherProject = await getProjectById(db, f.otherProjectId);
    expect((await listProjectModelVersions(db, otherProject)).map((m) => m.id)).toEqual([other.id]);

    const detail = await getProjectModelVersion(db, { project, modelVersionId: good.id });
    expect(detail).toMatchObject({ id: good.id, isCurrent: true, hasArtifact: true, metrics: { accuracy: 0.9 } });
    expect("artifactKey" in detail).toBe(false);
    expect("onnxKey" in detail).toBe(false);
    expect(await getProjectModelVersion(db, { project, modelVersionId: training.id })).toMatchObject({
      hasArtifact: false,
      isCurrent: false,
    });
    await expect(getProjectModelVersion(db, { project, modelVersionId: other.id })).rejects.toBeInstanceOf(NotFoundError);
  });
});
