/**
 * Pure rules for a drawn cell's shape (no database, no imports): the server validates every create and
 * edit with them, and the field viewer uses the same functions to refuse a bad shape before sending it.
 * All coordinates are pixels of the full-resolution image.
 */
export type ShapePoint = [number, number];

export type CellShape =
  | { geometry: "point"; x: number; y: number }
  | { geometry: "box"; x: number; y: number; width: number; height: number }
  | { geometry: "polygon"; points: ShapePoint[] };

/** The cell row's geometry columns for a shape; a polygon also keeps its bounding box (exports and crops use it). */
export type ShapeColumns = {
  geometry: CellShape["geometry"];
  x: number;
  y: number;
  width: number | null;
  height: number | null;
  points: ShapePoint[] | null;
};

/** Smaller boxes are almost always a slipped click, not a cell. */
export const MIN_BOX_SIZE = 4;
export const MIN_POLYGON_POINTS = 3;
/** Bounded so one request cannot make the server do quadratic work on a huge outline. */
export const MAX_POLYGON_POINTS = 500;

type Size = { width: number; height: number };

const inside = (x: number, y: number, image: Size) => x >= 0 && y >= 0 && x <= image.width && y <= image.height;

/**
 * What is wrong with a shape on an image of the given size, or null when it is valid: non-finite
 * numbers, outside the image, a box under MIN_BOX_SIZE, a polygon with too few or too many points,
 * repeated consecutive points, no area, or edges that cross.
 */
export function findShapeProblem(shape: CellShape, image: Size): string | null {
  switch (shape.geometry) {
    case "point":
      if (!Number.isFinite(shape.x) || !Number.isFinite(shape.y)) return "point coordinates must be finite numbers";
      return inside(shape.x, shape.y, image) ? null : "point lies outside the image";
    case "box": {
      const { x, y, width, height } = shape;
      if (![x, y, width, height].every(Number.isFinite)) return "box coordinates must be finite numbers";
      if (width < MIN_BOX_SIZE || height < MIN_BOX_SIZE) return `box must be at least ${MIN_BOX_SIZE}×${MIN_BOX_SIZE} px`;
      return inside(x, y, image) && inside(x + width, y + height, image) ? null : "box extends outside the image";
    }
    case "polygon": {
      const pts = shape.points;
      if (pts.length < MIN_POLYGON_POINTS) return `polygon needs at least ${MIN_POLYGON_POINTS} points`;
      if (pts.length > MAX_POLYGON_POINTS) return `polygon may have at most ${MAX_POLYGON_POINTS} points`;
      if (!pts.every(([px, py]) => Number.isFinite(px) && Number.isFinite(py))) return "polygon coordinates must be finite numbers";
      if (!pts.every(([px, py]) => inside(px, py, image))) return "polygon extends outside the image";
      if (pts.some((p, i) => samePoint(p, pts[(i + 1) % pts.length]!))) return "polygon repeats a point";
      if (Math.abs(polygonArea(pts)) < 1e-9) return "polygon has no area";
      return isSelfIntersecting(pts) ? "polygon edges cross each other" : null;
    }
  }
}

/** The row columns for a valid shape (call findShapeProblem first). */
export function toShapeColumns(shape: CellShape): ShapeColumns {
  switch (shape.geometry) {
    case "point":
      return { geometry: "point", x: shape.x, y: shape.y, width: null, height: null, points: null };
    case "box":
      return { geometry: "box", x: shape.x, y: shape.y, width: shape.width, height: shape.height, points: null };
    case "polygon": {
      const xs = shape.points.map((p) => p[0]);
      const ys = shape.points.map((p) => p[1]);
      const x = Math.min(...xs);
      const y = Math.min(...ys);
      return { geometry: "polygon", x, y, width: Math.max(...xs) - x, height: Math.max(...ys) - y, points: shape.points };
    }
  }
}

/** Signed area (shoelace); positive for counter-clockwise in a y-up frame. */
export function polygonArea(points: readonly ShapePoint[]): number {
  let sum = 0;
  for (let i = 0; i < points.length; i++) {
    const [x1, y1] = points[i]!;
    const [x2, y2] = points[(i + 1) % points.length]!;
    sum += x1 * y2 - x2 * y1;
  }
  return sum / 2;
}

function samePoint(a: ShapePoint, b: ShapePoint): boolean {
  return a[0] === b[0] && a[1] === b[1];
}

function orientation(a: ShapePoint, b: ShapePoint, c: ShapePoint): number {
  const v = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
  return v > 0 ? 1 : v < 0 ? -1 : 0;
}

/** Whether c lies on segment ab, given that the three are collinear. */
function onSegment(a: ShapePoint, b: ShapePoint, c: ShapePoint): boolean {
  return Math.min(a[0], b[0]) <= c[0] && c[0] <= Math.max(a[0], b[0]) && Math.min(a[1], b[1]) <= c[1] && c[1] <= Math.max(a[1], b[1]);
}

/** Whether segments ab and cd share any point (touching counts). */
export function segmentsIntersect(a: ShapePoint, b: ShapePoint, c: ShapePoint, d: ShapePoint): boolean {
  const o1 = orientation(a, b, c);
  const o2 = orientation(a, b, d);
  const o3 = orientation(c, d, a);
  const o4 = orientation(c, d, b);
  if (o1 !== o2 && o3 !== o4) return true;
  return (
    (o1 === 0 && onSegment(a, b, c)) ||
    (o2 === 0 && onSegment(a, b, d)) ||
    (o3 === 0 && onSegment(c, d, a)) ||
    (o4 === 0 && onSegment(c, d, b))
  );
}

/**
 * Whether a closed polygon's outline crosses or touches itself. Non-adjacent edges must not meet at all;
 * adjacent edges meet at their shared vertex only (a spike that doubles back along its edge is caught
 * because the far end then lies on the other edge). O(n²), which MAX_POLYGON_POINTS keeps small.
 */
export function isSelfIntersecting(points: readonly ShapePoint[]): boolean {
  const n = points.length;
  const edge = (i: number): [ShapePoint, ShapePoint] => [points[i]!, points[(i + 1) % n]!];
  for (let i = 0; i < n; i++) {
    const [a, b] = edge(i);
    for (let j = i + 1; j < n; j++) {
      const [c, d] = edge(j);
      const adjacent = j === i + 1 || (i === 0 && j === n - 1);
      if (adjacent) {
        // Shared vertex: b === c (j = i + 1) or d === a (wrap-around). Overlap = the other end on this edge.
        const [far1, far2] = j === i + 1 ? [a, d] : [b, c];
        if (orientation(a, b, far2) === 0 && onSegment(a, b, far2)) return true;
        if (orientation(c, d, far1) === 0 && onSegment(c, d, far1)) return true;
        continue;
      }
      if (segmentsIntersect(a, b, c, d)) return true;
    }
  }
  return false;
}
