import { InferenceSession, Tensor } from "onnxruntime-node";
import { checkBatchInput, type BatchClassifier } from "./batch-classifier";
import { ONNX_INPUT_NAME, ONNX_OUTPUT_NAME } from "./export-to-onnx";

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
  let closed = false;
  return {
    runtime: "onnxruntime",
    inputShape,
    numClasses: outputDims[0]!,
    async predict(input, n) {
      if (closed) throw new Error("classifier is closed");
      checkBatchInput(input, n, inputShape);
      const feeds = { [ONNX_INPUT_NAME]: new Tensor("float32", input, [n, ...inputShape]) };
      const result = await session.run(feeds);
      const out = result[ONNX_OUTPUT_NAME];
      if (!out || !(out.data instanceof Float32Array)) throw new Error("ONNX Runtime returned no float32 output");
      return out.data;
    },
    async close() {
      if (closed) return;
      closed = true;
      await session.release();
    },
  };
}
