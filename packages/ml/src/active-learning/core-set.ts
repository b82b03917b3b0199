import { squaredDistance } from "./embedding-matrix";
import { requireEmbeddings, type StrategyContext } from "./strategy-context";
import { createRng } from "../data/rng";

/**
 * Core-set selection (Sener and Savarese 2018) by greedy k-center: repeatedly pick the candidate
 * farthest from everything labelled or picked so far. Keeps one running min-distance per
 * candidate, so a batch costs O(n * (labelled + k) * dim). With nothing labelled the first
 * centre is a seeded random candidate.
 */
export function pickCoreSet(ctx: StrategyContext): void {
  const { data, dim } = requireEmbeddings(ctx, "coreset");
  const { candidates, picker } = ctx;
  const minD = new Float64Array(candidates.length).fill(Infinity);
  const cover = (row: number): void => {
    for (let i = 0; i < candidates.length; i++) {
      const d = squaredDistance(data, candidates[i]!, data, row, dim);
      if (d < minD[i]!) minD[i] = d;
    }
  };
  for (const row of ctx.labelled) cover(row);
  if (ctx.labelled.length === 0 && candidates.length > 0) {
    const first = candidates[Math.floor(createRng(ctx.seed)() * candidates.length)]!;
    if (picker.tryTake(first)) cover(first);
  }
  let relaxed = false;
  while (!picker.full) {
    let best = -1;
    for (let i = 0; i < candidates.length; i++) {
      const row = candidates[i]!;
      if (picker.isSpent(row) || !picker.allowedByQuota(row)) continue;
      if (best < 0 || minD[i]! > minD[best]!) best = i;
    }
    if (best < 0) {
      if (relaxed) break;
      picker.relaxQuotas();
      relaxed = true;
      continue;
    }
    const row = candidates[best]!;
    // A rejected row is a near-duplicate and now counts as spent, so the loop moves on.
    if (picker.tryTake(row)) cover(row);
  }
}
