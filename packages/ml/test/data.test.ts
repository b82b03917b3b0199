import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  assembleBatch,
  computeChannelStats,
  computeClassWeights,
  computeCropRect,
  createEpochOrder,
  createRng,
  loadImageItems,
  loadImageSet,
  loadLabeledItems,
  parseManifest,
  preprocessImage,
  resolveClassKeys,
  splitDataset,
  toLabelIndices,
  type ImageSet,
  type LabeledItem,
} from "../src/data";

let tmp: string;

/** A solid-colour PNG, optionally with a rectangle of another colour. */
async function writePng(
  file: string,
  width: number,
  height: number,
  rgb: [number, number, number],
  rect?: { left: number; top: number; width: number; height: number; rgb: [number, number, number] },
): Promise<void> {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inRect = rect && x >= rect.left && x < rect.left + rect.width && y >= rect.top && y < rect.top + rect.height;
      const c = inRect ? rect.rgb : rgb;
      data.set(c, (y * width + x) * 3);
    }
  }
  await sharp(data, { raw: { width, height, channels: 3 } })
    .png()
    .toFile(file);
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "hemaloop-data-"));
  for (const [cls, rgb] of [
    ["neutrophil", [200, 40, 40]],
    ["lymphocyte", [40, 40, 200]],
  ] as const) {
    await mkdir(path.join(tmp, "folder", cls), { recursive: true });
    for (let i = 0; i < 3; i++) await writePng(path.join(tmp, "folder", cls, `${i}.png`), 40, 30, [...rgb]);
  }
  await writeFile(path.join(tmp, "folder", "README.txt"), "not an image");
  await writePng(path.join(tmp, "field.png"), 100, 80, [255, 255, 255], {
    left: 60,
    top: 20,
    width: 20,
    height: 20,
    rgb: [0, 0, 0],
  });
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("loading labelled items", () => {
  it("reads <class>/<image> folders, ignoring non-images, filtered by scheme", async () => {
    const { items, kind, skipped } = await loadLabeledItems(path.join(tmp, "folder"), { classKeys: ["lymphocyte"] });
    expect(kind).toBe("folder");
    expect(items).toHaveLength(3);
    expect(items.every((it) => it.label === "lymphocyte" && path.isAbsolute(it.file))).toBe(true);
    expect(skipped).toEqual({ neutrophil: 3 });
  });

  it("parses manifests: relative/absolute files, optional patient/smear/site, boxes and points", () => {
    const csv = [
      "file,label,patient,smear,x,y,width,height",
      "a/1.png,ig,p1,s1,10,20,30,40",
      "/abs/2.png,platelet,,,5,6,,",
      "3.png,basophil,,,,,,",
    ].join("\n");
    const items = parseManifest(csv, "/data/set");
    expect(items[0]).toEqual({
      file: "/data/set/a/1.png",
      label: "ig",
      patient: "p1",
      smear: "s1",
      box: { x: 10, y: 20, width: 30, height: 40 },
    });
    expect(items[1]).toEqual({ file: "/abs/2.png", label: "platelet", point: { x: 5, y: 6 } });
    expect(items[2]).toEqual({ file: "/data/set/3.png", label: "basophil" });
    // width/height without x,y are the image size (as in the PBC manifest), not a box.
    expect(parseManifest("file,label,width,height\nq.jpg,ig,360,363", "/d")[0]).toEqual({ file: "/d/q.jpg", label: "ig" });
    expect(() => parseManifest("file,class\nx.png,ig", "/d")).toThrow(/'label'/);
  });

  it("finds images to predict in folders and label-less manifests", async () => {
    const items = await loadImageItems(path.join(tmp, "folder"), ["neutrophil"]);
    expect(items).toHaveLength(6);
    expect(items.filter((i) => i.label === "neutrophil")).toHaveLength(3);
    expect(items.filter((i) => i.label === undefined)).toHaveLength(3);
  });

  it("resolves built-in schemes and explicit key lists", () => {
    expect(resolveClassKeys("wbc-5")).toEqual(["neutrophil", "lymphocyte", "monocyte", "eosinophil", "basophil"]);
    expect(resolveClassKeys("pbc-8")).toHaveLength(8);
    expect(resolveClassKeys("a, b")).toEqual(["a", "b"]);
    expect(() => resolveClassKeys("nope")).toThrow(/Unknown class scheme/);
    expect(() => toLabelIndices([{ file: "f", label: "x" }], ["a", "b"])).toThrow(/not in the scheme/);
  });
});

