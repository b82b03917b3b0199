import { and, eq } from "drizzle-orm";
import { importPayloadSchema, type ImportPayloadInput, type ImportTarget } from "@hemaloop/ml/contracts";
import type { DbOrTx } from "../client";
import { ConflictError, ForbiddenError, InvalidInputError, NotFoundError } from "../errors";
import { recordAudit } from "../queries/audit";
import { enqueueJob, type Job } from "../queries/jobs";
import { getSchemeByKey } from "../queries/schemes";
import { dataset, institution, institutionMember, projectDataset } from "../schema";
import { lockProject, type ProjectActor } from "./actor";

/** A project actor who may also be a system admin (who may import for any institution). */
export type ImportActor = ProjectActor & { isSystemAdmin?: boolean };

/**
 * Checks where an upload may go, without writing: a new dataset needs an institution the actor belongs
 * to, a known scheme and a name not taken in that institution; an existing dataset must be one of the
 * project's. The upload route calls it before streaming so a bad target costs no upload.
 */
export async function checkImportTarget(db: DbOrTx, actor: ImportActor, target: ImportTarget): Promise<void> {
  if (target.kind === "existing") {
    const [attached] = await db
      .select({ datasetId: projectDataset.datasetId })
      .from(projectDataset)
      .where(and(eq(projectDataset.projectId, actor.projectId), eq(projectDataset.datasetId, target.datasetId)));
    if (!attached) throw new NotFoundError("dataset of this project", { datasetId: target.datasetId });
    return;
  }
  const [inst] = await db.select().from(institution).where(eq(institution.id, target.institutionId));
  if (!inst) throw new NotFoundError("institution", { institutionId: target.institutionId });
  if (!actor.isSystemAdmin) {
    const [member] = actor.actorId
      ? await db
          .select({ role: institutionMember.role })
          .from(institutionMember)
          .where(and(eq(institutionMember.institutionId, inst.id), eq(institutionMember.userId, actor.actorId)))
      : [];
    if (!member) throw new ForbiddenError(`you are not a member of institution ${inst.name}`);
  }
  await getSchemeByKey(db, target.schemeKey).catch((error: unknown) => {
    if (error instanceof NotFoundError) throw new InvalidInputError(`unknown class scheme "${target.schemeKey}"`);
    throw error;
  });
  const [taken] = await db
    .select({ id: dataset.id })
    .from(dataset)
    .where(and(eq(dataset.institutionId, inst.id), eq(dataset.name, target.name)));
  // Importing into a dataset the project does not have would add to another project's data.
  if (taken) throw new ConflictError(`institution ${inst.name} already has a dataset named "${target.name}"`, { datasetId: taken.id });
}

/**
 * Queues the import of files already stored under uploads/ (the upload route streamed them there):
 * checks the target again, enqueues the job and records its audit event in one transaction.
 */
export async function enqueueImportJob(db: DbOrTx, actor: ImportActor, input: ImportPayloadInput): Promise<Job> {
  const parsed = importPayloadSchema.safeParse(input);
  if (!parsed.success) {
    throw new InvalidInputError("import settings are not valid", {
      issues: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`),
    });
  }
  return db.transaction(async (tx) => {
    const p = await lockProject(tx, actor.projectId);
    await checkImportTarget(tx, actor, parsed.data.target);
    const created = await enqueueJob(tx, {
      type: "import",
      projectId: p.id,
      payload: parsed.data,
      createdBy: actor.actorId,
      // An import that failed for good has already rejected its files; retrying rarely helps.
      maxAttempts: 2,
    });
    await recordAudit(tx, {
      actorId: actor.actorId,
      action: "job.enqueue",
      entityType: "job",
      entityId: created.id,
      after: {
        type: created.type,
        target: parsed.data.target,
        provenance: parsed.data.provenance,
        files: parsed.data.uploads.length,
        bytes: parsed.data.uploads.reduce((sum, u) => sum + u.size, 0),
      },
    });
    return created;
  });
}
