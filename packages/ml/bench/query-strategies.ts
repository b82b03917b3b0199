/**
 * Times every query strategy on 20,000 candidates x 64-d embeddings with k = 200 (and 500 cells
 * already labelled), plus the light head: fit on 5,000 x 64 labelled embeddings and re-score
 * 100,000 cells. Synthetic data: 8 classes, 40 Gaussian blobs.
 *
 *   npx tsx packages/ml/bench/query-strategies.ts [--n 20000] [--dim 64] [--k 200] [--labelled 500]
 */
import { parseArgs } from "node:util";
import { selectBackend } from "../src/backend";
import { createRng } from "../src/data/rng";
import { fitLightHead, predictLightHead, QUERY_STRATEGIES, selectQueryBatch, type EmbeddingMatrix } from "../src/active-learning";

const { values } = parseArgs({
  options: {
    n: { type: "string", default: "20000" },
    dim: { type: "string", default: "64" },
    k: { type: "string", default: "200" },
    labelled: { type: "string", default: "500" },
    classes: { type: "string", default: "8" },
  },
});
const n = Number(values.n);
const dim = Number(values.dim);
const k = Number(values.k);
const numLabelled = Number(values.labelled);
const classes = Number(values.classes);
const rng = createRng(1);
const gaussian = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());

function makeEmbeddings(rows: number): { m: EmbeddingMatrix; labels: number[] } {
  const blobs = Array.from({ length: 40 }, () => Float32Array.from({ length: dim }, () => 3 * gaussian()));
  const data = new Float32Array(rows * dim);
  const labels: number[] = [];
  for (let i = 0; i < rows; i++) {
    const b = Math.floor(rng() * blobs.length);
    labels.push(b % classes);
    for (let j = 0; j < dim; j++) data[i * dim + j] = blobs[b]![j]! + gaussian();
  }
  return { m: { data, rows, dim }, labels };
}

// Process CPU time rather than wall time: on a shared machine wall time mostly measures the neighbours.
const time = <T>(fn: () => T): [T, { wallMs: number; cpuMs: number }] => {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const out = fn();
  const c = process.cpuUsage(c0);
  return [out, { wallMs: Math.round(performance.now() - t0), cpuMs: Math.round((c.user + c.system) / 1000) }];
};

const { name: backend } = await selectBackend({ preferred: "wasm", log: () => undefined });
const { m: embeddings, labels } = makeEmbeddings(n);
const mcSamples = Array.from({ length: 5 }, () =>
  Array.from({ length: n }, () => {
    const e = Array.from({ length: classes }, () => Math.exp(2 * gaussian()));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  }),
);
const ids = Array.from({ length: n }, (_, i) => i);
const labelledIds = ids.slice(0, numLabelled);
const results: Record<string, { wallMs: number; cpuMs: number }> = {};
for (const strategy of QUERY_STRATEGIES) {
  const [batch, ms] = time(() => selectQueryBatch({ ids, embeddings, mcSamples, labelledIds }, { strategy, batchSize: k, seed: 1 }));
  if (batch.ids.length !== k) throw new Error(`${strategy} picked ${batch.ids.length}`);
  results[strategy] = ms;
}
const [, coldMs] = time(() => selectQueryBatch({ ids, embeddings }, { strategy: "typiclust", batchSize: k, seed: 1 }));
const [, quotaMs] = time(() =>
  selectQueryBatch({ ids, embeddings, mcSamples, labelledIds }, { strategy: "hybrid", batchSize: k, seed: 1, quotas: { minShare: 0.05 } }),
);

const train = { data: embeddings.data.subarray(0, 5000 * dim), rows: 5000, dim };
const [head, fitMs] = time(() => fitLightHead(train, labels.slice(0, 5000), classes));
const big = makeEmbeddings(100_000).m;
const [, predictMs] = time(() => predictLightHead(head, big));

console.log(
  JSON.stringify({
    backend,
    candidates: n - numLabelled,
    labelled: numLabelled,
    dim,
    k,
    strategyMs: results,
    typiclustColdStartMs: coldMs,
    hybridWithQuotasMs: quotaMs,
    lightHead: { fit: fitMs, fitRows: 5000, predict: predictMs, predictRows: 100_000, finalLoss: Number(head.finalLoss.toFixed(4)) },
  }),
);
