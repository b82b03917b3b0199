import { computeMultiRaterAgreement, computePairAgreement, type MultiRaterAgreement, type PairAgreement } from "@hemaloop/ml/metrics";
import { and, eq, inArray, type SQL, sql } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { NotFoundError } from "../errors";
import { cell, image, label, modelVersion, prediction, projectDataset, user } from "../schema";
import { countAwaitingAdjudication } from "./double-reading";
import type { Project } from "./projects";
import { type ClassSummary, listSchemeClasses } from "./schemes";

export type AgreementReader = { id: string; name: string; email: string; readings: number };

/** Two readers on the cells both read; confusion[A's class][B's class] in the scheme's class order. */
export type ReaderPairAgreement = { readerAId: string; readerBId: string; confusion: number[][]; agreement: PairAgreement };

/** One reader against the current model's top class; confusion[reader's class][model's class]. */
export type ReaderModelAgreement = {
  readerId: string;
  confusion: number[][];
  agreement: PairAgreement;
  /** Of those readings, how many were the reader accepting a suggestion (they agree by construction). */
  accepted: number;
};

export type AgreementSummary = {
  classes: ClassSummary[];
  /** Readers with at least one reading, by name. */
  readers: AgreementReader[];
  /** Every pair of readers who read at least one cell in common. */
  pairs: ReaderPairAgreement[];
  /** All readers together over the cells read at least twice (Fleiss' kappa, multi-rater AC1). */
  overall: MultiRaterAgreement & {
    /** Unweighted mean of the pairs' kappas (pairs where kappa is defined); null when none. */
    meanPairwiseKappa: number | null;
  };
  /** Readings per class, index-aligned with classes. */
  readingsPerClass: number[];
  /** Null when the project has no current model. */
  model: { id: string; name: string; readers: ReaderModelAgreement[] } | null;
  /**
   * Cells read by >= 2 readers who disagree, with no adjudicated label yet: every such cell, however its
   * readings came about (double reading or readers labelling the same cell on their own).
   */
  disagreementsNotAdjudicated: number;
  /**
   * Cells in the adjudication queue (countAwaitingAdjudication): only blind double readings that disagree
   * enter it, so this is at most the count above; the rest no lead is asked to settle.
   */
  inAdjudicationQueue: number;
};

export type AgreementInput = {
  project: Pick<Project, "id" | "schemeId" | "currentModelVersionId">;
  /** Only cells of this dataset (one of the project's, else NOT_FOUND). */
  datasetId?: string;
};

/** postgres-js returns the rows as an array, PGlite as { rows }. */
function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as T[];
}

/**
 * The readings the page compares: one current label per reader (human or accepted suggestion) in the
 * project's scheme on live cells of its datasets. Imported ground truth (no reader) and adjudications
 * (a decision about readings, not one of them) are left out.
 */
function readingsCte(input: AgreementInput): SQL {
  const datasetFilter = input.datasetId ? sql`and i.dataset_id = ${input.datasetId}` : sql``;
  return sql`readings as (
    select l.cell_id, l.reader_id, l.class_id, l.source
    from ${label} l
    join ${cell} c on c.id = l.cell_id and c.deleted_at is null
    join ${image} i on i.id = c.image_id
    join ${projectDataset} pd on pd.dataset_id = i.dataset_id and pd.project_id = ${input.project.id}
    where l.scheme_id = ${input.project.schemeId} and l.reader_id is not null
      and l.source in ('human', 'model_accepted') ${datasetFilter}
  )`;
}

function createSquare(size: number): number[][] {
  return Array.from({ length: size }, () => new Array<number>(size).fill(0));
}

/**
 * Inter-reader and reader-vs-model agreement of a project (optionally one dataset). Counting happens in
 * the database (confusion cells per reader pair, class counts per cell read twice); the coefficients
 * come from @hemaloop/ml's metrics.
 */
