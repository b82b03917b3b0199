import { describe, expect, it } from "vitest";
import {
  findShapeProblem,
  isSelfIntersecting,
  polygonArea,
  segmentsIntersect,
  toShapeColumns,
  type ShapePoint,
} from "../src/geometry/cell-shape";

const image = { width: 100, height: 80 };

describe("cell shape rules", () => {
  it("accepts valid points, boxes and polygons, including ones touching the image edge", () => {
    expect(findShapeProblem({ geometry: "point", x: 0, y: 80 }, image)).toBeNull();
    expect(findShapeProblem({ geometry: "box", x: 96, y: 76, width: 4, height: 4 }, image)).toBeNull();
    const concave: ShapePoint[] = [
      [10, 10],
      [50, 10],
      [30, 30],
      [50, 50],
      [10, 50],
    ];
    expect(findShapeProblem({ geometry: "polygon", points: concave }, image)).toBeNull();
  });

  it("names what is wrong", () => {
    expect(findShapeProblem({ geometry: "box", x: 0, y: 0, width: 3.9, height: 10 }, image)).toMatch(/at least 4/);
    expect(findShapeProblem({ geometry: "box", x: 97, y: 0, width: 4, height: 10 }, image)).toMatch(/outside/);
    expect(findShapeProblem({ geometry: "box", x: 0, y: 0, width: Number.NaN, height: 10 }, image)).toMatch(/finite/);
    expect(findShapeProblem({ geometry: "point", x: -0.1, y: 0 }, image)).toMatch(/outside/);
    expect(
      findShapeProblem(
        {
          geometry: "polygon",
          points: [
            [1, 1],
            [2, 2],
          ],
        },
        image,
      ),
    ).toMatch(/at least 3/);
  });

  it("detects crossing, touching and doubling-back outlines", () => {
    expect(
      isSelfIntersecting([
        [0, 0],
        [10, 10],
        [10, 0],
        [0, 10],
      ]),
    ).toBe(true); // bow tie
    expect(
      isSelfIntersecting([
        [0, 0],
        [10, 0],
        [10, 10],
        [0, 10],
      ]),
    ).toBe(false); // square
    // a vertex touching a non-adjacent edge
    expect(
      isSelfIntersecting([
        [0, 0],
        [20, 0],
        [10, 10],
        [10, 0],
        [0, 10],
      ]),
    ).toBe(true);
    // a spike that goes back along its own edge
    expect(
      isSelfIntersecting([
        [0, 0],
        [10, 0],
        [5, 0],
        [5, 10],
      ]),
    ).toBe(true);
    expect(segmentsIntersect([0, 0], [10, 0], [5, 0], [5, 5])).toBe(true);
    expect(segmentsIntersect([0, 0], [10, 0], [0, 1], [10, 1])).toBe(false);
  });

  it("computes area and the stored columns (a polygon keeps its bounding box)", () => {
    expect(
      Math.abs(
        polygonArea([
          [0, 0],
          [10, 0],
          [10, 10],
          [0, 10],
        ]),
      ),
    ).toBe(100);
    expect(
      toShapeColumns({
        geometry: "polygon",
        points: [
          [5, 6],
          [15, 6],
          [10, 20],
        ],
      }),
    ).toEqual({
      geometry: "polygon",
      x: 5,
      y: 6,
      width: 10,
      height: 14,
      points: [
        [5, 6],
        [15, 6],
        [10, 20],
      ],
    });
    expect(toShapeColumns({ geometry: "point", x: 1, y: 2 })).toMatchObject({ width: null, height: null, points: null });
  });
});
