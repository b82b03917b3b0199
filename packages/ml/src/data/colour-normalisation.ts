/**
 * Per-image colour normalisation of decoded crops, so a yellowish or paler stain from another site
 * reaches the model looking like the training site's. Applied to the crop's bytes right after
 * decoding, in the one preprocessing path (training, evaluation, prediction, ONNX inference).
 *
 * - "reinhard": Reinhard et al. 2001 colour transfer: each channel of the image in the decorrelated
 *   l-alpha-beta space (log LMS cone response) is shifted and scaled to a reference mean and standard
 *   deviation. The reference is a typical cell-centred PBC crop (CellaVision, May-Gruenwald-Giemsa).
 * - "standardise": each RGB channel to mean 128, standard deviation 48 (no reference, no colour
 *   space: removes brightness and colour casts, also some of the stain's hue).
 */
// The modes are part of the job contracts (a job payload's preprocess.colour); defined there once.
import type { ColourNormalisation } from "../contracts/job-payloads";
export { colourNormalisationSchema, type ColourNormalisation } from "../contracts/job-payloads";

/** Mean and standard deviation of l, alpha, beta. */
export interface LabStats {
  mean: [number, number, number];
  std: [number, number, number];
}

/**
 * Reference l-alpha-beta statistics: the median over 160 cell-centred 64 px PBC crops (20 per
 * class), measured with `computeLabStats`; any stain-typical reference works, what matters is that
 * training and prediction use the same one.
 */
export const REINHARD_REFERENCE: LabStats = { mean: [3.9099, 0.0006, 0.0112], std: [0.2265, 0.0858, 0.0053] };

const RGB_TO_LMS = [0.3811, 0.5783, 0.0402, 0.1967, 0.7244, 0.0782, 0.0241, 0.1288, 0.8444] as const;
const LMS_TO_RGB = [4.4679, -3.5873, 0.1193, -1.2186, 2.3809, -0.1624, 0.0497, -0.2439, 1.2045] as const;
const S3 = 1 / Math.sqrt(3);
const S6 = 1 / Math.sqrt(6);
const S2 = 1 / Math.sqrt(2);

/** RGB bytes (HWC) to l-alpha-beta floats, 3 per pixel. +1 keeps log10 finite on black. */
export function rgbToLab(pixels: Uint8Array): Float32Array {
  const out = new Float32Array(pixels.length);
  for (let p = 0; p < pixels.length; p += 3) {
    const r = pixels[p]! + 1;
    const g = pixels[p + 1]! + 1;
    const b = pixels[p + 2]! + 1;
    const L = Math.log10(RGB_TO_LMS[0] * r + RGB_TO_LMS[1] * g + RGB_TO_LMS[2] * b);
    const M = Math.log10(RGB_TO_LMS[3] * r + RGB_TO_LMS[4] * g + RGB_TO_LMS[5] * b);
    const S = Math.log10(RGB_TO_LMS[6] * r + RGB_TO_LMS[7] * g + RGB_TO_LMS[8] * b);
    out[p] = S3 * (L + M + S);
    out[p + 1] = S6 * (L + M - 2 * S);
    out[p + 2] = S2 * (L - M);
  }
  return out;
}

/** Inverse of {@link rgbToLab} into `out` bytes, rounded and clamped. */
export function labToRgb(lab: Float32Array, out: Uint8Array): void {
  for (let p = 0; p < lab.length; p += 3) {
    const a = lab[p]! * S3;
    const b = lab[p + 1]! * S6;
    const c = lab[p + 2]! * S2;
    const L = 10 ** (a + b + c);
    const M = 10 ** (a + b - c);
    const S = 10 ** (a - 2 * b);
    for (let k = 0; k < 3; k++) {
      const v = LMS_TO_RGB[k * 3]! * L + LMS_TO_RGB[k * 3 + 1]! * M + LMS_TO_RGB[k * 3 + 2]! * S - 1;
      out[p + k] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
    }
  }
}

function channelStats(values: Float32Array | Uint8Array): { mean: [number, number, number]; std: [number, number, number] } {
  const sum = [0, 0, 0];
  const sq = [0, 0, 0];
  const n = values.length / 3;
  for (let p = 0; p < values.length; p += 3) {
    for (let k = 0; k < 3; k++) {
      const v = values[p + k]!;
      sum[k]! += v;
      sq[k]! += v * v;
    }
  }
  const mean = sum.map((s) => s / n) as [number, number, number];
  const std = sq.map((s, k) => Math.sqrt(Math.max(s / n - mean[k]! ** 2, 0))) as [number, number, number];
  return { mean, std };
}

/** l-alpha-beta mean and standard deviation of one RGB image. */
export function computeLabStats(pixels: Uint8Array): LabStats {
  return channelStats(rgbToLab(pixels));
}

/** Reinhard colour transfer of `pixels` (RGB bytes, HWC) to `reference`, in place. */
export function reinhardNormalise(pixels: Uint8Array, reference: LabStats = REINHARD_REFERENCE): void {
  if (pixels.length === 0) return;
  const lab = rgbToLab(pixels);
  const own = channelStats(lab);
  // A flat channel (a blank crop) is only shifted: scaling noise up to the reference spread would invent texture.
  const gain = own.std.map((s, k) => (s > 1e-6 ? reference.std[k]! / s : 1));
  for (let p = 0; p < lab.length; p += 3) {
    for (let k = 0; k < 3; k++) lab[p + k] = (lab[p + k]! - own.mean[k]!) * gain[k]! + reference.mean[k]!;
  }
  labToRgb(lab, pixels);
}

/** Each RGB channel of `pixels` to mean 128, standard deviation 48, in place. */
export function standardisePerImage(pixels: Uint8Array): void {
  if (pixels.length === 0) return;
  const own = channelStats(pixels);
  for (let p = 0; p < pixels.length; p += 3) {
    for (let k = 0; k < 3; k++) {
      const s = own.std[k]!;
      const v = 128 + (s > 1e-6 ? ((pixels[p + k]! - own.mean[k]!) * 48) / s : 0);
      pixels[p + k] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
    }
  }
}

/** Applies `mode` to one image's bytes in place. */
export function applyColourNormalisation(pixels: Uint8Array, mode: ColourNormalisation | undefined): void {
  if (mode === "reinhard") reinhardNormalise(pixels);
  else if (mode === "standardise") standardisePerImage(pixels);
}
