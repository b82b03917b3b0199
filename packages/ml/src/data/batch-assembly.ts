/**
 * Turning cached image bytes into standardised Float32 batches `[B, S, S, 3]`, with augmentation
 * for training batches only: one of the 8 dihedral transforms (flips and 90-degree rotations; cells
 * have no canonical orientation) and a small per-channel gain/bias jitter (stain/illumination).
 */
import { getImagePixels, type ImageSet } from "./image-set";
import type { ChannelStats } from "./normalization";
import { randomInt, type Rng } from "./rng";

/** Augmentation settings; all default to the values used for the PBC benchmark. */
export interface AugmentOptions {
  /** Random flips and 90-degree rotations. Default true. */
  dihedral?: boolean;
  /** Max relative per-channel gain change (uniform in [1-g, 1+g]). Default 0.1. */
  gain?: number;
  /** Max per-channel bias, in standard deviations (uniform in [-b, b]). Default 0.1. */
  bias?: number;
  /**
   * Random zoom: a scale factor drawn log-uniformly from [min, max] (> 1 magnifies the cell, < 1
   * shrinks it with edge pixels repeated), with a random shift that keeps a magnified view inside
   * the image; bilinear. Sites differ in magnification and crop tightness. Default [1, 1] (off).
   */
  zoom?: readonly [number, number];
}

/**
 * Resamples an S x S RGB image `src` into `dst`, magnified by `factor` about the centre moved by
 * (`dx`, `dy`) source pixels, bilinear, coordinates clamped to the edge.
 */
export function zoomImage(src: Uint8Array, s: number, factor: number, dx: number, dy: number, dst: Uint8Array): void {
  const half = s / 2;
  const clamp = (v: number): number => (v < 0 ? 0 : v > s - 1 ? s - 1 : v);
  for (let y = 0; y < s; y++) {
    const fy = clamp((y + 0.5 - half) / factor + half + dy - 0.5);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, s - 1);
    const wy = fy - y0;
    for (let x = 0; x < s; x++) {
      const fx = clamp((x + 0.5 - half) / factor + half + dx - 0.5);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, s - 1);
      const wx = fx - x0;
      const a = (y0 * s + x0) * 3;
      const b = (y0 * s + x1) * 3;
      const c = (y1 * s + x0) * 3;
      const d = (y1 * s + x1) * 3;
      const o = (y * s + x) * 3;
      for (let k = 0; k < 3; k++) {
        const top = src[a + k]! + (src[b + k]! - src[a + k]!) * wx;
        const bottom = src[c + k]! + (src[d + k]! - src[c + k]!) * wx;
        dst[o + k] = Math.round(top + (bottom - top) * wy);
      }
    }
  }
}

/**
 * Source pixel offset for output pixel (y, x) under dihedral transform t (0..7) of an S x S image:
 * bit 0 = transpose, bit 1 = flip rows, bit 2 = flip columns.
 */
function dihedralSource(t: number, y: number, x: number, s: number): number {
  let sy = t & 1 ? x : y;
  let sx = t & 1 ? y : x;
  if (t & 2) sy = s - 1 - sy;
  if (t & 4) sx = s - 1 - sx;
  return (sy * s + sx) * 3;
}

/**
 * Writes images `indices` into a standardised Float32 batch. With `augment` and `rng`, applies a
 * random zoom (when configured), dihedral transform and gain/bias jitter per image; without, the
 * images are only standardised.
 */
export function assembleBatch(
  set: ImageSet,
  indices: readonly number[],
  stats: ChannelStats,
  augment?: { options: AugmentOptions; rng: Rng },
  out?: Float32Array,
): Float32Array {
  const s = set.size;
  const per = s * s * 3;
  const batch = out && out.length >= indices.length * per ? out : new Float32Array(indices.length * per);
  const inv = stats.std.map((v) => 1 / v);
  const scale = [0, 0, 0];
  const shift = [0, 0, 0];
  const [zoomMin, zoomMax] = augment?.options.zoom ?? [1, 1];
  const zoomed = zoomMin !== 1 || zoomMax !== 1 ? new Uint8Array(per) : undefined;
  indices.forEach((idx, b) => {
    let src = getImagePixels(set, idx);
    if (augment && zoomed) {
      const factor = Math.exp(Math.log(zoomMin) + augment.rng() * (Math.log(zoomMax) - Math.log(zoomMin)));
      // A magnified view may move as far as stays inside the image; a shrunk one stays centred.
      const room = factor > 1 ? (s - s / factor) / 2 : 0;
      zoomImage(src, s, factor, (augment.rng() * 2 - 1) * room, (augment.rng() * 2 - 1) * room, zoomed);
      src = zoomed;
    }
    const base = b * per;
    let t = 0;
    for (let c = 0; c < 3; c++) {
      // x' = ((v - mean) / std) * gain + bias, folded into v * scale + shift.
      let gain = 1;
      let bias = 0;
      if (augment) {
        const g = augment.options.gain ?? 0.1;
        const bb = augment.options.bias ?? 0.1;
        gain = 1 + (augment.rng() * 2 - 1) * g;
        bias = (augment.rng() * 2 - 1) * bb;
      }
      scale[c] = (inv[c] as number) * gain;
      shift[c] = -(stats.mean[c] as number) * (inv[c] as number) * gain + bias;
    }
    if (augment && (augment.options.dihedral ?? true)) t = randomInt(augment.rng, 8);
    const s0 = scale[0] as number;
    const s1 = scale[1] as number;
    const s2 = scale[2] as number;
    const h0 = shift[0] as number;
    const h1 = shift[1] as number;
    const h2 = shift[2] as number;
    if (t === 0) {
      for (let p = 0; p < per; p += 3) {
        batch[base + p] = (src[p] as number) * s0 + h0;
        batch[base + p + 1] = (src[p + 1] as number) * s1 + h1;
        batch[base + p + 2] = (src[p + 2] as number) * s2 + h2;
      }
      return;
    }
    let o = base;
    for (let y = 0; y < s; y++) {
      for (let x = 0; x < s; x++) {
        const p = dihedralSource(t, y, x, s);
        batch[o] = (src[p] as number) * s0 + h0;
        batch[o + 1] = (src[p + 1] as number) * s1 + h1;
        batch[o + 2] = (src[p + 2] as number) * s2 + h2;
        o += 3;
      }
    }
  });
  return batch;
}
