import { eq, or, sql } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { dataset, image } from "../schema";
import { datasetVisibleTo } from "./dataset-access";
import type { Viewer } from "./users";

/**
 * Deep Zoom tiles live next to their descriptor: `<base>.dzi` + `<base>_files/<level>/<col>_<row>.<ext>`.
 * Returns the descriptor key for a tile key, or null when the key is not a tile.
 */
export function dziKeyForTile(key: string): string | null {
  const m = /^(.+)_files\/\d+\/\d+_\d+\.(?:jpe?g|png|webp)$/.exec(key);
  return m ? `${m[1]}.dzi` : null;
}

/** A file of a dataset the viewer may not see is "not_found", like a missing one: the dataset's existence is private. */
export type StorageKeyAccess = "visible" | "not_found";

/**
 * Decides whether the viewer may read a stored image file (original, thumbnail, .dzi or tile): the key
 * must belong to an image row, and the viewer must be allowed to see one of the datasets holding it
 * (the same bytes may be shared by several datasets through the content hash).
 */
export async function resolveStorageKeyAccess(db: DbOrTx, viewer: Viewer, key: string): Promise<StorageKeyAccess> {
  const dzi = dziKeyForTile(key);
  const match = dzi ? eq(image.dziKey, dzi) : or(eq(image.storageKey, key), eq(image.thumbnailKey, key), eq(image.dziKey, key))!;
  const rows = await db
    .select({
      datasetId: image.datasetId,
      visible: viewer.isSystemAdmin
        ? sql<boolean>`true`
        : sql<boolean>`(${datasetVisibleTo(db, viewer, image.datasetId, dataset.institutionId)})`,
    })
    .from(image)
    .innerJoin(dataset, eq(dataset.id, image.datasetId))
    .where(match)
    .limit(50);
  if (rows.length === 0) return "not_found";
  return rows.some((r) => r.visible === true || (r.visible as unknown) === "t") ? "visible" : "not_found";
}
