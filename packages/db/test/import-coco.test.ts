import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { importImages, type ImportResult } from "../src/import";
import { cell, image } from "../src/schema";
import { createLocalStorage, type LocalStorage } from "../src/storage";
import { copyInto, demoFixtureDir, repoRoot, writeInto } from "./fixtures/import-test-files";
import { createTestDb, describeEachDb, type TestDb } from "./helpers/test-db";

type Box = { name: string; xmin: number; ymin: number; xmax: number; ymax: number };

/** The demo's VOC fields as COCO: the same boxes, so a round trip must give the same cells. */
async function demoAsCoco() {
  const xmlDir = path.join(demoFixtureDir, "bccd", "Annotations");
  const files = (await readdir(xmlDir)).sort();
  const categories = ["RBC", "WBC", "Platelets"].map((name, i) => ({ id: i + 1, name }));
  const images: Array<Record<string, unknown>> = [];
  const annotations: Array<Record<string, unknown>> = [];
  const boxes: Box[] = [];
  for (const [i, file] of files.entries()) {
    const xml = await readFile(path.join(xmlDir, file), "utf8");
    images.push({ id: i + 1, file_name: file.replace(".xml", ".jpg"), width: 640, height: 480 });
    for (const m of xml.matchAll(
      /<name>([^<]+)<\/name>[\s\S]*?<xmin>(\d+)<\/xmin>\s*<ymin>(\d+)<\/ymin>\s*<xmax>(\d+)<\/xmax>\s*<ymax>(\d+)<\/ymax>/g,
    )) {
      const [name, xmin, ymin, xmax, ymax] = [m[1]!, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])];
      boxes.push({ name, xmin, ymin, xmax, ymax });
      annotations.push({
        id: annotations.length + 1,
        image_id: i + 1,
        category_id: categories.find((c) => c.name === name)!.id,
        bbox: [xmin, ymin, xmax - xmin, ymax - ymin],
      });
    }
  }
  return { images, annotations, categories, boxes, files };
}

