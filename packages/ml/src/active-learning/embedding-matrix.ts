/**
 * Embeddings as one row-major Float32Array: `data[i * dim + j]` is feature j of row i. A flat
 * typed array instead of number[][] because the strategies scan 10^4-10^5 rows many times, and
 * contiguous float32 reads are several times faster than chasing one array object per row.
 */
export interface EmbeddingMatrix {
  /** Row-major [rows, dim] values. */
  data: Float32Array;
  /** Number of rows. */
  rows: number;
  /** Features per row (the embedding width, e.g. 64). */
  dim: number;
}

/** Packs rows (each the same length) into an EmbeddingMatrix; a ready matrix is checked and passed through. */
export function toEmbeddingMatrix(input: EmbeddingMatrix | readonly ArrayLike<number>[]): EmbeddingMatrix {
  if (!Array.isArray(input)) {
    const m = input as EmbeddingMatrix;
    if (m.data.length !== m.rows * m.dim) {
      throw new RangeError(`embedding matrix data has ${m.data.length} values, expected rows*dim = ${m.rows * m.dim}`);
    }
    return m;
  }
  const rows = input as readonly ArrayLike<number>[];
  const dim = rows[0]?.length ?? 0;
  const data = new Float32Array(rows.length * dim);
  rows.forEach((row, i) => {
    if (row.length !== dim) throw new RangeError(`embedding row ${i} has ${row.length} values, expected ${dim}`);
    for (let j = 0; j < dim; j++) data[i * dim + j] = row[j]!;
  });
  return { data, rows: rows.length, dim };
}

/** Squared Euclidean distance between row a of `x` and row b of `y` (both the same dim). */
export function squaredDistance(x: Float32Array, a: number, y: Float32Array, b: number, dim: number): number {
  let s = 0;
  const oa = a * dim;
  const ob = b * dim;
  for (let j = 0; j < dim; j++) {
    const d = x[oa + j]! - y[ob + j]!;
    s += d * d;
  }
  return s;
}

/** Copy of `m` with every row scaled to unit length (zero rows stay zero), for cosine similarity by dot product. */
export function normalizeRows(m: EmbeddingMatrix): Float32Array {
  const out = new Float32Array(m.data.length);
  for (let i = 0; i < m.rows; i++) {
    const o = i * m.dim;
    let norm = 0;
    for (let j = 0; j < m.dim; j++) norm += m.data[o + j]! * m.data[o + j]!;
    const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let j = 0; j < m.dim; j++) out[o + j] = m.data[o + j]! * inv;
  }
  return out;
}

/** Dot product of row a and row b of the same flat matrix. */
export function dotRows(x: Float32Array, a: number, b: number, dim: number): number {
  let s = 0;
  const oa = a * dim;
  const ob = b * dim;
  for (let j = 0; j < dim; j++) s += x[oa + j]! * x[ob + j]!;
  return s;
}

/** The rows listed in `indices`, in that order, as a new matrix. */
export function selectRows(m: EmbeddingMatrix, indices: readonly number[]): EmbeddingMatrix {
  const data = new Float32Array(indices.length * m.dim);
  indices.forEach((r, i) => data.set(m.data.subarray(r * m.dim, (r + 1) * m.dim), i * m.dim));
  return { data, rows: indices.length, dim: m.dim };
}
