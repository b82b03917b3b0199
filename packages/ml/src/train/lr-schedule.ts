/** Learning-rate schedules as pure functions of training progress p in [0, 1]. */

export type ScheduleName = "one-cycle" | "cosine" | "constant";

export interface ScheduleConfig {
  name: ScheduleName;
  /** Peak learning rate. */
  maxLr: number;
  /** Fraction of the run spent warming up. Default 0.25 (one-cycle) / 0.05 (cosine). */
  warmupFraction?: number;
  /** one-cycle: start at maxLr / divFactor. Default 25 (as PyTorch's OneCycleLR). */
  divFactor?: number;
  /** End at start / finalDivFactor (one-cycle) or maxLr / finalDivFactor (cosine). Default 1e4 / 1e3. */
  finalDivFactor?: number;
}

function cosineBetween(from: number, to: number, t: number): number {
  return to + ((from - to) * (1 + Math.cos(Math.PI * Math.min(Math.max(t, 0), 1)))) / 2;
}

/** Learning rate at progress `p` (0 = first step, 1 = end of training). */
export function computeLearningRate(config: ScheduleConfig, p: number): number {
  const progress = Math.min(Math.max(p, 0), 1);
  if (config.name === "constant") return config.maxLr;
  if (config.name === "cosine") {
    const warm = config.warmupFraction ?? 0.05;
    const min = config.maxLr / (config.finalDivFactor ?? 1e3);
    if (progress < warm) return min + (config.maxLr - min) * (progress / warm);
    return cosineBetween(config.maxLr, min, (progress - warm) / (1 - warm));
  }
  // One-cycle (Smith 2018), cosine-annealed up then down, like PyTorch's OneCycleLR.
  const warm = config.warmupFraction ?? 0.25;
  const start = config.maxLr / (config.divFactor ?? 25);
  const end = start / (config.finalDivFactor ?? 1e4);
  if (progress < warm) return cosineBetween(start, config.maxLr, progress / warm);
  return cosineBetween(config.maxLr, end, (progress - warm) / (1 - warm));
}
