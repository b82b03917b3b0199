/**
 * Finding the white cell in a crop, so that every source (a CellaVision crop where the cell fills a
 * third of the frame, a 120 px crop it fills entirely, a box on a smear field) gives the model the
 * cell at the same scale. Sites differ in framing and magnification far more than in cell shape,
 * and a CNN trained on one framing does not transfer to another (docs/benchmarks.md, cross-site).
 *
 * The nucleus is what Romanowsky stains colour most distinctly: strongly blue-violet, i.e. blue well
 * above green, and dark (little green passes), where red cells (pink: red above blue), cytoplasm
 * (pale) and background (near white, or yellowish at some sites) are not. The score
 * `B - G + (255 - G) / 2` is split in three classes by Otsu per image, the top one being the nucleus (no fixed level, so a
 * paler or yellower stain still splits), the connected components are ranked by size and closeness
 * to the centre, lobes near the chosen one are merged (segmented neutrophils), and the box is grown
 * to take in the cytoplasm. When the split is weak (no nucleus, a red cell, an empty frame) the
 * caller falls back to the centre or the given box.
 */
import type { CellBox } from "./labeled-items";
import type { CropRect } from "./preprocess-image";
import { resampleRect, type RgbImage } from "./resample";

/** Settings of cell-centred cropping; recorded in a model's config so prediction crops alike. */
export interface CellCentreOptions {
  /** Fraction of the crop side the cell (grown nucleus box) occupies. Default 0.6. */
  cellFraction?: number;
  /** The cell box is the nucleus box's longer side times this (cytoplasm around it). Default 1.3. */
  cytoplasmGrowth?: number;
}

export const DEFAULT_CELL_FRACTION = 0.6;
export const DEFAULT_CYTOPLASM_GROWTH = 1.3;

/** Analysis grid side: enough to resolve nucleus lobes of a cell filling a third of the frame. */
const ANALYSIS_SIDE = 96;
/** Mean score gap (score levels) between nucleus and the rest below which nothing is found. */
const MIN_CONTRAST = 25;
/** Components smaller than this fraction of the analysed area are noise (granules, platelets, dust). */
const MIN_AREA_FRACTION = 0.004;

/** Scores are `(B - G + (255 - G) / 2 + 255) / 2`: 0..318. */
const SCORE_LEVELS = 319;

/**
 * Three-class Otsu (maximum between-class variance over two thresholds): background, pale stained
 * matter (cytoplasm, red cells) and nucleus. Returns the lower bound of the top class.
 */
function otsuTopThreshold(hist: Float64Array): number {
  const L = hist.length;
  const p = new Float64Array(L + 1);
  const m = new Float64Array(L + 1);
  for (let i = 0; i < L; i++) {
    p[i + 1] = p[i]! + hist[i]!;
    m[i + 1] = m[i]! + i * hist[i]!;
  }
  const total = p[L]!;
  const mAll = m[L]!;
  let best = -1;
  let top = L - 1;
  // Classes [0, t1), [t1, t2), [t2, L).
  for (let t1 = 1; t1 < L - 1; t1++) {
    const w0 = p[t1]!;
    if (w0 === 0) continue;
    const s0 = (m[t1]! * m[t1]!) / w0;
    for (let t2 = t1 + 1; t2 < L; t2++) {
      const w1 = p[t2]! - w0;
      const w2 = total - p[t2]!;
      if (w1 === 0 || w2 === 0) continue;
      const m1 = m[t2]! - m[t1]!;
      const m2 = mAll - m[t2]!;
      const between = s0 + (m1 * m1) / w1 + (m2 * m2) / w2;
      if (between > best) {
        best = between;
        top = t2;
      }
    }
  }
  return top;
}

interface Component {
  area: number;
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  cx: number;
  cy: number;
}

/** 8-connected components of `mask` (w x h). */
function labelComponents(mask: Uint8Array, w: number, h: number): Component[] {
  const seen = new Uint8Array(mask.length);
  const stack = new Int32Array(mask.length);
  const comps: Component[] = [];
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || seen[start]) continue;
    let top = 0;
    stack[top++] = start;
    seen[start] = 1;
    const c: Component = { area: 0, minX: w, minY: h, maxX: -1, maxY: -1, cx: 0, cy: 0 };
    while (top > 0) {
      const p = stack[--top]!;
      const x = p % w;
      const y = (p - x) / w;
      c.area++;
      c.cx += x;
      c.cy += y;
      if (x < c.minX) c.minX = x;
      if (x > c.maxX) c.maxX = x;
      if (y < c.minY) c.minY = y;
      if (y > c.maxY) c.maxY = y;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= h) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= w) continue;
          const q = ny * w + nx;
          if (mask[q] && !seen[q]) {
            seen[q] = 1;
            stack[top++] = q;
          }
        }
      }
    }
    c.cx /= c.area;
    c.cy /= c.area;
    comps.push(c);
  }
  return comps;
}

