import type * as tf from "@tensorflow/tfjs";
import type { AttrValue, GraphBuilder } from "./graph-builder";

/**
 * A value flowing through the exported graph. `shape` is the tfjs (channels-last) shape with the
 * batch dimension; inside the ONNX graph every rank-4 value is NCHW, everything else as in tfjs.
 */
export interface Value {
  name: string;
  shape: readonly (number | null)[];
}

export interface ConvertContext {
  g: GraphBuilder;
  layer: tf.layers.Layer;
  config: Record<string, unknown>;
  inputs: Value[];
  /** tfjs output shapes of this layer call. */
  outputShapes: (number | null)[][];
}

type Converter = (ctx: ConvertContext) => string[];

export class UnsupportedLayerError extends Error {}

interface Weight {
  shape: number[];
  data: Float32Array;
}

function readWeights(layer: tf.layers.Layer): Map<string, Weight> {
  const out = new Map<string, Weight>();
  for (const w of layer.weights) {
    // Variables belong to the model: read, never dispose.
    const t = w.read();
    const key = w.originalName.split("/").pop() ?? w.originalName;
    out.set(key, { shape: t.shape, data: Float32Array.from(t.dataSync() as Float32Array) });
  }
  return out;
}

function requireWeight(weights: Map<string, Weight>, key: string, layer: tf.layers.Layer): Weight {
  const w = weights.get(key);
  if (!w) throw new UnsupportedLayerError(`layer ${layer.name}: weight "${key}" not found`);
  return w;
}

function pair(v: unknown, what: string): [number, number] {
  if (typeof v === "number") return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === "number")) return [v[0] as number, v[1] as number];
  throw new UnsupportedLayerError(`${what} must be a number or a pair, got ${JSON.stringify(v)}`);
}

function only(ctx: ConvertContext): Value {
  const v = ctx.inputs[0];
  if (ctx.inputs.length !== 1 || !v) throw new UnsupportedLayerError(`layer ${ctx.layer.name}: expected one input`);
  return v;
}

function requireChannelsLast(ctx: ConvertContext): void {
  const fmt = ctx.config.dataFormat;
  if (fmt !== undefined && fmt !== null && fmt !== "channelsLast") {
    throw new UnsupportedLayerError(`layer ${ctx.layer.name}: dataFormat ${JSON.stringify(fmt)} (only channelsLast)`);
  }
}

/** Maps a tfjs axis of a rank-`rank` tensor to the axis of the same dimension in the ONNX graph. */
export function mapAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new UnsupportedLayerError(`axis ${axis} out of range for rank ${rank}`);
  if (rank !== 4) return a;
  return [0, 2, 3, 1][a]!;
}

/**
 * Explicit ONNX pads [top, left, bottom, right] reproducing TensorFlow's padding. TF "same" gives
 * output ceil(in / stride) and puts the odd pixel of padding at the end (bottom/right), which
 * matters for stride 2 on even inputs; ONNX's symmetric default would shift the window by one.
 */
export function computePads(
  padding: unknown,
  inputHw: readonly (number | null)[],
  kernel: [number, number],
  strides: [number, number],
  dilation: [number, number] = [1, 1],
): number[] | null {
  if (padding === "valid") return [0, 0, 0, 0];
  if (padding !== "same") throw new UnsupportedLayerError(`padding "${String(padding)}" is not supported`);
  const begin: number[] = [];
  const end: number[] = [];
  for (let d = 0; d < 2; d++) {
    const size = inputHw[d];
    if (size === null || size === undefined) return null;
    const effective = (kernel[d]! - 1) * dilation[d]! + 1;
    const out = Math.ceil(size / strides[d]!);
    const total = Math.max((out - 1) * strides[d]! + effective - size, 0);
    begin.push(Math.floor(total / 2));
    end.push(total - Math.floor(total / 2));
  }
  return [...begin, ...end];
}