export async function getAgreementSummary(db: DbOrTx, input: AgreementInput): Promise<AgreementSummary> {
  const { project } = input;
  if (input.datasetId) {
    // A dataset outside the project is NOT_FOUND, not an empty summary: the caller may not know it exists.
    const [attached] = await db
      .select({ id: projectDataset.datasetId })
      .from(projectDataset)
      .where(and(eq(projectDataset.projectId, project.id), eq(projectDataset.datasetId, input.datasetId)));
    if (!attached) throw new NotFoundError("dataset", { datasetId: input.datasetId });
  }
  const classes = await listSchemeClasses(db, project.schemeId);
  const q = classes.length;
  const classIndex = new Map(classes.map((c, i) => [c.id, i]));
  const readings = readingsCte(input);

  const perReaderClass = rowsOf<{ readerId: string; classId: string; n: number }>(
    await db.execute(sql`with ${readings}
      select reader_id as "readerId", class_id as "classId", count(*)::int as n from readings group by 1, 2`),
  );
  const pairRows = rowsOf<{ readerA: string; readerB: string; classA: string; classB: string; n: number }>(
    await db.execute(sql`with ${readings}
      select a.reader_id as "readerA", b.reader_id as "readerB", a.class_id as "classA", b.class_id as "classB", count(*)::int as n
      from readings a join readings b on b.cell_id = a.cell_id and a.reader_id < b.reader_id
      group by 1, 2, 3, 4`),
  );
  // Per cell read at least twice: how many readers chose each class.
  const cellClassRows = rowsOf<{ cellId: string; classId: string; n: number }>(
    await db.execute(sql`with ${readings},
      shared as (select cell_id from readings group by cell_id having count(*) >= 2)
      select r.cell_id as "cellId", r.class_id as "classId", count(*)::int as n
      from readings r join shared s on s.cell_id = r.cell_id
      group by 1, 2`),
  );
  const [awaiting] = rowsOf<{ n: number }>(
    await db.execute(sql`with ${readings},
      disputed as (
        select cell_id from readings group by cell_id
        having count(distinct reader_id) >= 2 and count(distinct class_id) > 1
      )
      select count(*)::int as n from disputed d
      where not exists (
        select 1 from ${label} adj
        where adj.cell_id = d.cell_id and adj.scheme_id = ${project.schemeId} and adj.source = 'adjudicated'
      )`),
  );

  const readerIds = [...new Set(perReaderClass.map((r) => r.readerId))];
  const people = readerIds.length
    ? await db.select({ id: user.id, name: user.name, email: user.email }).from(user).where(inArray(user.id, readerIds))
    : [];
  const readingsPerClass = new Array<number>(q).fill(0);
  const readingsByReader = new Map<string, number>();
  for (const r of perReaderClass) {
    readingsPerClass[classIndex.get(r.classId)!]! += r.n;
    readingsByReader.set(r.readerId, (readingsByReader.get(r.readerId) ?? 0) + r.n);
  }
  const readers = people
    .map((p) => ({ ...p, readings: readingsByReader.get(p.id) ?? 0 }))
    .sort((a, b) => a.name.localeCompare(b.name) || a.email.localeCompare(b.email));

  const pairTables = new Map<string, { readerAId: string; readerBId: string; confusion: number[][] }>();
  for (const r of pairRows) {
    const key = `${r.readerA}/${r.readerB}`;
    const entry = pairTables.get(key) ?? { readerAId: r.readerA, readerBId: r.readerB, confusion: createSquare(q) };
    entry.confusion[classIndex.get(r.classA)!]![classIndex.get(r.classB)!]! += r.n;
    pairTables.set(key, entry);
  }
  const readerOrder = new Map(readers.map((r, i) => [r.id, i]));
  const pairs = [...pairTables.values()]
    .map((p) => ({ ...p, agreement: computePairAgreement(p.confusion) }))
    .sort(
      (a, b) =>
        readerOrder.get(a.readerAId)! - readerOrder.get(b.readerAId)! || readerOrder.get(a.readerBId)! - readerOrder.get(b.readerBId)!,
    );

  const perCell = new Map<string, number[]>();
  for (const r of cellClassRows) {
    const counts = perCell.get(r.cellId) ?? new Array<number>(q).fill(0);
    counts[classIndex.get(r.classId)!]! += r.n;
    perCell.set(r.cellId, counts);
  }
  const multi = computeMultiRaterAgreement([...perCell.values()]);
  const kappas = pairs.map((p) => p.agreement.kappa.value).filter((k): k is number => k !== null);

  return {
    classes,
    readers,
    pairs,
    overall: { ...multi, meanPairwiseKappa: kappas.length ? kappas.reduce((a, b) => a + b, 0) / kappas.length : null },
    readingsPerClass,
    model: await getReaderModelAgreement(db, input, readings, classIndex),
    disagreementsNotAdjudicated: awaiting?.n ?? 0,
    inAdjudicationQueue: await countAwaitingAdjudication(db, project.id, { datasetId: input.datasetId }),
  };
}

async function getReaderModelAgreement(
  db: DbOrTx,
  input: AgreementInput,
  readings: SQL,
  classIndex: Map<string, number>,
): Promise<AgreementSummary["model"]> {
  const modelId = input.project.currentModelVersionId;
  if (!modelId) return null;
  const [mv] = await db.select({ id: modelVersion.id, name: modelVersion.name }).from(modelVersion).where(eq(modelVersion.id, modelId));
  if (!mv) return null;
  const rows = rowsOf<{ readerId: string; readerClass: string; modelClass: string; n: number; accepted: number }>(
    await db.execute(sql`with ${readings}
      select r.reader_id as "readerId", r.class_id as "readerClass", p.predicted_class_id as "modelClass",
        count(*)::int as n, (count(*) filter (where r.source = 'model_accepted'))::int as accepted
      from readings r join ${prediction} p on p.cell_id = r.cell_id and p.model_version_id = ${modelId}
      group by 1, 2, 3`),
  );
  const q = classIndex.size;
  const byReader = new Map<string, { confusion: number[][]; accepted: number }>();
  for (const r of rows) {
    const modelClass = classIndex.get(r.modelClass);
    // A model of another scheme cannot be compared class by class.
    if (modelClass === undefined) continue;
    const entry = byReader.get(r.readerId) ?? { confusion: createSquare(q), accepted: 0 };
    entry.confusion[classIndex.get(r.readerClass)!]![modelClass]! += r.n;
    entry.accepted += r.accepted;
    byReader.set(r.readerId, entry);
  }
  return {
    ...mv,
    readers: [...byReader.entries()].map(([readerId, e]) => ({ readerId, ...e, agreement: computePairAgreement(e.confusion) })),
  };
}
