#!/usr/bin/env node
// `npm run bench -- <name> [args]`: runs one benchmark script by name. Benchmarks are not part of
// `npm test`; see docs/benchmarks.md for what each measures and its recorded results.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const benches = {
  "field-overlay": {
    command: ["npx", "playwright", "test", "-c", "e2e/bench/playwright.bench.config.ts", "e2e/bench/field-overlay.bench.ts"],
    what: "field viewer canvas: pan/zoom frame times (p50/p95) with 2,000 box cells in headless Chromium (needs a built apps/web)",
  },
  faults: {
    file: "apps/trainer/bench/faults.ts",
    what: "kill -9 a trainer, restart PostgreSQL, 50 label writers: lost / duplicated / stuck",
  },
  upload: {
    file: "apps/trainer/bench/upload.ts",
    what: "browser upload of all of PBC (zip) through the production web server + trainer import vs npm run import -- --zip: web peak RSS, time",
  },
  review: {
    file: "packages/db/bench/review.ts",
    what: "reading room: N predicted cells, R concurrent readers claim + decide through the services (claim/decide p95, duplicates, lost)",
  },
  "lodocv-wbc5": { file: "apps/trainer/bench/lodocv-wbc5.ts", what: "wbc-5 LODOCV across PBC and the Zheng sites" },
  "query-strategies": {
    file: "packages/ml/bench/query-strategies.ts",
    what: "active-learning strategies on 20k x 64 (k = 200), light-head fit and 100k re-score",
  },
  "replay-pbc": {
    file: "packages/ml/bench/replay-pbc.ts",
    what: "label-budget replay on PBC (5 strategies x 3 repeats), cold-start coverage, rare basophils (1 %) with/without quotas (~40 min)",
  },
  "al-round": {
    file: "apps/trainer/bench/al-round.ts",
    what: "a round after 100 new labels on 100,000 cells with cached 256-d embeddings, through the round job path",
  },
  "onnx-inference": { file: "packages/ml/bench/onnx-inference.ts", what: "ONNX Runtime vs tfjs inference throughput" },
  "temperature-scaling": { file: "packages/ml/bench/temperature-scaling.ts", what: "calibration before / after temperature scaling" },
  "train-throughput": { file: "packages/ml/bench/train-throughput.ts", what: "training images/s per backend and thread count" },
};

const [name, ...args] = process.argv.slice(2);
const bench = name ? benches[name] : undefined;
if (!bench) {
  console.error(
    `Usage: npm run bench -- <name> [args]\n${Object.entries(benches)
      .map(([n, b]) => `  ${n.padEnd(20)} ${b.what}`)
      .join("\n")}`,
  );
  process.exit(name ? 2 : 0);
}
const run = bench.command
  ? spawnSync(bench.command[0], [...bench.command.slice(1), ...args], { cwd: root, stdio: "inherit" })
  : spawnSync(process.execPath, ["--import", "tsx", bench.file, ...args], { cwd: root, stdio: "inherit" });
process.exit(run.status ?? 1);