/** Pads as an attribute set; SAME_UPPER (TF's convention) when spatial sizes are unknown. */
function padAttrs(pads: number[] | null): Record<string, number[] | string> {
  return pads === null ? { auto_pad: "SAME_UPPER" } : { pads };
}

/** Emits an activation by its tfjs name; returns the output value name. */
export function emitActivation(g: GraphBuilder, x: string, activation: unknown, base: string, rank: number): string {
  switch (activation ?? "linear") {
    case "linear":
      return x;
    case "relu":
      return g.addNode("Relu", [x], base);
    case "relu6":
      return g.addNode("Clip", [x, g.addScalar(`${base}/min`, 0), g.addScalar(`${base}/max`, 6)], base);
    case "sigmoid":
      return g.addNode("Sigmoid", [x], base);
    case "tanh":
      return g.addNode("Tanh", [x], base);
    case "softmax":
      // tfjs applies softmax over the last (channel) axis.
      return g.addNode("Softmax", [x], base, { axis: rank === 4 ? 1 : -1 });
    case "elu":
      return g.addNode("Elu", [x], base, { alpha: { float: 1 } });
    case "selu":
      return g.addNode("Selu", [x], base);
    case "softplus":
      return g.addNode("Softplus", [x], base);
    case "softsign":
      return g.addNode("Softsign", [x], base);
    case "hardSigmoid":
      return g.addNode("HardSigmoid", [x], base, { alpha: { float: 0.2 }, beta: { float: 0.5 } });
    case "swish":
      return g.addNode("Mul", [x, g.addNode("Sigmoid", [x], `${base}/sigmoid`)], base);
    default:
      throw new UnsupportedLayerError(`activation "${String(activation)}" is not supported`);
  }
}

/** [kh, kw, cin, cout] (tfjs) -> [cout, cin, kh, kw] (ONNX). */
function transposeConvKernel(w: Weight): Float32Array {
  const [kh, kw, cin, cout] = w.shape as [number, number, number, number];
  const out = new Float32Array(w.data.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++) out[((o * cin + i) * kh + y) * kw + x] = w.data[((y * kw + x) * cin + i) * cout + o]!;
  return out;
}

/** Depthwise [kh, kw, cin, mult] -> grouped conv [cin * mult, 1, kh, kw]; output c*mult + m as in TF. */
function transposeDepthwiseKernel(w: Weight): Float32Array {
  const [kh, kw, cin, mult] = w.shape as [number, number, number, number];
  const out = new Float32Array(w.data.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let c = 0; c < cin; c++)
        for (let m = 0; m < mult; m++) out[((c * mult + m) * kh + y) * kw + x] = w.data[((y * kw + x) * cin + c) * mult + m]!;
  return out;
}

function emitConv(
  ctx: ConvertContext,
  x: Value,
  weight: { dims: number[]; data: Float32Array },
  bias: Weight | undefined,
  attrs: { kernel: [number, number]; strides: [number, number]; dilation: [number, number]; group: number },
  base: string,
): string {
  const { g } = ctx;
  const inputs = [x.name, g.addFloatTensor(`${base}/W`, weight.dims, weight.data)];
  if (bias) inputs.push(g.addFloatTensor(`${base}/B`, bias.shape, bias.data));
  const pads = computePads(ctx.config.padding, [x.shape[1] ?? null, x.shape[2] ?? null], attrs.kernel, attrs.strides, attrs.dilation);
  return g.addNode("Conv", inputs, base, {
    kernel_shape: attrs.kernel,
    strides: attrs.strides,
    dilations: attrs.dilation,
    group: attrs.group,
    ...padAttrs(pads),
  });
}

