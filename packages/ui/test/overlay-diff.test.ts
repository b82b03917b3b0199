import { describe, expect, it } from "vitest";
import type { ViewerBox } from "../src/viewer/coordinates";
import { DEFAULT_BOX_COLOR, diffOverlays, type OverlaySpec, toOverlaySpecs } from "../src/viewer/overlay-diff";

const field = { width: 640, height: 480 };

const cells: ViewerBox[] = [
  { id: "a", x: 0, y: 0, width: 64, height: 64, color: "#f00", label: "neutrophil" },
  { id: "b", x: 320, y: 240, width: 32, height: 32 },
  { id: "c", x: 100, y: 100, width: 20, height: 40, color: "#0f0", label: "lymphocyte" },
];

/** What the viewer holds after applying a diff: the map it diffs the next render against. */
function shown(specs: readonly OverlaySpec[]): Map<string, OverlaySpec> {
  return new Map(specs.map((s) => [s.id, s]));
}

function ids(specs: readonly { id: string }[]): string[] {
  return specs.map((s) => s.id);
}

describe("toOverlaySpecs", () => {
  it("puts each box in viewport coordinates with its look and selection", () => {
    const specs = toOverlaySpecs(cells, "saved", field, "b");
    expect(specs).toEqual([
      { id: "a", rect: { x: 0, y: 0, width: 0.1, height: 0.1 }, kind: "saved", color: "#f00", label: "neutrophil", selected: false },
      {
        id: "b",
        rect: { x: 0.5, y: 0.375, width: 0.05, height: 0.05 },
        kind: "saved",
        color: DEFAULT_BOX_COLOR,
        label: null,
        selected: true,
      },
      {
        id: "c",
        rect: expect.objectContaining({ x: 100 / 640 }) as OverlaySpec["rect"],
        kind: "saved",
        color: "#0f0",
        label: "lymphocyte",
        selected: false,
      },
    ]);
  });

  it("gives boxes off the image no overlay and clamps boxes that stick out", () => {
    const specs = toOverlaySpecs(
      [
        { id: "off", x: 700, y: 10, width: 20, height: 20 },
        { id: "edge", x: 630, y: 470, width: 40, height: 40 },
      ],
      "draft",
      field,
      null,
    );
    expect(ids(specs)).toEqual(["edge"]);
    expect(specs[0]!.rect).toEqual({ x: 630 / 640, y: 470 / 640, width: 10 / 640, height: 10 / 640 });
  });
});

describe("diffOverlays", () => {
  it("adds every overlay on the first render", () => {
    const next = toOverlaySpecs(cells, "saved", field, null);
    expect(diffOverlays(new Map(), next)).toEqual({ add: next, update: [], remove: [] });
  });

  it("does nothing when the boxes are rebuilt with equal values (a parent re-render)", () => {
    const before = toOverlaySpecs(cells, "saved", field, null);
    const again = toOverlaySpecs(
      cells.map((c) => ({ ...c })),
      "saved",
      field,
      null,
    );
    expect(diffOverlays(shown(before), again)).toEqual({ add: [], update: [], remove: [] });
  });

  it("adds new ids, removes vanished ids and leaves the others alone", () => {
    const before = toOverlaySpecs(cells, "saved", field, null);
    const next = toOverlaySpecs([cells[0]!, cells[2]!, { id: "d", x: 10, y: 10, width: 10, height: 10 }], "saved", field, null);
    const diff = diffOverlays(shown(before), next);
    expect(ids(diff.add)).toEqual(["d"]);
    expect(diff.remove).toEqual(["b"]);
    expect(diff.update).toEqual([]);
  });

  it("moves only the box whose rectangle changed", () => {
    const before = toOverlaySpecs(cells, "saved", field, null);
    const next = toOverlaySpecs(
      cells.map((c) => (c.id === "b" ? { ...c, x: 330 } : c)),
      "saved",
      field,
      null,
    );
    const diff = diffOverlays(shown(before), next);
    expect(diff.add).toEqual([]);
    expect(diff.remove).toEqual([]);
    expect(diff.update).toEqual([{ spec: next[1], moved: true, restyled: false }]);
  });

  it("restyles in place when only the look changes: a new label, or the selection moving", () => {
    const before = toOverlaySpecs(cells, "saved", field, "a");
    const relabelled = toOverlaySpecs(
      cells.map((c) => (c.id === "c" ? { ...c, color: "#00f", label: "monocyte" } : c)),
      "saved",
      field,
      "b",
    );
    const diff = diffOverlays(shown(before), relabelled);
    expect(diff.add).toEqual([]);
    expect(diff.remove).toEqual([]);
    expect(diff.update.map((u) => [u.spec.id, u.moved, u.restyled])).toEqual([
      ["a", false, true], // deselected
      ["b", false, true], // selected
      ["c", false, true], // relabelled
    ]);
  });

  it("a drag event touches only the rubber band", () => {
    const band = (width: number): OverlaySpec[] => toOverlaySpecs([{ id: "band", x: 50, y: 50, width, height: 30 }], "band", field, null);
    let live = shown(band(10));
    const updates: number[] = [];
    for (const width of [12, 15, 15, 20]) {
      const next = band(width);
      const diff = diffOverlays(live, next);
      expect(diff.add).toEqual([]);
      expect(diff.remove).toEqual([]);
      updates.push(diff.update.length);
      live = shown(next);
    }
    expect(updates).toEqual([1, 1, 0, 1]); // the repeated position is no update at all
    expect(diffOverlays(live, [])).toEqual({ add: [], update: [], remove: ["band"] });
  });

  it("a box that becomes a different kind under the same id is restyled, not re-added", () => {
    const draft = toOverlaySpecs([cells[0]!], "draft", field, null);
    const saved = toOverlaySpecs([cells[0]!], "saved", field, null);
    expect(diffOverlays(shown(draft), saved).update).toEqual([{ spec: saved[0], moved: false, restyled: true }]);
  });

  it("keeps the first of repeated ids", () => {
    const [a] = toOverlaySpecs([cells[0]!], "saved", field, null);
    const dup = { ...a!, color: "#123456" };
    const diff = diffOverlays(new Map(), [a!, dup]);
    expect(diff.add).toEqual([a]);
  });
});
