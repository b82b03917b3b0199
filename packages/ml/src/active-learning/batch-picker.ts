import { dotRows } from "./embedding-matrix";

export interface ClassQuotas {
  /**
   * Minimum share of the batch per predicted class, in [0, 1]: one number for every class, or
   * one per class index. A class gets ceil(share * batchSize) slots, capped by how many
   * candidates are predicted as that class; the quotas together must fit in the batch.
   */
  minShare: number | readonly number[];
}

export interface BatchPickerOptions {
  batchSize: number;
  /** Row-normalised embeddings (see normalizeRows) for the near-duplicate check; undefined = no check. */
  unitEmbeddings?: Float32Array;
  dim?: number;
  /** Cosine similarity above which a row counts as a near-duplicate of a row already picked. */
  duplicateThreshold: number;
  /** Predicted class (argmax) of every row; needed with quotas. */
  predictedClass?: Int32Array;
  numClasses?: number;
  quotas?: ClassQuotas;
  /** Rows that may be picked. */
  candidates: readonly number[];
}

/**
 * Accumulates one batch and enforces the rules every strategy shares: no near-duplicates
 * (cosine similarity to an already-picked row above the threshold) and class quotas.
 *
 * Quotas are kept by reservation: while the free slots exceed what the unmet quotas still need,
 * any class may be picked; once they are equal, only classes with an unmet quota may. That works
 * for ranked lists and greedy strategies alike, and leaves each strategy's own order in charge of
 * which cells of the rare class are picked.
 */
export class BatchPicker {
  readonly picked: number[] = [];
  private readonly pickedSet = new Set<number>();
  private readonly rejected = new Set<number>();
  private readonly needed: number[];
  private unmet = 0;

  constructor(private readonly options: BatchPickerOptions) {
    const { quotas, predictedClass, numClasses, batchSize } = options;
    this.needed = [];
    if (quotas === undefined) return;
    if (predictedClass === undefined || numClasses === undefined) {
      throw new RangeError("class quotas need class probabilities for every row");
    }
    const shares = typeof quotas.minShare === "number" ? new Array<number>(numClasses).fill(quotas.minShare) : quotas.minShare;
    if (shares.length !== numClasses) throw new RangeError(`quotas give ${shares.length} shares for ${numClasses} classes`);
    const available = new Array<number>(numClasses).fill(0);
    for (const r of options.candidates) available[predictedClass[r]!]!++;
    for (let c = 0; c < numClasses; c++) {
      const share = shares[c]!;
      if (!(share >= 0 && share <= 1)) throw new RangeError(`quota share must lie in [0, 1], got ${share}`);
      this.needed.push(Math.min(Math.ceil(share * batchSize - 1e-9), available[c]!));
    }
    this.unmet = this.needed.reduce((a, b) => a + b, 0);
    if (this.unmet > batchSize) {
      throw new RangeError(`class quotas need ${this.unmet} slots but the batch has ${batchSize}`);
    }
  }

  get full(): boolean {
    return this.picked.length >= this.options.batchSize;
  }

  has(row: number): boolean {
    return this.pickedSet.has(row);
  }

  /** True when `row` could be taken now: not taken, not a near-duplicate, allowed by the quotas. */
  canTake(row: number): boolean {
    if (this.full || this.pickedSet.has(row) || this.rejected.has(row)) return false;
    if (!this.allowedByQuota(row)) return false;
    if (this.isDuplicate(row)) {
      // Picks only grow, so a duplicate now stays one: remember it and skip it from here on.
      this.rejected.add(row);
      return false;
    }
    return true;
  }

  /** Takes `row` if canTake allows; returns whether it was taken. */
  tryTake(row: number): boolean {
    if (!this.canTake(row)) return false;
    this.picked.push(row);
    this.pickedSet.add(row);
    if (this.options.predictedClass !== undefined && this.needed.length > 0) {
      const c = this.options.predictedClass[row]!;
      if (this.needed[c]! > 0) {
        this.needed[c]!--;
        this.unmet--;
      }
    }
    return true;
  }

  /** Whether `row` is ruled out for good (picked or a near-duplicate); quota restrictions are not final. */
  isSpent(row: number): boolean {
    return this.pickedSet.has(row) || this.rejected.has(row);
  }

  /** Drops quotas that can no longer be met (their candidates all taken or duplicates), so the batch can fill. */
  relaxQuotas(): void {
    const { predictedClass } = this.options;
    if (predictedClass === undefined) return;
    const left = new Array<number>(this.needed.length).fill(0);
    for (const r of this.options.candidates) if (!this.isSpent(r)) left[predictedClass[r]!]!++;
    for (let c = 0; c < this.needed.length; c++) {
      if (this.needed[c]! > left[c]!) {
        this.unmet -= this.needed[c]! - left[c]!;
        this.needed[c] = left[c]!;
      }
    }
  }

  /** Whether the quotas allow `row` now (they reserve the last free slots for classes still short). */
  allowedByQuota(row: number): boolean {
    if (this.needed.length === 0) return true;
    const free = this.options.batchSize - this.picked.length;
    if (this.unmet < free) return true;
    return this.needed[this.options.predictedClass![row]!]! > 0;
  }

  private isDuplicate(row: number): boolean {
    const { unitEmbeddings, dim } = this.options;
    if (unitEmbeddings === undefined || dim === undefined) return false;
    for (const p of this.picked) {
      if (dotRows(unitEmbeddings, row, p, dim) > this.options.duplicateThreshold) return true;
    }
    return false;
  }
}
