import { eq } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { image } from "../schema";
import type { Storage } from "../storage/storage";
import type { ImageKeys } from "../storage/storage-keys";
import type { DecodedImage } from "./decode-image";
import { createThumbnail, withDeepZoom } from "./derive-images";

/** What this import wrote, so a failed image can take exactly its own files back. */
export type CreatedFiles = { keys: string[]; prefixes: string[] };

/**
 * Stores the original, the thumbnail and (for fields) the Deep Zoom pyramid, skipping whatever
 * already exists: keys are content-addressed, so an existing key holds the same bytes. `created` is
 * filled as files land, so a failure half-way still reports what to remove.
 */
export async function storeImageFiles(
  storage: Storage,
  input: { keys: ImageKeys; bytes: Buffer; decoded: DecodedImage; withDeepZoom: boolean; sha256: string },
  created: CreatedFiles,
): Promise<void> {
  const { keys } = input;
  if (!(await storage.exists(keys.original))) {
    created.keys.push(keys.original);
    await storage.put(keys.original, input.bytes);
  }
  if (!(await storage.exists(keys.thumbnail))) {
    const thumbnail = await createThumbnail(input.decoded);
    created.keys.push(keys.thumbnail);
    await storage.put(keys.thumbnail, thumbnail);
  }
  // The .dzi goes last: its presence means the pyramid is complete (also on object stores).
  if (input.withDeepZoom && !(await storage.exists(keys.dzi))) {
    await withDeepZoom(input.decoded, input.sha256, async ({ dzi, tilesDir }) => {
      created.prefixes.push(keys.dzFiles);
      await storage.putDirectory(keys.dzFiles, tilesDir);
      created.keys.push(keys.dzi);
      await storage.putFile(keys.dzi, dzi);
    });
  }
}

/**
 * Removes files this import created for an image whose database write failed, except those another
 * image row (any dataset) references by now: the bytes are shared by content hash.
 */
export async function discardCreatedFiles(db: DbOrTx, storage: Storage, sha256: string, created: CreatedFiles): Promise<void> {
  if (created.keys.length === 0 && created.prefixes.length === 0) return;
  const rows = await db
    .select({ storageKey: image.storageKey, thumbnailKey: image.thumbnailKey, dziKey: image.dziKey })
    .from(image)
    .where(eq(image.sha256, sha256));
  const referenced = new Set(rows.flatMap((r) => [r.storageKey, r.thumbnailKey, r.dziKey]).filter((k) => k !== null));
  const dziReferenced = rows.some((r) => r.dziKey !== null);
  for (const key of created.keys) if (!referenced.has(key)) await storage.delete(key);
  if (!dziReferenced) for (const prefix of created.prefixes) await storage.deletePrefix(prefix);
}