describe("cropping and decoding", () => {
  it("centre-squares crops and squares boxes with a margin, kept inside the image", () => {
    expect(computeCropRect(40, 30, undefined, 0.15)).toEqual({ left: 5, top: 0, width: 30, height: 30 });
    expect(computeCropRect(100, 80, { x: 60, y: 20, width: 20, height: 20 }, 0.5)).toEqual({
      left: 50,
      top: 10,
      width: 40,
      height: 40,
    });
    // Near the border the square shifts inward rather than leaving the image.
    expect(computeCropRect(100, 80, { x: 90, y: 70, width: 10, height: 10 }, 0.5)).toEqual({
      left: 80,
      top: 60,
      width: 20,
      height: 20,
    });
  });

  it("crops around a box on a field image", async () => {
    const file = path.join(tmp, "field.png");
    const onCell = await preprocessImage(file, { box: { x: 60, y: 20, width: 20, height: 20 } }, { inputSize: 8, margin: 0 });
    const whole = await preprocessImage(file, {}, { inputSize: 8 });
    const mean = (px: Uint8Array): number => px.reduce((a, b) => a + b, 0) / px.length;
    expect(onCell).toHaveLength(8 * 8 * 3);
    expect(mean(onCell)).toBeLessThan(10); // all black cell
    expect(mean(whole)).toBeGreaterThan(200); // mostly white field
    const viaPoint = await preprocessImage(file, { point: { x: 70, y: 30 } }, { inputSize: 8, pointBoxSize: 20, margin: 0 });
    expect(mean(viaPoint)).toBeLessThan(10);
  });

  it("decodes a set once, caches it on disk, and computes channel stats", async () => {
    const { items } = await loadLabeledItems(path.join(tmp, "folder"));
    const cacheDir = path.join(tmp, "cache");
    const progress: number[] = [];
    const set = await loadImageSet(items, { inputSize: 8, cacheDir, concurrency: 2, onProgress: (d) => progress.push(d) });
    expect(set.count).toBe(6);
    expect(set.pixels).toHaveLength(6 * 8 * 8 * 3);
    expect(progress.at(-1)).toBe(6);
    expect((await readdir(cacheDir)).filter((f) => f.endsWith(".u8"))).toHaveLength(1);
    const again = await loadImageSet(items, { inputSize: 8, cacheDir });
    expect(Buffer.compare(Buffer.from(again.pixels), Buffer.from(set.pixels))).toBe(0);
    const stats = computeChannelStats(set);
    expect(stats.mean[0]).toBeCloseTo(120, 0);
    expect(stats.std[0]).toBeCloseTo(80, 0);
    const neutrophilOnly = computeChannelStats(set, [3, 4, 5]);
    expect(neutrophilOnly.mean[0]).toBeCloseTo(200, 0);
  });
});

describe("batches and augmentation", () => {
  const size = 4;
  // One image with distinct values per pixel and channel so transforms are checkable.
  const pixels = new Uint8Array(size * size * 3).map((_, i) => i % 251);
  const set: ImageSet = { size, count: 1, pixels };
  const stats = { mean: [10, 20, 30] as [number, number, number], std: [2, 4, 5] as [number, number, number] };

  it("standardises without augmentation", () => {
    const batch = assembleBatch(set, [0], stats);
    expect(batch[0]).toBeCloseTo((0 - 10) / 2, 6);
    expect(batch[4]).toBeCloseTo((4 - 20) / 4, 6);
  });

  it("augmentation permutes pixels (dihedral) and jitters channels, reproducibly", () => {
    const plain = assembleBatch(set, [0], stats);
    const noJitter = { options: { gain: 0, bias: 0 }, rng: createRng(3) };
    const seen = new Set<string>();
    for (let k = 0; k < 40; k++) {
      const aug = assembleBatch(set, [0], stats, noJitter);
      // Same multiset of values per channel: a pure spatial permutation.
      for (let c = 0; c < 3; c++) {
        const a = [...plain].filter((_, i) => i % 3 === c).sort();
        const b = [...aug].filter((_, i) => i % 3 === c).sort();
        expect(b).toEqual(a);
      }
      seen.add(Array.from(aug.slice(0, 6)).join(","));
    }
    expect(seen.size).toBe(8); // all eight dihedral transforms occur
    const j1 = assembleBatch(set, [0, 0], stats, { options: {}, rng: createRng(9) });
    const j2 = assembleBatch(set, [0, 0], stats, { options: {}, rng: createRng(9) });
    expect(Array.from(j1)).toEqual(Array.from(j2));
  });
});

