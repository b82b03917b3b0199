/**
 * Batch inference throughput through ONNX Runtime, image decode included, against tfjs-wasm.
 *
 *   npx tsx packages/ml/bench/onnx-inference.ts [--backbone mobilenet-v2|resnet|small-cnn] [--size 64] [--batch 64]
 *     [--images 6400] [--threads 1,2] [--decode-concurrency 4] [--model <tfjs model dir>]
 *     [--wasm-images 640] [--data /work/shared/data/pbc] [--decode auto|sharp]
 *
 * Stages, each timed on its own and then together:
 *   decode     read JPEG -> the training pipeline's preprocessImage (centre-square crop, resize to
 *              size x size) -> float32 NHWC, standardised; `--decode-concurrency` images in flight.
 *              `--decode auto` decodes JPEGs with the libjpeg-turbo addon at DCT scale when it is
 *              built, `--decode sharp` forces sharp (the fallback).
 *   inference  ONNX Runtime on already-decoded batches of `--batch`.
 *   end to end files on disk -> probabilities, decode of batch i+1 overlapping inference of batch i.
 *   tfjs-wasm  the same model and batches through tfjs's wasm backend, for comparison.
 * A model without --model is built untrained by the project's buildModel (throughput does not
 * depend on the weights); MobileNetV2 uses its default width 0.35.
 *
 * Besides wall-clock cells/s, every stage reports process CPU milliseconds per cell (all threads):
 * on a shared machine wall-clock rates swing with other people's jobs, CPU time much less, and
 * 2 cores / (CPU ms per cell) bounds what the stage can do on this machine when idle.
 */
import { readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../src/backend";
import { describeJpegDecoder, loadImageSet, streamImageSets } from "../src/data";
import { buildModel, fsIOHandler, type Backbone } from "../src/models";
import { createOnnxClassifier, createTfjsClassifier, exportToOnnx, type BatchClassifier } from "../src/onnx";

const { values: args } = parseArgs({
  options: {
    backbone: { type: "string", default: "mobilenet-v2" },
    size: { type: "string", default: "64" },
    batch: { type: "string", default: "64" },
    images: { type: "string", default: "6400" },
    threads: { type: "string", default: "1,2" },
    "decode-concurrency": { type: "string", default: "2" },
    prefetch: { type: "string", default: "2" },
    model: { type: "string" },
    "wasm-images": { type: "string", default: "640" },
    data: { type: "string", default: "/work/shared/data/pbc" },
    decode: { type: "string", default: "auto" },
  },
});

const SIZE = Number(args.size);
const BATCH = Number(args.batch);
const DECODE_CONCURRENCY = Number(args["decode-concurrency"]);
const PREFETCH = Number(args.prefetch);
// Placeholder per-channel statistics; the cost of standardising is what matters here.
const MEAN = [0.87, 0.75, 0.72].map((m) => m * 255);
const STD = [0.08, 0.12, 0.08].map((s) => s * 255);

async function listImages(dataDir: string, limit: number): Promise<string[]> {
  const lines = (await readFile(path.join(dataDir, "manifest.csv"), "utf8")).trim().split("\n").slice(1);
  const files = lines.map((l) => path.resolve(dataDir, l.split(",")[0]!));
  // Interleave classes (the manifest is sorted by class) so any prefix is a realistic mix.
  const shuffled = files.map((f, i) => ({ f, k: (i * 2654435761) % 4294967296 })).sort((a, b) => a.k - b.k);
  const out = shuffled.map((x) => x.f);
  while (out.length < limit) out.push(...out.slice(0, limit - out.length));
  return out.slice(0, limit);
}

/**
 * Decodes files into one standardised NHWC float32 batch through the training pipeline's own
 * loadImageSet (native batches with `--decode-concurrency` in flight, or sharp).
 */
async function decodeBatch(files: readonly string[]): Promise<Float32Array> {
  const set = await loadImageSet(
    files.map((file) => ({ file })),
    { inputSize: SIZE, concurrency: DECODE_CONCURRENCY, decoder: args.decode === "sharp" ? "sharp" : "auto" },
  );
  return standardise(set.pixels);
}

function standardise(pixels: Uint8Array): Float32Array {
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i += 3) {
    out[i] = (pixels[i]! - MEAN[0]!) / STD[0]!;
    out[i + 1] = (pixels[i + 1]! - MEAN[1]!) / STD[1]!;
    out[i + 2] = (pixels[i + 2]! - MEAN[2]!) / STD[2]!;
  }
  return out;
}