function convertConv2d(ctx: ConvertContext): string[] {
  requireChannelsLast(ctx);
  const x = only(ctx);
  if (x.shape.length !== 4) throw new UnsupportedLayerError(`layer ${ctx.layer.name}: Conv2D input must be rank 4`);
  const w = readWeights(ctx.layer);
  const kernel = requireWeight(w, "kernel", ctx.layer);
  const conv = emitConv(
    ctx,
    x,
    { dims: [kernel.shape[3]!, kernel.shape[2]!, kernel.shape[0]!, kernel.shape[1]!], data: transposeConvKernel(kernel) },
    w.get("bias"),
    {
      kernel: [kernel.shape[0]!, kernel.shape[1]!],
      strides: pair(ctx.config.strides ?? 1, "strides"),
      dilation: pair(ctx.config.dilationRate ?? 1, "dilationRate"),
      group: 1,
    },
    ctx.layer.name,
  );
  return [emitActivation(ctx.g, conv, ctx.config.activation, `${ctx.layer.name}/act`, 4)];
}

function convertDepthwiseConv2d(ctx: ConvertContext): string[] {
  requireChannelsLast(ctx);
  const x = only(ctx);
  const w = readWeights(ctx.layer);
  const k = requireWeight(w, "depthwise_kernel", ctx.layer);
  const [kh, kw, cin, mult] = k.shape as [number, number, number, number];
  const conv = emitConv(
    ctx,
    x,
    { dims: [cin * mult, 1, kh, kw], data: transposeDepthwiseKernel(k) },
    w.get("bias"),
    {
      kernel: [kh, kw],
      strides: pair(ctx.config.strides ?? 1, "strides"),
      dilation: pair(ctx.config.dilationRate ?? 1, "dilationRate"),
      group: cin,
    },
    ctx.layer.name,
  );
  return [emitActivation(ctx.g, conv, ctx.config.activation, `${ctx.layer.name}/act`, 4)];
}

function convertSeparableConv2d(ctx: ConvertContext): string[] {
  requireChannelsLast(ctx);
  const x = only(ctx);
  const w = readWeights(ctx.layer);
  const dk = requireWeight(w, "depthwise_kernel", ctx.layer);
  const pk = requireWeight(w, "pointwise_kernel", ctx.layer);
  const [kh, kw, cin, mult] = dk.shape as [number, number, number, number];
  const depthwise = emitConv(
    ctx,
    x,
    { dims: [cin * mult, 1, kh, kw], data: transposeDepthwiseKernel(dk) },
    undefined,
    {
      kernel: [kh, kw],
      strides: pair(ctx.config.strides ?? 1, "strides"),
      dilation: pair(ctx.config.dilationRate ?? 1, "dilationRate"),
      group: cin,
    },
    `${ctx.layer.name}/depthwise`,
  );
  const pointwiseCtx = { ...ctx, config: { ...ctx.config, padding: "valid" } };
  const pointwise = emitConv(
    pointwiseCtx,
    { name: depthwise, shape: ctx.outputShapes[0] ?? [] },
    { dims: [pk.shape[3]!, pk.shape[2]!, 1, 1], data: transposeConvKernel(pk) },
    w.get("bias"),
    { kernel: [1, 1], strides: [1, 1], dilation: [1, 1], group: 1 },
    `${ctx.layer.name}/pointwise`,
  );
  return [emitActivation(ctx.g, pointwise, ctx.config.activation, `${ctx.layer.name}/act`, 4)];
}

function convertBatchNorm(ctx: ConvertContext): string[] {
  const x = only(ctx);
  const rank = x.shape.length;
  const axis = typeof ctx.config.axis === "number" ? ctx.config.axis : -1;
  if (mapAxis(axis, rank) !== 1) {
    throw new UnsupportedLayerError(`layer ${ctx.layer.name}: batch norm must normalise the channel axis`);
  }
  const w = readWeights(ctx.layer);
  const mean = requireWeight(w, "moving_mean", ctx.layer);
  const variance = requireWeight(w, "moving_variance", ctx.layer);
  const channels = mean.data.length;
  const gamma = w.get("gamma")?.data ?? new Float32Array(channels).fill(1);
  const beta = w.get("beta")?.data ?? new Float32Array(channels);
  const base = ctx.layer.name;
  const { g } = ctx;
  const epsilon = typeof ctx.config.epsilon === "number" ? ctx.config.epsilon : 1e-3;
  return [
    g.addNode(
      "BatchNormalization",
      [
        x.name,
        g.addFloatTensor(`${base}/scale`, [channels], gamma),
        g.addFloatTensor(`${base}/bias`, [channels], beta),
        g.addFloatTensor(`${base}/mean`, [channels], mean.data),
        g.addFloatTensor(`${base}/var`, [channels], variance.data),
      ],
      base,
      { epsilon: { float: epsilon } },
    ),
  ];
}

