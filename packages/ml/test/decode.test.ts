import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import {
  chooseScaleDenom,
  computeAxisTaps,
  describeJpegDecoder,
  loadJpegAddon,
  preprocessFilesInto,
  preprocessImage,
  resampleRect,
  type RgbImage,
  WEIGHT_ONE,
} from "../src/data";

const FIXTURES = path.resolve(__dirname, "../../../fixtures/demo");

/** An RGB raster whose pixel (x, y) is `fn(x, y)`. */
function makeImage(width: number, height: number, fn: (x: number, y: number) => [number, number, number]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(fn(x, y), (y * width + x) * 3);
  return { data, width, height };
}

async function findFirstImage(dir: string): Promise<string> {
  const names = (await readdir(path.join(FIXTURES, dir))).filter((n) => /\.(jpe?g|png)$/i.test(n)).sort();
  return path.join(FIXTURES, dir, names[0]!);
}

const meanAbsDiff = (a: Uint8Array, b: Uint8Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
};

describe("resampleRect", () => {
  it("averages exact 2x2 blocks when shrinking by 2", () => {
    // 4x2 image, red channel 0,10,20,30 / 40,50,60,70; green = 255 - red; blue constant.
    const img = makeImage(4, 2, (x, y) => [(y * 4 + x) * 10, 255 - (y * 4 + x) * 10, 7]);
    const out = resampleRect(img, { left: 0, top: 0, width: 4, height: 2 }, 2, 1);
    // Triangle of radius 2 centred on each block: weights 1/8, 3/8, 3/8, 1/8 per axis, edges repeated.
    // Output x=0 centre 1.0: taps at source -1(=0),0,1,2 with weights 1/8,3/8,3/8,1/8 -> 0.5*px0 + 0.375*px1 + 0.125*px2.
    // Rows: centre 1.0 over 2 rows -> rows 0 and 1 at 0.5 each.
    const row0x0 = 0.5 * 0 + 0.375 * 10 + 0.125 * 20;
    const row1x0 = 0.5 * 40 + 0.375 * 50 + 0.125 * 60;
    expect(out[0]).toBe(Math.round((row0x0 + row1x0) / 2));
    expect(out[1]).toBe(Math.round(255 - (row0x0 + row1x0) / 2));
    expect(out[2]).toBe(7);
    const row0x1 = 0.125 * 10 + 0.375 * 20 + 0.5 * 30;
    const row1x1 = 0.125 * 50 + 0.375 * 60 + 0.5 * 70;
    expect(out[3]).toBe(Math.round((row0x1 + row1x1) / 2));
  });

  it("keeps a constant image constant at any scale, up or down", () => {
    const img = makeImage(37, 23, () => [200, 100, 50]);
    for (const [w, h] of [
      [8, 8],
      [64, 64],
      [5, 90],
    ] as const) {
      const out = resampleRect(img, { left: 3.5, top: 1.25, width: 20, height: 20 }, w, h);
      for (let i = 0; i < out.length; i += 3) expect([out[i], out[i + 1], out[i + 2]]).toEqual([200, 100, 50]);
    }
  });

  it("reproduces the image at scale 1 and interpolates linearly when enlarging", () => {
    const img = makeImage(6, 4, (x, y) => [x * 40, y * 60, 9]);
    expect(Array.from(resampleRect(img, { left: 0, top: 0, width: 6, height: 4 }, 6, 4))).toEqual(Array.from(img.data));
    // 2x enlargement of a linear ramp: interior samples lie halfway between neighbours.
    const big = resampleRect(img, { left: 0, top: 0, width: 6, height: 4 }, 12, 8);
    // Output x=3 samples source x = (3 + 0.5) / 2 - 0.5 = 1.25 -> red 1.25 * 40 = 50.
    expect(big[3 * 3]).toBe(50);
  });

  it("normalises taps and bounds them near the edges", () => {
    const taps = computeAxisTaps(0, 360, 360, 64);
    for (let i = 0; i < 64; i++) {
      let total = 0;
      for (let k = 0; k < taps.count[i]!; k++) total += taps.weight[taps.offset[i]! + k]!;
      expect(total).toBe(WEIGHT_ONE);
    }
    expect(Math.min(...taps.index)).toBe(0);
    expect(Math.max(...taps.index)).toBe(359);
  });

  it("rejects a raster whose byte length does not match its size", () => {
    expect(() => resampleRect({ data: new Uint8Array(10), width: 2, height: 2 }, { left: 0, top: 0, width: 2, height: 2 }, 1, 1)).toThrow(
      /not 2x2 RGB/,
    );
  });
});

