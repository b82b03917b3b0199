import { getFloat16, setFloat16 } from "@petamoriken/float16";
import type { EmbeddingMatrix } from "./embedding-matrix";

/**
 * Compact embedding bytes for storage (e.g. a PostgreSQL bytea per cell).
 *
 * Layout (little-endian): byte 0 is the format tag, then
 * - "float16" (tag 1): dim IEEE half floats, 2 bytes each. Relative error <= 2^-11 (about 5e-4) for
 *   |x| >= 2^-14; below that absolute error <= 2^-25. |x| must not exceed 65504.
 * - "int8" (tag 2): a float32 scale s = max|x| / 127, then dim signed bytes round(x / s).
 *   Absolute error <= s / 2 = max|x| / 254 per value: half the size of float16, coarser.
 * The dimension is implied by the length, so a 64-d vector takes 129 (float16) or 69 (int8) bytes.
 */
export type EmbeddingFormat = "float16" | "int8";

const TAG: Record<EmbeddingFormat, number> = { float16: 1, int8: 2 };
const FLOAT16_MAX = 65504;

/** Encodes one embedding vector. Non-finite values (and |x| > 65504 for float16) are rejected. */
export function encodeEmbedding(vector: ArrayLike<number>, format: EmbeddingFormat = "float16"): Uint8Array {
  const dim = vector.length;
  for (let j = 0; j < dim; j++) {
    if (!Number.isFinite(vector[j]!)) throw new RangeError(`embedding value ${j} is not finite (${vector[j]})`);
  }
  if (format === "float16") {
    const bytes = new Uint8Array(1 + 2 * dim);
    const view = new DataView(bytes.buffer);
    bytes[0] = TAG.float16;
    for (let j = 0; j < dim; j++) {
      const x = vector[j]!;
      if (Math.abs(x) > FLOAT16_MAX) throw new RangeError(`embedding value ${j} (${x}) is outside the float16 range`);
      setFloat16(view, 1 + 2 * j, x, true);
    }
    return bytes;
  }
  if (format === "int8") {
    const bytes = new Uint8Array(5 + dim);
    const view = new DataView(bytes.buffer);
    bytes[0] = TAG.int8;
    let maxAbs = 0;
    for (let j = 0; j < dim; j++) maxAbs = Math.max(maxAbs, Math.abs(vector[j]!));
    // Math.fround: quantise with the scale exactly as it is stored, so decode undoes it exactly.
    const scale = Math.fround(maxAbs / 127);
    view.setFloat32(1, scale, true);
    for (let j = 0; j < dim; j++) {
      const q = scale > 0 ? Math.round(vector[j]! / scale) : 0;
      view.setInt8(5 + j, Math.max(-127, Math.min(127, q)));
    }
    return bytes;
  }
  throw new RangeError(`unknown embedding format "${String(format)}"`);
}

let float16Values: Float32Array | undefined;

/**
 * Every half float's value by its 16-bit pattern (256 KiB, built once): a round decodes 100,000 x 256
 * values, and a table lookup is several times faster than decoding each one bit by bit.
 */
function float16Table(): Float32Array {
  if (float16Values) return float16Values;
  const table = new Float32Array(65536);
  const view = new DataView(new ArrayBuffer(2));
  for (let bits = 0; bits < 65536; bits++) {
    view.setUint16(0, bits, true);
    table[bits] = getFloat16(view, 0, true);
  }
  float16Values = table;
  return table;
}

/** Decodes bytes written by encodeEmbedding back to float32. */
export function decodeEmbedding(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = bytes[0];
  if (tag === TAG.float16) {
    if ((bytes.length - 1) % 2 !== 0) throw new RangeError(`float16 embedding has an odd payload (${bytes.length - 1} bytes)`);
    const out = new Float32Array((bytes.length - 1) / 2);
    const table = float16Table();
    for (let j = 0; j < out.length; j++) out[j] = table[bytes[1 + 2 * j]! | (bytes[2 + 2 * j]! << 8)]!;
    return out;
  }
  if (tag === TAG.int8) {
    if (bytes.length < 5) throw new RangeError("int8 embedding is shorter than its scale header");
    const scale = view.getFloat32(1, true);
    const out = new Float32Array(bytes.length - 5);
    for (let j = 0; j < out.length; j++) out[j] = view.getInt8(5 + j) * scale;
    return out;
  }
  throw new RangeError(tag === undefined ? "embedding bytes are empty" : `unknown embedding format tag ${tag}`);
}

/** Decodes many stored vectors (all the same dim) into one matrix for the query strategies and the head. */
export function decodeEmbeddings(encoded: readonly Uint8Array[]): EmbeddingMatrix {
  if (encoded.length === 0) return { data: new Float32Array(0), rows: 0, dim: 0 };
  const first = decodeEmbedding(encoded[0]!);
  const dim = first.length;
  const data = new Float32Array(encoded.length * dim);
  data.set(first, 0);
  for (let i = 1; i < encoded.length; i++) {
    const row = decodeEmbedding(encoded[i]!);
    if (row.length !== dim) throw new RangeError(`embedding ${i} has dim ${row.length}, expected ${dim}`);
    data.set(row, i * dim);
  }
  return { data, rows: encoded.length, dim };
}

/** Encodes every row of a matrix. */
export function encodeEmbeddings(matrix: EmbeddingMatrix, format: EmbeddingFormat = "float16"): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < matrix.rows; i++) out.push(encodeEmbedding(matrix.data.subarray(i * matrix.dim, (i + 1) * matrix.dim), format));
  return out;
}
