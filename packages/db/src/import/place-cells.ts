import type { CellSpec, ImportEntry } from "./import-types";
import type { NewCell } from "./insert-image-rows";
import type { SchemeClass } from "./label-resolver";

export type PlacedCells = {
  cells: NewCell[];
  rejectedBoxes: string[];
  clipped: number;
  unlabeled: number;
  warnings: string[];
};

/**
 * Turns the entry's cell specs into rows for an image of the given size: labels resolved (unknown
 * ones kept as unlabeled cells, sourceLabel preserved), VOC boxes (xmin..xmax in pixels) clipped to
 * the image and dropped with a reason when nothing of them is left.
 */
export function placeCells(
  entry: ImportEntry,
  size: { width: number; height: number },
  resolveLabel: (raw: string) => SchemeClass | null,
): PlacedCells {
  const placed: PlacedCells = { cells: [], rejectedBoxes: [...(entry.rejectedCells ?? [])], clipped: 0, unlabeled: 0, warnings: [] };
  const declared = entry.declaredSize;
  if (declared && (declared.width !== size.width || declared.height !== size.height)) {
    placed.warnings.push(
      `${entry.origin ?? entry.file}: <size> says ${declared.width}x${declared.height}, the image is ${size.width}x${size.height}; boxes clipped to the image`,
    );
  }
  for (const spec of entry.cells) {
    const cls = spec.rawLabel === null ? null : resolveLabel(spec.rawLabel);
    const base = { sourceLabel: spec.sourceLabel, classId: cls?.id ?? null };
    if (spec.geometry === "whole") {
      placed.cells.push({ geometry: "whole", x: null, y: null, width: null, height: null, ...base });
    } else {
      const box = clipBox(spec, size);
      if ("reason" in box) {
        placed.rejectedBoxes.push(`${spec.ref}: ${box.reason}`);
        continue;
      }
      if (box.clipped) placed.clipped++;
      placed.cells.push({ geometry: "box", x: box.x, y: box.y, width: box.width, height: box.height, ...base });
    }
    if (cls === null) placed.unlabeled++;
  }
  return placed;
}

type ClippedBox = { x: number; y: number; width: number; height: number; clipped: boolean } | { reason: string };

/** x = xmin, width = xmax - xmin (the usual VOC -> COCO convention), then clipped to [0, size]. */
export function clipBox(spec: Extract<CellSpec, { geometry: "box" }>, size: { width: number; height: number }): ClippedBox {
  const { xmin, ymin, xmax, ymax } = spec;
  const coords = `xmin=${xmin} ymin=${ymin} xmax=${xmax} ymax=${ymax}`;
  if (![xmin, ymin, xmax, ymax].every(Number.isFinite)) return { reason: `missing or non-numeric box coordinates (${coords})` };
  if (xmax <= xmin || ymax <= ymin) return { reason: `degenerate box (${coords})` };
  const x0 = clamp(xmin, 0, size.width);
  const y0 = clamp(ymin, 0, size.height);
  const x1 = clamp(xmax, 0, size.width);
  const y1 = clamp(ymax, 0, size.height);
  if (x1 - x0 < 1 || y1 - y0 < 1) return { reason: `box lies outside the ${size.width}x${size.height} image (${coords})` };
  const clipped = x0 !== xmin || y0 !== ymin || x1 !== xmax || y1 !== ymax;
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0, clipped };
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
