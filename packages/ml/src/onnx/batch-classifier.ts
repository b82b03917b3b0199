/**
 * A batch image classifier behind one interface, so prediction jobs can run on ONNX Runtime and
 * fall back to tfjs when no ONNX artifact (or runtime) is available.
 */
export interface BatchClassifier {
  /** Which runtime answers. */
  readonly runtime: "onnxruntime" | "tfjs";
  /** [H, W, C] of one input image. */
  readonly inputShape: readonly [number, number, number];
  readonly numClasses: number;
  /**
   * Class probabilities for n images.
   * @param input n x H x W x C float32, NHWC, preprocessed exactly as for the tfjs model
   * @returns n x numClasses, row-major
   */
  predict(input: Float32Array, n: number): Promise<Float32Array>;
  /** Size of the penultimate-layer embedding; null when this model does not expose it. */
  readonly embeddingDim: number | null;
  /**
   * Class probabilities and embeddings in one pass (n x numClasses and n x embeddingDim, row-major).
   * Throws when embeddingDim is null.
   */
  predictWithEmbeddings(input: Float32Array, n: number): Promise<{ probs: Float32Array; embeddings: Float32Array }>;
  /** Releases native resources; the classifier cannot be used afterwards. */
  close(): Promise<void>;
}

export function checkBatchInput(input: Float32Array, n: number, shape: readonly number[]): void {
  const perImage = shape.reduce((a, b) => a * b, 1);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a positive integer (got ${n})`);
  if (input.length !== n * perImage) {
    throw new RangeError(`input has ${input.length} values, expected ${n} x ${shape.join(" x ")} = ${n * perImage}`);
  }
}
