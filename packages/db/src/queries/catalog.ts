import { and, count, eq } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { NotFoundError } from "../errors";
import { dataset, image, institution } from "../schema";
import { getSchemeByKey } from "./schemes";

export type Institution = typeof institution.$inferSelect;
export type Dataset = typeof dataset.$inferSelect;

export async function ensureInstitution(db: DbOrTx, name: string): Promise<Institution> {
  await db.insert(institution).values({ name }).onConflictDoNothing({ target: institution.name });
  const [row] = await db.select().from(institution).where(eq(institution.name, name));
  return row!;
}

export type DatasetProvenance = {
  site?: string | null;
  device?: string | null;
  stain?: string | null;
  magnification?: string | null;
  licence?: string | null;
  attribution?: string | null;
  description?: string | null;
};

/** Finds or creates the dataset; provenance given now fills fields that were empty. */
export async function ensureDataset(
  db: DbOrTx,
  input: { institutionId: string; name: string; schemeKey: string; createdBy?: string | null } & DatasetProvenance,
): Promise<Dataset> {
  const scheme = await getSchemeByKey(db, input.schemeKey);
  const { institutionId, name, schemeKey: _schemeKey, createdBy, ...provenance } = input;
  await db
    .insert(dataset)
    .values({ institutionId, name, schemeId: scheme.id, createdBy: createdBy ?? null, ...provenance })
    .onConflictDoNothing({ target: [dataset.institutionId, dataset.name] });
  const [row] = await db
    .select()
    .from(dataset)
    .where(and(eq(dataset.institutionId, institutionId), eq(dataset.name, name)));
  if (row!.schemeId !== scheme.id) {
    throw new NotFoundError(`dataset "${name}" uses another scheme than ${input.schemeKey}`);
  }
  return row!;
}

export async function listDatasets(db: DbOrTx) {
  return db
    .select({
      id: dataset.id,
      name: dataset.name,
      institution: institution.name,
      schemeId: dataset.schemeId,
      site: dataset.site,
      stain: dataset.stain,
      device: dataset.device,
      magnification: dataset.magnification,
      licence: dataset.licence,
      imageCount: count(image.id),
    })
    .from(dataset)
    .innerJoin(institution, eq(dataset.institutionId, institution.id))
    .leftJoin(image, eq(image.datasetId, dataset.id))
    .groupBy(dataset.id, institution.name);
}
