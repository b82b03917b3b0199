import { and, eq } from "drizzle-orm";
import type { Readable } from "node:stream";
import type { DbOrTx } from "../client";
import { NotFoundError } from "../errors";
import { recordAudit } from "../queries/audit";
import { dataset, evaluation, modelVersion } from "../schema";
import type { Storage } from "../storage/storage";
import { createZipStream, type ZipEntry } from "./export-zip";

export type ModelArchive = { stream: Readable; fileName: string };

/**
 * A model version as one zip: every file under its storage prefix (ONNX, tfjs model.json + weight
 * shards, training config) plus `evaluation.json` (the version's metrics and its per-dataset
 * evaluations). NOT_FOUND when the version belongs to another project or has no stored artifact.
 */
export async function createModelArchive(
  db: DbOrTx,
  storage: Storage,
  input: { projectId: string; modelVersionId: string; actorId: string | null },
): Promise<ModelArchive> {
  const [mv] = await db
    .select()
    .from(modelVersion)
    .where(and(eq(modelVersion.id, input.modelVersionId), eq(modelVersion.projectId, input.projectId)));
  if (!mv?.artifactKey) throw new NotFoundError("model version artifact", { modelVersionId: input.modelVersionId });
  const prefix = mv.artifactKey.endsWith("/") ? mv.artifactKey : `${mv.artifactKey}/`;
  const keys: string[] = [];
  for await (const key of storage.list(prefix)) keys.push(key);
  if (keys.length === 0) throw new NotFoundError("model version artifact", { modelVersionId: input.modelVersionId });
  keys.sort();

  const evaluations = await db
    .select({
      dataset: dataset.name,
      datasetId: evaluation.datasetId,
      jobId: evaluation.jobId,
      metrics: evaluation.metrics,
      createdAt: evaluation.createdAt,
    })
    .from(evaluation)
    .leftJoin(dataset, eq(evaluation.datasetId, dataset.id))
    .where(eq(evaluation.modelVersionId, mv.id));
  const report = {
    modelVersionId: mv.id,
    name: mv.name,
    backbone: mv.backbone,
    status: mv.status,
    hyperParameters: mv.hyperParameters,
    metrics: mv.metrics,
    collapseReasons: mv.collapseReasons,
    evaluations,
  };
  await recordAudit(db, {
    actorId: input.actorId,
    action: "model.download",
    entityType: "model_version",
    entityId: mv.id,
    after: { files: keys.length },
  });
  const entries: ZipEntry[] = [
    ...keys.map((key) => ({ name: key.slice(prefix.length), storageKey: key })),
    { name: "evaluation.json", buffer: Buffer.from(`${JSON.stringify(report, null, 2)}\n`, "utf8") },
  ];
  const safeName = mv.name.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "") || "model";
  return { stream: createZipStream(storage, entries), fileName: `${safeName}-${mv.id.slice(0, 8)}.zip` };
}
