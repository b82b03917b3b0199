import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../src/backend";

type Shape4 = [number, number, number, number];

/** Deterministic pseudo-random values so failures are reproducible. */
function randomArray(size: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Runs one kernel on a backend from plain arrays and returns the flat result. */
async function runOn(
  backend: string,
  kernel: string,
  inputs: Record<string, { shape: Shape4; values: Float32Array }>,
  attrs: Record<string, unknown>,
): Promise<{ shape: number[]; values: Float32Array }> {
  await tf.setBackend(backend);
  const tensors: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(inputs)) tensors[k] = tf.tensor4d(v.values, v.shape);
  const before = tf.memory().numTensors;
  const out = tf.engine().runKernel<tf.Tensor>(kernel, tensors, attrs as tf.NamedAttrMap);
  const values = (await out.data()) as Float32Array;
  const shape = out.shape;
  out.dispose();
  expect(tf.memory().numTensors).toBe(before);
  Object.values(tensors).forEach((t) => t.dispose());
  return { shape, values };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
  return m;
}

function outSize(inSize: number, k: number, stride: number, pad: "same" | "valid"): number {
  return pad === "same" ? Math.ceil(inSize / stride) : Math.ceil((inSize - k + 1) / stride);
}

interface Case {
  n: number;
  h: number;
  w: number;
  c: number;
  k: number;
  stride: number;
  pad: "same" | "valid";
  outC: number;
  mult: number;
}

const cases: Case[] = [
  { n: 2, h: 8, w: 8, c: 3, k: 3, stride: 1, pad: "same", outC: 5, mult: 1 },
  { n: 2, h: 8, w: 8, c: 4, k: 3, stride: 2, pad: "same", outC: 6, mult: 1 },
  { n: 1, h: 9, w: 7, c: 3, k: 3, stride: 2, pad: "same", outC: 4, mult: 2 },
  { n: 2, h: 9, w: 9, c: 2, k: 3, stride: 1, pad: "valid", outC: 3, mult: 1 },
  { n: 2, h: 10, w: 11, c: 3, k: 3, stride: 2, pad: "valid", outC: 4, mult: 1 },
  { n: 2, h: 8, w: 8, c: 8, k: 1, stride: 1, pad: "same", outC: 4, mult: 1 },
  { n: 2, h: 8, w: 8, c: 8, k: 1, stride: 2, pad: "valid", outC: 4, mult: 1 },
  { n: 1, h: 12, w: 12, c: 3, k: 5, stride: 2, pad: "same", outC: 4, mult: 1 },
  { n: 1, h: 7, w: 7, c: 3, k: 2, stride: 2, pad: "same", outC: 2, mult: 1 },
];

describe("wasm convolution gradient kernels match the cpu backend", () => {
  beforeAll(async () => {
    await selectBackend({ preferred: "wasm" });
  });

  for (const [i, cs] of cases.entries()) {
    const label = `${cs.n}x${cs.h}x${cs.w}x${cs.c} k${cs.k} s${cs.stride} ${cs.pad}`;
    const oh = outSize(cs.h, cs.k, cs.stride, cs.pad);
    const ow = outSize(cs.w, cs.k, cs.stride, cs.pad);
    const xShape: Shape4 = [cs.n, cs.h, cs.w, cs.c];
    const x = randomArray(size(xShape), 11 + i);

    it(`Conv2DBackpropFilter ${label}`, async () => {
      const dyShape: Shape4 = [cs.n, oh, ow, cs.outC];
      const dy = randomArray(size(dyShape), 101 + i);
      const attrs = { strides: cs.stride, pad: cs.pad, dataFormat: "NHWC", filterShape: [cs.k, cs.k, cs.c, cs.outC] };
      const inputs = { x: { shape: xShape, values: x }, dy: { shape: dyShape, values: dy } };
      const ref = await runOn("cpu", "Conv2DBackpropFilter", inputs, attrs);
      const got = await runOn("wasm", "Conv2DBackpropFilter", inputs, attrs);
      expect(got.shape).toEqual(ref.shape);
      expect(maxAbsDiff(got.values, ref.values)).toBeLessThan(1e-4);
    });

    it(`Conv2DBackpropInput ${label}`, async () => {
      const dyShape: Shape4 = [cs.n, oh, ow, cs.outC];
      const filterShape: Shape4 = [cs.k, cs.k, cs.c, cs.outC];
      const attrs = { strides: cs.stride, pad: cs.pad, dataFormat: "NHWC", inputShape: xShape };
      const inputs = {
        dy: { shape: dyShape, values: randomArray(size(dyShape), 201 + i) },
        filter: { shape: filterShape, values: randomArray(size(filterShape), 301 + i) },
      };
      const ref = await runOn("cpu", "Conv2DBackpropInput", inputs, attrs);
      const got = await runOn("wasm", "Conv2DBackpropInput", inputs, attrs);
      expect(got.shape).toEqual(ref.shape);
      expect(maxAbsDiff(got.values, ref.values)).toBeLessThan(1e-4);
    });

    it(`DepthwiseConv2dNativeBackpropFilter ${label} x${cs.mult}`, async () => {
      const dyShape: Shape4 = [cs.n, oh, ow, cs.c * cs.mult];
      const attrs = { strides: cs.stride, pad: cs.pad, dilations: 1, filterShape: [cs.k, cs.k, cs.c, cs.mult] };
      const inputs = {
        x: { shape: xShape, values: x },
        dy: { shape: dyShape, values: randomArray(size(dyShape), 401 + i) },
      };
      const ref = await runOn("cpu", "DepthwiseConv2dNativeBackpropFilter", inputs, attrs);
      const got = await runOn("wasm", "DepthwiseConv2dNativeBackpropFilter", inputs, attrs);
      expect(got.shape).toEqual(ref.shape);
      expect(maxAbsDiff(got.values, ref.values)).toBeLessThan(1e-4);
    });

    it(`DepthwiseConv2dNativeBackpropInput ${label} x${cs.mult}`, async () => {
      const dyShape: Shape4 = [cs.n, oh, ow, cs.c * cs.mult];
      const filterShape: Shape4 = [cs.k, cs.k, cs.c, cs.mult];
      const attrs = { strides: cs.stride, pad: cs.pad, dilations: 1, inputShape: xShape };
      const inputs = {
        dy: { shape: dyShape, values: randomArray(size(dyShape), 501 + i) },
        filter: { shape: filterShape, values: randomArray(size(filterShape), 601 + i) },
      };
      const ref = await runOn("cpu", "DepthwiseConv2dNativeBackpropInput", inputs, attrs);
      const got = await runOn("wasm", "DepthwiseConv2dNativeBackpropInput", inputs, attrs);
      expect(got.shape).toEqual(ref.shape);
      expect(maxAbsDiff(got.values, ref.values)).toBeLessThan(1e-4);
    });
  }

  it("tf.grad through conv layers agrees between wasm and cpu", async () => {
    const xShape: Shape4 = [2, 16, 16, 3];
    const xv = randomArray(size(xShape), 7);
    const w1v = randomArray(3 * 3 * 3 * 8, 8);
    const dwv = randomArray(3 * 3 * 8, 9);
    const gradsOn = async (backend: string): Promise<Float32Array[]> => {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const x = tf.tensor4d(xv, xShape);
      const w1 = tf.tensor4d(w1v, [3, 3, 3, 8]);
      const dw = tf.tensor4d(dwv, [3, 3, 8, 1]);
      const f = (a: tf.Tensor4D, b: tf.Tensor4D, c: tf.Tensor4D): tf.Scalar =>
        tf.sum(tf.square(tf.depthwiseConv2d(tf.relu(tf.conv2d(a, b, 2, "same")), c, 2, "same")));
      const grads = tf.grads(f as (...args: tf.Tensor[]) => tf.Tensor)([x, w1, dw]);
      const values = await Promise.all(grads.map((g) => g.data() as Promise<Float32Array>));
      tf.dispose([...grads, x, w1, dw]);
      expect(tf.memory().numTensors).toBe(before);
      return values;
    };
    const ref = await gradsOn("cpu");
    const got = await gradsOn("wasm");
    for (let i = 0; i < ref.length; i++) {
      const r = ref[i] as Float32Array;
      const scale = Math.max(1, ...Array.from(r, Math.abs));
      expect(maxAbsDiff(got[i] as Float32Array, r) / scale).toBeLessThan(1e-4);
    }
  });
});

