import * as tf from "@tensorflow/tfjs";
import { readdir } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../src/backend";
import {
  cellCentredRect,
  computeLabStats,
  locateNucleus,
  preprocessImage,
  REINHARD_REFERENCE,
  reinhardNormalise,
  standardisePerImage,
  type RgbImage,
} from "../src/data";
import { adaptBatchNorm } from "../src/train";

const PBC = path.resolve(__dirname, "../../../fixtures/demo/pbc");

/** A pale pink field with a cell: pale blue cytoplasm around a dark purple nucleus. */
function drawCell(width: number, height: number, cx: number, cy: number, nucleusR: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
      const rgb = d <= nucleusR ? [95, 45, 150] : d <= nucleusR * 1.5 ? [200, 195, 225] : [235, 215, 210];
      data.set(rgb, (y * width + x) * 3);
    }
  }
  return { data, width, height };
}

const toPng = (img: RgbImage): Promise<Buffer> =>
  sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 3 } })
    .png()
    .toBuffer();

/** Side of the nucleus found in an S x S output, as a fraction of S, and its centre in [0, 1]. */
function nucleusGeometry(pixels: Uint8Array, size: number): { fraction: number; cx: number; cy: number } {
  const box = locateNucleus({ data: pixels, width: size, height: size });
  if (!box) throw new Error("no nucleus in the output");
  return {
    fraction: Math.max(box.width, box.height) / size,
    cx: (box.x + box.width / 2) / size,
    cy: (box.y + box.height / 2) / size,
  };
}

describe("cell-centred crop", () => {
  it("finds an off-centre nucleus and frames it at the set fraction", () => {
    const img = drawCell(200, 150, 150, 40, 20);
    const box = locateNucleus(img);
    expect(box).toBeDefined();
    expect(box!.x + box!.width / 2).toBeCloseTo(150, -1);
    expect(box!.y + box!.height / 2).toBeCloseTo(40, -1);
    expect(box!.width).toBeGreaterThan(34);
    expect(box!.width).toBeLessThan(46);
    const rect = cellCentredRect(box!, { cellFraction: 0.5, cytoplasmGrowth: 1.5 });
    expect(rect.width).toBeCloseTo((box!.width * 1.5) / 0.5, 5);
  });

  it("finds nothing in a blank or red-cell-only frame", () => {
    const blank = { data: new Uint8Array(64 * 64 * 3).fill(230), width: 64, height: 64 };
    expect(locateNucleus(blank)).toBeUndefined();
    const redCell = drawCell(80, 80, 40, 40, 25);
    for (let p = 0; p < redCell.data.length; p += 3) if (redCell.data[p] === 95) redCell.data.set([225, 150, 160], p);
    expect(locateNucleus(redCell)).toBeUndefined();
  });

  it("centres a cell anywhere in the image at the same scale, whatever the source resolution", async () => {
    const size = 48;
    const options = { inputSize: size, cellCentre: { cellFraction: 0.6 }, decoder: "sharp" as const };
    const a = nucleusGeometry(await preprocessImage(await toPng(drawCell(300, 240, 70, 60, 30)), {}, options), size);
    const b = nucleusGeometry(await preprocessImage(await toPng(drawCell(120, 120, 60, 70, 45)), {}, options), size);
    for (const g of [a, b]) {
      expect(g.cx).toBeCloseTo(0.5, 1);
      expect(g.cy).toBeCloseTo(0.5, 1);
      // nucleus side / crop side = fraction / growth = 0.6 / 1.3
      expect(Math.abs(g.fraction - 0.6 / 1.3)).toBeLessThan(0.08);
    }
    // Without it, the two framings give nuclei of very different sizes.
    const plain = { inputSize: size, decoder: "sharp" as const };
    const pa = nucleusGeometry(await preprocessImage(await toPng(drawCell(300, 240, 120, 120, 30)), {}, plain), size);
    const pb = nucleusGeometry(await preprocessImage(await toPng(drawCell(120, 120, 60, 60, 45)), {}, plain), size);
    expect(pb.fraction / pa.fraction).toBeGreaterThan(2.5);
  });

  it("falls back to the plain crop when no cell is found", async () => {
    const png = await sharp({ create: { width: 90, height: 60, channels: 3, background: { r: 230, g: 220, b: 215 } } })
      .png()
      .toBuffer();
    const centred = await preprocessImage(png, {}, { inputSize: 16, cellCentre: {}, decoder: "sharp" });
    const plain = await preprocessImage(png, {}, { inputSize: 16, decoder: "sharp" });
    expect(Buffer.from(centred).equals(Buffer.from(plain))).toBe(true);
  });

  it("searches around a box on a field and ignores a cell outside it", async () => {
    const field = drawCell(400, 300, 300, 200, 20);
    // a second, bigger cell elsewhere on the field
    const other = drawCell(400, 300, 80, 80, 35);
    for (let p = 0; p < field.data.length; p += 3) if (other.data[p] === 95) field.data.set([95, 45, 150], p);
    const out = await preprocessImage(
      await toPng(field),
      { box: { x: 270, y: 170, width: 60, height: 60 } },
      { inputSize: 40, cellCentre: {}, decoder: "sharp" },
    );
    const g = nucleusGeometry(out, 40);
    expect(g.cx).toBeCloseTo(0.5, 1);
    expect(Math.abs(g.fraction - 0.6 / 1.3)).toBeLessThan(0.08);
  });

  it("gives real PBC crops and the same cells reframed like Zheng site 1 a similar cell scale", async () => {
    // Site 1 framing simulated from PBC fixtures (Zheng images are GPL, not fixtures): the cell
    // fills a 120 px frame, with a yellow cast. Plain crops differ ~1.6x in nucleus size.
    const size = 64;
    const files = [
      ...(await readdir(path.join(PBC, "neutrophil"))).slice(0, 3).map((f) => path.join(PBC, "neutrophil", f)),
      ...(await readdir(path.join(PBC, "lymphocyte"))).slice(0, 3).map((f) => path.join(PBC, "lymphocyte", f)),
    ];
    for (const file of files) {
      const pbc = await preprocessImage(file, {}, { inputSize: size, cellCentre: {} });
      const site1Like = await sharp(file)
        .extract({ left: 90, top: 90, width: 180, height: 180 })
        .resize(120, 120)
        .linear([1.05, 1.0, 0.8], [10, 5, -10])
        .png()
        .toBuffer();
      const zheng = await preprocessImage(site1Like, {}, { inputSize: size, cellCentre: {}, decoder: "sharp" });
      const a = nucleusGeometry(pbc, size);
      const b = nucleusGeometry(zheng, size);
      expect(Math.abs(a.fraction - b.fraction), file).toBeLessThan(0.12);
      expect(Math.abs(a.cx - b.cx) + Math.abs(a.cy - b.cy), file).toBeLessThan(0.15);
    }
  });
});

