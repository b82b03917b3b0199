import { and, count, eq, isNull } from "drizzle-orm";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { buffer as readAll } from "node:stream/consumers";
import { afterAll, beforeAll, expect, it } from "vitest";
import { collectExportCells, createCocoStream, createManifestZip, createVocZip, startExport } from "../src/export";
import { cropImageWithSharp } from "../src/export/crop-image-sharp";
import { importImages } from "../src/import";
import { saveLabel } from "../src/queries/labels";
import { getSchemeByKey } from "../src/queries/schemes";
import { auditEvent, cell, cellClass, image, label } from "../src/schema";
import { seedDemo, type SeedDemoResult } from "../src/seed/seed-demo";
import { createLocalStorage, type LocalStorage } from "../src/storage";
import { demoFixtureDir } from "./fixtures/import-test-files";
import { createTestDb, describeEachDb, type TestDb } from "./helpers/test-db";
import { extractZip, readZip } from "./helpers/unzip";

type Coco = {
  categories: Array<{ id: number; name: string }>;
  images: Array<{ id: number; file_name: string; width: number; height: number; hemaloop_image_id: string }>;
  annotations: Array<{ id: number; image_id: number; category_id: number; bbox: number[]; hemaloop_cell_id: string }>;
};

describeEachDb("export: COCO, Pascal VOC and CSV manifest of the demo project", (kind) => {
  let t: TestDb;
  let tmp: string;
  let storage: LocalStorage;
  let demo: SeedDemoResult;
  const scope = () => ({ projectId: demo.projectId });

  /** Ground-truth labels of one dataset per class key (what a re-import must reproduce). */
  async function importedCountsByClass(datasetId: string): Promise<Record<string, number>> {
    const rows = await t.db
      .select({ key: cellClass.key, n: count() })
      .from(label)
      .innerJoin(cellClass, eq(label.classId, cellClass.id))
      .innerJoin(cell, eq(label.cellId, cell.id))
      .innerJoin(image, eq(cell.imageId, image.id))
      .where(and(eq(image.datasetId, datasetId), isNull(label.readerId)))
      .groupBy(cellClass.key);
    return Object.fromEntries(rows.map((r) => [r.key, r.n]));
  }

  function tally(keys: string[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const k of keys) out[k] = (out[k] ?? 0) + 1;
    return out;
  }

  function sumCounts(...all: Array<Record<string, number>>): Record<string, number> {
    const out: Record<string, number> = {};
    for (const counts of all) for (const [k, n] of Object.entries(counts)) out[k] = (out[k] ?? 0) + n;
    return out;
  }

  beforeAll(async () => {
    t = await createTestDb(kind);
    tmp = await mkdtemp(path.join(os.tmpdir(), "hemaloop-export-"));
    storage = createLocalStorage(path.join(tmp, "storage"));
    demo = await seedDemo(t.db, storage, { fixtureDir: demoFixtureDir });
  });
  afterAll(async () => {
    await t?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it("collects the imported ground truth of every project dataset; unlabelled boxes are left out and counted", async () => {
    const data = await collectExportCells(t.db, { scope: scope(), labels: { kind: "imported" } });
    const expected = sumCounts(await importedCountsByClass(demo.pbc.datasetId), await importedCountsByClass(demo.bccd.datasetId));
    expect(tally(data.cells.map((c) => c.classKey))).toEqual(expected);
    expect(data.cells).toHaveLength(demo.pbc.labels + demo.bccd.labels);
    expect(data.leftOut).toEqual({ unmapped: 0, unlabeled: demo.bccd.unlabeledCells });
    expect(data.scheme.key).toBe("pbc-8");
    // Crops export as whole-image boxes.
    const crop = data.cells.find((c) => c.geometry === "whole")!;
    const cropImage = data.images.find((i) => i.imageId === crop.imageId)!;
    expect(crop.box).toEqual({ x: 0, y: 0, width: cropImage.width, height: cropImage.height });
  });

  it("COCO: images, categories and annotations match the database", async () => {
    const data = await collectExportCells(t.db, { scope: scope(), labels: { kind: "imported" } });
    const coco = JSON.parse((await readAll(createCocoStream(data))).toString("utf8")) as Coco;
    expect(coco.categories.map((c) => c.name)).toEqual(data.scheme.classes.map((c) => c.key));
    const labelledImages = await t.db
      .selectDistinct({ id: image.id })
      .from(label)
      .innerJoin(cell, eq(label.cellId, cell.id))
      .innerJoin(image, eq(cell.imageId, image.id));
    expect(coco.images.map((i) => i.hemaloop_image_id).sort()).toEqual(labelledImages.map((i) => i.id).sort());
    expect(coco.annotations).toHaveLength(data.cells.length);
    const categoryName = new Map(coco.categories.map((c) => [c.id, c.name]));
    expect(tally(coco.annotations.map((a) => categoryName.get(a.category_id)!))).toEqual(tally(data.cells.map((c) => c.classKey)));

    const boxes = await t.db.select().from(cell).where(eq(cell.geometry, "box"));
    const imagesById = new Map(coco.images.map((i) => [i.id, i]));
    for (const a of coco.annotations) {
      const stored = boxes.find((b) => b.id === a.hemaloop_cell_id);
      const img = imagesById.get(a.image_id)!;
      if (stored) expect(a.bbox).toEqual([stored.x, stored.y, stored.width, stored.height]);
      else expect(a.bbox).toEqual([0, 0, img.width, img.height]);
    }
    const dbImages = await t.db.select().from(image);
    for (const img of coco.images) {
      const row = dbImages.find((r) => r.id === img.hemaloop_image_id)!;
      expect([img.width, img.height]).toEqual([row.width, row.height]);
    }
  });

  it("Pascal VOC zip round trip: re-importing gives the same cells and labels per class", async () => {
    const data = await collectExportCells(t.db, { scope: scope(), labels: { kind: "imported" } });
    const dir = path.join(tmp, "voc");
    const names = await extractZip(await readAll(createVocZip(data, storage)), dir);
    expect(names.filter((n) => n.startsWith("Annotations/"))).toHaveLength(data.images.length);
    expect(names.filter((n) => n.startsWith("JPEGImages/"))).toHaveLength(data.images.length);

    const result = await importImages(t.db, storage, {
      source: { kind: "voc", dir },
      institution: "Round trip",
      dataset: `voc-${kind}`,
      schemeKey: "pbc-8",
      maxImagePixels: 50_000_000,
    });
    expect(result).toMatchObject({
      imported: data.images.length,
      rejected: [],
      rejectedBoxes: [],
      cells: data.cells.length,
      unlabeledCells: 0,
    });
    expect(await importedCountsByClass(result.datasetId)).toEqual(tally(data.cells.map((c) => c.classKey)));
    // Same bytes: the originals are stored once, content-addressed, and shared with the re-import.
    const reimported = await t.db.select({ sha: image.sha256 }).from(image).where(eq(image.datasetId, result.datasetId));
    const originals = await t.db.select({ sha: image.sha256, id: image.id }).from(image);
    const exportedShas = new Set(originals.filter((o) => data.images.some((i) => i.imageId === o.id)).map((o) => o.sha));
    expect(new Set(reimported.map((r) => r.sha))).toEqual(exportedShas);
  });

  it("CSV manifest zip round trip: one crop per cell, re-imported with the same labels per class", async () => {
    const data = await collectExportCells(t.db, { scope: scope(), labels: { kind: "imported" } });
    const dir = path.join(tmp, "csv");
    const names = await extractZip(await readAll(createManifestZip(data, storage, cropImageWithSharp)), dir);
    expect(names.filter((n) => n.startsWith("images/"))).toHaveLength(data.cells.length);
    const result = await importImages(t.db, storage, {
      source: { kind: "manifest", file: path.join(dir, "manifest.csv") },
      institution: "Round trip",
      dataset: `csv-${kind}`,
      schemeKey: "pbc-8",
      maxImagePixels: 50_000_000,
    });
    expect(result).toMatchObject({ imported: data.cells.length, duplicates: 0, rejected: [], labels: data.cells.length });
    expect(await importedCountsByClass(result.datasetId)).toEqual(tally(data.cells.map((c) => c.classKey)));
    // A BCCD platelet box comes back as a crop of exactly the box's size.
    const platelet = data.cells.find((c) => c.geometry === "box")!;
    const [crop] = await t.db
      .select()
      .from(image)
      .where(and(eq(image.datasetId, result.datasetId), eq(image.originalName, `images/${platelet.cellId}.png`)));
    expect(crop).toMatchObject({ width: Math.ceil(platelet.box.x + platelet.box.width) - Math.floor(platelet.box.x) });
  });

  it("maps pbc-8 to wbc-5: classes without a counterpart are left out and counted", async () => {
    const data = await collectExportCells(t.db, { scope: scope(), labels: { kind: "imported" }, schemeKey: "wbc-5" });
    const gt = sumCounts(await importedCountsByClass(demo.pbc.datasetId), await importedCountsByClass(demo.bccd.datasetId));
    const dropped = ["erythroblast", "ig", "platelet"].reduce((n, k) => n + (gt[k] ?? 0), 0);
    expect(dropped).toBeGreaterThan(0);
    expect(data.scheme.key).toBe("wbc-5");
    expect(data.leftOut.unmapped).toBe(dropped);
    expect(tally(data.cells.map((c) => c.classKey))).toEqual({
      basophil: gt.basophil,
      eosinophil: gt.eosinophil,
      lymphocyte: gt.lymphocyte,
      monocyte: gt.monocyte,
      neutrophil: gt.neutrophil,
    });
    const coco = JSON.parse((await readAll(createCocoStream(data))).toString("utf8")) as Coco;
    expect(coco.categories.map((c) => c.name)).toEqual(["neutrophil", "lymphocyte", "monocyte", "eosinophil", "basophil"]);
  });

  it("label choice: one reader's labels, adjudicated only, consensus, imported", async () => {
    const pbc8 = await getSchemeByKey(t.db, "pbc-8");
    const classId = (key: string) => pbc8.classes.find((c) => c.key === key)!.id;
    const data = await collectExportCells(t.db, { scope: scope(), labels: { kind: "imported" } });
    const [a, b, c] = data.cells.filter((x) => x.classKey === "neutrophil");
    const reader = demo.users.annotator.id;
    for (const target of [a!, b!]) {
      await saveLabel(t.db, {
        cellId: target.cellId,
        classId: classId("monocyte"),
        readerId: reader,
        source: "human",
        expectedVersion: null,
        actorId: reader,
      });
    }
    await saveLabel(t.db, {
      cellId: c!.cellId,
      classId: classId("basophil"),
      readerId: demo.users.lead.id,
      source: "adjudicated",
      expectedVersion: null,
      actorId: demo.users.lead.id,
    });

    const byReader = await collectExportCells(t.db, { scope: scope(), labels: { kind: "reader", readerId: reader } });
    expect(byReader.cells.map((x) => [x.cellId, x.classKey]).sort()).toEqual(
      [
        [a!.cellId, "monocyte"],
        [b!.cellId, "monocyte"],
      ].sort(),
    );
    expect(byReader.leftOut.unlabeled).toBe(data.cells.length + data.leftOut.unlabeled - 2);

    const adjudicated = await collectExportCells(t.db, { scope: scope(), labels: { kind: "adjudicated" } });
    expect(adjudicated.cells.map((x) => [x.cellId, x.classKey])).toEqual([[c!.cellId, "basophil"]]);

    const consensus = await collectExportCells(t.db, { scope: scope(), labels: { kind: "consensus" } });
    const consensusClass = new Map(consensus.cells.map((x) => [x.cellId, x.classKey]));
    expect([consensusClass.get(a!.cellId), consensusClass.get(b!.cellId), consensusClass.get(c!.cellId)]).toEqual([
      "monocyte",
      "monocyte",
      "basophil",
    ]);
    expect(consensus.cells).toHaveLength(data.cells.length);

    const imported = await collectExportCells(t.db, { scope: scope(), labels: { kind: "imported" } });
    expect(imported.cells.find((x) => x.cellId === a!.cellId)?.classKey).toBe("neutrophil");

    const oneDataset = await collectExportCells(t.db, { scope: { datasetId: demo.bccd.datasetId }, labels: { kind: "imported" } });
    expect(oneDataset.cells).toHaveLength(demo.bccd.labels);
  });

  it("startExport records who exported what with which filters, and counts what it left out", async () => {
    const started = await startExport(t.db, storage, {
      scope: scope(),
      labels: { kind: "imported" },
      schemeKey: "wbc-5",
      format: "voc",
      actorId: demo.users.lead.id,
    });
    expect(started.contentType).toBe("application/zip");
    const files = await readZip(await readAll(started.stream));
    expect([...files.keys()].filter((n) => n.endsWith(".xml"))).toHaveLength(started.counts.images);
    const [event] = await t.db.select().from(auditEvent).where(eq(auditEvent.action, "export.create"));
    expect(event).toMatchObject({
      actorId: demo.users.lead.id,
      entityType: "project",
      entityId: demo.projectId,
      after: { format: "voc", labels: { kind: "imported" }, scheme: "wbc-5", counts: started.counts },
    });
    expect(started.counts.leftOut.unmapped).toBeGreaterThan(0);
  });

  it("a CSV export without a cropper (the web app may not load sharp) leaves field boxes out and counts them", async () => {
    const started = await startExport(t.db, storage, { scope: scope(), labels: { kind: "imported" }, format: "csv", actorId: null });
    const files = await readZip(await readAll(started.stream));
    const rows = files.get("manifest.csv")!.toString("utf8").trim().split("\n").slice(1);
    expect(rows).toHaveLength(demo.pbc.labels);
    expect(started.counts).toMatchObject({ cells: demo.pbc.labels, leftOut: { noBox: demo.bccd.labels } });
  });

  it("a missing original fails the zip stream instead of producing a truncated archive", async () => {
    const data = await collectExportCells(t.db, { scope: { datasetId: demo.pbc.datasetId }, labels: { kind: "imported" } });
    const broken = { ...data, images: data.images.map((img, i) => (i === 0 ? { ...img, storageKey: "images/00/missing.jpg" } : img)) };
    await expect(readAll(createVocZip(broken, storage))).rejects.toThrow();
  });
});
