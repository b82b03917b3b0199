/**
 * Convolution gradients written with ordinary tf ops (slice, pad, matMul, depthwiseConv2d, conv2d).
 *
 * The wasm backend ships forward convolutions (XNNPACK) but lacks three gradient kernels, and its
 * Conv2DBackpropInput is a scalar loop. Expressing each gradient as strided slices plus matMul or as a
 * stride-1 convolution over a zero-upsampled gradient keeps all the heavy work inside XNNPACK/GEMM
 * kernels, which is both correct on every backend and fast on wasm.
 *
 * All tensors are NHWC. Filters: conv2d `[kh, kw, inC, outC]`, depthwise `[kh, kw, inC, multiplier]`.
 */
import * as tf from "@tensorflow/tfjs";
import { backend_util } from "@tensorflow/tfjs";

/** Explicit per-side padding, as computed by tfjs for 'same' | 'valid' | number | explicit pads. */
interface PadSides {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/** The padding/stride/dilation description shared by the gradient functions below. */
export interface ConvGeometry {
  /** Batch, input height/width/channels. */
  inShape: [number, number, number, number];
  /** Filter height and width. */
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  outHeight: number;
  outWidth: number;
  pad: PadSides;
}

type PadAttr = "same" | "valid" | number | backend_util.ExplicitPadding;

/**
 * Derives the geometry of a convolution from tfjs attributes, using tfjs's own shape logic so that
 * 'same' padding splits exactly as the forward kernel did (extra row/column goes bottom/right).
 */
export function computeConvGeometry(
  inShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  strides: number | [number, number],
  dilations: number | [number, number],
  pad: PadAttr,
  dimRoundingMode: "floor" | "round" | "ceil" | undefined,
  depthwise: boolean,
): ConvGeometry {
  const info = backend_util.computeConv2DInfo(
    inShape,
    filterShape,
    strides,
    dilations,
    pad,
    dimRoundingMode,
    depthwise,
    "channelsLast",
  );
  return {
    inShape,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    dilationHeight: info.dilationHeight,
    dilationWidth: info.dilationWidth,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    pad: { top: info.padInfo.top, bottom: info.padInfo.bottom, left: info.padInfo.left, right: info.padInfo.right },
  };
}

/**
 * Pads x (NHWC) and returns, for every filter tap (kh, kw), the strided window of x that the tap
 * multiplied in the forward pass: shape `[N, outH, outW, C]` each.
 */
function sliceTapWindows(xPadded: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D[] {
  const [n, , , c] = xPadded.shape;
  const windows: tf.Tensor4D[] = [];
  for (let kh = 0; kh < g.filterHeight; kh++) {
    for (let kw = 0; kw < g.filterWidth; kw++) {
      const h0 = kh * g.dilationHeight;
      const w0 = kw * g.dilationWidth;
      const h1 = h0 + (g.outHeight - 1) * g.strideHeight + 1;
      const w1 = w0 + (g.outWidth - 1) * g.strideWidth + 1;
      const window =
        g.strideHeight === 1 && g.strideWidth === 1
          ? tf.slice(xPadded, [0, h0, w0, 0], [n, g.outHeight, g.outWidth, c])
          : tf.stridedSlice(xPadded, [0, h0, w0, 0], [n, h1, w1, c], [1, g.strideHeight, g.strideWidth, 1]);
      windows.push(window as tf.Tensor4D);
    }
  }
  return windows;
}

/** Pads x so that every tap window lies inside it; also crops rows the forward pass never read. */
function padForTaps(x: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  const { top, bottom, left, right } = g.pad;
  if (top === 0 && bottom === 0 && left === 0 && right === 0) return x;
  // Negative bottom/right can arise with 'valid'-like explicit pads; slicing is never needed there
  // because windows only read the first (out-1)*stride+1+(k-1)*dilation rows.
  return tf.pad(x, [
    [0, 0],
    [Math.max(top, 0), Math.max(bottom, 0)],
    [Math.max(left, 0), Math.max(right, 0)],
    [0, 0],
  ]);
}

/**
 * dL/dW of conv2d. x: `[N, H, W, inC]`, dy: `[N, outH, outW, outC]` -> `[kh, kw, inC, outC]`.
 * One GEMM per tap: `window^T (inC x N*outH*outW) @ dy (N*outH*outW x outC)`.
 */
export function conv2dBackpropFilterOps(x: tf.Tensor4D, dy: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  return tf.tidy(() => {
    const inC = x.shape[3];
    const outC = dy.shape[3];
    const rows = dy.shape[0] * dy.shape[1] * dy.shape[2];
    const dy2d = tf.reshape(dy, [rows, outC]) as tf.Tensor2D;
    if (g.filterHeight === 1 && g.filterWidth === 1) {
      const [window] = sliceTapWindows(padForTaps(x, g), g);
      const dw = tf.matMul(tf.reshape(window as tf.Tensor4D, [rows, inC]) as tf.Tensor2D, dy2d, true, false);
      return tf.reshape(dw, [1, 1, inC, outC]) as tf.Tensor4D;
    }
    const taps = sliceTapWindows(padForTaps(x, g), g).map((window) =>
      tf.matMul(tf.reshape(window, [rows, inC]) as tf.Tensor2D, dy2d, true, false),
    );
    return tf.reshape(tf.stack(taps), [g.filterHeight, g.filterWidth, inC, outC]) as tf.Tensor4D;
  });
}

/**
 * dL/dW of depthwiseConv2d. x: `[N, H, W, C]`, dy: `[N, outH, outW, C*M]` -> `[kh, kw, C, M]`.
 */
export function depthwiseBackpropFilterOps(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  g: ConvGeometry,
  multiplier: number,
): tf.Tensor4D {
  return tf.tidy(() => {
    const c = x.shape[3];
    const [n, oh, ow] = dy.shape;
    const windows = sliceTapWindows(padForTaps(x, g), g);
    const taps = windows.map((window) => {
      if (multiplier === 1) return tf.sum(tf.mul(window, dy), [0, 1, 2]);
      const dy5 = tf.reshape(dy, [n, oh, ow, c, multiplier]);
      return tf.sum(tf.mul(tf.expandDims(window, 4), dy5), [0, 1, 2]);
    });
    return tf.reshape(tf.stack(taps), [g.filterHeight, g.filterWidth, c, multiplier]) as tf.Tensor4D;
  });
}

/**
 * Zero-upsamples dy by the stride and pads it so that a stride-1 'valid' correlation with the
 * flipped filter yields dL/dx of size `[N, H, W, ·]`. This is the classic transposed-convolution
 * identity: dx[i] = sum_k z[i + padTop - k*d] w[k], with z the zero-upsampled dy.
 */
function upsampleAndPadGradient(dy: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  const [n, oh, ow, ch] = dy.shape;
  const [, inH, inW] = g.inShape;
  let z: tf.Tensor4D = dy;
  if (g.strideHeight > 1 || g.strideWidth > 1) {
    const z6 = tf.pad(tf.reshape(dy, [n, oh, 1, ow, 1, ch]), [
      [0, 0],
      [0, 0],
      [0, g.strideHeight - 1],
      [0, 0],
      [0, g.strideWidth - 1],
      [0, 0],
    ]);
    z = tf.reshape(z6, [n, oh * g.strideHeight, ow * g.strideWidth, ch]);
  }
  const effH = (g.filterHeight - 1) * g.dilationHeight;
  const effW = (g.filterWidth - 1) * g.dilationWidth;
  const padTop = effH - g.pad.top;
  const padLeft = effW - g.pad.left;
  const padBottom = inH + effH - padTop - z.shape[1];
  const padRight = inW + effW - padLeft - z.shape[2];
  // Crop first where the padded extent would be negative (rows the forward pass never produced).
  const cropTop = Math.max(-padTop, 0);
  const cropLeft = Math.max(-padLeft, 0);
  const keepH = z.shape[1] - cropTop - Math.max(-padBottom, 0);
  const keepW = z.shape[2] - cropLeft - Math.max(-padRight, 0);
  if (cropTop > 0 || cropLeft > 0 || keepH < z.shape[1] || keepW < z.shape[2]) {
    z = tf.slice(z, [0, cropTop, cropLeft, 0], [n, keepH, keepW, ch]);
  }
  return tf.pad(z, [
    [0, 0],
    [Math.max(padTop, 0), Math.max(padBottom, 0)],
    [Math.max(padLeft, 0), Math.max(padRight, 0)],
    [0, 0],
  ]);
}

/**
 * dL/dx of depthwiseConv2d. dy: `[N, outH, outW, C*M]`, filter `[kh, kw, C, M]` -> `[N, H, W, C]`.
 */
export function depthwiseBackpropInputOps(dy: tf.Tensor4D, filter: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, c, m] = filter.shape;
    const zp = upsampleAndPadGradient(dy, g);
    const flipped = tf.reshape(tf.reverse(filter, [0, 1]), [kh, kw, c * m, 1]) as tf.Tensor4D;
    const dx = tf.depthwiseConv2d(zp, flipped, 1, "valid", "NHWC", [g.dilationHeight, g.dilationWidth]);
    if (m === 1) return dx;
    const [n, h, w] = dx.shape;
    return tf.sum(tf.reshape(dx, [n, h, w, c, m]), 4) as tf.Tensor4D;
  });
}

