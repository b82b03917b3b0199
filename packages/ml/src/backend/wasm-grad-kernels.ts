/**
 * Registers convolution gradient kernels for the wasm backend so that models can train on it.
 *
 * tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter or
 * DepthwiseConv2dNativeBackpropInput, so the first trainOnBatch of any CNN throws. Its
 * Conv2DBackpropInput is a direct loop; it is replaced by the XNNPACK-convolution formulation too
 * (measured no slower for stride 2, and pointwise convs become one GEMM), so all convolution
 * gradients share one tested code path (opt out with `replaceBackpropInput`). A few generic kernels
 * that dominate the batch-norm gradient on wasm get fast paths as well (see the options).
 */
import * as tf from "@tensorflow/tfjs";
import {
  computeConvGeometry,
  conv2dBackpropFilterOps,
  conv2dBackpropInputOps,
  depthwiseBackpropFilterOps,
  depthwiseBackpropInputOps,
} from "./conv-grad-ops";

type Shape4 = [number, number, number, number];
type PadAttr = Parameters<typeof computeConvGeometry>[4];
type RoundingMode = "floor" | "round" | "ceil" | undefined;

interface ConvAttrs {
  strides: number | [number, number];
  dilations?: number | [number, number];
  pad: PadAttr;
  dataFormat?: "NHWC" | "NCHW";
  dimRoundingMode?: RoundingMode;
  filterShape?: Shape4;
  inputShape?: Shape4;
}

/** Options for {@link registerWasmGradKernels}. */
export interface WasmGradKernelOptions {
  /** Backend name to register under. Default 'wasm'. */
  backendName?: string;
  /** Also replace the stock (direct-loop) Conv2DBackpropInput. Default true. */
  replaceBackpropInput?: boolean;
  /**
   * Route Tile of size-1 axes (what the batch-norm gradient does on every step) through a
   * broadcasting add, which is ~30x faster than wasm's generic Tile. Default true.
   */
  fastTile?: boolean;
  /**
   * Make Identity share the input buffer (as the cpu backend does) instead of copying it: the
   * engine clones every tensor it saves for backprop through Identity. Default true.
   */
  shareIdentity?: boolean;
  /**
   * Replace the Mean gradient, which fills a JS array of ones the size of the input on every
   * call (batch-norm statistics), with a broadcast computed on the backend. Backend-agnostic and
   * numerically identical. Default true.
   */
  fastMeanGradient?: boolean;
}

/** The kernels this module provides, by tfjs kernel name. */
export const WASM_GRAD_KERNEL_NAMES = [
  "Conv2DBackpropFilter",
  "DepthwiseConv2dNativeBackpropFilter",
  "DepthwiseConv2dNativeBackpropInput",
] as const;

function assertNhwc(attrs: ConvAttrs, kernel: string): void {
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== "NHWC") {
    throw new Error(`${kernel} on wasm supports NHWC only (got ${attrs.dataFormat})`);
  }
}

function readAttrs(attrs: unknown): ConvAttrs {
  return attrs as ConvAttrs;
}

function getInput(inputs: tf.NamedTensorInfoMap, backendArg: unknown, name: string, kernel: string): tf.Tensor4D {
  const t = inputs[name];
  if (t === undefined) throw new Error(`${kernel}: missing input '${name}'`);
  // Kernel inputs arrive as TensorInfo; wrapping the same dataId as a Tensor lets us call ops on it.
  // The extra reference keeps the caller's buffer alive when the wrapper is disposed by tidy.
  const backend = backendArg as tf.KernelBackend;
  backend.incRef(t.dataId);
  return tf.engine().makeTensorFromTensorInfo(t, backend) as tf.Tensor4D;
}

/** Registers one kernel, replacing any existing registration for that backend. */
function registerReplacing(kernelName: string, backendName: string, kernelFunc: tf.KernelFunc): void {
  if (tf.getKernel(kernelName, backendName) !== undefined) tf.unregisterKernel(kernelName, backendName);
  // tidy disposes the Tensor wrappers made around the kernel inputs; the output survives it.
  const tidied: tf.KernelFunc = (args) => tf.tidy(() => kernelFunc(args) as tf.Tensor);
  tf.registerKernel({ kernelName, backendName, kernelFunc: tidied });
}

/**
 * Registers the missing convolution gradient kernels for `backendName` (default 'wasm').
 * Idempotent; call before the first training step (selectBackend does it for wasm).
 */
