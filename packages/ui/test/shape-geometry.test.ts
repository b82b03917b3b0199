import { describe, expect, it } from "vitest";
import { emptyHistory, invertEdit, planRedo, planUndo, recordEdit } from "../src/viewer/edit-history";
import {
  dragHandle,
  hitHandle,
  hitTestShapes,
  imageToScreen,
  keepShapeOnImage,
  moveShape,
  pointInPolygon,
  screenToImage,
  transformFromProbes,
  type DrawnShape,
} from "../src/viewer/shape-geometry";

const tri: Array<[number, number]> = [
  [0, 0],
  [100, 0],
  [0, 100],
];

describe("field canvas geometry", () => {
  it("maps image <-> screen from two OpenSeadragon probes, and back exactly", () => {
    const t = transformFromProbes({ x: 50, y: 20 }, { x: 50 + 320, y: 20 }, 640); // half scale
    expect(t.scale).toBe(0.5);
    expect(imageToScreen({ x: 100, y: 40 }, t)).toEqual({ x: 100, y: 40 });
    expect(screenToImage(imageToScreen({ x: 123, y: 77 }, t), t)).toEqual({ x: 123, y: 77 });
    expect(() => transformFromProbes({ x: 0, y: 0 }, { x: 1, y: 0 }, 0)).toThrow(RangeError);
  });

  it("hit-tests points, boxes and polygons; the smallest shape wins", () => {
    expect(pointInPolygon({ x: 10, y: 10 }, tri)).toBe(true);
    expect(pointInPolygon({ x: 60, y: 60 }, tri)).toBe(false);
    const items: Array<{ id: string; shape: DrawnShape }> = [
      { id: "big", shape: { geometry: "box", x: 0, y: 0, width: 200, height: 200 } },
      { id: "poly", shape: { geometry: "polygon", points: tri } },
      { id: "dot", shape: { geometry: "point", x: 10, y: 10 } },
    ];
    expect(hitTestShapes(items, { x: 11, y: 11 }, 3)?.id).toBe("dot");
    expect(hitTestShapes(items, { x: 30, y: 30 }, 3)?.id).toBe("poly");
    expect(hitTestShapes(items, { x: 150, y: 150 }, 3)?.id).toBe("big");
    expect(hitTestShapes(items, { x: 300, y: 300 }, 3)).toBeNull();
  });

  it("drags box corners (flipping past the opposite one) and polygon vertices; moves stay on the image", () => {
    const box: DrawnShape = { geometry: "box", x: 10, y: 10, width: 20, height: 20 };
    const se = hitHandle(box, { x: 29, y: 31 }, 3);
    expect(se).toEqual({ kind: "corner", corner: "se" });
    expect(dragHandle(box, se!, { x: 50, y: 40 })).toEqual({ geometry: "box", x: 10, y: 10, width: 40, height: 30 });
    expect(dragHandle(box, se!, { x: 0, y: 0 })).toEqual({ geometry: "box", x: 0, y: 0, width: 10, height: 10 });
    const poly: DrawnShape = { geometry: "polygon", points: tri };
    expect(dragHandle(poly, { kind: "vertex", index: 1 }, { x: 90, y: 5 })).toEqual({
      geometry: "polygon",
      points: [
        [0, 0],
        [90, 5],
        [0, 100],
      ],
    });
    expect(moveShape(box, 5, -5)).toMatchObject({ x: 15, y: 5 });
    expect(keepShapeOnImage(moveShape(box, 100, -50), { width: 120, height: 100 })).toMatchObject({ x: 100, y: 0, width: 20 });
  });
});

describe("undo/redo as inverse edits", () => {
  it("undoes a create by deleting, redoes it by restoring, and a new edit clears redo", () => {
    let h = recordEdit(emptyHistory(), { kind: "create", cellId: "a" });
    h = recordEdit(h, { kind: "classify", cellId: "a", from: "x", to: "y" });
    const u1 = planUndo(h)!;
    expect(u1.run).toEqual({ kind: "classify", cellId: "a", from: "y", to: "x" });
    const u2 = planUndo(u1.next)!;
    expect(u2.run).toEqual({ kind: "delete", cellId: "a" });
    expect(planUndo(u2.next)).toBeNull();
    const r1 = planRedo(u2.next)!;
    expect(r1.run).toEqual({ kind: "restore", cellId: "a" });
    expect(planRedo(r1.next)!.run).toEqual({ kind: "classify", cellId: "a", from: "x", to: "y" });
    expect(recordEdit(r1.next, { kind: "delete", cellId: "a" }).redo).toEqual([]);
    expect(invertEdit({ kind: "delete", cellId: "b" })).toEqual({ kind: "restore", cellId: "b" });
  });
});