describeEachDb("import: COCO JSON fields with box cells", (kind) => {
  let t: TestDb;
  let tmp: string;
  let storage: LocalStorage;
  let cocoFile: string;
  let result: ImportResult;
  let demo: Awaited<ReturnType<typeof demoAsCoco>>;

  beforeAll(async () => {
    t = await createTestDb(kind);
    tmp = await mkdtemp(path.join(os.tmpdir(), "hemaloop-coco-"));
    storage = createLocalStorage(path.join(tmp, "storage"));
    demo = await demoAsCoco();
    for (const file of demo.files) {
      const jpg = file.replace(".xml", ".jpg");
      await copyInto(path.join(demoFixtureDir, "bccd", "JPEGImages", jpg), path.join(tmp, "coco", "images", jpg));
    }
    // Planted: a polygon (imported as its bbox), a box outside the image, an unknown category, an
    // annotation of a missing image, an images[] item without file_name, an image file that is absent.
    const annotations = [
      ...demo.annotations,
      { id: 900, image_id: 1, category_id: 3, bbox: [10, 10, 20, 20], segmentation: [[10, 10, 30, 10, 30, 30]] },
      { id: 901, image_id: 2, category_id: 1, bbox: [700, 10, 30, 30] },
      { id: 902, image_id: 3, category_id: 42, bbox: [10, 10, 30, 30] },
      { id: 903, image_id: 99, category_id: 1, bbox: [10, 10, 30, 30] },
    ];
    const images = [...demo.images, { id: 5 }, { id: 6, file_name: "gone.jpg" }];
    cocoFile = await writeInto(
      path.join(tmp, "coco", "instances.json"),
      JSON.stringify({ images, annotations, categories: demo.categories }),
    );
    result = await importImages(t.db, storage, {
      source: { kind: "coco", file: cocoFile },
      institution: "COCO Lab",
      dataset: "coco-set",
      schemeKey: "pbc-8",
      maxImagePixels: 50_000_000,
    });
  });
  afterAll(async () => {
    await t?.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it("round-trips the demo's field boxes: one field per image, one cell per box", async () => {
    expect(result).toMatchObject({
      imported: 4,
      cells: demo.boxes.length + 1,
      labels: demo.boxes.filter((b) => b.name === "Platelets").length + 1,
      unlabeledCells: demo.boxes.filter((b) => b.name !== "Platelets").length,
    });
    const images = await t.db.select().from(image).where(eq(image.datasetId, result.datasetId));
    expect(images.map((i) => i.originalName).sort()).toEqual(demo.files.map((f) => `images/${f.replace(".xml", ".jpg")}`));
    for (const img of images) expect(img).toMatchObject({ kind: "field", width: 640, height: 480, dziKey: expect.any(String) });
    const first = images.find((i) => i.originalName === "images/BloodImage_00000.jpg")!;
    const cells = await t.db.select().from(cell).where(eq(cell.imageId, first.id));
    const box = demo.boxes[0]!;
    expect(cells).toContainEqual(
      expect.objectContaining({ geometry: "box", x: box.xmin, y: box.ymin, width: box.xmax - box.xmin, height: box.ymax - box.ymin }),
    );
    expect(cells).toContainEqual(
      expect.objectContaining({ geometry: "box", x: 10, y: 10, width: 20, height: 20, sourceLabel: "Platelets" }),
    );
  });

  it("rejects bad items with the JSON file's name and the item", () => {
    expect(result.rejected).toEqual([
      { file: "gone.jpg", reason: "instances.json image 6: file not found" },
      { file: "instances.json:annotations[75]", reason: "instances.json: annotations[75]: image_id 99 is not in images[]" },
      { file: "instances.json:images[4]", reason: expect.stringMatching(/^instances\.json: images\[4\]: file_name: /) },
    ]);
    // Images finish in any order: sort before comparing.
    expect([...result.rejectedBoxes].sort((a, b) => a.file.localeCompare(b.file))).toEqual([
      { file: "instances.json image 2", reason: expect.stringMatching(/^annotations\[73\] "RBC": box lies outside the 640x480 image/) },
      { file: "instances.json image 3", reason: "annotations[74]: unknown category_id 42" },
    ]);
  });

  if (kind === "pglite") {
    it("rejects a file that is not JSON with its name", async () => {
      const broken = await writeInto(path.join(tmp, "broken", "broken.json"), '{"images": [');
      const bad = await importImages(t.db, storage, {
        source: { kind: "coco", file: broken },
        institution: "COCO Lab",
        dataset: "coco-broken",
        schemeKey: "pbc-8",
        maxImagePixels: 50_000_000,
      });
      expect(bad.imported).toBe(0);
      expect(bad.rejected).toEqual([{ file: "broken.json:file", reason: expect.stringMatching(/^broken\.json: file: malformed JSON \(/) }]);
    });
  } else {
    it("npm run import -- --coco <file> --images <dir> imports the same fields", () => {
      const env = { ...process.env };
      delete env.DATABASE_URL;
      const cli = spawnSync(
        path.join(repoRoot, "node_modules", ".bin", "tsx"),
        [
          "packages/db/src/cli/import-cli.ts",
          ...["--coco", cocoFile, "--images", path.join(tmp, "coco", "images")],
          ...["--institution", "COCO CLI", "--dataset", "coco-cli", "--scheme", "pbc-8"],
          ...["--database-url", t.url!, "--storage-dir", path.join(tmp, "cli-storage")],
        ],
        { cwd: repoRoot, encoding: "utf8", env },
      );
      expect(cli.status).toBe(0);
      expect(cli.stdout).toContain("rejected gone.jpg: instances.json image 6: file not found");
      expect(cli.stdout).toContain(`cells=${demo.boxes.length + 1} `);
      expect(cli.stdout.trimEnd().split("\n").at(-1)).toBe("imported=4 duplicates=0 rejected=3");
    }, 60_000);
  }
});