describe("colour normalisation", () => {
  /** A textured image with a colour cast: gain and offset per channel. */
  function castImage(gain: [number, number, number], bias: [number, number, number]): Uint8Array {
    const px = new Uint8Array(32 * 32 * 3);
    for (let i = 0; i < 32 * 32; i++) {
      const t = (Math.sin(i * 0.37) + 1) / 2;
      const base = [120 + 100 * t, 90 + 110 * t, 150 + 80 * t];
      for (let k = 0; k < 3; k++) px[i * 3 + k] = Math.min(255, Math.max(0, Math.round(base[k]! * gain[k]! + bias[k]!)));
    }
    return px;
  }

  it("Reinhard brings an image to the reference statistics and two casts of it together", () => {
    const a = castImage([1, 1, 1], [0, 0, 0]);
    const b = castImage([1.0, 0.95, 0.7], [15, 10, -20]);
    const before = Math.abs(computeLabStats(a).mean[2] - computeLabStats(b).mean[2]);
    reinhardNormalise(a);
    reinhardNormalise(b);
    const sa = computeLabStats(a);
    for (let k = 0; k < 3; k++) expect(sa.mean[k]).toBeCloseTo(REINHARD_REFERENCE.mean[k]!, 1);
    expect(Math.abs(sa.mean[2] - computeLabStats(b).mean[2])).toBeLessThan(before / 3);
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff += Math.abs(a[i]! - b[i]!);
    expect(diff / a.length).toBeLessThan(12);
  });

  it("per-image standardisation gives mean 128 per channel and leaves a flat image flat", () => {
    const px = castImage([0.6, 0.6, 0.6], [0, 0, 0]);
    standardisePerImage(px);
    for (let k = 0; k < 3; k++) {
      let sum = 0;
      for (let p = k; p < px.length; p += 3) sum += px[p]!;
      expect(sum / (px.length / 3)).toBeCloseTo(128, -1);
    }
    const flat = new Uint8Array(12).fill(200);
    standardisePerImage(flat);
    expect([...flat]).toEqual(Array(12).fill(128));
  });

  it("applies in preprocessImage when asked", async () => {
    const png = await toPng(drawCell(64, 64, 32, 32, 12));
    const plain = await preprocessImage(png, {}, { inputSize: 32, decoder: "sharp" });
    const normed = await preprocessImage(png, {}, { inputSize: 32, decoder: "sharp", colour: "reinhard" });
    const expected = Uint8Array.from(plain);
    reinhardNormalise(expected);
    expect([...normed]).toEqual([...expected]);
  });
});

