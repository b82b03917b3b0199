import { randomUUID } from "node:crypto";
import type { Db } from "../client";
import { cell, image, label, labelHistory } from "../schema";

export type NewCell = {
  geometry: "whole" | "box";
  x: number | null;
  y: number | null;
  width: number | null;
  height: number | null;
  sourceLabel: string | null;
  /** null = keep the cell unlabeled. */
  classId: string | null;
};

export type NewImage = typeof image.$inferInsert & { datasetId: string; sha256: string };

export type ImageRowsInput = { image: NewImage; cells: NewCell[] };

/** Rows per multi-row INSERT, far below PostgreSQL's 65,535 bind parameters. */
const CHUNK = 500;

/**
 * Inserts images, their cells and their imported labels (each with its first label_history row, as
 * saveLabel would write it) in ONE transaction: all of the batch or none of it. Per input, returns
 * null when its dataset already has an image with that hash (another writer won the race): nothing
 * is written for it then.
 */
export async function insertImageRows(
  db: Db,
  items: ImageRowsInput[],
  context: { schemeId: string; actorId: string | null },
): Promise<Array<{ imageId: string; labels: number } | null>> {
  if (items.length === 0) return [];
  return db.transaction(async (tx) => {
    const inserted = await tx
      .insert(image)
      .values(items.map((i) => i.image))
      .onConflictDoNothing({ target: [image.datasetId, image.sha256] })
      .returning({ id: image.id, datasetId: image.datasetId, sha256: image.sha256 });
    const idOf = new Map(inserted.map((r) => [`${r.datasetId}/${r.sha256}`, r.id]));

    // Ids are made here so that labels can point at cells without relying on RETURNING order.
    const cells: Array<typeof cell.$inferInsert & { id: string }> = [];
    const labels: Array<{ id: string; cellId: string; classId: string }> = [];
    const results = items.map((item) => {
      const imageId = idOf.get(`${item.image.datasetId}/${item.image.sha256}`);
      if (!imageId) return null;
      let labelCount = 0;
      for (const c of item.cells) {
        const cellId = randomUUID();
        cells.push({
          id: cellId,
          imageId,
          geometry: c.geometry,
          x: c.x,
          y: c.y,
          width: c.width,
          height: c.height,
          sourceLabel: c.sourceLabel,
          createdBy: context.actorId,
        });
        if (c.classId !== null) {
          labels.push({ id: randomUUID(), cellId, classId: c.classId });
          labelCount++;
        }
      }
      return { imageId, labels: labelCount };
    });

    for (const part of chunk(cells)) await tx.insert(cell).values(part);
    for (const part of chunk(labels)) {
      await tx.insert(label).values(
        part.map((l) => ({
          id: l.id,
          cellId: l.cellId,
          schemeId: context.schemeId,
          classId: l.classId,
          readerId: null,
          source: "imported" as const,
          version: 1,
        })),
      );
      await tx.insert(labelHistory).values(
        part.map((l) => ({
          labelId: l.id,
          cellId: l.cellId,
          readerId: null,
          version: 1,
          classId: l.classId,
          previousClassId: null,
          source: "imported" as const,
          actorId: context.actorId,
        })),
      );
    }
    return results;
  });
}

function chunk<T>(items: T[]): T[][] {
  const parts: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) parts.push(items.slice(i, i + CHUNK));
  return parts;
}
