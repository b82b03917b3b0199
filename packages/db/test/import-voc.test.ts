import { and, asc, count, eq } from "drizzle-orm";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { importImages, type ImportResult } from "../src/import";
import { cell, cellClass, image, label, labelHistory } from "../src/schema";
import { createLocalStorage, type LocalStorage } from "../src/storage";
import { copyInto, demoFixtureDir, writeInto } from "./fixtures/import-test-files";
import { createTestDb, describeEachDb, type TestDb } from "./helpers/test-db";

const FIELDS = ["BloodImage_00000", "BloodImage_00003", "BloodImage_00004"];

function vocObject(name: string, xmin: number, ymin: number, xmax: number, ymax: number): string {
  return `<object><name>${name}</name><bndbox><xmin>${xmin}</xmin><ymin>${ymin}</ymin><xmax>${xmax}</xmax><ymax>${ymax}</ymax></bndbox></object>`;
}

describeEachDb("import: Pascal VOC fields (BCCD) with box cells and Deep Zoom pyramids", (kind) => {
  let t: TestDb;
  let tmp: string;
  let storage: LocalStorage;
  let vocDir: string;
  let result: ImportResult;
  const names: string[] = [];

  beforeAll(async () => {
    t = await createTestDb(kind);
    tmp = await mkdtemp(path.join(os.tmpdir(), "hemaloop-voc-"));
    storage = createLocalStorage(path.join(tmp, "storage"));
    vocDir = path.join(tmp, "bccd");
    for (const field of FIELDS) {
      let xml = await readFile(path.join(demoFixtureDir, "bccd", "Annotations", `${field}.xml`), "utf8");
      if (field === "BloodImage_00004") {
        // Planted: one box hanging over the edge (clipped), one degenerate, one entirely outside.
        xml = xml.replace(
          "</annotation>",
          `${vocObject("Platelets", 600, 400, 700, 520)}${vocObject("RBC", 50, 60, 50, 90)}${vocObject("RBC", 700, 10, 760, 40)}</annotation>`,
        );
      }
      for (const m of xml.matchAll(/<name>([^<]+)<\/name>/g)) names.push(m[1]!);
      await writeInto(path.join(vocDir, "Annotations", `${field}.xml`), xml);
      await copyInto(path.join(demoFixtureDir, "bccd", "JPEGImages", `${field}.jpg`), path.join(vocDir, "JPEGImages", `${field}.jpg`));
    }
    await writeInto(path.join(vocDir, "Annotations", "broken.xml"), "<annotation><filename>BloodImage_00000.jpg</filename><object>");
    result = await importImages(t.db, storage, {
      source: { kind: "voc", dir: vocDir },
      institution: "BCCD",
      dataset: "bccd-test",
      schemeKey: "pbc-8",
      maxImagePixels: 50_000_000,
    });
  });
  afterAll(async () => {
    await t?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it("creates one field image per XML and one box cell per valid object", async () => {
    const platelets = names.filter((n) => n === "Platelets").length;
    const others = names.filter((n) => n !== "Platelets").length;
    expect(result).toMatchObject({
      imported: 3,
      duplicates: 0,
      cells: names.length - 2,
      labels: platelets,
      unlabeledCells: others - 2,
      clippedBoxes: 1,
    });
    expect(result.rejected).toEqual([{ file: "Annotations/broken.xml", reason: expect.stringMatching(/^malformed XML: /) }]);
    expect(result.rejectedBoxes).toEqual([
      {
        file: "Annotations/BloodImage_00004.xml",
        reason: expect.stringMatching(/^object \d+ "RBC": degenerate box \(xmin=50 ymin=60 xmax=50 ymax=90\)$/),
      },
      { file: "Annotations/BloodImage_00004.xml", reason: expect.stringMatching(/^object \d+ "RBC": box lies outside the 640x480 image/) },
    ]);
    const images = await t.db.select().from(image).where(eq(image.datasetId, result.datasetId));
    expect(images.map((i) => i.originalName).sort()).toEqual(FIELDS.map((f) => `JPEGImages/${f}.jpg`));
    for (const img of images) expect(img).toMatchObject({ kind: "field", width: 640, height: 480 });
  });

  it("keeps VOC coordinates (x = xmin, width = xmax - xmin), clips boxes to the image", async () => {
    const boxes = await t.db
      .select({
        x: cell.x,
        y: cell.y,
        width: cell.width,
        height: cell.height,
        sourceLabel: cell.sourceLabel,
        geometry: cell.geometry,
        classKey: cellClass.key,
      })
      .from(cell)
      .innerJoin(image, eq(image.id, cell.imageId))
      .leftJoin(label, eq(label.cellId, cell.id))
      .leftJoin(cellClass, eq(cellClass.id, label.classId))
      .where(eq(image.originalName, "JPEGImages/BloodImage_00000.jpg"))
      .orderBy(asc(cell.x), asc(cell.y));
    expect(boxes).toHaveLength(20);
    // BloodImage_00000.xml: <name>WBC</name> xmin 260 ymin 177 xmax 491 ymax 376
    expect(boxes).toContainEqual({ x: 260, y: 177, width: 231, height: 199, sourceLabel: "WBC", geometry: "box", classKey: null });
    // RBC 555,356 -> 640,455 touches the right edge: kept as is.
    expect(boxes).toContainEqual({ x: 555, y: 356, width: 85, height: 99, sourceLabel: "RBC", geometry: "box", classKey: null });

    const clipped = await t.db
      .select({ x: cell.x, y: cell.y, width: cell.width, height: cell.height, classKey: cellClass.key })
      .from(cell)
      .innerJoin(label, eq(label.cellId, cell.id))
      .innerJoin(cellClass, eq(cellClass.id, label.classId))
      .where(and(eq(cell.x, 600), eq(cell.y, 400)));
    expect(clipped).toEqual([{ x: 600, y: 400, width: 40, height: 80, classKey: "platelet" }]);
  });

  it("labels Platelets boxes as platelet (plural stripped) with history, and leaves WBC/RBC unlabeled", async () => {
    const labelled = await t.db
      .select({ sourceLabel: cell.sourceLabel, classKey: cellClass.key, source: label.source, readerId: label.readerId })
      .from(label)
      .innerJoin(cell, eq(cell.id, label.cellId))
      .innerJoin(cellClass, eq(cellClass.id, label.classId));
    expect(labelled.length).toBe(result.labels);
    expect(new Set(labelled.map((l) => `${l.sourceLabel}->${l.classKey}:${l.source}:${l.readerId}`))).toEqual(
      new Set(["Platelets->platelet:imported:null"]),
    );
    expect((await t.db.select({ n: count() }).from(labelHistory))[0]!.n).toBe(result.labels);
  });

  it("stores a Deep Zoom pyramid (.dzi + jpeg tiles) and a thumbnail per field", async () => {
    const images = await t.db.select().from(image).where(eq(image.datasetId, result.datasetId));
    for (const img of images) {
      expect(img.dziKey).toBe(`dz/${img.sha256.slice(0, 2)}/${img.sha256}.dzi`);
      const dzi = (await storage.read(img.dziKey!)).toString();
      expect(dzi).toContain('Format="jpeg"');
      expect(dzi).toMatch(/Height="480"/);
      expect(dzi).toMatch(/Width="640"/);
      const tiles: string[] = [];
      for await (const key of storage.list(`dz/${img.sha256.slice(0, 2)}/${img.sha256}_files/`)) tiles.push(key);
      // 640x480 -> levels 0..10; the top level holds 3x2 tiles of 254 px.
      expect(tiles.filter((k) => k.endsWith(".jpeg")).length).toBeGreaterThanOrEqual(11);
      expect(tiles.some((k) => k.endsWith("_files/10/2_1.jpeg"))).toBe(true);
      expect(tiles.some((k) => k.endsWith("vips-properties.xml"))).toBe(false);
      expect(await storage.exists(img.thumbnailKey)).toBe(true);
    }
  });

  it("re-importing adds nothing", async () => {
    const again = await importImages(t.db, storage, {
      source: { kind: "voc", dir: vocDir },
      institution: "BCCD",
      dataset: "bccd-test",
      schemeKey: "pbc-8",
      maxImagePixels: 50_000_000,
    });
    expect(again).toMatchObject({ imported: 0, duplicates: 3, cells: 0 });
    expect(again.rejected).toHaveLength(1);
    expect((await t.db.select({ n: count() }).from(cell))[0]!.n).toBe(result.cells);
  });
});