describe("test-time batch-norm adaptation (AdaBN)", () => {
  beforeAll(async () => {
    await selectBackend({ preferred: "wasm" });
  });

  function buildBnModel(): tf.LayersModel {
    const input = tf.input({ shape: [4, 4, 3] });
    let x = tf.layers.conv2d({ filters: 2, kernelSize: 1, useBias: false, kernelInitializer: "ones" }).apply(input) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization({ name: "bn_a" }).apply(x) as tf.SymbolicTensor;
    x = tf.layers
      .conv2d({ filters: 2, kernelSize: 1, kernelInitializer: "ones", biasInitializer: tf.initializers.constant({ value: 3 }) })
      .apply(x) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization({ name: "bn_b" }).apply(x) as tf.SymbolicTensor;
    const out = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: out });
  }

  const weight = (model: tf.LayersModel, layer: string, suffix: string): number[] =>
    Array.from(
      model
        .getLayer(layer)
        .weights.find((w) => w.name.includes(suffix))!
        .read()
        .dataSync(),
    );

  it("sets each layer's statistics from its inputs under the adapted layers before it, without leaks", () => {
    const model = buildBnModel();
    const batches = [
      tf.randomNormal([5, 4, 4, 3], 2, 0.5, "float32", 1),
      tf.randomNormal([3, 4, 4, 3], 2, 0.5, "float32", 2),
    ] as tf.Tensor4D[];
    const before = tf.memory().numTensors;
    const result = adaptBatchNorm(model, batches);
    expect(tf.memory().numTensors).toBe(before);
    expect(result).toEqual({ method: "adabn", layers: 2, images: 8 });
    // bn_a's input: sum of the 3 channels (ones kernel); population mean/variance over all 8 images.
    const all = tf.concat(batches);
    const s = all.sum(-1);
    const { mean, variance } = tf.moments(s);
    const m = mean.dataSync()[0]!;
    const v = variance.dataSync()[0]!;
    expect(weight(model, "bn_a", "moving_mean")[0]).toBeCloseTo(m, 3);
    expect(weight(model, "bn_a", "moving_variance")[0]).toBeCloseTo(v, 3);
    // After adaptation bn_a outputs ~N(0, 1) per channel, so bn_b sees 2 * N(0,1) + 3: mean 3, variance ~4.
    expect(weight(model, "bn_b", "moving_mean")[0]).toBeCloseTo(3, 2);
    expect(weight(model, "bn_b", "moving_variance")[0]).toBeCloseTo(4, 1);
    tf.dispose([all, s, mean, variance, ...batches]);
    model.dispose();
  });

  it("leaves a model without batch norm and an empty target alone", () => {
    const input = tf.input({ shape: [2, 2, 3] });
    const out = tf.layers.globalAveragePooling2d({}).apply(input) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    expect(adaptBatchNorm(model, [tf.zeros([1, 2, 2, 3])])).toEqual({ method: "adabn", layers: 0, images: 1 });
    const bn = buildBnModel();
    expect(adaptBatchNorm(bn, []).layers).toBe(0);
    expect(weight(bn, "bn_a", "moving_mean")).toEqual([0, 0]);
    model.dispose();
    bn.dispose();
  });
});
