/**
 * Pure coordinate math for the deep-zoom viewer (no OpenSeadragon import, so it is unit-testable).
 *
 * Image coordinates are pixels of the full-resolution image. OpenSeadragon's viewport coordinates put a
 * single image at x in [0, 1] and y in [0, height / width]: both axes are scaled by the image WIDTH.
 */
export type Size = { width: number; height: number };
export type Point = { x: number; y: number };
export type Rect = { x: number; y: number; width: number; height: number };

/** A box drawn on the image, in image pixels. */
export type ViewerBox = Rect & {
  id: string;
  /** CSS colour of the outline (the label's class colour). */
  color?: string;
  /** Text shown on the box (class name or key). */
  label?: string;
};

function assertSize(image: Size): void {
  if (!(image.width > 0 && image.height > 0)) throw new RangeError(`invalid image size ${image.width}x${image.height}`);
}

export function imageToViewportPoint(p: Point, image: Size): Point {
  assertSize(image);
  return { x: p.x / image.width, y: p.y / image.width };
}

export function viewportToImagePoint(p: Point, image: Size): Point {
  assertSize(image);
  return { x: p.x * image.width, y: p.y * image.width };
}

export function imageToViewportRect(r: Rect, image: Size): Rect {
  assertSize(image);
  const s = image.width;
  return { x: r.x / s, y: r.y / s, width: r.width / s, height: r.height / s };
}

export function viewportToImageRect(r: Rect, image: Size): Rect {
  assertSize(image);
  const s = image.width;
  return { x: r.x * s, y: r.y * s, width: r.width * s, height: r.height * s };
}

export function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

export function clampPoint(p: Point, image: Size): Point {
  return { x: clamp(p.x, 0, image.width), y: clamp(p.y, 0, image.height) };
}

/** The part of a rectangle that lies on the image; null when nothing of it does. */
export function clampRect(r: Rect, image: Size): Rect | null {
  const n = normalizeRect(r);
  const x0 = clamp(n.x, 0, image.width);
  const y0 = clamp(n.y, 0, image.height);
  const x1 = clamp(n.x + n.width, 0, image.width);
  const y1 = clamp(n.y + n.height, 0, image.height);
  if (x1 <= x0 || y1 <= y0) return null;
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/** Same rectangle with non-negative width and height (a box dragged up or left has negative ones). */
export function normalizeRect(r: Rect): Rect {
  return {
    x: r.width < 0 ? r.x + r.width : r.x,
    y: r.height < 0 ? r.y + r.height : r.y,
    width: Math.abs(r.width),
    height: Math.abs(r.height),
  };
}

/** The rectangle spanned by two drag corners, in either order. */
export function rectFromCorners(a: Point, b: Point): Rect {
  return { x: Math.min(a.x, b.x), y: Math.min(a.y, b.y), width: Math.abs(b.x - a.x), height: Math.abs(b.y - a.y) };
}

export function rectContains(r: Rect, p: Point, tolerance = 0): boolean {
  const n = normalizeRect(r);
  return p.x >= n.x - tolerance && p.x <= n.x + n.width + tolerance && p.y >= n.y - tolerance && p.y <= n.y + n.height + tolerance;
}

export function rectArea(r: Rect): number {
  return Math.abs(r.width * r.height);
}

export function rectCenter(r: Rect): Point {
  const n = normalizeRect(r);
  return { x: n.x + n.width / 2, y: n.y + n.height / 2 };
}

/**
 * The box under a point (image pixels). Where boxes overlap, the smallest one wins (a small cell drawn
 * inside a larger one stays clickable); on equal areas the one listed last (drawn on top) wins.
 */
export function hitTest<B extends Rect>(boxes: readonly B[], p: Point, tolerance = 0): B | null {
  let best: B | null = null;
  for (const box of boxes) {
    if (!rectContains(box, p, tolerance)) continue;
    if (best === null || rectArea(box) <= rectArea(best)) best = box;
  }
  return best;
}

/** Where a box's overlay goes in viewport coordinates: clamped to the image first; null when off-image. */
export function boxToOverlayRect(box: Rect, image: Size): Rect | null {
  const clamped = clampRect(box, image);
  return clamped ? imageToViewportRect(clamped, image) : null;
}

/** A viewport rectangle that shows the box with `padding` (fraction of its size) around it, on the image. */
export function focusRect(box: Rect, image: Size, padding = 0.5): Rect {
  const n = normalizeRect(box);
  const padX = n.width * padding;
  const padY = n.height * padding;
  const grown = clampRect({ x: n.x - padX, y: n.y - padY, width: n.width + 2 * padX, height: n.height + 2 * padY }, image);
  return imageToViewportRect(grown ?? { x: 0, y: 0, width: image.width, height: image.height }, image);
}

/** Whether a dragged rectangle is big enough to be a box rather than a slipped click. */
export function isUsableBox(r: Rect, minSize = 4): boolean {
  const n = normalizeRect(r);
  return n.width >= minSize && n.height >= minSize;
}
