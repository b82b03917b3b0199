import { describe, expect, it } from "vitest";
import { createRng } from "../src/data/rng";
import { decodeEmbedding, decodeEmbeddings, encodeEmbedding, encodeEmbeddings, toEmbeddingMatrix } from "../src/active-learning";

describe("embedding codec", () => {
  const rng = createRng(21);
  const vector = Array.from({ length: 64 }, () => (rng() - 0.5) * 20);

  it("float16: 2 bytes a value, relative error within 2^-11", () => {
    const bytes = encodeEmbedding(vector, "float16");
    expect(bytes.length).toBe(1 + 2 * 64);
    const back = decodeEmbedding(bytes);
    expect(back).toHaveLength(64);
    vector.forEach((x, j) => expect(Math.abs(back[j]! - x)).toBeLessThanOrEqual(Math.abs(x) * 2 ** -11 + 2 ** -25));
  });

  it("int8 with a per-vector scale: 1 byte a value, absolute error within max|x| / 254", () => {
    const bytes = encodeEmbedding(vector, "int8");
    expect(bytes.length).toBe(5 + 64);
    const back = decodeEmbedding(bytes);
    const maxAbs = Math.max(...vector.map(Math.abs));
    vector.forEach((x, j) => expect(Math.abs(back[j]! - x)).toBeLessThanOrEqual((maxAbs / 254) * (1 + 1e-5)));
    // The largest value survives almost exactly, and an all-zero vector stays zero.
    const big = vector.findIndex((x) => Math.abs(x) === maxAbs);
    expect(back[big]).toBeCloseTo(vector[big]!, 4);
    expect(Array.from(decodeEmbedding(encodeEmbedding([0, 0, 0], "int8")))).toEqual([0, 0, 0]);
  });

  it("decodes from a Buffer slice with a byte offset (as a database driver returns it)", () => {
    const bytes = encodeEmbedding(vector, "float16");
    const pooled = Buffer.alloc(bytes.length + 7);
    pooled.set(bytes, 7);
    expect(Array.from(decodeEmbedding(pooled.subarray(7)))).toEqual(Array.from(decodeEmbedding(bytes)));
  });

  it("round-trips a matrix and rejects bad input", () => {
    const m = toEmbeddingMatrix([vector, vector.map((x) => -x)]);
    const back = decodeEmbeddings(encodeEmbeddings(m, "int8"));
    expect(back.rows).toBe(2);
    expect(back.dim).toBe(64);
    expect(() => encodeEmbedding([1, Number.NaN])).toThrow(/not finite/);
    expect(() => encodeEmbedding([70000], "float16")).toThrow(/float16 range/);
    expect(() => decodeEmbedding(new Uint8Array([9, 0, 0]))).toThrow(/format tag/);
    expect(() => decodeEmbedding(new Uint8Array([1, 0]))).toThrow(/odd/);
    expect(() => decodeEmbedding(new Uint8Array([]))).toThrow(/empty/);
    expect(() => decodeEmbeddings([encodeEmbedding([1, 2]), encodeEmbedding([1])])).toThrow(/dim/);
  });
});
