import type * as tf from "@tensorflow/tfjs";
import { findFeatureLayer } from "../models/classifier-parts";
import { GraphBuilder } from "./graph-builder";
import { LAYER_CONVERTERS, UnsupportedLayerError, type Value } from "./layer-converters";
import { ATTR_INTS, onnx, TENSOR_FLOAT, type OnnxTypes } from "./onnx-proto";

/** Graph input and output names of every exported model. */
export const ONNX_INPUT_NAME = "input";
export const ONNX_OUTPUT_NAME = "output";
/** Second output: the penultimate-layer embedding [N, D], when the model has one. */
export const ONNX_EMBEDDING_NAME = "embedding";

/** Opset 13: Softmax per axis, Clip with tensor bounds, Pad with tensor pads; ORT >= 1.6 runs it. */
const OPSET = 13;
const IR_VERSION = 7;

export interface ExportToOnnxOptions {
  /** Free-form string metadata stored in the model (e.g. classKeys as JSON, model version id). */
  metadata?: Record<string, string>;
  /**
   * Layer whose output is exported as the "embedding" output (the penultimate layer). Default: the
   * classifier's feature layer (see findFeatureLayer) when there is one; false exports none.
   */
  embeddingLayer?: string | false;
}

// The slice of tfjs's Container/Node internals the exporter walks. They are public fields in
// tfjs-layers 4.x but not part of the documented API, hence the narrow structural types.
interface SymbolicLike {
  id: number;
  shape: (number | null)[];
}
interface NodeLike {
  outboundLayer: tf.layers.Layer;
  inputTensors: SymbolicLike[];
  outputTensors: SymbolicLike[];
}
interface ContainerLike {
  name: string;
  inputs: SymbolicLike[];
  outputs: SymbolicLike[];
  nodesByDepth?: Record<string, NodeLike[]>;
  build?: (shape?: unknown) => void;
}

function isContainer(layer: unknown): layer is ContainerLike {
  const l = layer as Partial<ContainerLike>;
  return Array.isArray(l.inputs) && Array.isArray(l.outputs) && "layers" in (layer as object);
}

/**
 * The functional graph behind a container. A Sequential keeps its graph in an inner LayersModel
 * (same input/output tensors) that only exists once built; build() with no shape is the call
 * tfjs's own countParams makes.
 */
function resolveGraph(container: ContainerLike): ContainerLike {
  const seq = container as ContainerLike & { getClassName(): string; model?: ContainerLike; built?: boolean };
  if (seq.getClassName() !== "Sequential") return container;
  if (!seq.model || !seq.built) seq.build?.();
  if (!seq.model) throw new UnsupportedLayerError(`model ${container.name}: empty Sequential`);
  return seq.model;
}

/**
 * Emits a container's layers in tfjs's own execution order (deepest node first). `computed`, when
 * given, receives every value of this container by symbolic tensor id (to expose inner outputs).
 */
function emitContainer(g: GraphBuilder, outer: ContainerLike, inputs: Value[], computed?: Map<number, Value>): Value[] {
  const container = resolveGraph(outer);
  const nodesByDepth = container.nodesByDepth;
  if (!nodesByDepth) throw new UnsupportedLayerError(`model ${container.name} has no graph (not built?)`);
  if (inputs.length !== container.inputs.length) {
    throw new UnsupportedLayerError(`model ${container.name}: ${container.inputs.length} inputs expected`);
  }
  const values = computed ?? new Map<number, Value>();
  container.inputs.forEach((t, i) => values.set(t.id, { name: inputs[i]!.name, shape: t.shape }));
  const depths = Object.keys(nodesByDepth)
    .map(Number)
    .sort((a, b) => b - a);
  for (const depth of depths) {
    for (const node of nodesByDepth[String(depth)] ?? []) {
      const layer = node.outboundLayer;
      if (layer.getClassName() === "InputLayer") continue;
      const nodeInputs = node.inputTensors.map((t) => {
        const v = values.get(t.id);
        if (!v) throw new UnsupportedLayerError(`layer ${layer.name}: input not computed yet`);
        return v;
      });
      let outNames: string[];
      if (isContainer(layer)) {
        outNames = emitContainer(g, layer, nodeInputs).map((v) => v.name);
      } else {
        const convert = LAYER_CONVERTERS[layer.getClassName()];
        if (!convert) throw new UnsupportedLayerError(`layer ${layer.name}: ${layer.getClassName()} cannot be exported to ONNX`);
        outNames = convert({
          g,
          layer,
          config: layer.getConfig(),
          inputs: nodeInputs,
          outputShapes: node.outputTensors.map((t) => t.shape),
        });
      }
      node.outputTensors.forEach((t, i) => {
        const name = outNames[i];
        if (name === undefined) throw new UnsupportedLayerError(`layer ${layer.name}: missing output ${i}`);
        values.set(t.id, { name, shape: t.shape });
      });
    }
  }
  return container.outputs.map((t) => {
    const v = values.get(t.id);
    if (!v) throw new UnsupportedLayerError(`model ${container.name}: output not computed`);
    return v;
  });
}

