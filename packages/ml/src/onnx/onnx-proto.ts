// onnx-proto is CommonJS assigning `module.exports = $root`, which Node's ESM loader cannot see
// named exports through: under native ESM the namespace sits on `default`, under bundlers it may
// be hoisted. Resolve it once here for both.
import * as onnxProtoModule from "onnx-proto";

type OnnxNamespace = typeof onnxProtoModule.onnx;

const moduleRecord = onnxProtoModule as unknown as { onnx?: OnnxNamespace; default?: { onnx?: OnnxNamespace } };
const resolved = moduleRecord.onnx ?? moduleRecord.default?.onnx;
if (!resolved) throw new Error("onnx-proto did not load: no `onnx` namespace found");

/** The protobuf classes of the ONNX schema (ModelProto, GraphProto, ...). */
export const onnx: OnnxNamespace = resolved;
export type { onnx as OnnxTypes } from "onnx-proto";

// Numeric enum values of the ONNX schema, spelled out so the builder needs no runtime enum lookups.
export const TENSOR_FLOAT = 1;
export const TENSOR_INT64 = 7;
export const ATTR_FLOAT = 1;
export const ATTR_INT = 2;
export const ATTR_STRING = 3;
export const ATTR_FLOATS = 6;
export const ATTR_INTS = 7;
