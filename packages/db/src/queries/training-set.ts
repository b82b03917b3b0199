import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { NotFoundError } from "../errors";
import { getSchemeByKey, type SchemeWithClasses } from "./schemes";
import {
  cell,
  cellClass,
  classScheme,
  dataset,
  image,
  label,
  evaluationSetCell,
  modelSnapshotItem,
  modelVersion,
  project,
  projectDataset,
  schemeMapping,
  schemeMappingEntry,
} from "../schema";

export type TrainingCell = {
  cellId: string;
  imageId: string;
  datasetId: string;
  datasetName: string;
  storageKey: string;
  imageWidth: number;
  imageHeight: number;
  geometry: (typeof cell.$inferSelect)["geometry"];
  /** Box in image pixels; null for whole-image crops. */
  box: { x: number; y: number; width: number; height: number } | null;
  patient: string | null;
  smear: string | null;
  classId: string;
  classKey: string;
  /** Patient, else smear, else the image: cells of one group never sit on both sides of a split. */
  groupKey: string;
  /** The consensus class is backed by a reader, adjudication or the imported ground truth, not only by an accepted model guess. */
  verified: boolean;
  /** In the project's frozen evaluation set. */
  inEvaluationSet: boolean;
  /** Which step of the training label rule gave the class. */
  labelBasis: TrainingLabelBasis;
};

type LabelSource = (typeof label.$inferSelect)["source"];

export type CandidateLabel = { classId: string; source: LabelSource; updatedAt: Date };

/** Why a cell's training label is what it is (see resolveTrainingLabel). */
export type TrainingLabelBasis = "adjudicated" | "agreed" | "majority" | "single" | "imported";

/** The class with the most votes, or null on a tie for first place; the latest of each class breaks nothing. */
function pluralityClass(labels: CandidateLabel[]): string | null {
  const votes = new Map<string, number>();
  for (const l of labels) votes.set(l.classId, (votes.get(l.classId) ?? 0) + 1);
  const ranked = [...votes.entries()].sort((a, b) => b[1] - a[1]);
  if (ranked.length === 0 || (ranked.length > 1 && ranked[0]![1] === ranked[1]![1])) return null;
  return ranked[0]![0];
}

const latestFirst = (a: CandidateLabel, b: CandidateLabel) => b.updatedAt.getTime() - a.updatedAt.getTime();

/**
 * The training label of one cell, per the reading room's rule (docs/reading-room.md):
 * 1. adjudicated: a lead settled a disagreement (the latest adjudication wins);
 * 2. agreed: two or more readers (human or accepted prediction) name the same class; with more than two
 *    readers a strict majority also counts ("majority");
 * 3. single: the only reader's label;
 * 4. imported: the contributing dataset's own ground truth.
 * Readers who tie (a double reading that disagrees and waits for adjudication) fall back to the imported
 * ground truth; without one the cell has no training label (null) until a lead adjudicates it.
 */
export function resolveTrainingLabel(labels: CandidateLabel[]): { classId: string; basis: TrainingLabelBasis } | null {
  const adjudicated = labels.filter((l) => l.source === "adjudicated").sort(latestFirst);
  if (adjudicated.length > 0) return { classId: adjudicated[0]!.classId, basis: "adjudicated" };
  const readers = labels.filter((l) => l.source === "human" || l.source === "model_accepted");
  const winner = pluralityClass(readers);
  if (winner) {
    const basis = readers.length === 1 ? "single" : readers.every((l) => l.classId === winner) ? "agreed" : "majority";
    return { classId: winner, basis };
  }
  const imported = labels.filter((l) => l.source === "imported").sort(latestFirst);
  if (imported.length === 0) return null;
  return { classId: pluralityClass(imported) ?? imported[0]!.classId, basis: "imported" };
}

/** The class resolveTrainingLabel gives the cell (null = no training label). Training and exports both use it. */
export function resolveConsensusLabel(labels: CandidateLabel[]): string | null {
  return resolveTrainingLabel(labels)?.classId ?? null;
}

