import { describe, expect, it } from "vitest";
import {
  boxToOverlayRect,
  clampPoint,
  clampRect,
  focusRect,
  hitTest,
  imageToViewportPoint,
  imageToViewportRect,
  isUsableBox,
  normalizeRect,
  rectCenter,
  rectFromCorners,
  viewportToImagePoint,
  viewportToImageRect,
} from "../src/viewer/coordinates";

const field = { width: 640, height: 480 };

describe("image <-> viewport coordinates", () => {
  it("scales both axes by the image width, as OpenSeadragon does", () => {
    expect(imageToViewportPoint({ x: 640, y: 480 }, field)).toEqual({ x: 1, y: 0.75 });
    expect(imageToViewportPoint({ x: 320, y: 0 }, field)).toEqual({ x: 0.5, y: 0 });
    expect(imageToViewportRect({ x: 64, y: 48, width: 128, height: 96 }, field)).toEqual({ x: 0.1, y: 0.075, width: 0.2, height: 0.15 });
  });

  it("round-trips points and rectangles", () => {
    const p = { x: 123.5, y: 456.25 };
    const back = viewportToImagePoint(imageToViewportPoint(p, field), field);
    expect(back.x).toBeCloseTo(p.x, 9);
    expect(back.y).toBeCloseTo(p.y, 9);
    const r = { x: 10, y: 20, width: 30, height: 40 };
    const rb = viewportToImageRect(imageToViewportRect(r, field), field);
    expect(rb.x).toBeCloseTo(10, 9);
    expect(rb.height).toBeCloseTo(40, 9);
  });

  it("refuses a zero-sized image instead of producing NaN/Infinity", () => {
    expect(() => imageToViewportPoint({ x: 1, y: 1 }, { width: 0, height: 10 })).toThrow(RangeError);
  });
});

describe("rectangles", () => {
  it("normalises boxes dragged up/left and builds them from corners in any order", () => {
    expect(normalizeRect({ x: 100, y: 100, width: -30, height: -20 })).toEqual({ x: 70, y: 80, width: 30, height: 20 });
    expect(rectFromCorners({ x: 50, y: 60 }, { x: 10, y: 20 })).toEqual({ x: 10, y: 20, width: 40, height: 40 });
    expect(rectCenter({ x: 10, y: 20, width: 40, height: 40 })).toEqual({ x: 30, y: 40 });
  });

  it("clamps to the image and drops rectangles entirely off it", () => {
    expect(clampRect({ x: -10, y: -10, width: 50, height: 30 }, field)).toEqual({ x: 0, y: 0, width: 40, height: 20 });
    expect(clampRect({ x: 600, y: 450, width: 100, height: 100 }, field)).toEqual({ x: 600, y: 450, width: 40, height: 30 });
    expect(clampRect({ x: 700, y: 10, width: 20, height: 20 }, field)).toBeNull();
    expect(clampRect({ x: 10, y: 10, width: 0, height: 20 }, field)).toBeNull();
    expect(clampPoint({ x: -5, y: 999 }, field)).toEqual({ x: 0, y: 480 });
  });

  it("turns a box into an overlay rectangle in viewport coordinates (clamped first)", () => {
    expect(boxToOverlayRect({ x: 320, y: 240, width: 64, height: 64 }, field)).toEqual({ x: 0.5, y: 0.375, width: 0.1, height: 0.1 });
    expect(boxToOverlayRect({ x: 620, y: 0, width: 40, height: 10 }, field)).toEqual({
      x: 620 / 640,
      y: 0,
      width: 20 / 640,
      height: 10 / 640,
    });
    expect(boxToOverlayRect({ x: -50, y: -50, width: 10, height: 10 }, field)).toBeNull();
  });

  it("focuses a box with padding, staying on the image", () => {
    const r = focusRect({ x: 0, y: 0, width: 64, height: 64 }, field, 0.5);
    expect(r).toEqual({ x: 0, y: 0, width: 96 / 640, height: 96 / 640 });
  });

  it("tells boxes from slipped clicks", () => {
    expect(isUsableBox({ x: 0, y: 0, width: 3, height: 50 })).toBe(false);
    expect(isUsableBox({ x: 0, y: 0, width: -10, height: -10 })).toBe(true);
  });
});

describe("hit-testing", () => {
  const big = { id: "big", x: 0, y: 0, width: 200, height: 200 };
  const small = { id: "small", x: 50, y: 50, width: 20, height: 20 };
  const other = { id: "other", x: 300, y: 300, width: 40, height: 40 };

  it("finds the box under the point, preferring the smallest where boxes overlap", () => {
    expect(hitTest([big, small, other], { x: 60, y: 60 })?.id).toBe("small");
    expect(hitTest([small, big, other], { x: 60, y: 60 })?.id).toBe("small");
    expect(hitTest([big, small, other], { x: 10, y: 10 })?.id).toBe("big");
    expect(hitTest([big, small, other], { x: 320, y: 320 })?.id).toBe("other");
  });

  it("returns null off every box, counts edges as inside and honours a tolerance", () => {
    expect(hitTest([big, small, other], { x: 250, y: 250 })).toBeNull();
    expect(hitTest([other], { x: 340, y: 340 })?.id).toBe("other");
    expect(hitTest([other], { x: 342, y: 320 })).toBeNull();
    expect(hitTest([other], { x: 342, y: 320 }, 3)?.id).toBe("other");
    expect(hitTest([], { x: 0, y: 0 })).toBeNull();
  });

  it("on equal areas the box listed last (drawn on top) wins", () => {
    const a = { id: "a", x: 0, y: 0, width: 10, height: 10 };
    const b = { id: "b", x: 5, y: 5, width: 10, height: 10 };
    expect(hitTest([a, b], { x: 7, y: 7 })?.id).toBe("b");
  });
});
