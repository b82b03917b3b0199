/** Seeded pseudo-random numbers (mulberry32) so splits, sampling and augmentation are reproducible. */

/** A function returning uniform floats in [0, 1). */
export type Rng = () => number;

/** Creates a mulberry32 generator from an integer seed. */
export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Derives an independent seed for a named purpose (e.g. "split", "epoch-3") from a base seed. */
export function deriveSeed(seed: number, purpose: string): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (let i = 0; i < purpose.length; i++) h = Math.imul(h ^ purpose.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Fisher-Yates shuffle, in place; returns the array. */
export function shuffleInPlace<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const tmp = items[i] as T;
    items[i] = items[j] as T;
    items[j] = tmp;
  }
  return items;
}

/** Uniform integer in [0, n). */
export function randomInt(rng: Rng, n: number): number {
  return Math.floor(rng() * n);
}