export function registerWasmGradKernels(options: WasmGradKernelOptions = {}): void {
  const backendName = options.backendName ?? "wasm";
  const replaceBackpropInput = options.replaceBackpropInput ?? true;

  registerReplacing("Conv2DBackpropFilter", backendName, ({ inputs, backend, attrs }) => {
    const a = readAttrs(attrs);
    assertNhwc(a, "Conv2DBackpropFilter");
    const x = getInput(inputs, backend, "x", "Conv2DBackpropFilter");
    const dy = getInput(inputs, backend, "dy", "Conv2DBackpropFilter");
    const filterShape = a.filterShape as Shape4;
    const g = computeConvGeometry(x.shape, filterShape, a.strides, 1, a.pad, a.dimRoundingMode, false);
    return conv2dBackpropFilterOps(x, dy, g);
  });

  registerReplacing("DepthwiseConv2dNativeBackpropFilter", backendName, ({ inputs, backend, attrs }) => {
    const a = readAttrs(attrs);
    const x = getInput(inputs, backend, "x", "DepthwiseConv2dNativeBackpropFilter");
    const dy = getInput(inputs, backend, "dy", "DepthwiseConv2dNativeBackpropFilter");
    const filterShape = a.filterShape as Shape4;
    const g = computeConvGeometry(x.shape, filterShape, a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, true);
    return depthwiseBackpropFilterOps(x, dy, g, filterShape[3]);
  });

  registerReplacing("DepthwiseConv2dNativeBackpropInput", backendName, ({ inputs, backend, attrs }) => {
    const a = readAttrs(attrs);
    const dy = getInput(inputs, backend, "dy", "DepthwiseConv2dNativeBackpropInput");
    const filter = getInput(inputs, backend, "filter", "DepthwiseConv2dNativeBackpropInput");
    const inputShape = a.inputShape as Shape4;
    const g = computeConvGeometry(inputShape, filter.shape, a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, true);
    return depthwiseBackpropInputOps(dy, filter, g);
  });

  if (options.fastTile ?? true) registerFastTile(backendName);
  if (options.shareIdentity ?? true) registerSharedIdentity(backendName);
  if (options.fastMeanGradient ?? true) registerFastMeanGradient();

  if (replaceBackpropInput) {
    registerReplacing("Conv2DBackpropInput", backendName, ({ inputs, backend, attrs }) => {
      const a = readAttrs(attrs);
      assertNhwc(a, "Conv2DBackpropInput");
      const dy = getInput(inputs, backend, "dy", "Conv2DBackpropInput");
      const filter = getInput(inputs, backend, "filter", "Conv2DBackpropInput");
      const inputShape = a.inputShape as Shape4;
      const g = computeConvGeometry(inputShape, filter.shape, a.strides, 1, a.pad, a.dimRoundingMode, false);
      return conv2dBackpropInputOps(dy, filter, g);
    });
  }
}

/**
 * Wraps the backend's Tile: when every repeated axis has size 1 the result is a broadcast, done as
 * `x + zeros(outShape)`; anything else goes to the original kernel.
 */
function registerFastTile(backendName: string): void {
  const original = tf.getKernel("Tile", backendName);
  if (original === undefined || (original as { fastTile?: boolean }).fastTile) return;
  const kernelFunc: tf.KernelFunc = (args) => {
    const x = args.inputs["x"];
    const reps = (args.attrs as { reps?: number[] } | undefined)?.reps;
    const broadcastable =
      x !== undefined && reps !== undefined && x.dtype === "float32" && x.shape.every((d, i) => d === 1 || (reps[i] ?? 1) === 1);
    if (!broadcastable) return original.kernelFunc(args);
    return tf.tidy(() => {
      const t = getInput(args.inputs, args.backend, "x", "Tile") as tf.Tensor;
      const outShape = t.shape.map((d, i) => d * (reps[i] ?? 1));
      return tf.add(t, tf.zeros(outShape));
    });
  };
  tf.unregisterKernel("Tile", backendName);
  tf.registerKernel({ kernelName: "Tile", backendName, kernelFunc, setupFunc: original.setupFunc, fastTile: true } as tf.KernelConfig);
}

/** Identity that shares the input's buffer (reference counted) instead of copying it. */
function registerSharedIdentity(backendName: string): void {
  const original = tf.getKernel("Identity", backendName);
  if (original === undefined || (original as { shared?: boolean }).shared) return;
  const kernelFunc: tf.KernelFunc = (args) => {
    const x = args.inputs["x"];
    if (x === undefined || x.dtype === "string") return original.kernelFunc(args);
    (args.backend as tf.KernelBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  tf.unregisterKernel("Identity", backendName);
  tf.registerKernel({ kernelName: "Identity", backendName, kernelFunc, setupFunc: original.setupFunc, shared: true } as tf.KernelConfig);
}

/** Mean's gradient: dy / n broadcast to x's shape, without materialising ones on the JS side. */
function registerFastMeanGradient(): void {
  tf.registerGradient({
    kernelName: "Mean",
    inputsToSave: ["x"],
    gradFunc: (dy, saved, attrs) => {
      const x = saved[0] as tf.Tensor;
      const dyT = dy as tf.Tensor;
      const axes = tf.util.parseAxisParam((attrs as { axis: number | number[] }).axis, x.shape);
      const reduceSize = axes.reduce((n, a) => n * (x.shape[a] ?? 1), 1);
      return {
        x: () => {
          const expanded = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
          const scaled = tf.div(tf.reshape(dyT, expanded), reduceSize);
          return tf.mul(scaled, tf.onesLike(x));
        },
      };
    },
  });
}