/**
 * The nucleus box (in `image` pixels) of the white cell in `region` of `image` (whole image when
 * omitted), or undefined when no nucleus stands out.
 */
export function locateNucleus(image: RgbImage, region?: CropRect): CellBox | undefined {
  const r = region ?? { left: 0, top: 0, width: image.width, height: image.height };
  const scale = Math.min(1, ANALYSIS_SIDE / Math.max(r.width, r.height));
  const w = Math.max(8, Math.round(r.width * scale));
  const h = Math.max(8, Math.round(r.height * scale));
  const px = resampleRect(image, r, w, h);
  const n = w * h;
  const score = new Int16Array(n);
  const hist = new Float64Array(SCORE_LEVELS);
  for (let i = 0; i < n; i++) {
    const g = px[i * 3 + 1]!;
    const s = (px[i * 3 + 2]! - g + ((255 - g) >> 1) + 255) >> 1;
    score[i] = s;
    hist[s]!++;
  }
  const t = otsuTopThreshold(hist);
  const mask = new Uint8Array(n);
  let fgSum = 0;
  let fgN = 0;
  let bgSum = 0;
  for (let i = 0; i < n; i++) {
    if (score[i]! >= t) {
      mask[i] = 1;
      fgSum += score[i]!;
      fgN++;
    } else bgSum += score[i]!;
  }
  if (fgN === 0 || fgN === n || fgSum / fgN - bgSum / (n - fgN) < MIN_CONTRAST) return undefined;
  const comps = labelComponents(mask, w, h).filter((c) => c.area >= MIN_AREA_FRACTION * n);
  if (comps.length === 0) return undefined;
  // Size matters most; a component far off centre (a neighbouring cell cut by the frame) loses.
  const half = Math.max(w, h) / 2;
  const rank = (c: Component): number => c.area / (1 + (Math.hypot(c.cx - w / 2, c.cy - h / 2) / half) ** 2 * 2);
  const best = comps.reduce((a, b) => (rank(b) > rank(a) ? b : a));
  // Lobes of the same nucleus: sizeable components within most of a nucleus size of the chosen one.
  const reach = 0.75 * (Math.max(best.maxX - best.minX, best.maxY - best.minY) + 1);
  let minX = best.minX;
  let minY = best.minY;
  let maxX = best.maxX;
  let maxY = best.maxY;
  for (const c of comps) {
    if (c === best || c.area < 0.1 * best.area) continue;
    if (Math.hypot(c.cx - best.cx, c.cy - best.cy) > reach) continue;
    minX = Math.min(minX, c.minX);
    minY = Math.min(minY, c.minY);
    maxX = Math.max(maxX, c.maxX);
    maxY = Math.max(maxY, c.maxY);
  }
  const sx = r.width / w;
  const sy = r.height / h;
  return { x: r.left + minX * sx, y: r.top + minY * sy, width: (maxX - minX + 1) * sx, height: (maxY - minY + 1) * sy };
}

/**
 * The square crop that puts the cell around `nucleus` at `cellFraction` of the side, centred on
 * the nucleus. It may extend past the image (edge pixels are repeated there), so a cell filling a
 * small frame is shrunk to the same scale as one in a roomy frame.
 */
export function cellCentredRect(nucleus: CellBox, options: CellCentreOptions = {}): CropRect {
  const growth = options.cytoplasmGrowth ?? DEFAULT_CYTOPLASM_GROWTH;
  const fraction = options.cellFraction ?? DEFAULT_CELL_FRACTION;
  if (!(fraction > 0 && fraction <= 1)) throw new Error(`cellFraction must be in (0, 1] (got ${fraction})`);
  if (!(growth >= 1)) throw new Error(`cytoplasmGrowth must be >= 1 (got ${growth})`);
  const side = (Math.max(nucleus.width, nucleus.height) * growth) / fraction;
  const cx = nucleus.x + nucleus.width / 2;
  const cy = nucleus.y + nucleus.height / 2;
  return { left: cx - side / 2, top: cy - side / 2, width: side, height: side };
}

/**
 * The crop for a cell-centred input: locate the nucleus in `searchRect` and frame it, else
 * `fallback` (the ordinary centre-square or box crop). The crop is never smaller than a quarter of
 * the search area's shorter side, so a stray granule cannot zoom in on nothing.
 */
export function computeCellCentredCrop(
  image: RgbImage,
  searchRect: CropRect,
  fallback: CropRect,
  options: CellCentreOptions = {},
): CropRect {
  const nucleus = locateNucleus(image, searchRect);
  if (!nucleus) return fallback;
  const rect = cellCentredRect(nucleus, options);
  const minSide = Math.min(searchRect.width, searchRect.height) / 4;
  if (rect.width >= minSide) return rect;
  const grow = (minSide - rect.width) / 2;
  return { left: rect.left - grow, top: rect.top - grow, width: minSide, height: minSide };
}
