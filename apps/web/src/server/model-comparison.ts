import type { ModelMetricsView } from "@hemaloop/ml/contracts";

export type ClassComparison = {
  classKey: string;
  a: { recall: number | null; specificity: number | null; fnr: number | null; support: number };
  b: { recall: number | null; specificity: number | null; fnr: number | null; support: number };
  /** b - a; null when either side is missing. */
  delta: { recall: number | null; specificity: number | null; fnr: number | null };
};

const diff = (a: number | null | undefined, b: number | null | undefined) => (a == null || b == null ? null : b - a);

/** Per-class recall, specificity and FNR of two reports side by side, with B - A deltas (classes of either report, A's order first). */
export function compareReports(a: ModelMetricsView, b: ModelMetricsView): ClassComparison[] {
  const keys = [...a.classKeys, ...b.classKeys.filter((k) => !a.classKeys.includes(k))];
  const side = (r: ModelMetricsView, key: string) => {
    const m = r.perClass[key];
    return { recall: m?.recall ?? null, specificity: m?.specificity ?? null, fnr: m?.fnr ?? null, support: m?.support ?? 0 };
  };
  return keys.map((classKey) => {
    const sa = side(a, classKey);
    const sb = side(b, classKey);
    return {
      classKey,
      a: sa,
      b: sb,
      delta: { recall: diff(sa.recall, sb.recall), specificity: diff(sa.specificity, sb.specificity), fnr: diff(sa.fnr, sb.fnr) },
    };
  });
}