function convertDense(ctx: ConvertContext): string[] {
  const x = only(ctx);
  const w = readWeights(ctx.layer);
  const kernel = requireWeight(w, "kernel", ctx.layer);
  const bias = w.get("bias");
  const [units, inDim] = [kernel.shape[1]!, kernel.shape[0]!];
  const base = ctx.layer.name;
  const { g } = ctx;
  let y: string;
  if (x.shape.length === 2) {
    const inputs = [x.name, g.addFloatTensor(`${base}/W`, kernel.shape, kernel.data)];
    if (bias) inputs.push(g.addFloatTensor(`${base}/B`, bias.shape, bias.data));
    y = g.addNode("Gemm", inputs, base);
  } else if (x.shape.length === 4) {
    // Dense on a feature map acts on the channel axis: a 1x1 convolution in NCHW.
    const transposed = transposeConvKernel({ shape: [1, 1, inDim, units], data: kernel.data });
    const inputs = [x.name, g.addFloatTensor(`${base}/W`, [units, inDim, 1, 1], transposed)];
    if (bias) inputs.push(g.addFloatTensor(`${base}/B`, bias.shape, bias.data));
    y = g.addNode("Conv", inputs, base, { kernel_shape: [1, 1] });
  } else {
    throw new UnsupportedLayerError(`layer ${base}: Dense on rank ${x.shape.length} input`);
  }
  return [emitActivation(g, y, ctx.config.activation, `${base}/act`, x.shape.length)];
}

function convertPool(op: "MaxPool" | "AveragePool"): Converter {
  return (ctx) => {
    requireChannelsLast(ctx);
    const x = only(ctx);
    const kernel = pair(ctx.config.poolSize ?? 2, "poolSize");
    const strides = pair(ctx.config.strides ?? kernel, "strides");
    const pads = computePads(ctx.config.padding ?? "valid", [x.shape[1] ?? null, x.shape[2] ?? null], kernel, strides);
    // TF's "same" average pooling divides by the number of real (unpadded) pixels.
    const extra: Record<string, AttrValue> = op === "AveragePool" ? { count_include_pad: 0 } : {};
    return [ctx.g.addNode(op, [x.name], ctx.layer.name, { kernel_shape: kernel, strides, ...padAttrs(pads), ...extra })];
  };
}

function convertGlobalPool(op: "GlobalAveragePool" | "GlobalMaxPool"): Converter {
  return (ctx) => {
    requireChannelsLast(ctx);
    const x = only(ctx);
    const pooled = ctx.g.addNode(op, [x.name], `${ctx.layer.name}/pool`);
    // [N, C, 1, 1] is already the NCHW form of keepDims' [N, 1, 1, C].
    if (ctx.config.keepDims === true) return [pooled];
    return [ctx.g.addNode("Flatten", [pooled], ctx.layer.name, { axis: 1 })];
  };
}

function convertFlatten(ctx: ConvertContext): string[] {
  const x = only(ctx);
  if (x.shape.length === 2) return [ctx.g.addNode("Identity", [x.name], ctx.layer.name)];
  // tfjs flattens in H, W, C order: go back to NHWC first.
  const input = x.shape.length === 4 ? ctx.g.addNode("Transpose", [x.name], `${ctx.layer.name}/nhwc`, { perm: [0, 2, 3, 1] }) : x.name;
  return [ctx.g.addNode("Flatten", [input], ctx.layer.name, { axis: 1 })];
}

