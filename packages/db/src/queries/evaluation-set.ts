import { and, count, eq, exists, sql, type SQLWrapper } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { cell, evaluationSetCell } from "../schema";
import type { TrainingCell } from "./training-set";

/**
 * SQL condition: the cell (a column holding a cell id) is in the project's frozen evaluation set.
 * Work queues wrap it in `not (...)` so evaluation cells are never offered to anyone.
 */
export function isEvaluationCell(projectId: SQLWrapper | string, cellId: SQLWrapper) {
  const project = typeof projectId === "string" ? sql`${projectId}::uuid` : projectId;
  return exists(
    sql`(select 1 from ${evaluationSetCell} where ${evaluationSetCell.projectId} = ${project} and ${evaluationSetCell.cellId} = ${cellId})`,
  );
}

/** Cell ids of the project's frozen evaluation set. */
export async function listEvaluationCellIds(db: DbOrTx, projectId: string): Promise<string[]> {
  const rows = await db
    .select({ cellId: evaluationSetCell.cellId })
    .from(evaluationSetCell)
    .where(eq(evaluationSetCell.projectId, projectId))
    .orderBy(evaluationSetCell.cellId);
  return rows.map((r) => r.cellId);
}

export type EvaluationSetSummary = {
  cells: number;
  perClass: Array<{ classId: string; classKey: string; cells: number }>;
  firstAddedAt: Date | null;
  lastAddedAt: Date | null;
};

/** Size of the frozen evaluation set, per class by the cells' current consensus label. */
export async function getEvaluationSetSummary(db: DbOrTx, projectId: string, cells: TrainingCell[]): Promise<EvaluationSetSummary> {
  const [row] = await db
    .select({
      n: count(),
      first: sql<Date | null>`min(${evaluationSetCell.addedAt})`.mapWith((v: string | Date | null) => (v ? new Date(v) : null)),
      last: sql<Date | null>`max(${evaluationSetCell.addedAt})`.mapWith((v: string | Date | null) => (v ? new Date(v) : null)),
    })
    .from(evaluationSetCell)
    .innerJoin(cell, eq(cell.id, evaluationSetCell.cellId))
    .where(and(eq(evaluationSetCell.projectId, projectId)));
  const perClass = new Map<string, { classId: string; classKey: string; cells: number }>();
  for (const c of cells.filter((c) => c.inEvaluationSet)) {
    const entry = perClass.get(c.classId) ?? { classId: c.classId, classKey: c.classKey, cells: 0 };
    entry.cells++;
    perClass.set(c.classId, entry);
  }
  return { cells: row?.n ?? 0, perClass: [...perClass.values()], firstAddedAt: row?.first ?? null, lastAddedAt: row?.last ?? null };
}

export type DrawOptions = {
  /** Share of each class's eligible cells the evaluation set should hold (after the draw). */
  fraction: number;
  seed: number;
};

/**
 * Picks whole groups (patient / smear / image) for the evaluation set, stratified by class: groups in
 * seeded random order join when most of their verified cells fill classes still below `fraction` of
 * that class's verified cells. Only verified labels are eligible (never model_accepted-only ones).
 * A group that already holds evaluation cells brings its newly verified cells along, so a group
 * never ends up on both sides. Returns the cell ids to add, sorted. Pure.
 */
export function drawEvaluationCells(cells: readonly TrainingCell[], options: DrawOptions): string[] {
  if (!(options.fraction > 0 && options.fraction < 1)) throw new RangeError(`fraction must be in (0, 1), got ${options.fraction}`);
  const eligible = cells.filter((c) => c.verified);
  const totals = new Map<string, number>();
  const have = new Map<string, number>();
  const groups = new Map<string, TrainingCell[]>();
  const evalGroups = new Set(cells.filter((c) => c.inEvaluationSet).map((c) => c.groupKey));
  for (const c of eligible) {
    totals.set(c.classId, (totals.get(c.classId) ?? 0) + 1);
    if (c.inEvaluationSet) have.set(c.classId, (have.get(c.classId) ?? 0) + 1);
    else {
      const g = groups.get(c.groupKey);
      if (g) g.push(c);
      else groups.set(c.groupKey, [c]);
    }
  }
  const picked: string[] = [];
  const order = shuffle([...groups.keys()].sort(), options.seed);
  // A group already on the evaluation side stays there: its new verified cells join (grouping holds).
  const ordered = [...order.filter((k) => evalGroups.has(k)), ...order.filter((k) => !evalGroups.has(k))];
  for (const key of ordered) {
    const members = groups.get(key)!;
    let fills = 0;
    for (const c of members) {
      const target = Math.max(1, Math.round((totals.get(c.classId) ?? 0) * options.fraction));
      // A class with a single verified cell cannot be on both sides: it trains.
      if ((totals.get(c.classId) ?? 0) >= 2 && (have.get(c.classId) ?? 0) < target) fills++;
    }
    if (!evalGroups.has(key) && fills * 2 <= members.length) continue;
    for (const c of members) {
      picked.push(c.cellId);
      have.set(c.classId, (have.get(c.classId) ?? 0) + 1);
    }
  }
  return picked.sort();
}

/** Seeded Fisher-Yates (mulberry32), so a draw is reproducible from its seed. */
function shuffle<T>(items: T[], seed: number): T[] {
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

export type TrainingPartition = {
  /** The frozen evaluation set: every round's test split. */
  evaluation: TrainingCell[];
  /** Cells train and validation splits may use. */
  trainable: TrainingCell[];
  /** Outside the set but in one of its groups (or unverified there): used by neither side. */
  heldOut: TrainingCell[];
};

/**
 * Splits a project's labelled cells for a train job: the evaluation set is the test split; cells of
 * its groups that are not in it (labelled later, or only model-accepted) are held out, so a patient,
 * smear or field image is never on both sides.
 */
export function partitionTrainingCells(cells: readonly TrainingCell[]): TrainingPartition {
  const evalGroups = new Set(cells.filter((c) => c.inEvaluationSet).map((c) => c.groupKey));
  const out: TrainingPartition = { evaluation: [], trainable: [], heldOut: [] };
  for (const c of cells) {
    if (c.inEvaluationSet) out.evaluation.push(c);
    else if (evalGroups.has(c.groupKey)) out.heldOut.push(c);
    else out.trainable.push(c);
  }
  return out;
}