describe("chooseScaleDenom", () => {
  it("keeps at least the output size across the crop", () => {
    expect(chooseScaleDenom(360, 64)).toBe(4); // 90 px >= 64, 45 would not be
    expect(chooseScaleDenom(360, 224)).toBe(1);
    expect(chooseScaleDenom(1024, 128)).toBe(8);
    expect(chooseScaleDenom(130, 64)).toBe(2);
    expect(chooseScaleDenom(50, 64)).toBe(1);
  });
});

describe("JPEG decoding paths", () => {
  const addon = loadJpegAddon();

  it("says which decoder is in use", () => {
    expect(describeJpegDecoder()).toMatch(addon ? /libjpeg-turbo/ : /sharp/);
  });

  it("gives nearly the same pixels through the native addon and sharp (PBC crops and BCCD field boxes)", async (ctx) => {
    if (!addon) ctx.skip();
    const crops = ["pbc/neutrophil", "pbc/eosinophil", "pbc/platelet"];
    for (const dir of crops) {
      const file = await findFirstImage(dir);
      for (const size of [64, 96, 224]) {
        const fast = await preprocessImage(file, {}, { inputSize: size });
        const slow = await preprocessImage(file, {}, { inputSize: size, decoder: "sharp" });
        expect(fast).toHaveLength(size * size * 3);
        // DCT-domain vs spatial downscaling: a few grey levels on average, never a shifted crop.
        expect(meanAbsDiff(fast, slow)).toBeLessThan(3);
      }
    }
  });

  it("decodes in the addon at exactly 1/denom scale, refusing bad arguments", async (ctx) => {
    if (!addon) return ctx.skip();
    const buf = await readFile(await findFirstImage("pbc/eosinophil"));
    const header = addon.readHeader(buf);
    for (const denom of [1, 2, 4, 8] as const) {
      const scaled = await addon.decode(buf, denom, 1e9);
      expect([scaled.width, scaled.height]).toEqual([Math.ceil(header.width / denom), Math.ceil(header.height / denom)]);
      expect(scaled.data).toHaveLength(scaled.width * scaled.height * 3);
    }
    expect(() => addon.decode(buf, 3 as 2, 1e9)).toThrow(/scaleDenom/);
    await expect(addon.decode(buf, 1, 1000)).rejects.toThrow(/over the limit/);
  });

  it("refuses corrupt JPEGs with an error through either path", async () => {
    const good = await sharp({ create: { width: 120, height: 100, channels: 3, background: { r: 200, g: 80, b: 90 } } })
      .jpeg()
      .toBuffer();
    const truncated = good.subarray(0, Math.floor(good.length / 3));
    await expect(preprocessImage(truncated, {}, { inputSize: 32 })).rejects.toThrow();
    await expect(preprocessImage(Buffer.from("not an image at all"), {}, { inputSize: 32 })).rejects.toThrow();
    const ok = await preprocessImage(good, {}, { inputSize: 32 });
    expect(Math.abs(ok[0]! - 200)).toBeLessThan(4);
    expect(Math.abs(ok[1]! - 80)).toBeLessThan(4);
    expect(Math.abs(ok[2]! - 90)).toBeLessThan(4);
  });

  it("applies EXIF orientation (rotated JPEGs take the sharp path)", async () => {
    // 40x20: left half red, right half blue; orientation 6 = rotate 90 degrees clockwise on display.
    const raw = makeImage(40, 20, (x) => (x < 20 ? [220, 0, 0] : [0, 0, 220]));
    const jpeg = await sharp(Buffer.from(raw.data), { raw: { width: 40, height: 20, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    if (addon) expect(addon.readHeader(jpeg).orientation).toBe(6);
    // Upright it is 20 wide x 40 tall with red on top: a box on the top half is red.
    const top = await preprocessImage(jpeg, { box: { x: 2, y: 2, width: 16, height: 16 } }, { inputSize: 8, margin: 0 });
    expect(top[0]!).toBeGreaterThan(150);
    expect(top[2]!).toBeLessThan(60);
  });

  it("rejects images over the pixel limit before decoding them", async (ctx) => {
    if (!addon) ctx.skip();
    // A valid JPEG header claiming 20000 x 20000 pixels: patch the SOF0 dimensions of a tiny JPEG.
    const tiny = Buffer.from(
      await sharp({ create: { width: 16, height: 16, channels: 3, background: "#fff" } })
        .jpeg()
        .toBuffer(),
    );
    const sof = tiny.indexOf(Buffer.from([0xff, 0xc0]));
    tiny.writeUInt16BE(20000, sof + 5);
    tiny.writeUInt16BE(20000, sof + 7);
    await expect(preprocessImage(tiny, {}, { inputSize: 64 })).rejects.toThrow(/pixel limit/);
  });

  it("decodes a real fixture file from disk", async () => {
    const file = await findFirstImage("pbc/neutrophil");
    const viaPath = await preprocessImage(file, {}, { inputSize: 64 });
    const viaBuffer = await preprocessImage(await readFile(file), {}, { inputSize: 64 });
    expect(Buffer.compare(Buffer.from(viaPath), Buffer.from(viaBuffer))).toBe(0);
  });

  it("batch-decodes a mixed set into the same bytes as one-by-one decoding", async () => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), "hemaloop-decode-"));
    try {
      const png = path.join(tmp, "cell.png");
      await sharp({ create: { width: 50, height: 70, channels: 4, background: { r: 10, g: 200, b: 30, alpha: 1 } } })
        .png()
        .toFile(png);
      const field = path.join(FIXTURES, "bccd/JPEGImages/BloodImage_00000.jpg");
      const items = [
        { file: await findFirstImage("pbc/lymphocyte") },
        { file: png },
        { file: field, box: { x: 260, y: 177, width: 231, height: 193 } },
        { file: field, point: { x: 100, y: 120 } },
        { file: await findFirstImage("pbc/basophil") },
        // A crop smaller than the output: enlarged, from fractional box coordinates.
        { file: field, box: { x: 300.5, y: 200.25, width: 20, height: 17 } },
      ];
      const options = { inputSize: 48, margin: 0.1, pointBoxSize: 80 };
      const out = new Uint8Array(items.length * 48 * 48 * 3);
      await preprocessFilesInto(items, options, out);
      for (const [i, item] of items.entries()) {
        const one = await preprocessImage(item.file, item, options);
        expect(Buffer.compare(Buffer.from(out.subarray(i * one.length, (i + 1) * one.length)), Buffer.from(one))).toBe(0);
      }
      // preprocessImage crops and resamples in TypeScript; the batch did it all in C: same bytes.
      // The PNG went through sharp: solid green, alpha dropped.
      expect(Array.from(out.subarray(48 * 48 * 3, 48 * 48 * 3 + 3))).toEqual([10, 200, 30]);

      // A corrupt file in the batch fails the batch with its name; a missing one too.
      const broken = path.join(tmp, "broken.jpg");
      await writeFile(broken, (await readFile(items[0]!.file)).subarray(0, 500));
      await expect(preprocessFilesInto([items[0]!, { file: broken }], options, new Uint8Array(2 * 48 * 48 * 3))).rejects.toThrow(
        /broken\.jpg/,
      );
      await expect(preprocessFilesInto([{ file: path.join(tmp, "missing.jpg") }], options, new Uint8Array(48 * 48 * 3))).rejects.toThrow(
        /missing\.jpg/,
      );
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
