import { eq } from "drizzle-orm";
import { encodeEmbedding } from "@hemaloop/ml/active-learning";
import type { Db } from "../../src/client";
import { saveLabel } from "../../src/queries/labels";
import { createModelVersion, finishModelVersion } from "../../src/queries/models";
import { writePredictions } from "../../src/queries/predictions";
import { addProjectDataset, ensureProject } from "../../src/queries/projects";
import { evaluationSetCell, project } from "../../src/schema";
import { createCells } from "./fixtures";

/**
 * A pbc-8 project of `n` cells with a published model whose predictions carry synthetic embeddings:
 * cell i belongs to class i % 8 and its embedding sits near that class's centre (plus a seeded
 * jitter, so no two are duplicates). The first `labelled` cells get Alice's human label of their
 * class; of those, every fifth joins the frozen evaluation set.
 */
export async function createRoundProject(
  db: Db,
  tag: string,
  options: { n: number; labelled: number; dim?: number; withEmbeddings?: boolean },
) {
  const f = await createCells(db, options.n, tag);
  const p = await ensureProject(db, { slug: `round-${tag}`, name: `round ${tag}`, schemeKey: "pbc-8" });
  await addProjectDataset(db, p.id, f.dataset.id);
  const mv = await createModelVersion(db, {
    projectId: p.id,
    schemeId: f.scheme.id,
    name: "start",
    backbone: "resnet",
    hyperParameters: { inputSize: 48 },
  });
  await finishModelVersion(db, {
    id: mv.id,
    metrics: { split: "test", n: 0, accuracy: 0.5 },
    artifactKey: `models/${mv.id}/`,
    collapseReasons: [],
  });
  await db.update(project).set({ currentModelVersionId: mv.id }).where(eq(project.id, p.id));
  const dim = options.dim ?? 16;
  const classOf = (i: number) => i % 8;
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  if (options.withEmbeddings !== false) {
    await writePredictions(
      db,
      mv.id,
      f.cellIds.map((cellId, i) => {
        const k = classOf(i);
        const vector = Array.from({ length: dim }, (_, j) => (j % 8 === k ? 3 : 0) + 0.6 * rand());
        const probabilities = Array.from({ length: 8 }, (_, c) => (c === k ? 0.65 : 0.05));
        return {
          cellId,
          predictedClassId: f.scheme.classes[k]!.id,
          probabilities,
          confidence: 0.65,
          leastConfidence: 0.35,
          margin: 0.6,
          entropy: 1,
          embedding: encodeEmbedding(vector),
        };
      }),
    );
  }
  const evaluationIds: string[] = [];
  for (let i = 0; i < options.labelled; i++) {
    await saveLabel(db, {
      cellId: f.cellIds[i]!,
      classId: f.scheme.classes[classOf(i)]!.id,
      readerId: f.alice.id,
      source: "human",
      expectedVersion: null,
      actorId: f.alice.id,
    });
    if (i % 5 === 4) evaluationIds.push(f.cellIds[i]!);
  }
  if (evaluationIds.length > 0) await db.insert(evaluationSetCell).values(evaluationIds.map((cellId) => ({ projectId: p.id, cellId })));
  return { ...f, project: p, model: mv, evaluationIds, lead: { projectId: p.id, actorId: f.alice.id }, classOf };
}
