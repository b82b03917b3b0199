import { computeClassificationReport, type ClassificationReport } from "@hemaloop/ml";

/**
 * One report per site (dataset) of an evaluation, sorted by site name; undefined when every cell
 * comes from one site (the overall report is then that site's).
 */
export function computePerSiteReports(
  siteOf: readonly string[],
  yTrue: readonly number[],
  probs: readonly number[][],
  classKeys: readonly string[],
): Array<{ site: string; report: ClassificationReport }> | undefined {
  const rowsBySite = new Map<string, number[]>();
  siteOf.forEach((site, row) => rowsBySite.set(site, [...(rowsBySite.get(site) ?? []), row]));
  if (rowsBySite.size < 2) return undefined;
  return [...rowsBySite.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([site, rows]) => ({
      site,
      report: computeClassificationReport(
        rows.map((r) => yTrue[r]!),
        rows.map((r) => probs[r]!),
        classKeys,
      ),
    }));
}