function chunk<T>(xs: readonly T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

const rate = (n: number, ms: number): number => Math.round((n * 1000) / ms);

interface Timing {
  cellsPerSecond: number;
  cpuMsPerCell: number;
}

/** Times `fn`, which processes `n` cells, in wall-clock and process CPU time. */
async function measure(n: number, fn: () => Promise<void>): Promise<Timing> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { cellsPerSecond: rate(n, wall), cpuMsPerCell: Number(((cpu.user + cpu.system) / 1000 / n).toFixed(3)) };
}

const show = (t: Timing): string => `${t.cellsPerSecond} cells/s (${t.cpuMsPerCell} CPU ms/cell)`;

async function timeInference(classifier: BatchClassifier, batches: Float32Array[], sizes: number[]): Promise<Timing> {
  await classifier.predict(batches[0]!, sizes[0]!); // warm-up (allocations, kernel selection)
  return measure(
    sizes.reduce((a, c) => a + c, 0),
    async () => {
      for (let b = 0; b < batches.length; b++) await classifier.predict(batches[b]!, sizes[b]!);
    },
  );
}

async function timeEndToEnd(classifier: BatchClassifier, files: string[]): Promise<Timing> {
  let predicted = 0;
  const timing = await measure(files.length, async () => {
    const stream = streamImageSets(
      files.map((file) => ({ file })),
      {
        inputSize: SIZE,
        batchSize: BATCH,
        prefetch: PREFETCH,
        concurrency: DECODE_CONCURRENCY,
        decoder: args.decode === "sharp" ? "sharp" : "auto",
      },
    );
    for await (const { set } of stream) {
      const probs = await classifier.predict(standardise(set.pixels), set.count);
      predicted += probs.length / classifier.numClasses;
    }
  });
  if (predicted !== files.length) throw new Error(`predicted ${predicted} of ${files.length} cells`);
  return timing;
}

async function main(): Promise<void> {
  const files = await listImages(args.data, Number(args.images));
  const threadOptions = args.threads.split(",").map(Number);
  const backend = await selectBackend({ preferred: "wasm" });
  const model = args.model
    ? await tf.loadLayersModel(fsIOHandler(args.model))
    : buildModel({ backbone: args.backbone as Backbone, inputSize: SIZE, numClasses: 8 });
  const onnxBytes = exportToOnnx(model);
  console.log(
    `model ${args.model ?? args.backbone} @${SIZE}px, ${model.countParams()} params, ONNX ${(onnxBytes.length / 1e6).toFixed(1)} MB; ` +
      `${files.length} images, batch ${BATCH}, decode ${args.decode === "sharp" ? "sharp" : describeJpegDecoder()}, concurrency ${DECODE_CONCURRENCY}; ` +
      `${os.cpus().length} cores, load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}; tfjs backend ${backend.name}`,
  );

  // Warm the page cache so "decode" measures decoding, not the first read from disk.
  await Promise.all(chunk(files, 256).map(async (g) => Promise.all(g.map((f) => readFile(f)))));
  const groups = chunk(files, BATCH);
  const sizes = groups.map((g) => g.length);
  const decoded: Float32Array[] = [];
  const decode = await measure(files.length, async () => {
    for (const g of groups) decoded.push(await decodeBatch(g));
  });
  console.log(`decode alone (read + decode + resize + standardise): ${show(decode)}`);

  const results: Record<string, Timing> = { decode };
  for (const threads of threadOptions) {
    const ort = await createOnnxClassifier(onnxBytes, { intraOpThreads: threads });
    const inference = await timeInference(ort, decoded, sizes);
    const endToEnd = await timeEndToEnd(ort, files);
    console.log(`onnxruntime ${threads} thread(s): inference alone ${show(inference)}; end to end ${show(endToEnd)}`);
    results[`ort${threads}_inference`] = inference;
    results[`ort${threads}_end_to_end`] = endToEnd;
    await ort.close();
  }

  const wasmBatches = Math.max(1, Math.ceil(Number(args["wasm-images"]) / BATCH));
  const tfjs = createTfjsClassifier(model);
  const wasm = await timeInference(tfjs, decoded.slice(0, wasmBatches), sizes.slice(0, wasmBatches));
  const ort = await createOnnxClassifier(onnxBytes, { intraOpThreads: threadOptions[0] });
  const a = await ort.predict(decoded[0]!, sizes[0]!);
  const b = await tfjs.predict(decoded[0]!, sizes[0]!);
  await ort.close();
  const maxDiff = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
  console.log(`tfjs-${backend.name} inference alone: ${show(wasm)} (max |onnx - tfjs| on one batch: ${maxDiff.toExponential(1)})`);
  results.tfjs_inference = wasm;
  console.log(
    `load average after: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  console.log(JSON.stringify({ model: args.model ?? args.backbone, size: SIZE, batch: BATCH, ...results }));
  model.dispose();
}

await main();