describe("splits and sampling", () => {
  const makeItems = (n: number, classes: number, grouped: boolean): { items: LabeledItem[]; labels: number[] } => {
    const labels = Array.from({ length: n }, (_, i) => i % classes);
    const items = labels.map((l, i) => ({
      file: `/f/${i}.png`,
      label: `c${l}`,
      ...(grouped ? { patient: `p${Math.floor(i / 10)}` } : {}),
    }));
    return { items, labels };
  };

  it("with strata (data sets), holds out each set's classes in proportion; patient groups stay within a set", () => {
    const { items, labels } = makeItems(400, 4, false);
    // A small set (first 40 items) next to a large one: a plain split could leave the small one out of test.
    const strata = items.map((_, i) => (i < 40 ? "small" : "large"));
    const split = splitDataset(items, labels, { valFraction: 0.1, testFraction: 0.2, seed: 1, strata });
    for (const set of ["small", "large"]) {
      for (let k = 0; k < 4; k++) {
        const members = items.map((_, i) => i).filter((i) => strata[i] === set && labels[i] === k);
        expect(split.test.filter((i) => strata[i] === set && labels[i] === k)).toHaveLength(Math.round(members.length * 0.2));
      }
    }
    const grouped = makeItems(400, 4, true);
    // The same patient id in two sets is two patients.
    const g = splitDataset(grouped.items, grouped.labels, { valFraction: 0.1, testFraction: 0.2, seed: 1, strata });
    expect(g.method).toBe("grouped");
    expect(g.test.some((i) => strata[i] === "small")).toBe(true);
    expect(() => splitDataset(items, labels, { strata: strata.slice(1) })).toThrow(/strata/);
  });

  it("stratifies by class and is reproducible per seed", () => {
    const { items, labels } = makeItems(400, 4, false);
    const a = splitDataset(items, labels, { valFraction: 0.1, testFraction: 0.2, seed: 1 });
    const b = splitDataset(items, labels, { valFraction: 0.1, testFraction: 0.2, seed: 1 });
    const c = splitDataset(items, labels, { valFraction: 0.1, testFraction: 0.2, seed: 2 });
    expect(a).toEqual(b);
    expect(a.test).not.toEqual(c.test);
    expect(a.method).toBe("stratified");
    expect(a.test).toHaveLength(80);
    expect(a.val).toHaveLength(40);
    for (let k = 0; k < 4; k++) expect(a.test.filter((i) => labels[i] === k)).toHaveLength(20);
    expect(new Set([...a.train, ...a.val, ...a.test]).size).toBe(400);
  });

  it("keeps each patient on one side", () => {
    const { items, labels } = makeItems(400, 4, true);
    const s = splitDataset(items, labels, { valFraction: 0.1, testFraction: 0.2, seed: 5 });
    expect(s.method).toBe("grouped");
    const side = new Map<string, string>();
    for (const k of ["train", "val", "test"] as const) {
      for (const i of s[k]) {
        const p = items[i]?.patient as string;
        expect(side.get(p) ?? k).toBe(k);
        side.set(p, k);
      }
    }
    expect(s.test.length).toBeGreaterThan(40);
    expect(s.test.length).toBeLessThan(120);
    expect(s.val.length).toBeGreaterThan(10);
  });

  it("balances classes per epoch or via weights", () => {
    const labels = [...new Array<number>(90).fill(0), ...new Array<number>(10).fill(1)];
    const indices = labels.map((_, i) => i);
    const order = createEpochOrder(indices, labels, "sampler", 7, 1);
    expect(order).toHaveLength(100);
    expect(order.filter((i) => labels[i] === 1)).toHaveLength(50);
    expect(new Set(order.filter((i) => labels[i] === 0)).size).toBe(50); // majority subsampled without repeats
    expect(createEpochOrder(indices, labels, "sampler", 7, 1)).toEqual(order);
    expect(createEpochOrder(indices, labels, "none", 7, 2).sort((a, b) => a - b)).toEqual(indices);
    const w = computeClassWeights(labels, 3);
    expect(w[0]).toBeCloseTo(100 / (2 * 90), 6);
    expect(w[1]).toBeCloseTo(100 / (2 * 10), 6);
    expect(w[2]).toBe(0);
  });
});
