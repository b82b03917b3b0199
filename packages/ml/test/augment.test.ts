import { describe, expect, it } from "vitest";
import { assembleBatch, createRng, zoomImage, type ChannelStats, type ImageSet } from "../src/data";

/** S x S RGB image: 255 inside the centred square of side `inner`, 0 outside. */
function makeCentredSquare(s: number, inner: number): Uint8Array {
  const out = new Uint8Array(s * s * 3);
  const lo = (s - inner) / 2;
  for (let y = 0; y < s; y++)
    for (let x = 0; x < s; x++)
      if (y >= lo && y < lo + inner && x >= lo && x < lo + inner) out.fill(255, (y * s + x) * 3, (y * s + x) * 3 + 3);
  return out;
}

const brightPixels = (img: Uint8Array): number => {
  let n = 0;
  for (let p = 0; p < img.length; p += 3) if (img[p]! > 127) n++;
  return n;
};

describe("zoomImage", () => {
  it("is the identity at factor 1 without shift", () => {
    const src = makeCentredSquare(16, 6).map((v, i) => (v + i * 7) % 256);
    const dst = new Uint8Array(src.length);
    zoomImage(src, 16, 1, 0, 0, dst);
    expect(Array.from(dst)).toEqual(Array.from(src));
  });

  it("magnifies and shrinks about the centre by the factor (area scales by its square)", () => {
    const s = 32;
    const src = makeCentredSquare(s, 8); // 64 bright pixels
    const dst = new Uint8Array(src.length);
    zoomImage(src, s, 2, 0, 0, dst);
    expect(brightPixels(dst)).toBe(16 * 16);
    zoomImage(src, s, 0.5, 0, 0, dst);
    expect(brightPixels(dst)).toBe(4 * 4);
    // Shrinking repeats the edge: a corner pixel keeps the source corner's value.
    expect(dst[0]).toBe(src[0]);
  });

  it("shifts the view: dx > 0 shows what lies to the right", () => {
    const s = 16;
    const src = new Uint8Array(s * s * 3);
    for (let y = 0; y < s; y++) for (let x = 0; x < s; x++) src.fill(x * 16, (y * s + x) * 3, (y * s + x) * 3 + 3);
    const dst = new Uint8Array(src.length);
    zoomImage(src, s, 2, 4, 0, dst);
    // Output column 0 samples source x = (0.5 - 8) / 2 + 8 + 4 - 0.5 = 7.75.
    expect(dst[0]).toBe(Math.round(7.75 * 16));
  });
});

describe("assembleBatch with zoom", () => {
  it("is seeded and leaves batches untouched when zoom is off", () => {
    const s = 8;
    const pixels = new Uint8Array(2 * s * s * 3).map((_, i) => (i * 37) % 256);
    const set: ImageSet = { size: s, count: 2, pixels };
    const stats: ChannelStats = { mean: [128, 128, 128], std: [64, 64, 64] };
    const run = (zoom?: readonly [number, number]) =>
      assembleBatch(set, [0, 1], stats, { options: { dihedral: false, gain: 0, bias: 0, ...(zoom ? { zoom } : {}) }, rng: createRng(5) });
    const plain = assembleBatch(set, [0, 1], stats);
    expect(Array.from(run())).toEqual(Array.from(plain));
    expect(Array.from(run([1, 1]))).toEqual(Array.from(plain));
    const zoomed = run([1.5, 2]);
    expect(Array.from(zoomed)).toEqual(Array.from(run([1.5, 2])));
    expect(Array.from(zoomed)).not.toEqual(Array.from(plain));
  });
});
