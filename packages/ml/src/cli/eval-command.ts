/** `ml eval --model <dir> --data <folder|manifest.csv> --report <file.json>`. */
import path from "node:path";
import { parseArgs } from "node:util";
import { parseBackendPreference, selectBackend } from "../backend";
import { loadImageSet, loadLabeledItems, toLabelIndices } from "../data";
import { loadClassifierArtifacts, predictImageSet } from "../train";
import {
  createDecodeProgress,
  createSignalAbort,
  formatRecalls,
  logLine,
  parseIntOption,
  requireOption,
  writeJsonFile,
  type CliEnv,
} from "./cli-shared";
import { buildEvaluationReport } from "./evaluation-report";

export const EVAL_USAGE = `Usage: npm run ml -- eval --model <dir> --data <folder|manifest.csv> --report <file.json>
  [--batch-size 64] [--backend auto|tensorflow|wasm|cpu] [--cache-dir <dir>] [--concurrency 4]`;

export async function runEvalCommand(argv: string[], env: CliEnv): Promise<void> {
  const abort = createSignalAbort();
  try {
    await runEvalCommandInner(argv, env, abort.signal);
  } finally {
    abort.release();
  }
}

async function runEvalCommandInner(argv: string[], env: CliEnv, signal: AbortSignal): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      model: { type: "string" },
      data: { type: "string" },
      report: { type: "string" },
      "batch-size": { type: "string" },
      backend: { type: "string" },
      "cache-dir": { type: "string" },
      concurrency: { type: "string" },
    },
  });
  const modelDir = requireOption(values.model, "model", EVAL_USAGE);
  const dataPath = requireOption(values.data, "data", EVAL_USAGE);
  const reportPath = requireOption(values.report, "report", EVAL_USAGE);
  const t0 = performance.now();
  const backend = await selectBackend({ preferred: parseBackendPreference(values.backend ?? env.backend), log: logLine });
  const { model, config } = await loadClassifierArtifacts(modelDir);
  const loaded = await loadLabeledItems(dataPath, { classKeys: config.classKeys });
  for (const [label, n] of Object.entries(loaded.skipped)) logLine(`[data] skipped ${n} items labelled '${label}' (not a model class)`);
  const labels = toLabelIndices(loaded.items, config.classKeys);
  const set = await loadImageSet(loaded.items, {
    inputSize: config.inputSize,
    ...config.crop,
    concurrency: parseIntOption(values.concurrency, "concurrency", 4, 1),
    cacheDir: values["cache-dir"] ?? env.cacheDir,
    onProgress: createDecodeProgress("decode"),
    signal,
  });
  const indices = loaded.items.map((_, i) => i);
  const preds = await predictImageSet(model, set, indices, config.normalization, {
    batchSize: parseIntOption(values["batch-size"], "batch-size", 64, 1),
    signal,
  });
  const report = buildEvaluationReport(labels, preds.probs, config.classKeys, {
    model: path.resolve(modelDir),
    data: path.resolve(dataPath),
    n: labels.length,
    skipped: loaded.skipped,
    backend: backend.name,
    seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
  });
  await writeJsonFile(reportPath, report);
  logLine(`[eval] recalls: ${formatRecalls(report.perClass)}`);
  const summary = {
    report: path.resolve(reportPath),
    n: report.n,
    accuracy: report.accuracy,
    balancedAccuracy: report.balancedAccuracy,
    kappa: report.kappa,
    collapsed: report.collapsed,
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  model.dispose();
}