function convertIdentity(ctx: ConvertContext): string[] {
  return [ctx.g.addNode("Identity", [only(ctx).name], ctx.layer.name)];
}

function convertActivation(ctx: ConvertContext): string[] {
  const x = only(ctx);
  const y = emitActivation(ctx.g, x.name, ctx.config.activation, ctx.layer.name, x.shape.length);
  return [y === x.name ? ctx.g.addNode("Identity", [x.name], ctx.layer.name) : y];
}

function convertReLU(ctx: ConvertContext): string[] {
  const x = only(ctx);
  const max = ctx.config.maxValue;
  const { g } = ctx;
  const base = ctx.layer.name;
  if (typeof max === "number") return [g.addNode("Clip", [x.name, g.addScalar(`${base}/min`, 0), g.addScalar(`${base}/max`, max)], base)];
  return [g.addNode("Relu", [x.name], base)];
}

function convertSoftmax(ctx: ConvertContext): string[] {
  const x = only(ctx);
  const axisConfig = ctx.config.axis;
  const axis =
    typeof axisConfig === "number" ? axisConfig : Array.isArray(axisConfig) && axisConfig.length === 1 ? (axisConfig[0] as number) : -1;
  return [ctx.g.addNode("Softmax", [x.name], ctx.layer.name, { axis: mapAxis(axis, x.shape.length) })];
}

function convertMerge(op: "Add" | "Mul" | "Max" | "Min"): Converter {
  return (ctx) => {
    if (ctx.inputs.length < 2) throw new UnsupportedLayerError(`layer ${ctx.layer.name}: merge needs 2+ inputs`);
    const rank = ctx.inputs[0]!.shape.length;
    if (ctx.inputs.some((v) => v.shape.length !== rank)) {
      throw new UnsupportedLayerError(`layer ${ctx.layer.name}: merge inputs of different ranks`);
    }
    const names = ctx.inputs.map((v) => v.name);
    // Sum, Max and Min are variadic in ONNX; Mul is binary, so chain it.
    if (op !== "Mul") return [ctx.g.addNode(op === "Add" ? "Sum" : op, names, ctx.layer.name)];
    let acc = names[0]!;
    for (let i = 1; i < names.length; i++) acc = ctx.g.addNode("Mul", [acc, names[i]!], ctx.layer.name);
    return [acc];
  };
}

function convertAverage(ctx: ConvertContext): string[] {
  const sum = convertMerge("Add")(ctx)[0]!;
  const scale = ctx.g.addScalar(`${ctx.layer.name}/inv_n`, 1 / ctx.inputs.length);
  return [ctx.g.addNode("Mul", [sum, scale], `${ctx.layer.name}/mean`)];
}

function convertConcatenate(ctx: ConvertContext): string[] {
  const rank = ctx.inputs[0]?.shape.length ?? 0;
  const axis = typeof ctx.config.axis === "number" ? ctx.config.axis : -1;
  return [
    ctx.g.addNode(
      "Concat",
      ctx.inputs.map((v) => v.name),
      ctx.layer.name,
      { axis: mapAxis(axis, rank) },
    ),
  ];
}

function convertZeroPadding2d(ctx: ConvertContext): string[] {
  requireChannelsLast(ctx);
  const x = only(ctx);
  const p = ctx.config.padding;
  let rows: [number, number];
  let cols: [number, number];
  if (Array.isArray(p) && Array.isArray(p[0])) {
    rows = pair(p[0], "padding");
    cols = pair(p[1], "padding");
  } else {
    const [r, c] = pair(p ?? 1, "padding");
    rows = [r, r];
    cols = [c, c];
  }
  const pads = ctx.g.addInt64Tensor(`${ctx.layer.name}/pads`, [0, 0, rows[0], cols[0], 0, 0, rows[1], cols[1]]);
  return [ctx.g.addNode("Pad", [x.name, pads], ctx.layer.name, { mode: "constant" })];
}

