/** Per-channel standardisation statistics, computed on the training images only. */
import { getImagePixels, type ImageSet } from "./image-set";

/** Mean and standard deviation per RGB channel, in 0..255 pixel units. */
export interface ChannelStats {
  mean: [number, number, number];
  std: [number, number, number];
}

/** Computes per-channel mean/std over the given images (all when `indices` is omitted). */
export function computeChannelStats(set: ImageSet, indices?: readonly number[]): ChannelStats {
  const sum = [0, 0, 0];
  const sumSq = [0, 0, 0];
  const ids = indices ?? Array.from({ length: set.count }, (_, i) => i);
  let n = 0;
  for (const i of ids) {
    const px = getImagePixels(set, i);
    for (let p = 0; p < px.length; p += 3) {
      for (let c = 0; c < 3; c++) {
        const v = px[p + c] as number;
        sum[c] = (sum[c] as number) + v;
        sumSq[c] = (sumSq[c] as number) + v * v;
      }
    }
    n += px.length / 3;
  }
  if (n === 0) throw new Error("Cannot compute channel statistics of an empty set");
  const mean = sum.map((s) => s / n) as [number, number, number];
  const std = sumSq.map((s, c) => Math.sqrt(Math.max(s / n - (mean[c] as number) ** 2, 1e-6))) as [number, number, number];
  return { mean, std };
}
