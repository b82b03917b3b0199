import { InferenceSession, Tensor } from "onnxruntime-node";
import { checkBatchInput, type BatchClassifier } from "./batch-classifier";
import { ONNX_EMBEDDING_NAME, ONNX_INPUT_NAME, ONNX_OUTPUT_NAME } from "./export-to-onnx";

export interface OnnxClassifierOptions {
  /**
   * Threads ONNX Runtime uses inside one operator. Default: ONNX Runtime's own (one per physical
   * core). Lower it when image decoding or a trainer shares the machine.
   */
  intraOpThreads?: number;
}

function staticDims(shape: ReadonlyArray<number | string>, what: string): number[] {
  return shape.slice(1).map((d) => {
    if (typeof d !== "number") throw new RangeError(`${what} has a symbolic non-batch dimension "${d}"`);
    return d;
  });
}

/**
 * Loads an ONNX model from exportToOnnx into ONNX Runtime (CPU) for batch inference.
 * @param bytes a serialised ONNX model with input "input" [N, H, W, C] and output "output" [N, K]
 */
export async function createOnnxClassifier(bytes: Uint8Array, opts: OnnxClassifierOptions = {}): Promise<BatchClassifier> {
  const session = await InferenceSession.create(bytes, {
    executionProviders: ["cpu"],
    graphOptimizationLevel: "all",
    executionMode: "sequential",
    interOpNumThreads: 1,
    ...(opts.intraOpThreads !== undefined ? { intraOpNumThreads: opts.intraOpThreads } : {}),
  });
  const inMeta = session.inputMetadata.find((m) => m.name === ONNX_INPUT_NAME);
  const outMeta = session.outputMetadata.find((m) => m.name === ONNX_OUTPUT_NAME);
  if (!inMeta?.isTensor || !outMeta?.isTensor) {
    await session.release();
    throw new Error(`ONNX model must have tensor input "${ONNX_INPUT_NAME}" and output "${ONNX_OUTPUT_NAME}"`);
  }
  const inputDims = staticDims(inMeta.shape, "input");
  const outputDims = staticDims(outMeta.shape, "output");
  if (inputDims.length !== 3 || outputDims.length !== 1) {
    await session.release();
    throw new Error(`expected input [N, H, W, C] and output [N, K], got [N, ${inputDims.join(", ")}] and [N, ${outputDims.join(", ")}]`);
  }
  const inputShape = inputDims as [number, number, number];
  const embMeta = session.outputMetadata.find((m) => m.name === ONNX_EMBEDDING_NAME);
  const embDims = embMeta?.isTensor ? embMeta.shape.slice(1) : [];
  // Artifacts exported before embeddings existed have no such output: callers fall back to tfjs.
  const embeddingDim = embDims.length === 1 && typeof embDims[0] === "number" ? embDims[0] : null;
  let closed = false;
  const run = async (input: Float32Array, n: number, fetches: string[]) => {
    if (closed) throw new Error("classifier is closed");
    checkBatchInput(input, n, inputShape);
    const feeds = { [ONNX_INPUT_NAME]: new Tensor("float32", input, [n, ...inputShape]) };
    const result = await session.run(feeds, fetches);
    return fetches.map((name) => {
      const out = result[name];
      if (!out || !(out.data instanceof Float32Array)) throw new Error(`ONNX Runtime returned no float32 "${name}"`);
      return out.data;
    });
  };
  return {
    runtime: "onnxruntime",
    inputShape,
    numClasses: outputDims[0]!,
    embeddingDim,
    async predict(input, n) {
      const [probs] = await run(input, n, [ONNX_OUTPUT_NAME]);
      return probs!;
    },
    async predictWithEmbeddings(input, n) {
      if (embeddingDim === null) throw new Error(`this ONNX model has no "${ONNX_EMBEDDING_NAME}" output`);
      const [probs, embeddings] = await run(input, n, [ONNX_OUTPUT_NAME, ONNX_EMBEDDING_NAME]);
      return { probs: probs!, embeddings: embeddings! };
    },
    async close() {
      if (closed) return;
      closed = true;
      await session.release();
    },
  };
}
