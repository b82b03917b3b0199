import { and, count, eq, inArray } from "drizzle-orm";
import { mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, expect, it } from "vitest";
import { importImages, ImportSetupError, type ImportOptions, type ImportResult } from "../src/import";
import { cell, cellClass, dataset, image, label, labelHistory } from "../src/schema";
import { createLocalStorage, type LocalStorage } from "../src/storage";
import { copyInto, hashesInStorage, listFiles, pbcCrop, sha256Of, writeInto } from "./fixtures/import-test-files";
import { createTestDb, describeEachDb, type TestDb } from "./helpers/test-db";

const MAX_PIXELS = 200_000; // the 360x363 PBC crops pass, the planted 600x600 PNG does not

describeEachDb("import: folder and manifest sources with planted bad files", (kind) => {
  let t: TestDb;
  let tmp: string;
  let storage: LocalStorage;
  let srcDir: string;
  let manifestDir: string;
  let outsideFile: string;
  const badHashes: string[] = [];
  let first: ImportResult;

  const run = (extra: Partial<ImportOptions> & Pick<ImportOptions, "source">) =>
    importImages(t.db, storage, {
      institution: "Test Hospital",
      dataset: "folder-set",
      schemeKey: "pbc-8",
      maxImagePixels: MAX_PIXELS,
      concurrency: 3,
      ...extra,
    });

  beforeAll(async () => {
    t = await createTestDb(kind);
    tmp = await mkdtemp(path.join(os.tmpdir(), "hemaloop-import-"));
    storage = createLocalStorage(path.join(tmp, "storage"));
    srcDir = path.join(tmp, "src");

    // Good files: real crops; folder names matched case-insensitively and in the plural.
    await copyInto(await pbcCrop("basophil", 0), path.join(srcDir, "basophil", "BA_a.jpg"));
    await copyInto(await pbcCrop("basophil", 1), path.join(srcDir, "basophil", "BA_b.jpg"));
    await copyInto(await pbcCrop("neutrophil", 0), path.join(srcDir, "Neutrophil", "SNE_a.jpg"));
    await copyInto(await pbcCrop("neutrophil", 1), path.join(srcDir, "Neutrophil", "nested", "SNE_b.jpg"));
    await copyInto(await pbcCrop("platelet", 0), path.join(srcDir, "platelets", "PLT_a.jpg"));

    // Bad files, each for one reason.
    const real = await readFile(await pbcCrop("eosinophil", 0));
    badHashes.push(
      await sha256Of(await writeInto(path.join(srcDir, "basophil", "truncated.jpg"), real.subarray(0, Math.floor(real.length * 0.6)))),
    );
    badHashes.push(await sha256Of(await writeInto(path.join(srcDir, "basophil", "notes.jpg"), "these are my notes, not a JPEG\n")));
    await writeInto(path.join(srcDir, "basophil", "empty.jpg"), "");
    const bigPng = await sharp(await pbcCrop("eosinophil", 1))
      .resize(600, 600, { fit: "fill" })
      .png()
      .toBuffer();
    badHashes.push(await sha256Of(await writeInto(path.join(srcDir, "eosinophil", "huge.png"), bigPng)));
    badHashes.push(await sha256Of(await copyInto(await pbcCrop("monocyte", 0), path.join(srcDir, "blasts", "BL_1.jpg"))));
    outsideFile = await copyInto(await pbcCrop("lymphocyte", 0), path.join(tmp, "outside", "secret.jpg"));
    badHashes.push(await sha256Of(outsideFile));
    await symlink(outsideFile, path.join(srcDir, "basophil", "escape.jpg"));
    badHashes.push(await sha256Of(await copyInto(await pbcCrop("monocyte", 1), path.join(srcDir, "stray.jpg"))));

    first = await run({ source: { kind: "dir", dir: srcDir } });
  });
  afterAll(async () => {
    await t?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it("imports the good files and rejects each bad one with its reason", () => {
    expect(first.imported).toBe(5);
    expect(first.duplicates).toBe(0);
    expect(first.cells).toBe(5);
    expect(first.labels).toBe(5);
    expect(first.unlabeledCells).toBe(0);
    const reasons = Object.fromEntries(first.rejected.map((r) => [r.file, r.reason]));
    expect(Object.keys(reasons).sort()).toEqual([
      "basophil/empty.jpg",
      "basophil/escape.jpg",
      "basophil/notes.jpg",
      "basophil/truncated.jpg",
      "blasts/BL_1.jpg",
      "eosinophil/huge.png",
      "stray.jpg",
    ]);
    expect(reasons["basophil/empty.jpg"]).toBe("empty file");
    expect(reasons["basophil/escape.jpg"]).toBe('path "basophil/escape.jpg" resolves outside the import folder (symlink)');
    expect(reasons["basophil/notes.jpg"]).toBe("not an image (unrecognised file format)");
    // The libvips message ("premature end of JPEG image") is usual but not guaranteed under concurrency.
    expect(reasons["basophil/truncated.jpg"]).toMatch(/^corrupt or truncated image \(/);
    expect(reasons["blasts/BL_1.jpg"]).toBe('label "blasts" is not in scheme pbc-8');
    expect(reasons["eosinophil/huge.png"]).toBe("image is 600x600 = 360,000 pixels, over the pixel limit of 200,000");
    expect(reasons["stray.jpg"]).toMatch(/not inside a class folder/);
  });

  it("writes image, cell, label and label-history rows for the good files only", async () => {
    const rows = await t.db
      .select({
        name: image.originalName,
        kind: image.kind,
        geometry: cell.geometry,
        classKey: cellClass.key,
        source: label.source,
        readerId: label.readerId,
        sourceLabel: cell.sourceLabel,
        width: image.width,
      })
      .from(image)
      .innerJoin(cell, eq(cell.imageId, image.id))
      .innerJoin(label, eq(label.cellId, cell.id))
      .innerJoin(cellClass, eq(cellClass.id, label.classId))
      .where(eq(image.datasetId, first.datasetId))
      .orderBy(image.originalName);
    expect(rows.map((r) => [r.name, r.classKey]).sort((a, b) => a[0]!.localeCompare(b[0]!))).toEqual(
      [
        ["basophil/BA_a.jpg", "basophil"],
        ["basophil/BA_b.jpg", "basophil"],
        ["Neutrophil/nested/SNE_b.jpg", "neutrophil"],
        ["Neutrophil/SNE_a.jpg", "neutrophil"],
        ["platelets/PLT_a.jpg", "platelet"],
      ].sort((a, b) => a[0]!.localeCompare(b[0]!)),
    );
    for (const r of rows) {
      expect(r).toMatchObject({ kind: "crop", geometry: "whole", source: "imported", readerId: null, width: 360 });
    }
    expect(rows.find((r) => r.name === "platelets/PLT_a.jpg")?.sourceLabel).toBe("platelets");

    const labelIds = (await t.db.select({ id: label.id }).from(label)).map((l) => l.id);
    const history = await t.db.select().from(labelHistory).where(inArray(labelHistory.labelId, labelIds));
    expect(history).toHaveLength(5);
    expect(history.every((h) => h.version === 1 && h.source === "imported" && h.previousClassId === null)).toBe(true);
    expect((await t.db.select({ n: count() }).from(image))[0]!.n).toBe(5);
    expect((await t.db.select({ n: count() }).from(cell))[0]!.n).toBe(5);
  });

  it("stores an original and a <=256 px WebP thumbnail per good image and nothing for rejected files", async () => {
    const files = await listFiles(storage.rootDir);
    const images = await t.db.select().from(image);
    expect(files).toHaveLength(10);
    expect(hashesInStorage(files)).toEqual(new Set(images.map((i) => i.sha256)));
    for (const bad of badHashes) expect(files.some((f) => f.includes(bad))).toBe(false);
    for (const row of images) {
      expect(row.storageKey).toBe(`images/${row.sha256.slice(0, 2)}/${row.sha256}.jpg`);
      expect(await sha256Of(storage.resolvePath(row.storageKey))).toBe(row.sha256);
      const thumb = await sharp(storage.resolvePath(row.thumbnailKey)).metadata();
      expect(thumb.format).toBe("webp");
      expect(Math.max(thumb.width, thumb.height)).toBeLessThanOrEqual(256);
      expect(row.dziKey).toBeNull();
    }
  });

  it("re-importing adds nothing and counts duplicates", async () => {
    const again = await run({ source: { kind: "dir", dir: srcDir } });
    expect(again).toMatchObject({ imported: 0, duplicates: 5, cells: 0 });
    // Same names again: routine, not listed as a content duplicate.
    expect(again.sameContent).toEqual([]);
    expect(again.rejected).toHaveLength(7);
    expect((await t.db.select({ n: count() }).from(image))[0]!.n).toBe(5);
    expect((await t.db.select({ n: count() }).from(labelHistory))[0]!.n).toBe(5);
    expect(await listFiles(storage.rootDir)).toHaveLength(10);
  });

  it("imports a manifest: escaping paths, malformed rows and symlinks rejected by file and manifest line, the rest imported", async () => {
    manifestDir = path.join(tmp, "manifest");
    await copyInto(await pbcCrop("lymphocyte", 1), path.join(manifestDir, "good", "a.jpg"));
    await copyInto(await pbcCrop("lymphocyte", 2), path.join(manifestDir, "good", "b.jpg"));
    await copyInto(await pbcCrop("lymphocyte", 3), path.join(manifestDir, "good", "c.jpg"));
    await copyInto(await pbcCrop("monocyte", 2), path.join(manifestDir, "good", "d.jpg"));
    await copyInto(await pbcCrop("monocyte", 3), path.join(manifestDir, "good", "e.jpg"));
    await copyInto(await pbcCrop("ig", 0), path.join(tmp, "outside.jpg"));
    await symlink(outsideFile, path.join(manifestDir, "link.jpg"));
    const lines = [
      "file,label,patient,smear,notes",
      "good/a.jpg,lymphocyte,P1,S1,first",
      "../outside.jpg,lymphocyte,,,",
      `${outsideFile},monocyte,,,`,
      "good/b.jpg,monocyte",
      '"good/c.jpg,lymphocyte,P2,S2,x',
      ",lymphocyte,,,",
      "good/d.jpg,,,,",
      "link.jpg,lymphocyte,,,",
      'good/e.jpg,Monocyte,P3,S3,"quoted, with a comma"',
      "good/missing.jpg,monocyte,,,",
      "good/b.jpg,myeloblast,,,",
      "",
    ];
    const manifest = await writeInto(path.join(manifestDir, "manifest.csv"), lines.join("\r\n"));
    const result = await run({ dataset: "manifest-set", source: { kind: "manifest", file: manifest } });

    expect(result.imported).toBe(2);
    const reasons = result.rejected.map((r) => `${r.file} | ${r.reason}`).sort();
    expect(reasons).toEqual(
      [
        '../outside.jpg | manifest.csv line 3: path "../outside.jpg" escapes the manifest\'s folder',
        `${outsideFile} | manifest.csv line 4: absolute path "${outsideFile}" is not allowed: paths must be relative to the manifest's folder`,
        "good/b.jpg | manifest.csv line 5: malformed CSV row: expected 5 columns, found 2",
        "manifest.csv:6 | manifest.csv line 6: malformed CSV row (Quote Not Closed: the parsing is finished with an opening quote)",
        "manifest.csv:7 | manifest.csv line 7: malformed CSV row: empty file",
        "good/d.jpg | manifest.csv line 8: malformed CSV row: empty label",
        'link.jpg | manifest.csv line 9: path "link.jpg" resolves outside the manifest\'s folder (symlink)',
        "good/missing.jpg | manifest.csv line 11: file not found",
        'good/b.jpg | manifest.csv line 12: label "myeloblast" is not in scheme pbc-8',
      ].sort(),
    );

    const rows = await t.db
      .select({ name: image.originalName, patient: image.patient, smear: image.smear, key: cellClass.key })
      .from(image)
      .innerJoin(cell, eq(cell.imageId, image.id))
      .innerJoin(label, eq(label.cellId, cell.id))
      .innerJoin(cellClass, eq(cellClass.id, label.classId))
      .where(eq(image.datasetId, result.datasetId));
    expect(rows.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: "good/a.jpg", patient: "P1", smear: "S1", key: "lymphocyte" },
      { name: "good/e.jpg", patient: "P3", smear: "S3", key: "monocyte" },
    ]);
    // Rejected rows pointed at real files; none of them reached storage.
    const stored = hashesInStorage(await listFiles(storage.rootDir));
    for (const f of ["good/b.jpg", "good/c.jpg", "good/d.jpg"]) expect(stored.has(await sha256Of(path.join(manifestDir, f)))).toBe(false);
    expect(stored.has(await sha256Of(path.join(tmp, "outside.jpg")))).toBe(false);
    expect(stored.has(await sha256Of(outsideFile))).toBe(false);
  });

  it("fails a manifest without the required columns before writing anything", async () => {
    const bad = await writeInto(path.join(tmp, "bad-header", "manifest.csv"), "path,class\na.jpg,basophil\n");
    const attempt = run({ institution: "Never Created", dataset: "never", source: { kind: "manifest", file: bad } });
    await expect(attempt).rejects.toThrow(ImportSetupError);
    await expect(attempt).rejects.toThrow(/missing the required columns "file", "label"/);
    expect(await t.db.select().from(dataset).where(eq(dataset.name, "never"))).toEqual([]);
    await expect(run({ schemeKey: "no-such-scheme", source: { kind: "dir", dir: srcDir } })).rejects.toThrow(
      /unknown class scheme "no-such-scheme"/,
    );
    await expect(run({ labelMap: { WBC: "leukocyte" }, source: { kind: "dir", dir: srcDir } })).rejects.toThrow(
      /label map target "leukocyte"/,
    );
  });

  it("keeps one image per content hash within a run (same bytes in two class folders)", async () => {
    const twinDir = path.join(tmp, "twins");
    const crop = await pbcCrop("erythroblast", 0);
    await copyInto(crop, path.join(twinDir, "erythroblast", "one.jpg"));
    await copyInto(crop, path.join(twinDir, "erythroblast", "two.jpg"));
    await copyInto(crop, path.join(twinDir, "erythroblast", "three.jpg"));
    const result = await run({ dataset: "twins", concurrency: 4, source: { kind: "dir", dir: twinDir } });
    expect(result).toMatchObject({ imported: 1, duplicates: 2 });
    // The user is told which files were the same bytes as the one kept.
    expect(result.sameContent).toHaveLength(2);
    expect(new Set(result.sameContent.map((d) => d.sameAs)).size).toBe(1);
    expect(result.sameContent.map((d) => d.file)).not.toContain(result.sameContent[0]!.sameAs);
    const rows = await t.db
      .select()
      .from(image)
      .where(and(eq(image.datasetId, result.datasetId)));
    expect(rows).toHaveLength(1);
  });
});
