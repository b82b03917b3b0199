import { and, asc, eq, isNotNull, sql, type SQL } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { InvalidInputError, NotFoundError } from "../errors";
import { image, projectDataset } from "../schema";
import { readRows } from "./jobs";
import type { ProjectScope } from "./projects";
import { listSchemeClasses, type ClassSummary } from "./schemes";

/**
 * What a differential counts: one dataset of the project, optionally narrowed to one smear (the image's
 * `smear` tag) or one field image. Without a dataset: every dataset of the project.
 */
export type DifferentialScope = {
  project: ProjectScope & { currentModelVersionId: string | null };
  datasetId?: string;
  smear?: string;
  imageId?: string;
};

/** label = the cell's consensus label; prediction = no label, the current model's class; none = neither. */
export type DifferentialBasis = "label" | "prediction" | "none";

export type DifferentialClassCount = {
  /** null = the "unclassified" gallery (no label and no prediction). */
  classId: string | null;
  labelled: number;
  predicted: number;
  total: number;
  /** Of all classified cells in the scope (labelled + predicted), 0..100. */
  percent: number;
};

export type DifferentialSummary = {
  classes: ClassSummary[];
  counts: DifferentialClassCount[];
  labelled: number;
  predicted: number;
  unclassified: number;
  total: number;
  modelVersionId: string | null;
};

// Same ranks as the training set's consensus (training-set.ts): adjudicated > readers > imported ground truth.
const sourceRankSql = sql.raw(`case l.source when 'adjudicated' then 3 when 'human' then 2 when 'model_accepted' then 2 else 1 end`);

/** The project's cells in the scope, as SQL conditions on `c` (cell) and `i` (image). */
function scopeConditions(scope: DifferentialScope): SQL {
  const parts: SQL[] = [
    sql`c.deleted_at is null`,
    sql`exists (select 1 from project_dataset pd where pd.dataset_id = i.dataset_id and pd.project_id = ${scope.project.id})`,
  ];
  if (scope.datasetId) parts.push(sql`i.dataset_id = ${scope.datasetId}`);
  if (scope.smear) parts.push(sql`i.smear = ${scope.smear}`);
  if (scope.imageId) parts.push(sql`i.id = ${scope.imageId}`);
  return sql.join(parts, sql` and `);
}

/**
 * One row per cell of the scope with the class it is counted under: its consensus label in the
 * project's scheme (labels of another scheme translated through a scheme mapping; highest-ranked
 * source, then most votes, then most recent), else the current model's predicted class.
 */
function classifiedCells(scope: DifferentialScope): SQL {
  const schemeId = scope.project.schemeId;
  const modelId = scope.project.currentModelVersionId;
  return sql`
    scoped as (
      select c.id as cell_id from cell c join image i on i.id = c.image_id where ${scopeConditions(scope)}
    ),
    votes as (
      select l.cell_id, coalesce(case when l.scheme_id = ${schemeId} then l.class_id end, sme.to_class_id) as class_id,
        ${sourceRankSql} as rank, count(*) as n, max(l.updated_at) as latest
      from label l
      join scoped s on s.cell_id = l.cell_id
      left join scheme_mapping sm on sm.from_scheme_id = l.scheme_id and sm.to_scheme_id = ${schemeId} and l.scheme_id <> ${schemeId}
      left join scheme_mapping_entry sme on sme.mapping_id = sm.id and sme.from_class_id = l.class_id
      where l.scheme_id = ${schemeId} or sme.to_class_id is not null
      group by 1, 2, 3
    ),
    consensus as (
      select distinct on (cell_id) cell_id, class_id from votes order by cell_id, rank desc, n desc, latest desc, class_id
    ),
    classified as (
      select s.cell_id,
        coalesce(cs.class_id, p.predicted_class_id) as class_id,
        case when cs.class_id is not null then 'label' when p.predicted_class_id is not null then 'prediction' else 'none' end as basis
      from scoped s
      left join consensus cs on cs.cell_id = s.cell_id
      left join prediction p on p.cell_id = s.cell_id and p.model_version_id = ${modelId}
    )`;
}