/**
 * dL/dx of conv2d. dy: `[N, outH, outW, outC]`, filter `[kh, kw, inC, outC]` -> `[N, H, W, inC]`.
 * A stride-1 conv2d over the upsampled gradient with the filter flipped and its channel axes swapped.
 */
export function conv2dBackpropInputOps(dy: tf.Tensor4D, filter: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  return tf.tidy(() => {
    if (
      g.filterHeight === 1 &&
      g.filterWidth === 1 &&
      g.strideHeight === 1 &&
      g.strideWidth === 1 &&
      g.pad.top === 0 &&
      g.pad.left === 0
    ) {
      // Pointwise convolution: dx = dy @ W^T, a single GEMM.
      const [n, h, w, outC] = dy.shape;
      const inC = filter.shape[2];
      const w2 = tf.reshape(filter, [inC, outC]) as tf.Tensor2D;
      const dx = tf.matMul(tf.reshape(dy, [n * h * w, outC]) as tf.Tensor2D, w2, false, true);
      return tf.reshape(dx, [n, h, w, inC]) as tf.Tensor4D;
    }
    const zp = upsampleAndPadGradient(dy, g);
    const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
    return tf.conv2d(zp, flipped, 1, "valid", "NHWC", [g.dilationHeight, g.dilationWidth]);
  });
}
