import type { UncertaintyScores } from "./score-uncertainty";

export type UncertaintyStrategy = "leastConfidence" | "margin" | "entropy" | "bald";

/**
 * Sample indices ordered most-uncertain first, for the review queue. Margin sorts ascending (a
 * small margin is uncertain); the other scores sort descending. Ties keep index order, so the
 * ranking is deterministic.
 */
export function rankByUncertainty(scores: Pick<UncertaintyScores, UncertaintyStrategy>, strategy: UncertaintyStrategy): number[] {
  const values = scores[strategy];
  const sign = strategy === "margin" ? 1 : -1;
  return values.map((_, i) => i).sort((a, b) => sign * (values[a]! - values[b]!) || a - b);
}