async function assertScope(db: DbOrTx, scope: DifferentialScope): Promise<void> {
  if (scope.imageId && !scope.datasetId) throw new InvalidInputError("a field image is chosen within a dataset");
  if (scope.datasetId) {
    const [attached] = await db
      .select({ id: projectDataset.datasetId })
      .from(projectDataset)
      .where(and(eq(projectDataset.projectId, scope.project.id), eq(projectDataset.datasetId, scope.datasetId)));
    if (!attached) throw new NotFoundError("dataset", { datasetId: scope.datasetId });
  }
  if (scope.imageId) {
    const [img] = await db
      .select({ id: image.id })
      .from(image)
      .where(and(eq(image.id, scope.imageId), eq(image.datasetId, scope.datasetId!)));
    if (!img) throw new NotFoundError("image", { imageId: scope.imageId });
  }
}

/** Counts per class (labelled / predicted), with percentages of the classified cells, in scheme order. */
export async function getDifferentialSummary(db: DbOrTx, scope: DifferentialScope): Promise<DifferentialSummary> {
  await assertScope(db, scope);
  const classes = await listSchemeClasses(db, scope.project.schemeId);
  const rows = readRows<{ class_id: string | null; labelled: number; predicted: number; total: number }>(
    await db.execute(sql`
      with ${classifiedCells(scope)}
      select class_id,
        (count(*) filter (where basis = 'label'))::int as labelled,
        (count(*) filter (where basis = 'prediction'))::int as predicted,
        count(*)::int as total
      from classified group by class_id`),
  );
  const byClass = new Map(rows.map((r) => [r.class_id, r]));
  const labelled = rows.reduce((s, r) => s + Number(r.labelled), 0);
  const predicted = rows.reduce((s, r) => s + Number(r.predicted), 0);
  const classifiedTotal = labelled + predicted;
  const unclassified = Number(byClass.get(null)?.total ?? 0);
  const count = (classId: string | null): DifferentialClassCount => {
    const r = byClass.get(classId);
    const total = Number(r?.total ?? 0);
    return {
      classId,
      labelled: Number(r?.labelled ?? 0),
      predicted: Number(r?.predicted ?? 0),
      total,
      percent: classId === null || classifiedTotal === 0 ? 0 : (100 * total) / classifiedTotal,
    };
  };
  return {
    classes,
    counts: [...classes.map((c) => count(c.id)), count(null)],
    labelled,
    predicted,
    unclassified,
    total: classifiedTotal + unclassified,
    modelVersionId: scope.project.currentModelVersionId,
  };
}

export type DifferentialCell = {
  cellId: string;
  imageId: string;
  imageName: string;
  geometry: "whole" | "point" | "box" | "polygon";
  x: number | null;
  y: number | null;
  width: number | null;
  height: number | null;
  imageWidth: number;
  imageHeight: number;
  storageKey: string;
  thumbnailKey: string;
  basis: DifferentialBasis;
  /** Confidence of the current model's prediction, when it has one for the cell. */
  confidence: number | null;
  /** The viewer's own label in the project's scheme: its version is the optimistic-lock token. */
  myLabelVersion: number | null;
};

export type DifferentialPage = { items: DifferentialCell[]; total: number; offset: number; limit: number };

/**
 * One page of a class's gallery (classId null = unclassified), in dataset / image / position order so
 * a page does not reshuffle while the reader works.
 */
