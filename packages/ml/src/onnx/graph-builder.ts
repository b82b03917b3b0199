import { ATTR_FLOAT, ATTR_FLOATS, ATTR_INT, ATTR_INTS, ATTR_STRING, TENSOR_FLOAT, TENSOR_INT64, type OnnxTypes } from "./onnx-proto";

/** Attribute values the exporter emits; arrays of integers vs floats are told apart by `floats`. */
export type AttrValue = number | string | number[] | { floats: number[] } | { float: number };

const encoder = new TextEncoder();

function toAttribute(name: string, value: AttrValue): OnnxTypes.IAttributeProto {
  if (typeof value === "string") return { name, type: ATTR_STRING, s: encoder.encode(value) };
  if (typeof value === "number") return { name, type: ATTR_INT, i: value };
  if (Array.isArray(value)) return { name, type: ATTR_INTS, ints: value };
  if ("floats" in value) return { name, type: ATTR_FLOATS, floats: value.floats };
  return { name, type: ATTR_FLOAT, f: value.float };
}

/**
 * Accumulates the nodes and initializers of one ONNX graph, handing out unique value names.
 * Tensors are stored as little-endian raw bytes, the layout of JS typed arrays on every platform
 * Node runs on here (x86-64, arm64).
 */
export class GraphBuilder {
  readonly nodes: OnnxTypes.INodeProto[] = [];
  readonly initializers: OnnxTypes.ITensorProto[] = [];
  private readonly used = new Set<string>();

  /** A fresh value name derived from `base` (tfjs layer names may repeat across nested models). */
  uniqueName(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_./-]/g, "_");
    let name = clean;
    for (let i = 1; this.used.has(name); i++) name = `${clean}_${i}`;
    this.used.add(name);
    return name;
  }

  addFloatTensor(base: string, dims: readonly number[], data: Float32Array): string {
    const name = this.uniqueName(base);
    const bytes = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    this.initializers.push({ name, dims: [...dims], dataType: TENSOR_FLOAT, rawData: bytes });
    return name;
  }

  addScalar(base: string, value: number): string {
    return this.addFloatTensor(base, [], Float32Array.of(value));
  }

  addInt64Tensor(base: string, values: readonly number[]): string {
    const name = this.uniqueName(base);
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dims: [values.length], dataType: TENSOR_INT64, rawData: new Uint8Array(data.buffer) });
    return name;
  }

  /** Adds a node with one output and returns that output's name. */
  addNode(opType: string, inputs: readonly string[], base: string, attrs: Record<string, AttrValue> = {}): string {
    const output = this.uniqueName(base);
    this.nodes.push({
      opType,
      name: this.uniqueName(`${base}/${opType}`),
      input: [...inputs],
      output: [output],
      attribute: Object.entries(attrs).map(([k, v]) => toAttribute(k, v)),
    });
    return output;
  }
}
