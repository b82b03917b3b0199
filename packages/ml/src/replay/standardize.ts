import type { EmbeddingMatrix } from "../active-learning/embedding-matrix";

/**
 * z-scores every feature over all rows (constant features become 0). Penultimate-layer features
 * after ReLU and global pooling are non-negative and share a large mean, so their raw cosine
 * similarities sit near 1 and the near-duplicate guard would reject most of a batch; centred,
 * cosine compares directions around the data's mean, which is what "near-duplicate" should mean,
 * and k-means and core-set distances weigh every feature alike.
 */
export function standardizeColumns(m: EmbeddingMatrix): EmbeddingMatrix {
  const { rows, dim } = m;
  const data = new Float32Array(m.data.length);
  for (let j = 0; j < dim; j++) {
    let mean = 0;
    for (let i = 0; i < rows; i++) mean += m.data[i * dim + j]!;
    mean /= Math.max(rows, 1);
    let v = 0;
    for (let i = 0; i < rows; i++) v += (m.data[i * dim + j]! - mean) ** 2;
    const std = Math.sqrt(v / Math.max(rows, 1));
    const inv = std > 1e-9 ? 1 / std : 0;
    for (let i = 0; i < rows; i++) data[i * dim + j] = (m.data[i * dim + j]! - mean) * inv;
  }
  return { data, rows, dim };
}