function convertCropping2d(ctx: ConvertContext): string[] {
  requireChannelsLast(ctx);
  const x = only(ctx);
  const c = ctx.config.cropping;
  const [[top, bottom], [left, right]] =
    Array.isArray(c) && Array.isArray(c[0]) ? [pair(c[0], "cropping"), pair(c[1], "cropping")] : [pair(c, "cropping"), pair(c, "cropping")];
  const h = x.shape[1];
  const w = x.shape[2];
  if (typeof h !== "number" || typeof w !== "number") throw new UnsupportedLayerError("Cropping2D needs static H and W");
  const { g } = ctx;
  const base = ctx.layer.name;
  return [
    g.addNode(
      "Slice",
      [
        x.name,
        g.addInt64Tensor(`${base}/starts`, [top, left]),
        g.addInt64Tensor(`${base}/ends`, [h - bottom, w - right]),
        g.addInt64Tensor(`${base}/axes`, [2, 3]),
      ],
      base,
    ),
  ];
}

function convertRescaling(ctx: ConvertContext): string[] {
  const x = only(ctx);
  const { g } = ctx;
  const base = ctx.layer.name;
  const scale = typeof ctx.config.scale === "number" ? ctx.config.scale : 1;
  const offset = typeof ctx.config.offset === "number" ? ctx.config.offset : 0;
  const scaled = g.addNode("Mul", [x.name, g.addScalar(`${base}/scale`, scale)], `${base}/mul`);
  return [g.addNode("Add", [scaled, g.addScalar(`${base}/offset`, offset)], base)];
}

function convertLeakyReLU(ctx: ConvertContext): string[] {
  const alpha = typeof ctx.config.alpha === "number" ? ctx.config.alpha : 0.3;
  return [ctx.g.addNode("LeakyRelu", [only(ctx).name], ctx.layer.name, { alpha: { float: alpha } })];
}

function convertElu(ctx: ConvertContext): string[] {
  const alpha = typeof ctx.config.alpha === "number" ? ctx.config.alpha : 1;
  return [ctx.g.addNode("Elu", [only(ctx).name], ctx.layer.name, { alpha: { float: alpha } })];
}

/** Converters by tfjs class name. Layers not listed make the export fail loudly. */
export const LAYER_CONVERTERS: Readonly<Record<string, Converter>> = {
  Conv2D: convertConv2d,
  DepthwiseConv2D: convertDepthwiseConv2d,
  SeparableConv2D: convertSeparableConv2d,
  BatchNormalization: convertBatchNorm,
  Dense: convertDense,
  Activation: convertActivation,
  ReLU: convertReLU,
  LeakyReLU: convertLeakyReLU,
  ELU: convertElu,
  Softmax: convertSoftmax,
  Add: convertMerge("Add"),
  Multiply: convertMerge("Mul"),
  Maximum: convertMerge("Max"),
  Minimum: convertMerge("Min"),
  Average: convertAverage,
  Concatenate: convertConcatenate,
  MaxPooling2D: convertPool("MaxPool"),
  AveragePooling2D: convertPool("AveragePool"),
  GlobalAveragePooling2D: convertGlobalPool("GlobalAveragePool"),
  GlobalMaxPooling2D: convertGlobalPool("GlobalMaxPool"),
  Flatten: convertFlatten,
  ZeroPadding2D: convertZeroPadding2d,
  Cropping2D: convertCropping2d,
  Rescaling: convertRescaling,
  // Inference-time no-ops.
  Dropout: convertIdentity,
  SpatialDropout1D: convertIdentity,
  GaussianNoise: convertIdentity,
  GaussianDropout: convertIdentity,
  AlphaDropout: convertIdentity,
};