export async function listDifferentialCells(
  db: DbOrTx,
  input: DifferentialScope & { readerId: string; classId: string | null; offset: number; limit: number },
): Promise<DifferentialPage> {
  if (input.limit < 1 || input.limit > 500 || input.offset < 0) throw new InvalidInputError("limit must be 1..500 and offset >= 0");
  await assertScope(db, input);
  const classFilter = input.classId === null ? sql`cl.class_id is null` : sql`cl.class_id = ${input.classId}`;
  const rows = readRows<{
    cell_id: string;
    image_id: string;
    image_name: string;
    geometry: DifferentialCell["geometry"];
    x: number | null;
    y: number | null;
    width: number | null;
    height: number | null;
    image_width: number;
    image_height: number;
    storage_key: string;
    thumbnail_key: string;
    basis: DifferentialBasis;
    confidence: number | null;
    my_version: number | null;
    total: number;
  }>(
    await db.execute(sql`
      with ${classifiedCells(input)}
      select c.id as cell_id, i.id as image_id, i.original_name as image_name, c.geometry, c.x, c.y, c.width, c.height,
        i.width as image_width, i.height as image_height, i.storage_key, i.thumbnail_key, cl.basis,
        p.confidence, ml.version as my_version, count(*) over ()::int as total
      from classified cl
      join cell c on c.id = cl.cell_id
      join image i on i.id = c.image_id
      join dataset d on d.id = i.dataset_id
      left join prediction p on p.cell_id = c.id and p.model_version_id = ${input.project.currentModelVersionId}
      left join label ml on ml.cell_id = c.id and ml.scheme_id = ${input.project.schemeId} and ml.reader_id = ${input.readerId}
      where ${classFilter}
      order by d.name, i.original_name, c.y nulls first, c.x nulls first, c.id
      limit ${input.limit} offset ${input.offset}`),
  );
  let total = Number(rows[0]?.total ?? 0);
  if (rows.length === 0 && input.offset > 0) {
    // Past the end: the window count is gone with the rows, so count separately.
    const [n] = readRows<{ n: number }>(
      await db.execute(sql`with ${classifiedCells(input)} select count(*)::int as n from classified cl where ${classFilter}`),
    );
    total = Number(n?.n ?? 0);
  }
  return {
    items: rows.map((r) => ({
      cellId: r.cell_id,
      imageId: r.image_id,
      imageName: r.image_name,
      geometry: r.geometry,
      x: r.x === null ? null : Number(r.x),
      y: r.y === null ? null : Number(r.y),
      width: r.width === null ? null : Number(r.width),
      height: r.height === null ? null : Number(r.height),
      imageWidth: Number(r.image_width),
      imageHeight: Number(r.image_height),
      storageKey: r.storage_key,
      thumbnailKey: r.thumbnail_key,
      basis: r.basis,
      confidence: r.confidence === null ? null : Number(r.confidence),
      myLabelVersion: r.my_version === null ? null : Number(r.my_version),
    })),
    total,
    offset: input.offset,
    limit: input.limit,
  };
}

/** Smears and field images of the project's datasets, for the gallery's scope selector. */
export async function listDifferentialScopes(db: DbOrTx, projectId: string) {
  const smears = await db
    .selectDistinct({ datasetId: image.datasetId, smear: image.smear })
    .from(image)
    .innerJoin(projectDataset, and(eq(projectDataset.datasetId, image.datasetId), eq(projectDataset.projectId, projectId)))
    .where(isNotNull(image.smear))
    .orderBy(asc(image.datasetId), asc(image.smear))
    .limit(1000);
  const fields = await db
    .select({ datasetId: image.datasetId, imageId: image.id, name: image.originalName })
    .from(image)
    .innerJoin(projectDataset, and(eq(projectDataset.datasetId, image.datasetId), eq(projectDataset.projectId, projectId)))
    .where(eq(image.kind, "field"))
    .orderBy(asc(image.datasetId), asc(image.originalName), asc(image.id))
    .limit(1000);
  return { smears: smears.map((s) => ({ datasetId: s.datasetId, smear: s.smear! })), fields };
}

/** The differential as CSV: one row per class (scheme order), then unclassified and the total. */
export function formatDifferentialCsv(summary: DifferentialSummary, meta: { scope: string }): string {
  const esc = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const byId = new Map(summary.classes.map((c) => [c.id, c]));
  const lines = ["scope,class_key,class_name,labelled,predicted,total,percent"];
  for (const c of summary.counts) {
    const cls = c.classId ? byId.get(c.classId) : undefined;
    const key = cls?.key ?? "unclassified";
    const name = cls?.name ?? "Unclassified";
    const percent = c.classId === null ? "" : c.percent.toFixed(1);
    lines.push([meta.scope, key, name, c.labelled, c.predicted, c.total, percent].map((v) => esc(String(v))).join(","));
  }
  lines.push(
    [meta.scope, "total", "Total", summary.labelled, summary.predicted, summary.total, "100.0"].map((v) => esc(String(v))).join(","),
  );
  return `${lines.join("\n")}\n`;
}
