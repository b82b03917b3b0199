import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import {
  downsample,
  extent,
  formatMeanSd,
  formatMetric,
  formatPercent,
  heatColor,
  linePath,
  linearScale,
  mixColors,
  niceTicks,
  rowNormalise,
} from "../src/charts/scale";
import { ConfusionMatrix } from "../src/components/confusion-matrix";
import { LineChart } from "../src/components/line-chart";
import { isHighFnr, MetricTable } from "../src/components/metric-table";
import { ReliabilityDiagram } from "../src/components/reliability-diagram";
import { RocChart } from "../src/components/roc-chart";

describe("scales and ticks", () => {
  it("maps a domain linearly onto a range, inverted ranges included", () => {
    const s = linearScale([0, 10], [100, 0]);
    expect(s(0)).toBe(100);
    expect(s(2.5)).toBe(75);
    expect(s(10)).toBe(0);
    expect(linearScale([3, 3], [0, 50])(99)).toBe(25);
  });

  it("finds the finite extent", () => {
    expect(extent([3, null, -1, Number.NaN, undefined, 7])).toEqual([-1, 7]);
    expect(extent([null, Number.POSITIVE_INFINITY])).toBeNull();
  });

  it("picks round ticks that cover the data", () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.13, 2.31, 4)).toEqual([0, 0.5, 1, 1.5, 2, 2.5]);
    expect(niceTicks(1, 30, 6)).toEqual([0, 5, 10, 15, 20, 25, 30]);
    const single = niceTicks(2, 2);
    expect(single[0]).toBeLessThan(2);
    expect(single.at(-1)).toBeGreaterThan(2);
    expect(niceTicks(Number.NaN, 1)).toEqual([0, 1]);
  });
});

describe("paths", () => {
  it("draws a polyline and breaks it where values are missing", () => {
    const id = (v: number) => v;
    expect(
      linePath(
        [
          { x: 0, y: 1 },
          { x: 1, y: 2 },
          { x: 2, y: null },
          { x: 3, y: 4 },
          { x: 4, y: 5 },
        ],
        id,
        id,
      ),
    ).toBe("M0,1L1,2M3,4L4,5");
    expect(linePath([{ x: 0, y: Number.NaN }], id, id)).toBe("");
  });

  it("downsamples long curves keeping both ends", () => {
    const pts = Array.from({ length: 1001 }, (_, i) => i);
    const d = downsample(pts, 11);
    expect(d).toHaveLength(11);
    expect(d[0]).toBe(0);
    expect(d.at(-1)).toBe(1000);
    expect(d[5]).toBe(500);
    expect(downsample([1, 2, 3], 10)).toEqual([1, 2, 3]);
    expect(() => downsample([1, 2, 3], 1)).toThrow(RangeError);
  });
});

describe("confusion matrix helpers", () => {
  it("normalises rows to shares and leaves empty rows at zero", () => {
    expect(
      rowNormalise([
        [3, 1],
        [0, 0],
      ]),
    ).toEqual([
      [0.75, 0.25],
      [0, 0],
    ]);
  });

  it("maps shares to a white-to-blue scale with readable text", () => {
    expect(mixColors("#000000", "#ffffff", 0.5)).toBe("#808080");
    expect(mixColors("#000000", "#ffffff", 2)).toBe("#ffffff");
    expect(heatColor(0).fill).toBe("#f7f9fc");
    expect(heatColor(1)).toEqual({ fill: "#1f4fbf", text: "#ffffff" });
    expect(heatColor(0.2).text).toBe("#1d2330");
    expect(() => mixColors("red", "#fff000", 0)).toThrow(RangeError);
  });
});

describe("formatting", () => {
  it("shows N/A for undefined metrics, never 0", () => {
    expect(formatMetric(null)).toBe("N/A");
    expect(formatMetric(Number.NaN)).toBe("N/A");
    expect(formatMetric(0)).toBe("0.000");
    expect(formatMetric(0.91234, 2)).toBe("0.91");
    expect(formatPercent(0.5)).toBe("50.0%");
    expect(formatPercent(undefined)).toBe("N/A");
  });

  it("formats mean ± sd across sites", () => {
    expect(formatMeanSd({ mean: 0.9, sd: 0.05 })).toBe("0.900 ± 0.050");
    expect(formatMeanSd({ mean: 0.9, sd: null })).toBe("0.900");
    expect(formatMeanSd({ mean: null, sd: null })).toBe("N/A");
    expect(formatMeanSd(undefined)).toBe("N/A");
  });

  it("flags high false-negative rates only when defined", () => {
    expect(isHighFnr(0.25)).toBe(true);
    expect(isHighFnr(0.1)).toBe(false);
    expect(isHighFnr(null)).toBe(false);
    expect(isHighFnr(0.1, 0.05)).toBe(true);
  });
});

