import { expect, it } from "vitest";
import { cropBackground } from "../src/crop";

it("scales the image so the padded box fills the tile and positions it by percentage", () => {
  // 100px box, no padding, in a 640x480 field: 6.4x tile width; box at (270, 190) -> centred.
  const r = cropBackground({ x: 270, y: 190, width: 100, height: 100 }, { width: 640, height: 480 }, 0);
  expect(r.backgroundSize).toBe("640% auto");
  expect(r.backgroundPosition).toBe("50% 50%");
});

it("clamps the crop square to the image near its edges", () => {
  const r = cropBackground({ x: 0, y: 0, width: 50, height: 50 }, { width: 640, height: 480 }, 0);
  expect(r.backgroundPosition).toBe("0% 0%");
  const br = cropBackground({ x: 600, y: 440, width: 40, height: 40 }, { width: 640, height: 480 }, 0);
  expect(br.backgroundPosition).toBe("100% 100%");
});

it("never crops bigger than the image", () => {
  const r = cropBackground({ x: 0, y: 0, width: 640, height: 480 }, { width: 640, height: 480 }, 0.5);
  expect(r.backgroundSize).toBe("133.333% auto");
  // a 480px square (the image height), centred horizontally
  expect(r.backgroundPosition).toBe("50% 0%");
});
