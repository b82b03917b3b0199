// Shared argument checks: metrics silently computed on malformed input are worse than an exception.

export function assertLabels(labels: readonly number[], numClasses: number, what: string): void {
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= numClasses) {
      throw new RangeError(`${what}[${i}] = ${y} is not a class index in [0, ${numClasses})`);
    }
  }
}

export function assertProbabilityRows(probs: readonly (readonly number[])[], numClasses: number): void {
  for (let i = 0; i < probs.length; i++) {
    const row = probs[i]!;
    if (row.length !== numClasses) {
      throw new RangeError(`probs[${i}] has ${row.length} columns, expected ${numClasses}`);
    }
    for (const p of row) {
      if (!Number.isFinite(p)) throw new RangeError(`probs[${i}] contains a non-finite value`);
    }
  }
}

export function assertSameLength(a: { length: number }, b: { length: number }, what: string): void {
  if (a.length !== b.length) {
    throw new RangeError(`${what}: lengths differ (${a.length} vs ${b.length})`);
  }
}

export function assertSquareMatrix(m: readonly (readonly number[])[]): void {
  for (const row of m) {
    if (row.length !== m.length) throw new RangeError("confusion matrix must be square");
  }
}
