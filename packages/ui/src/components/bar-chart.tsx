export type BarChartItem = {
  key: string;
  label: string;
  color: string;
  /** Stacked segments, e.g. imported and human labels; the first is drawn solid, the rest lighter. */
  values: number[];
};

export type BarChartProps = {
  items: BarChartItem[];
  /** Names of the segments, for the legend and tooltips. */
  segments: string[];
  title?: string;
};

/** Horizontal stacked bars drawn with plain elements (no chart library). */
export function BarChart({ items, segments, title }: BarChartProps) {
  const max = Math.max(1, ...items.map((i) => i.values.reduce((s, v) => s + v, 0)));
  return (
    <figure style={{ margin: 0 }} aria-label={title}>
      {title ? <figcaption style={{ fontWeight: 600, marginBottom: 8 }}>{title}</figcaption> : null}
      <div
        role="list"
        style={{ display: "grid", gridTemplateColumns: "minmax(90px, max-content) 1fr max-content", gap: "4px 10px", alignItems: "center" }}
      >
        {items.map((item) => {
          const total = item.values.reduce((s, v) => s + v, 0);
          return (
            <div role="listitem" key={item.key} data-bar={item.key} style={{ display: "contents" }}>
              <span style={{ fontSize: 13 }}>{item.label}</span>
              <span style={{ display: "flex", height: 14, background: "#f0f2f5", borderRadius: 3, overflow: "hidden" }}>
                {item.values.map((v, i) => (
                  <span
                    key={i}
                    title={`${segments[i] ?? `series ${i + 1}`}: ${v}`}
                    style={{ width: `${(v / max) * 100}%`, background: item.color, opacity: i === 0 ? 1 : 0.45 }}
                  />
                ))}
              </span>
              <span style={{ fontVariantNumeric: "tabular-nums", fontSize: 13, textAlign: "right" }}>{total}</span>
            </div>
          );
        })}
      </div>
      {segments.length > 1 ? (
        <div style={{ display: "flex", gap: 12, marginTop: 8, fontSize: 12, color: "#555" }}>
          {segments.map((s, i) => (
            <span key={s} style={{ display: "inline-flex", alignItems: "center", gap: 4 }}>
              <span
                style={{ width: 10, height: 10, background: "#555", opacity: i === 0 ? 1 : 0.45, display: "inline-block", borderRadius: 2 }}
              />
              {s}
            </span>
          ))}
        </div>
      ) : null}
    </figure>
  );
}