/**
 * True when the cell's training label is backed by more than an accepted model guess: an adjudication,
 * the imported ground truth, or at least one reader who chose the class themselves.
 */
export function isVerifiedConsensus(labels: CandidateLabel[], classId: string): boolean {
  const resolved = resolveTrainingLabel(labels);
  if (!resolved || resolved.classId !== classId) return false;
  if (resolved.basis === "adjudicated" || resolved.basis === "imported") return true;
  return labels.some((l) => l.source === "human" && l.classId === classId);
}

/** The split group of a cell: ids are per dataset, so the dataset prefixes them. */
export function toGroupKey(row: { datasetId: string; imageId: string; patient: string | null; smear: string | null }): string {
  if (row.patient) return `${row.datasetId}/patient:${row.patient}`;
  if (row.smear) return `${row.datasetId}/smear:${row.smear}`;
  return `image:${row.imageId}`;
}

/**
 * Every labelled cell of a project's datasets with its consensus label in the project's scheme.
 * Labels written in another scheme are translated through a scheme mapping; classes that map to
 * nothing are left out.
 */
export async function listTrainingCells(db: DbOrTx, projectId: string): Promise<TrainingCell[]> {
  const [proj] = await db.select().from(project).where(eq(project.id, projectId));
  if (!proj) throw new NotFoundError("project", { projectId });
  const projectClasses = await db.select().from(cellClass).where(eq(cellClass.schemeId, proj.schemeId));
  const classKeyById = new Map(projectClasses.map((c) => [c.id, c.key]));

  const rows = await db
    .select({
      cellId: cell.id,
      imageId: image.id,
      datasetId: dataset.id,
      datasetName: dataset.name,
      storageKey: image.storageKey,
      imageWidth: image.width,
      imageHeight: image.height,
      geometry: cell.geometry,
      x: cell.x,
      y: cell.y,
      width: cell.width,
      height: cell.height,
      patient: image.patient,
      smear: image.smear,
      classId: label.classId,
      schemeId: label.schemeId,
      source: label.source,
      updatedAt: label.updatedAt,
      inEvaluationSet: sql<boolean>`${evaluationSetCell.cellId} is not null`,
    })
    .from(projectDataset)
    .innerJoin(dataset, eq(projectDataset.datasetId, dataset.id))
    .innerJoin(image, eq(image.datasetId, dataset.id))
    .innerJoin(cell, and(eq(cell.imageId, image.id), isNull(cell.deletedAt)))
    .innerJoin(label, eq(label.cellId, cell.id))
    .leftJoin(evaluationSetCell, and(eq(evaluationSetCell.projectId, projectId), eq(evaluationSetCell.cellId, cell.id)))
    .where(eq(projectDataset.projectId, projectId));

  const foreignSchemes = [...new Set(rows.map((r) => r.schemeId).filter((s) => s !== proj.schemeId))];
  const translate = await loadClassTranslation(db, foreignSchemes, proj.schemeId);

  const byCell = new Map<string, { row: (typeof rows)[number]; labels: CandidateLabel[] }>();
  for (const r of rows) {
    const classId = r.schemeId === proj.schemeId ? r.classId : translate.get(r.classId);
    if (!classId) continue;
    const entry = byCell.get(r.cellId) ?? { row: r, labels: [] };
    entry.labels.push({ classId, source: r.source, updatedAt: r.updatedAt });
    byCell.set(r.cellId, entry);
  }
  const result: TrainingCell[] = [];
  for (const { row, labels } of byCell.values()) {
    const resolved = resolveTrainingLabel(labels);
    // A disagreement waiting for adjudication (and no ground truth) is not trained on.
    if (!resolved) continue;
    const classId = resolved.classId;
    const hasBox = row.geometry !== "whole" && row.x !== null && row.y !== null;
    result.push({
      cellId: row.cellId,
      imageId: row.imageId,
      datasetId: row.datasetId,
      datasetName: row.datasetName,
      storageKey: row.storageKey,
      imageWidth: row.imageWidth,
      imageHeight: row.imageHeight,
      geometry: row.geometry,
      box: hasBox ? { x: row.x!, y: row.y!, width: row.width ?? 0, height: row.height ?? 0 } : null,
      patient: row.patient,
      smear: row.smear,
      classId,
      classKey: classKeyById.get(classId)!,
      groupKey: toGroupKey(row),
      verified: isVerifiedConsensus(labels, classId),
      labelBasis: resolved.basis,
      inEvaluationSet: Boolean(row.inEvaluationSet),
    });
  }
  return result.sort((a, b) => a.cellId.localeCompare(b.cellId));
}

