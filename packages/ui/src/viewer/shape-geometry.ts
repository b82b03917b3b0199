/**
 * Pure math for drawn shapes on the field canvas (no DOM, no OpenSeadragon): the image <-> screen
 * transform, hit testing of points, boxes and polygons, resize handles and moves. Image pixels unless
 * a name says screen.
 */
import { type Point, type Rect, normalizeRect, rectContains } from "./coordinates";

export type DrawnShape =
  | { geometry: "point"; x: number; y: number }
  | { geometry: "box"; x: number; y: number; width: number; height: number }
  | { geometry: "polygon"; points: Array<[number, number]> };

/**
 * screen = image * scale + offset. OpenSeadragon (unrotated) maps image pixels to the viewer's element
 * pixels this way, so two probes (the image origin and a point one image width to its right) fix it.
 */
export type ScreenTransform = { scale: number; offsetX: number; offsetY: number };

export function transformFromProbes(originOnScreen: Point, unitXOnScreen: Point, imageWidth: number): ScreenTransform {
  if (!(imageWidth > 0)) throw new RangeError(`invalid image width ${imageWidth}`);
  return { scale: (unitXOnScreen.x - originOnScreen.x) / imageWidth, offsetX: originOnScreen.x, offsetY: originOnScreen.y };
}

export function imageToScreen(p: Point, t: ScreenTransform): Point {
  return { x: p.x * t.scale + t.offsetX, y: p.y * t.scale + t.offsetY };
}

export function screenToImage(p: Point, t: ScreenTransform): Point {
  return { x: (p.x - t.offsetX) / t.scale, y: (p.y - t.offsetY) / t.scale };
}

export function shapeBounds(s: DrawnShape): Rect {
  if (s.geometry === "point") return { x: s.x, y: s.y, width: 0, height: 0 };
  if (s.geometry === "box") return normalizeRect(s);
  const xs = s.points.map((p) => p[0]);
  const ys = s.points.map((p) => p[1]);
  const x = Math.min(...xs);
  const y = Math.min(...ys);
  return { x, y, width: Math.max(...xs) - x, height: Math.max(...ys) - y };
}

/** Even-odd ray casting: whether p is inside the closed polygon. */
export function pointInPolygon(p: Point, points: ReadonlyArray<readonly [number, number]>): boolean {
  let inside = false;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
    const [xi, yi] = points[i]!;
    const [xj, yj] = points[j]!;
    if (yi > p.y !== yj > p.y && p.x < ((xj - xi) * (p.y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function distanceToSegment(p: Point, a: readonly [number, number], b: readonly [number, number]): number {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((p.x - a[0]) * dx + (p.y - a[1]) * dy) / len2));
  return Math.hypot(p.x - (a[0] + t * dx), p.y - (a[1] + t * dy));
}

/** Whether p (image px) is on the shape, within `tolerance` image px of a point or an outline. */
export function shapeContains(s: DrawnShape, p: Point, tolerance: number): boolean {
  if (s.geometry === "point") return Math.hypot(p.x - s.x, p.y - s.y) <= tolerance;
  if (s.geometry === "box") return rectContains(s, p, tolerance);
  if (pointInPolygon(p, s.points)) return true;
  return s.points.some((a, i) => distanceToSegment(p, a, s.points[(i + 1) % s.points.length]!) <= tolerance);
}

/**
 * The shape under p. Where shapes overlap the smallest wins (a small cell inside a large one stays
 * clickable; points have no area and win over what they sit on); on a tie the last listed (drawn on top).
 */
export function hitTestShapes<T extends { shape: DrawnShape }>(items: readonly T[], p: Point, tolerance: number): T | null {
  let best: T | null = null;
  let bestArea = Infinity;
  for (const item of items) {
    if (!shapeContains(item.shape, p, tolerance)) continue;
    const b = shapeBounds(item.shape);
    const area = b.width * b.height;
    if (area <= bestArea) {
      best = item;
      bestArea = area;
    }
  }
  return best;
}

/** A grip on the selected shape: a box corner or edge, or a polygon vertex. */
export type Handle = { kind: "corner"; corner: "nw" | "ne" | "sw" | "se" } | { kind: "vertex"; index: number };

export function shapeHandles(s: DrawnShape): Array<{ handle: Handle; at: Point }> {
  if (s.geometry === "box") {
    const r = normalizeRect(s);
    return [
      { handle: { kind: "corner", corner: "nw" }, at: { x: r.x, y: r.y } },
      { handle: { kind: "corner", corner: "ne" }, at: { x: r.x + r.width, y: r.y } },
      { handle: { kind: "corner", corner: "sw" }, at: { x: r.x, y: r.y + r.height } },
      { handle: { kind: "corner", corner: "se" }, at: { x: r.x + r.width, y: r.y + r.height } },
    ];
  }
  if (s.geometry === "polygon") return s.points.map(([x, y], index) => ({ handle: { kind: "vertex", index }, at: { x, y } }));
  return [];
}

/** The handle of a shape within `tolerance` image px of p, if any. */
export function hitHandle(s: DrawnShape, p: Point, tolerance: number): Handle | null {
  for (const { handle, at } of shapeHandles(s)) if (Math.hypot(p.x - at.x, p.y - at.y) <= tolerance) return handle;
  return null;
}

/** The shape moved by (dx, dy) image px. */
export function moveShape(s: DrawnShape, dx: number, dy: number): DrawnShape {
  if (s.geometry === "polygon") return { geometry: "polygon", points: s.points.map(([x, y]) => [x + dx, y + dy]) };
  return { ...s, x: s.x + dx, y: s.y + dy };
}

/** The shape with one handle dragged to p; a box corner dragged past the opposite one flips the box. */
export function dragHandle(s: DrawnShape, handle: Handle, p: Point): DrawnShape {
  if (s.geometry === "polygon" && handle.kind === "vertex") {
    return { geometry: "polygon", points: s.points.map((pt, i) => (i === handle.index ? [p.x, p.y] : pt)) };
  }
  if (s.geometry === "box" && handle.kind === "corner") {
    const r = normalizeRect(s);
    const fixedX = handle.corner.endsWith("w") ? r.x + r.width : r.x;
    const fixedY = handle.corner.startsWith("n") ? r.y + r.height : r.y;
    return {
      geometry: "box",
      x: Math.min(fixedX, p.x),
      y: Math.min(fixedY, p.y),
      width: Math.abs(p.x - fixedX),
      height: Math.abs(p.y - fixedY),
    };
  }
  return s;
}

/** Keeps a moved shape on the image by shifting it back, without changing its size. */
export function keepShapeOnImage(s: DrawnShape, image: { width: number; height: number }): DrawnShape {
  const b = shapeBounds(s);
  const dx = b.x < 0 ? -b.x : b.x + b.width > image.width ? image.width - (b.x + b.width) : 0;
  const dy = b.y < 0 ? -b.y : b.y + b.height > image.height ? image.height - (b.y + b.height) : 0;
  return dx || dy ? moveShape(s, dx, dy) : s;
}
