import { expect, it } from "vitest";
import { parseHexColor, readableTextColor } from "../src/color";

it("parses short and long hex colours", () => {
  expect(parseHexColor("#fff")).toEqual({ r: 255, g: 255, b: 255 });
  expect(parseHexColor("#1F77B4")).toEqual({ r: 31, g: 119, b: 180 });
  expect(parseHexColor("red")).toBeNull();
});

it("picks readable chip text on class colours", () => {
  expect(readableTextColor("#000000")).toBe("#ffffff");
  expect(readableTextColor("#ffffff")).toBe("#000000");
  expect(readableTextColor("#ffd400")).toBe("#000000");
  expect(readableTextColor("#1f3a93")).toBe("#ffffff");
});
