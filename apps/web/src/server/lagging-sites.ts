/** The cross-site flag: pure, so the pages and the report parsing share it (no server-only imports). */

/**
 * A site is flagged when its balanced accuracy is more than this many percentage points below the
 * pooled one (issue 16): the model does markedly worse there than on the data as a whole.
 */
export const LAGGING_SITE_POINTS = 10;

/**
 * Which sites lag the pooled balanced accuracy by more than `points` percentage points. A site or a
 * pooled value that is undefined (null) is never flagged: there is nothing to compare.
 */
export function flagLaggingSites(
  siteBalancedAccuracies: ReadonlyArray<number | null>,
  pooledBalancedAccuracy: number | null,
  points: number = LAGGING_SITE_POINTS,
): boolean[] {
  return siteBalancedAccuracies.map((site) => {
    if (site === null || pooledBalancedAccuracy === null) return false;
    // Compared in rounded points, so exactly `points` below (0.80 vs 0.70) is not "more than".
    return Math.round((pooledBalancedAccuracy - site) * 100 * 1e6) / 1e6 > points;
  });
}