/** class id in a foreign scheme -> class id in the target scheme (only mapped classes). */
async function loadClassTranslation(db: DbOrTx, fromSchemeIds: string[], toSchemeId: string) {
  if (fromSchemeIds.length === 0) return new Map<string, string>();
  const entries = await db
    .select({ from: schemeMappingEntry.fromClassId, to: schemeMappingEntry.toClassId })
    .from(schemeMappingEntry)
    .innerJoin(schemeMapping, eq(schemeMappingEntry.mappingId, schemeMapping.id))
    .where(and(inArray(schemeMapping.fromSchemeId, fromSchemeIds), eq(schemeMapping.toSchemeId, toSchemeId)));
  return new Map(entries.filter((e) => e.to !== null).map((e) => [e.from, e.to!]));
}

/** Freezes the exact labelled set a model version was trained on (idempotent per model version). */
export async function saveModelSnapshot(
  db: DbOrTx,
  modelVersionId: string,
  items: Array<{ cellId: string; classId: string; split: "train" | "val" | "test" }>,
): Promise<void> {
  const chunk = 1_000;
  for (let i = 0; i < items.length; i += chunk) {
    await db
      .insert(modelSnapshotItem)
      .values(items.slice(i, i + chunk).map((it) => ({ ...it, modelVersionId })))
      .onConflictDoNothing();
  }
}

/** A project with its class scheme (classes in order): what train and predict jobs work in. */
export async function getProjectWithScheme(
  db: DbOrTx,
  projectId: string,
): Promise<{ project: typeof project.$inferSelect; scheme: SchemeWithClasses } | null> {
  const [row] = await db
    .select({ project, schemeKey: classScheme.key })
    .from(project)
    .innerJoin(classScheme, eq(classScheme.id, project.schemeId))
    .where(eq(project.id, projectId));
  if (!row) return null;
  return { project: row.project, scheme: await getSchemeByKey(db, row.schemeKey) };
}

/**
 * Datasets whose cells a model version learned from (train and validation splits of its snapshot),
 * its base models' included, so prediction knows which datasets (sites) are new to it.
 */
export async function listModelTrainingDatasetIds(db: DbOrTx, modelVersionId: string): Promise<Set<string>> {
  const out = new Set<string>();
  const seen = new Set<string>();
  let current: string | null = modelVersionId;
  // A fine-tuned model also learned what its base did; the chain is short, the guard stops a cycle.
  while (current && !seen.has(current)) {
    seen.add(current);
    const rows = await db
      .selectDistinct({ datasetId: image.datasetId })
      .from(modelSnapshotItem)
      .innerJoin(cell, eq(cell.id, modelSnapshotItem.cellId))
      .innerJoin(image, eq(image.id, cell.imageId))
      .where(and(eq(modelSnapshotItem.modelVersionId, current), inArray(modelSnapshotItem.split, ["train", "val"])));
    for (const r of rows) out.add(r.datasetId);
    const [parent] = await db.select({ parentId: modelVersion.parentId }).from(modelVersion).where(eq(modelVersion.id, current));
    current = parent?.parentId ?? null;
  }
  return out;
}
