/**
 * Keyed overlay reconciliation for the deep-zoom viewer (pure; no OpenSeadragon or DOM, so it is unit-testable).
 *
 * The viewer keeps one overlay element per box id. On every change it diffs what is shown against what
 * should be shown and touches only the overlays that differ, instead of clearing and rebuilding all of them
 * (a field can hold hundreds of boxes and a drag fires dozens of events a second).
 */
import { boxToOverlayRect, type Rect, type Size, type ViewerBox } from "./coordinates";

export type OverlayKind = "saved" | "draft" | "band";

/** One overlay as shown: where it sits (viewport coordinates) and everything that decides its look. */
export type OverlaySpec = {
  id: string;
  rect: Rect;
  kind: OverlayKind;
  color: string;
  label: string | null;
  selected: boolean;
};

/** An overlay whose id stays: `moved` needs a new location, `restyled` a new look (same element either way). */
export type OverlayUpdate = { spec: OverlaySpec; moved: boolean; restyled: boolean };

export type OverlayDiff = { add: OverlaySpec[]; update: OverlayUpdate[]; remove: string[] };

export const DEFAULT_BOX_COLOR = "#ffd400";

/** The overlays for a list of boxes; boxes entirely off the image get none. */
export function toOverlaySpecs(boxes: readonly ViewerBox[], kind: OverlayKind, image: Size, selectedId: string | null): OverlaySpec[] {
  const specs: OverlaySpec[] = [];
  for (const box of boxes) {
    const rect = boxToOverlayRect(box, image);
    if (!rect) continue;
    specs.push({
      id: box.id,
      rect,
      kind,
      color: box.color ?? DEFAULT_BOX_COLOR,
      label: box.label ?? null,
      selected: box.id === selectedId,
    });
  }
  return specs;
}

/**
 * What to do to go from the shown overlays (`prev`, by id) to `next`: add new ids, update the ones that
 * moved or changed look, remove vanished ids. Unchanged overlays appear nowhere. When `next` repeats an id
 * the first one wins (an id names one element).
 */
export function diffOverlays(prev: ReadonlyMap<string, OverlaySpec>, next: readonly OverlaySpec[]): OverlayDiff {
  const diff: OverlayDiff = { add: [], update: [], remove: [] };
  const seen = new Set<string>();
  for (const spec of next) {
    if (seen.has(spec.id)) continue;
    seen.add(spec.id);
    const old = prev.get(spec.id);
    if (!old) {
      diff.add.push(spec);
      continue;
    }
    const moved = !sameRect(old.rect, spec.rect);
    const restyled = old.kind !== spec.kind || old.color !== spec.color || old.label !== spec.label || old.selected !== spec.selected;
    if (moved || restyled) diff.update.push({ spec, moved, restyled });
  }
  for (const id of prev.keys()) if (!seen.has(id)) diff.remove.push(id);
  return diff;
}

function sameRect(a: Rect, b: Rect): boolean {
  return a.x === b.x && a.y === b.y && a.width === b.width && a.height === b.height;
}
