import type { Db } from "../../src/client";
import { ensureDataset, ensureInstitution } from "../../src/queries/datasets";
import { getSchemeByKey } from "../../src/queries/schemes";
import { ensureUser } from "../../src/queries/users";
import { cell, image } from "../../src/schema";

/** A dataset with `n` crop cells (fake storage keys: these tests never read bytes). */
export async function createCells(db: Db, n: number, tag = "t") {
  const inst = await ensureInstitution(db, `inst-${tag}`);
  const ds = await ensureDataset(db, { institutionId: inst.id, name: `ds-${tag}`, schemeKey: "pbc-8" });
  const scheme = await getSchemeByKey(db, "pbc-8");
  const cellIds: string[] = [];
  for (let i = 0; i < n; i++) {
    // Zero-padded index: `${tag}1` and `${tag}10` padded with zeros would collide.
    const sha = `${tag}${String(i).padStart(5, "0")}`.padEnd(64, "0");
    const [img] = await db
      .insert(image)
      .values({
        datasetId: ds.id,
        sha256: sha,
        kind: "crop",
        originalName: `${i}.jpg`,
        format: "jpeg",
        width: 10,
        height: 10,
        byteSize: 100,
        storageKey: `images/${sha}.jpg`,
        thumbnailKey: `thumbs/${sha}.webp`,
      })
      .returning();
    const [c] = await db.insert(cell).values({ imageId: img!.id, geometry: "whole" }).returning();
    cellIds.push(c!.id);
  }
  const alice = await ensureUser(db, { email: `alice-${tag}@x.org`, name: "Alice", password: "pw-alice" });
  const bob = await ensureUser(db, { email: `bob-${tag}@x.org`, name: "Bob", password: "pw-bob" });
  const classId = (key: string) => scheme.classes.find((c) => c.key === key)!.id;
  return { dataset: ds, scheme, cellIds, alice, bob, classId };
}