describe("chart components render accessible SVG", () => {
  const classes = [
    { key: "neutrophil", label: "Neutrophil", color: "#1f77b4" },
    { key: "lymphocyte", label: "Lymphocyte", color: "#ff7f0e" },
  ];

  it("ConfusionMatrix: title, counts, row-normalised colours", () => {
    const html = renderToStaticMarkup(
      createElement(ConfusionMatrix, {
        matrix: [
          [9, 1],
          [0, 0],
        ],
        classes,
        title: "Test confusion",
      }),
    );
    expect(html).toContain('role="img"');
    expect(html).toContain("<title>Test confusion</title>");
    expect(html).toContain("Neutrophil");
    expect(html.match(/data-cell=/g)).toHaveLength(4);
    expect(html).toContain(heatColor(0.9).fill);
    expect(html).toContain("9 of 10 correct");
  });

  it("LineChart: one path per series, gaps, legend", () => {
    const html = renderToStaticMarkup(
      createElement(LineChart, {
        title: "Loss",
        xLabel: "epoch",
        series: [
          {
            key: "loss",
            label: "train loss",
            points: [
              { x: 1, y: 1.2 },
              { x: 2, y: 0.8 },
            ],
          },
          {
            key: "valLoss",
            label: "val loss",
            dashed: true,
            points: [
              { x: 1, y: null },
              { x: 2, y: 0.9 },
            ],
          },
        ],
      }),
    );
    expect(html.match(/data-series=/g)).toHaveLength(2);
    expect(html.match(/data-legend=/g)).toHaveLength(2);
    expect(html).toContain("val loss");
    expect(renderToStaticMarkup(createElement(LineChart, { title: "empty", series: [] }))).toContain("no data");
  });

  it("RocChart: AUC in the legend (N/A without a curve) and the diagonal", () => {
    const html = renderToStaticMarkup(
      createElement(RocChart, {
        curves: [
          {
            key: "neutrophil",
            label: "Neutrophil",
            auc: 0.9512,
            points: [
              { fpr: 0, tpr: 0 },
              { fpr: 0.1, tpr: 0.9 },
              { fpr: 1, tpr: 1 },
            ],
          },
          { key: "lymphocyte", label: "Lymphocyte", auc: null, points: null },
        ],
      }),
    );
    expect(html).toContain("Neutrophil (AUC 0.951)");
    expect(html).toContain("Lymphocyte (AUC N/A)");
    expect(html.match(/data-curve=/g)).toHaveLength(1);
    expect(html).toContain("data-diagonal");
  });

  it("ReliabilityDiagram: a bar per non-empty bin and the ECE", () => {
    const html = renderToStaticMarkup(
      createElement(ReliabilityDiagram, {
        ece: 0.0423,
        bins: [
          { lower: 0, upper: 0.5, count: 0, accuracy: null, confidence: null },
          { lower: 0.5, upper: 1, count: 10, accuracy: 0.8, confidence: 0.9 },
        ],
      }),
    );
    expect(html).toContain("ECE 0.042");
    expect(html.match(/data-bin=/g)).toHaveLength(1);
  });

  it("MetricTable: N/A for null and a flagged FNR", () => {
    const html = renderToStaticMarkup(
      createElement(MetricTable, {
        rows: [
          { key: "a", label: "A", precision: 0.9, recall: 0.7, specificity: 0.95, f1: 0.79, fnr: 0.3, support: 10 },
          { key: "b", label: "B", precision: null, recall: null, specificity: 1, f1: null, fnr: null, support: 0 },
        ],
      }),
    );
    expect(html).toContain("N/A");
    expect(html.match(/data-fnr-high="true"/g)).toHaveLength(1);
    expect(html).toContain("0.300");
  });
});
