/**
 * A mapping from one class scheme's keys to another's; null means "no counterpart, leave out"
 * (e.g. pbc-8 `platelet` -> null for wbc-5).
 */
export type SchemeMapping = Readonly<Record<string, string | null>>;

export interface MappedLabels {
  /** Mapped labels of the kept items, in input order. */
  labels: string[];
  /** Index into the input of each kept label. */
  keptIndices: number[];
  /** Index into the input of each dropped label (mapped to null or missing from the mapping). */
  droppedIndices: number[];
  /** Distinct input labels with no entry in the mapping at all: usually a typo or a stale mapping. */
  unmappedKeys: string[];
}

/** Maps class keys to a common scheme, dropping labels that map to null or are not in the mapping. */
export function applySchemeMapping(labels: readonly string[], mapping: SchemeMapping): MappedLabels {
  const out: MappedLabels = { labels: [], keptIndices: [], droppedIndices: [], unmappedKeys: [] };
  const unmapped = new Set<string>();
  labels.forEach((label, i) => {
    const target = Object.prototype.hasOwnProperty.call(mapping, label) ? mapping[label] : undefined;
    if (target === undefined) unmapped.add(label);
    if (target === undefined || target === null) {
      out.droppedIndices.push(i);
    } else {
      out.labels.push(target);
      out.keptIndices.push(i);
    }
  });
  out.unmappedKeys = [...unmapped];
  return out;
}

/**
 * Re-expresses probabilities over `fromKeys` as probabilities over `toKeys`: each target class
 * gets the summed probability of the source classes mapped to it, then rows are renormalised to
 * sum to 1 (the probability given that the cell belongs to one of the target classes). Used to
 * evaluate a fine model at a coarser level, e.g. aml-15 -> binary-typical. A row whose mapped mass
 * is 0 becomes uniform.
 * @param probs [sample][fromKeys.length]
 * @returns [sample][toKeys.length]
 */
export function mapProbabilitiesToScheme(
  probs: readonly (readonly number[])[],
  fromKeys: readonly string[],
  toKeys: readonly string[],
  mapping: SchemeMapping,
): number[][] {
  const targetIndex = new Map(toKeys.map((k, j) => [k, j]));
  const columnTarget = fromKeys.map((k) => {
    const target = mapping[k];
    if (target === undefined || target === null) return -1;
    const j = targetIndex.get(target);
    if (j === undefined) throw new RangeError(`mapping sends "${k}" to "${target}", which is not in toKeys`);
    return j;
  });
  return probs.map((row) => {
    if (row.length !== fromKeys.length) throw new RangeError("probability row length differs from fromKeys");
    const out = new Array<number>(toKeys.length).fill(0);
    row.forEach((p, c) => {
      const j = columnTarget[c]!;
      if (j >= 0) out[j]! += p;
    });
    const total = out.reduce((a, b) => a + b, 0);
    return total > 0 ? out.map((p) => p / total) : out.map(() => 1 / toKeys.length);
  });
}
