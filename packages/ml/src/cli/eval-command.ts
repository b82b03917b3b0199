/** `ml eval --model <dir> --data <folder|manifest.csv> --report <file.json>`. */
import path from "node:path";
import { parseArgs } from "node:util";
import { loadLabeledItems, toLabelIndices } from "../data";
import { predictImageSet } from "../train";
import { formatRecalls, logLine, requireOption, runWithSignalAbort, writeJsonFile, type CliEnv } from "./cli-shared";
import { buildEvaluationReport } from "./evaluation-report";
import { MODEL_INPUT_OPTIONS, MODEL_INPUT_USAGE, openModelInputs } from "./model-inputs";

export const EVAL_USAGE = `Usage: npm run ml -- eval --model <dir> --data <folder|manifest.csv> --report <file.json>
  ${MODEL_INPUT_USAGE}`;

export function runEvalCommand(argv: string[], env: CliEnv): Promise<void> {
  return runWithSignalAbort((signal) => runEval(argv, env, signal));
}

async function runEval(argv: string[], env: CliEnv, signal: AbortSignal): Promise<void> {
  const { values } = parseArgs({ args: argv, strict: true, options: { ...MODEL_INPUT_OPTIONS, report: { type: "string" } } });
  const reportPath = requireOption(values.report, "report", EVAL_USAGE);
  const t0 = performance.now();
  const { modelDir, dataPath, backendName, model, config, batchSize, decode } = await openModelInputs(values, env, EVAL_USAGE, signal);
  const loaded = await loadLabeledItems(dataPath, { classKeys: config.classKeys });
  for (const [label, n] of Object.entries(loaded.skipped)) logLine(`[data] skipped ${n} items labelled '${label}' (not a model class)`);
  const labels = toLabelIndices(loaded.items, config.classKeys);
  const set = await decode(loaded.items);
  const preds = await predictImageSet(
    model,
    set,
    loaded.items.map((_, i) => i),
    config.normalization,
    { batchSize, signal },
  );
  const report = buildEvaluationReport(labels, preds.probs, config.classKeys, {
    model: path.resolve(modelDir),
    data: path.resolve(dataPath),
    n: labels.length,
    skipped: loaded.skipped,
    backend: backendName,
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