function valueInfo(name: string, shape: readonly (number | null)[]): OnnxTypes.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: TENSOR_FLOAT,
        shape: { dim: shape.map((d, i) => (d === null ? { dimParam: i === 0 ? "N" : `d${i}` } : { dimValue: d })) },
      },
    },
  };
}

/**
 * Exports a tfjs LayersModel (sequential or functional, nested models included) to an ONNX model
 * (opset 13). The ONNX input "input" is NHWC float32 like the tfjs model's; it is transposed to
 * NCHW inside the graph, and a rank-4 output is transposed back, so callers feed and read the same
 * layouts as in tfjs. Output "output". Supported layers: see LAYER_CONVERTERS; anything else
 * throws UnsupportedLayerError rather than exporting a wrong graph.
 * @returns the serialised ModelProto
 */
export function exportToOnnx(model: tf.LayersModel, opts: ExportToOnnxOptions = {}): Uint8Array {
  const container = model as unknown as ContainerLike;
  if (container.inputs.length !== 1 || container.outputs.length !== 1) {
    throw new UnsupportedLayerError("only single-input, single-output models can be exported");
  }
  const g = new GraphBuilder();
  g.uniqueName(ONNX_INPUT_NAME);
  g.uniqueName(ONNX_OUTPUT_NAME);
  // Reserved even when not exported: buildModel names its pooling layer "embedding".
  g.uniqueName(ONNX_EMBEDDING_NAME);
  const inputShape = container.inputs[0]!.shape;
  const internalInput =
    inputShape.length === 4 ? g.addNode("Transpose", [ONNX_INPUT_NAME], "input_nchw", { perm: [0, 3, 1, 2] }) : ONNX_INPUT_NAME;
  const computed = new Map<number, Value>();
  const [out] = emitContainer(g, container, [{ name: internalInput, shape: inputShape }], computed);
  const embedding = resolveEmbeddingValue(model, opts.embeddingLayer, computed);
  const outShape = container.outputs[0]!.shape;
  g.nodes.push({
    opType: outShape.length === 4 ? "Transpose" : "Identity",
    name: g.uniqueName("output_node"),
    input: [out!.name],
    output: [ONNX_OUTPUT_NAME],
    attribute: outShape.length === 4 ? [{ name: "perm", type: ATTR_INTS, ints: [0, 2, 3, 1] }] : [],
  });
  if (embedding) {
    g.nodes.push({ opType: "Identity", name: g.uniqueName("embedding_node"), input: [embedding.name], output: [ONNX_EMBEDDING_NAME] });
  }
  const proto: OnnxTypes.IModelProto = {
    irVersion: IR_VERSION,
    producerName: "hemaloop-ml",
    opsetImport: [{ domain: "", version: OPSET }],
    metadataProps: Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: model.name,
      node: g.nodes,
      initializer: g.initializers,
      input: [valueInfo(ONNX_INPUT_NAME, inputShape)],
      output: [valueInfo(ONNX_OUTPUT_NAME, outShape), ...(embedding ? [valueInfo(ONNX_EMBEDDING_NAME, embedding.shape)] : [])],
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(proto)).finish();
}

/**
 * The graph value of the embedding layer's output, or null (no such layer, or not a flat [N, D]
 * vector). An explicitly named layer that cannot be exported is an error, never a silent omission.
 */
function resolveEmbeddingValue(model: tf.LayersModel, layerName: string | false | undefined, computed: Map<number, Value>): Value | null {
  if (layerName === false) return null;
  let layer: tf.layers.Layer;
  try {
    layer = findFeatureLayer(model, layerName);
  } catch (error) {
    if (layerName !== undefined) throw new UnsupportedLayerError(`embedding layer ${layerName}: ${(error as Error).message}`);
    return null;
  }
  const output = layer.output as unknown as SymbolicLike | SymbolicLike[];
  const symbolic = Array.isArray(output) ? output[0] : output;
  const value = symbolic ? computed.get(symbolic.id) : undefined;
  if (!value || value.shape.length !== 2) {
    if (layerName !== undefined) throw new UnsupportedLayerError(`embedding layer ${layerName}: output is not a [N, D] value of the graph`);
    return null;
  }
  return value;
}
