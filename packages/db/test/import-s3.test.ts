import { createHash } from "node:crypto";
import { isNotNull } from "drizzle-orm";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { image } from "../src/schema";
import { seedDemo, type SeedDemoResult } from "../src/seed/seed-demo";
import { createS3Storage, type Storage } from "../src/storage";
import { demoFixtureDir } from "./fixtures/import-test-files";
import { startS3Server, type TestS3Server } from "./helpers/s3-server";
import { collect } from "./helpers/storage-contract";
import { createTestDb, type TestDb } from "./helpers/test-db";

describe("importing the demo fixture into S3 storage (PGlite + s3rver)", () => {
  let t: TestDb;
  let server: TestS3Server;
  let storage: Storage;
  let seeded: SeedDemoResult;

  beforeAll(async () => {
    [t, server] = await Promise.all([createTestDb("pglite"), startS3Server()]);
    storage = createS3Storage(server.storageConfig("demo/"));
    seeded = await seedDemo(t.db, storage, { fixtureDir: demoFixtureDir });
  }, 180_000);
  afterAll(async () => {
    await t?.close();
    await server?.close();
  });

  it("stores originals, thumbnails and pyramids as objects and reads them back", async () => {
    expect(seeded.pbc).toMatchObject({ imported: 40, rejected: [] });
    expect(seeded.bccd).toMatchObject({ imported: 4, rejected: [] });
    const rows = await t.db.select().from(image);
    expect(rows).toHaveLength(44);
    for (const row of rows) {
      const original = await storage.read(row.storageKey);
      expect(createHash("sha256").update(original).digest("hex")).toBe(row.sha256);
      const thumb = await sharp(await storage.read(row.thumbnailKey)).metadata();
      expect(thumb.format).toBe("webp");
      expect(Math.max(thumb.width, thumb.height)).toBeLessThanOrEqual(256);
    }

    const fields = await t.db.select().from(image).where(isNotNull(image.dziKey));
    expect(fields).toHaveLength(4);
    for (const field of fields) {
      const dzi = (await storage.read(field.dziKey!)).toString();
      expect(dzi).toContain(`Width="${field.width}"`);
      const tilePrefix = field.dziKey!.replace(/\.dzi$/, "_files/");
      const tiles = await collect(storage.list(tilePrefix));
      expect(tiles.length).toBeGreaterThan(1);
      // The deepest level's first tile is a real image at full resolution.
      const levels = tiles.map((k) => Number(k.slice(tilePrefix.length).split("/")[0]));
      const top = Math.max(...levels);
      const tile = await sharp(await storage.read(`${tilePrefix}${top}/0_0.jpeg`)).metadata();
      expect(tile.format).toBe("jpeg");
      expect(tile.width).toBeGreaterThan(0);
    }
  });

  it("re-importing finds every image already stored and writes no new objects", async () => {
    const before = await collect(storage.list(""));
    const again = await seedDemo(t.db, storage, { fixtureDir: demoFixtureDir });
    expect(again.pbc.imported).toBe(0);
    expect(again.bccd.imported).toBe(0);
    expect(await collect(storage.list(""))).toEqual(before);
    expect(before.filter((k) => k.startsWith("images/"))).toHaveLength(44);
    expect(before.filter((k) => k.startsWith("thumbs/"))).toHaveLength(44);
  });
});
