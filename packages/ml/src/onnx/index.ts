export { exportToOnnx, ONNX_EMBEDDING_NAME, ONNX_INPUT_NAME, ONNX_OUTPUT_NAME, type ExportToOnnxOptions } from "./export-to-onnx";
export { UnsupportedLayerError, LAYER_CONVERTERS, computePads } from "./layer-converters";
export type { BatchClassifier } from "./batch-classifier";
export { createOnnxClassifier, type OnnxClassifierOptions } from "./onnx-classifier";
export { createTfjsClassifier } from "./tfjs-classifier";
