/** `ml eval --model <dir> --data <folder|manifest.csv> --report <file.json>`. */
import path from "node:path";
import { parseArgs } from "node:util";
import { loadLabeledItems, toLabelIndices } from "../data";
import { planCommonScheme } from "../lodocv";
import { predictImageSet } from "../train";
import { formatRecalls, logLine, requireOption, runWithSignalAbort, writeJsonFile, type CliEnv } from "./cli-shared";
import { buildEvaluationReport } from "./evaluation-report";
import { MODEL_INPUT_OPTIONS, MODEL_INPUT_USAGE, openModelInputs } from "./model-inputs";

export const EVAL_USAGE = `Usage: npm run ml -- eval --model <dir> --data <folder|manifest.csv> --report <file.json>
  [--scheme <scheme the data is labelled in> (default: the model's; another one is scored in the common scheme
   of the built-in mappings, e.g. a pbc-8 model on a wbc-5 set in wbc-5, only in the classes both share)]
  ${MODEL_INPUT_USAGE}`;

export function runEvalCommand(argv: string[], env: CliEnv): Promise<void> {
  return runWithSignalAbort((signal) => runEval(argv, env, signal));
}

async function runEval(argv: string[], env: CliEnv, signal: AbortSignal): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { ...MODEL_INPUT_OPTIONS, report: { type: "string" }, scheme: { type: "string" } },
  });
  const reportPath = requireOption(values.report, "report", EVAL_USAGE);
  const t0 = performance.now();
  const { modelDir, dataPath, backendName, model, config, batchSize, decode, adapt } = await openModelInputs(
    values,
    env,
    EVAL_USAGE,
    signal,
  );
  const modelScheme = config.scheme ?? config.classKeys.join(",");
  const dataScheme = values.scheme ?? modelScheme;
  // Scores are computed in the scheme both sides map to, over the classes both have there.
  const common = planCommonScheme(modelScheme, config.classKeys, dataScheme);
  if (common.classKeys.length < 2) throw new Error(`The model and the data share fewer than two classes in ${common.scheme}`);
  const all = await loadLabeledItems(dataPath);
  const skipped: Record<string, number> = {};
  const items = all.items.flatMap((item) => {
    const label = common.mapLabel(item.label);
    if (label !== null) return [{ ...item, label }];
    skipped[item.label] = (skipped[item.label] ?? 0) + 1;
    return [];
  });
  for (const [label, n] of Object.entries(skipped)) logLine(`[data] skipped ${n} items labelled '${label}' (outside the scored classes)`);
  if (common.mapping !== "none") logLine(`[eval] scored in ${common.scheme} (${common.mapping}), classes ${common.classKeys.join(", ")}`);
  if (items.length === 0)
    throw new Error(`No cells of ${dataPath} fall in the scored classes (${common.classKeys.join(", ")}); is --scheme right?`);
  const labels = toLabelIndices(items, common.classKeys);
  const set = await decode(items);
  const adaptation = adapt(set);
  const preds = await predictImageSet(
    model,
    set,
    items.map((_, i) => i),
    config.normalization,
    { batchSize, signal },
  );
  const report = buildEvaluationReport(labels, common.mapProbs(preds.probs), common.classKeys, {
    model: path.resolve(modelDir),
    data: path.resolve(dataPath),
    n: labels.length,
    skipped,
    scoredIn: { scheme: common.scheme, classes: common.classKeys, modelScheme, dataScheme, mapping: common.mapping },
    backend: backendName,
    adaptation,
    crop: config.crop,
    seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
  });
  await writeJsonFile(reportPath, report);
  logLine(`[eval] recalls: ${formatRecalls(report.perClass)}`);
  const summary = {
    report: path.resolve(reportPath),
    n: report.n,
    scoredIn: common.scheme,
    accuracy: report.accuracy,
    balancedAccuracy: report.balancedAccuracy,
    kappa: report.kappa,
    adaptation: adaptation.method,
    collapsed: report.collapsed,
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  model.dispose();
}
