/**
 * A label-free featuriser for cold start without a starting model: rotation-invariant colour and
 * texture statistics of each cell crop. There are no downloadable ImageNet weights here, and a
 * model cannot be trained on zero labels, so a project without `--pretrained` embeds its cells by
 * what a hematologist sees first (nucleus darkness, granule colour, cell size, texture), computed
 * on concentric rings around the crop centre. Weak next to a trained backbone, but it separates
 * the PBC classes well enough to seed every one of them (see docs/benchmarks.md).
 */
import type { EmbeddingMatrix } from "../active-learning/embedding-matrix";
import type { ImageSet } from "../data/image-set";
import { standardizeColumns } from "./standardize";

const RINGS = 3;
const HISTOGRAM_BINS = 8;
/** Luminance below which a pixel counts as dark (stained nucleus / granules), on 0-255. */
const DARK_LUMINANCE = 110;

/** Features per image: per ring RGB mean+std, dark share and gradient; per channel a histogram over the disc. */
export const PIXEL_STATISTICS_DIM = RINGS * (6 + 2) + 3 * HISTOGRAM_BINS;

/**
 * Embeddings [set.count, PIXEL_STATISTICS_DIM] of every image, each feature z-scored over the set
 * (so k-means and cosine checks weigh features alike). Deterministic; no tensors.
 */
export function computePixelStatistics(set: ImageSet): EmbeddingMatrix {
  const { size: s, count } = set;
  if (s < 4) throw new RangeError(`images must be at least 4 px square for pixel statistics, got ${s}`);
  const dim = PIXEL_STATISTICS_DIM;
  const data = new Float32Array(count * dim);
  const centre = (s - 1) / 2;
  const radius = s / 2;
  // Ring of every pixel position, -1 outside the inscribed disc.
  const ringOf = new Int8Array(s * s);
  for (let y = 0; y < s; y++) {
    for (let x = 0; x < s; x++) {
      const r = Math.hypot(x - centre, y - centre) / radius;
      ringOf[y * s + x] = r >= 1 ? -1 : Math.min(RINGS - 1, Math.floor(r * RINGS));
    }
  }
  const lum = new Float32Array(s * s);
  const plane = s * s * 3;
  for (let i = 0; i < count; i++) {
    const px = set.pixels.subarray(i * plane, (i + 1) * plane);
    for (let p = 0; p < s * s; p++) lum[p] = 0.299 * px[p * 3]! + 0.587 * px[p * 3 + 1]! + 0.114 * px[p * 3 + 2]!;
    const sum = new Float64Array(RINGS * 3);
    const sq = new Float64Array(RINGS * 3);
    const dark = new Float64Array(RINGS);
    const grad = new Float64Array(RINGS);
    const n = new Float64Array(RINGS);
    const hist = new Float64Array(3 * HISTOGRAM_BINS);
    let discPixels = 0;
    for (let y = 0; y < s; y++) {
      for (let x = 0; x < s; x++) {
        const p = y * s + x;
        const ring = ringOf[p]!;
        if (ring < 0) continue;
        n[ring]!++;
        discPixels++;
        for (let c = 0; c < 3; c++) {
          const v = px[p * 3 + c]!;
          sum[ring * 3 + c]! += v;
          sq[ring * 3 + c]! += v * v;
          hist[c * HISTOGRAM_BINS + Math.min(HISTOGRAM_BINS - 1, (v * HISTOGRAM_BINS) >> 8)]!++;
        }
        if (lum[p]! < DARK_LUMINANCE) dark[ring]!++;
        const gx = lum[y * s + Math.min(s - 1, x + 1)]! - lum[y * s + Math.max(0, x - 1)]!;
        const gy = lum[Math.min(s - 1, y + 1) * s + x]! - lum[Math.max(0, y - 1) * s + x]!;
        grad[ring]! += Math.hypot(gx, gy);
      }
    }
    const o = i * dim;
    let j = 0;
    for (let ring = 0; ring < RINGS; ring++) {
      const m = Math.max(n[ring]!, 1);
      for (let c = 0; c < 3; c++) {
        const mean = sum[ring * 3 + c]! / m;
        data[o + j++] = mean / 255;
        data[o + j++] = Math.sqrt(Math.max(0, sq[ring * 3 + c]! / m - mean * mean)) / 255;
      }
      data[o + j++] = dark[ring]! / m;
      data[o + j++] = grad[ring]! / m / 255;
    }
    for (let b = 0; b < 3 * HISTOGRAM_BINS; b++) data[o + j++] = hist[b]! / Math.max(discPixels, 1);
  }
  return standardizeColumns({ data, rows: count, dim });
}
