import type { ReactNode } from "react";

/**
 * The accessible outer `<svg>` every chart shares: an image role whose name is `label`, a text
 * description for screen readers, and a viewBox that lets the chart shrink with its container.
 */
export function ChartSvg(props: {
  chart: string;
  label: string;
  description: ReactNode;
  width: number;
  height: number;
  children: ReactNode;
}) {
  const { chart, label, description, width, height, children } = props;
  return (
    <svg
      role="img"
      aria-label={label}
      viewBox={`0 0 ${width} ${height}`}
      width={width}
      height={height}
      style={{ maxWidth: "100%", height: "auto", fontFamily: "inherit" }}
      data-chart={chart}
    >
      <title>{label}</title>
      <desc>{description}</desc>
      {children}
    </svg>
  );
}
