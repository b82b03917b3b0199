/**
 * Crop-and-resize of packed RGB rasters, in plain TypeScript so that every decoder (the native
 * libjpeg-turbo addon, sharp) feeds the same resampler and training and prediction see the same
 * pixels.
 *
 * The filter is a triangle widened by the scale factor (as Pillow's antialiased bilinear): when
 * shrinking, each output pixel averages the source pixels it covers; when enlarging it is plain
 * bilinear interpolation. Arithmetic is fixed-point integer (weights in 1/16384, the intermediate
 * rows with 4 fractional bits), so the native addon reproduces it bit for bit and vectorises. Pixel centres sit at +0.5; samples past the crop's edge repeat its edge
 * pixel, so nothing outside the crop leaks in (as with crop-then-resize).
 */
import type { CropRect } from "./preprocess-image";

/** A packed RGB raster: `height * width * 3` bytes, row-major (HWC). */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Fixed-point scale of filter weights: the weights of one output pixel sum to exactly this. */
export const WEIGHT_ONE = 1 << 14;

/**
 * Filter taps of one axis: output i reads `count[i]` source indices starting at `offset[i]` in
 * `index`/`weight`; weights are integers summing to WEIGHT_ONE per output.
 */
export interface AxisTaps {
  offset: Int32Array;
  count: Int32Array;
  index: Int32Array;
  weight: Int32Array;
}

/**
 * Taps for resampling the source span `[start, start + length)` (source pixel units, fractional
 * allowed) of an axis of `sourceSize` pixels onto `outSize` pixels.
 */
export function computeAxisTaps(start: number, length: number, sourceSize: number, outSize: number): AxisTaps {
  const scale = length / outSize;
  const radius = Math.max(scale, 1);
  const maxTaps = Math.ceil(radius) * 2 + 3;
  const first = Math.max(0, Math.floor(start));
  const last = Math.min(sourceSize, Math.ceil(start + length)) - 1;
  const offset = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const index = new Int32Array(outSize * maxTaps);
  const weight = new Int32Array(outSize * maxTaps);
  const real = new Float64Array(maxTaps);
  for (let i = 0; i < outSize; i++) {
    const centre = start + (i + 0.5) * scale;
    const lo = Math.floor(centre - radius);
    const hi = Math.ceil(centre + radius);
    const base = i * maxTaps;
    let n = 0;
    let total = 0;
    for (let j = lo; j <= hi; j++) {
      const w = 1 - Math.abs((j + 0.5 - centre) / radius);
      if (w <= 0) continue;
      const src = Math.min(Math.max(j, first), last);
      // Edge repeats land on the same index: merge them so the tap count stays bounded.
      if (n > 0 && index[base + n - 1] === src) {
        real[n - 1]! += w;
      } else {
        index[base + n] = src;
        real[n] = w;
        n++;
      }
      total += w;
    }
    // Round to fixed point, then give the rounding residue to the heaviest tap so the sum is exact.
    let sum = 0;
    let heaviest = 0;
    for (let k = 0; k < n; k++) {
      const q = Math.floor((real[k]! / total) * WEIGHT_ONE + 0.5);
      weight[base + k] = q;
      sum += q;
      if (q > weight[base + heaviest]!) heaviest = k;
    }
    weight[base + heaviest]! += WEIGHT_ONE - sum;
    offset[i] = base;
    count[i] = n;
  }
  return { offset, count, index, weight };
}

/** Everything needed to resample one crop: taps per axis and the source rows they read. */
export interface ResamplePlan {
  outWidth: number;
  outHeight: number;
  xs: AxisTaps;
  ys: AxisTaps;
  rowLo: number;
  rowHi: number;
}

/** Plans resampling `rect` of a `width x height` raster to `outWidth x outHeight`. */
export function planResample(width: number, height: number, rect: CropRect, outWidth: number, outHeight: number): ResamplePlan {
  const xs = computeAxisTaps(rect.left, rect.width, width, outWidth);
  const ys = computeAxisTaps(rect.top, rect.height, height, outHeight);
  let rowLo = height;
  let rowHi = -1;
  for (let y = 0; y < outHeight; y++) {
    for (let k = ys.offset[y]!; k < ys.offset[y]! + ys.count[y]!; k++) {
      rowLo = Math.min(rowLo, ys.index[k]!);
      rowHi = Math.max(rowHi, ys.index[k]!);
    }
  }
  return { outWidth, outHeight, xs, ys, rowLo, rowHi };
}

/**
 * Resamples `rect` of `image` (in its pixel units, may be fractional) to `outWidth x outHeight`.
 * Returns packed RGB bytes `[outHeight, outWidth, 3]`.
 */
export function resampleRect(image: RgbImage, rect: CropRect, outWidth: number, outHeight: number): Uint8Array {
  if (image.data.length !== image.width * image.height * 3) {
    throw new Error(`resampleRect: ${image.data.length} bytes is not ${image.width}x${image.height} RGB`);
  }
  return applyResamplePlan(image, planResample(image.width, image.height, rect, outWidth, outHeight));
}

/**
 * Separable filtering: horizontal pass into fixed-point rows, then vertical. The native addon
 * (native/jpeg-scaled.c) applies the same plan with the same integer arithmetic and produces
 * identical bytes; keep the two in step.
 */
export function applyResamplePlan(image: RgbImage, plan: ResamplePlan): Uint8Array {
  const { outWidth, outHeight, xs, ys, rowLo, rowHi } = plan;
  const rows = rowHi - rowLo + 1;
  const src = image.data;
  const line = outWidth * 3;
  // Horizontal sums are at most 255 * 2^14; keep 4 fractional bits (>> 10) for the vertical pass.
  const tmp = new Int32Array(rows * line);
  const { offset: xOffset, count: xCount, index: xIndex, weight: xWeight } = xs;
  for (let r = 0; r < rows; r++) {
    const srcRow = (rowLo + r) * image.width * 3;
    let t = r * line;
    for (let x = 0; x < outWidth; x++, t += 3) {
      let red = 0;
      let green = 0;
      let blue = 0;
      const end = xOffset[x]! + xCount[x]!;
      for (let k = xOffset[x]!; k < end; k++) {
        const p = srcRow + xIndex[k]! * 3;
        const w = xWeight[k]!;
        red += src[p]! * w;
        green += src[p + 1]! * w;
        blue += src[p + 2]! * w;
      }
      tmp[t] = (red + 512) >> 10;
      tmp[t + 1] = (green + 512) >> 10;
      tmp[t + 2] = (blue + 512) >> 10;
    }
  }
  const out = new Uint8Array(outWidth * outHeight * 3);
  const acc = new Int32Array(line);
  for (let y = 0; y < outHeight; y++) {
    acc.fill(0);
    const end = ys.offset[y]! + ys.count[y]!;
    for (let k = ys.offset[y]!; k < end; k++) {
      const from = (ys.index[k]! - rowLo) * line;
      const w = ys.weight[k]!;
      for (let c = 0; c < line; c++) acc[c]! += tmp[from + c]! * w;
    }
    const outRow = y * line;
    // 4 + 14 fractional bits, rounded half up; Uint8Array's conversion would wrap, so clamp first.
    for (let c = 0; c < line; c++) {
      const v = (acc[c]! + (1 << 17)) >> 18;
      out[outRow + c] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return out;
}
