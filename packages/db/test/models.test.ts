import { eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ConflictError } from "../src/errors";
import { createModelVersion, finishModelVersion, publishModelVersion } from "../src/queries/models";
import { ensureProject } from "../src/queries/projects";
import { project } from "../src/schema";
import { createTestDb, describeEachDb, type TestDb } from "./helpers/test-db";

describeEachDb("model versions", (kind) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(kind);
  });
  afterAll(async () => t.close());

  it("publishes a ready model and refuses a collapsed one", async () => {
    const p = await ensureProject(t.db, { slug: "mv", name: "mv", schemeKey: "pbc-8" });
    const good = await createModelVersion(t.db, {
      projectId: p.id,
      schemeId: p.schemeId,
      name: "good",
      backbone: "resnet",
      hyperParameters: { lr: 0.1 },
    });
    const bad = await createModelVersion(t.db, {
      projectId: p.id,
      schemeId: p.schemeId,
      name: "bad",
      backbone: "resnet",
      hyperParameters: {},
    });
    await expect(publishModelVersion(t.db, good.id)).rejects.toBeInstanceOf(ConflictError); // still training
    await finishModelVersion(t.db, { id: good.id, metrics: { accuracy: 0.97 }, artifactKey: "models/good", collapseReasons: [] });
    const rejected = await finishModelVersion(t.db, {
      id: bad.id,
      metrics: { accuracy: 0.9 },
      artifactKey: "models/bad",
      collapseReasons: ["predicts neutrophil for 98% of cells"],
    });
    expect(rejected.status).toBe("rejected");
    await publishModelVersion(t.db, good.id);
    const err = await publishModelVersion(t.db, bad.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).details?.collapseReasons).toEqual(["predicts neutrophil for 98% of cells"]);
    const [row] = await t.db.select().from(project).where(eq(project.id, p.id));
    expect(row?.currentModelVersionId).toBe(good.id);
  });
});