describe("training on wasm", () => {
  it("a MobileNetV2 trains one batch (all three registered gradient kernels in use)", async () => {
    await selectBackend({ preferred: "wasm" });
    const { buildModel, getClassifierParts } = await import("../src/models");
    const { createOptimizer, disposeOptimizer, runTrainStep } = await import("../src/train");
    // tfjs-layers caches a few constants on first use; build once so they do not count as a leak.
    buildModel({ backbone: "small-cnn", inputSize: 32, numClasses: 2 }).dispose();
    const before = tf.memory().numTensors;
    const model = buildModel({ backbone: "mobilenet-v2", inputSize: 32, numClasses: 3, alpha: 0.35 });
    const parts = getClassifierParts(model);
    const optimizer = createOptimizer({ name: "sgd", learningRate: 0.05 });
    const x = tf.randomNormal<tf.Rank.R4>([4, 32, 32, 3]);
    const y = tf.tensor1d([0, 1, 2, 1], "int32");
    const kernelBefore = (model.getLayer("bb_ir1_dw_dwconv").getWeights()[0] as tf.Tensor).dataSync().slice() as Float32Array;
    const loss = runTrainStep({ parts, optimizer, numClasses: 3, weightDecay: 5e-4, labelSmoothing: 0.1 }, x, y);
    expect(Number.isFinite(loss)).toBe(true);
    const kernelAfter = (model.getLayer("bb_ir1_dw_dwconv").getWeights()[0] as tf.Tensor).dataSync() as Float32Array;
    expect(maxAbsDiff(kernelAfter, kernelBefore)).toBeGreaterThan(0);
    tf.dispose([x, y]);
    disposeOptimizer(optimizer);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("wasm helper kernels", () => {
  it("Identity shares the buffer safely and Tile/Mean-gradient fast paths match cpu", async () => {
    const run = async (backend: string): Promise<number[][]> => {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const x = tf.tensor4d(randomArray(2 * 3 * 4 * 5, 77), [2, 3, 4, 5]);
      const c = tf.clone(x);
      x.dispose(); // the clone must survive its source
      const cloned = Array.from(await c.data());
      const tiledT = tf.tidy(() => tf.tile(tf.reshape(c.slice([0, 0, 0, 0], [1, 1, 1, 5]), [1, 1, 1, 5]), [2, 3, 4, 1]));
      const tiled = Array.from(await tiledT.data());
      tiledT.dispose();
      const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.mean(t, [0, 1, 2]), tf.range(1, 6))))(c);
      const g = Array.from(await grad.data());
      tf.dispose([c, grad]);
      expect(tf.memory().numTensors).toBe(before);
      return [cloned, tiled, g];
    };
    await selectBackend({ preferred: "wasm" });
    const ref = await run("cpu");
    const got = await run("wasm");
    for (let i = 0; i < ref.length; i++) {
      expect(maxAbsDiff(Float32Array.from(got[i] as number[]), Float32Array.from(ref[i] as number[]))).toBeLessThan(1e-6);
    }
  });
});
