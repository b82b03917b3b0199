/** `ml predict --model <dir> --data <folder|manifest.csv> --out <file.csv|file.json> [--mc-passes N]`. */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { loadImageItems } from "../data";
import { predictImageSet } from "../train";
import { scoreUncertainty } from "../uncertainty";
import { parseIntOption, requireOption, runWithSignalAbort, writeJsonFile, type CliEnv } from "./cli-shared";
import { MODEL_INPUT_OPTIONS, MODEL_INPUT_USAGE, openModelInputs } from "./model-inputs";

export const PREDICT_USAGE = `Usage: npm run ml -- predict --model <dir> --data <folder|manifest.csv> --out <file.csv|file.json>
  [--mc-passes 0] ${MODEL_INPUT_USAGE}`;

/** One output row. */
export interface PredictionRow {
  file: string;
  label?: string;
  predicted: string;
  confidence: number;
  probs: Record<string, number>;
  leastConfidence: number;
  margin: number;
  entropy: number;
  /** Present with --mc-passes > 1. */
  bald?: number;
}

function csvEscape(v: string): string {
  return /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

function toCsv(rows: PredictionRow[], classKeys: readonly string[], withBald: boolean): string {
  const header = [
    ...["file", "label", "predicted", "confidence"],
    ...classKeys.map((k) => `p_${k}`),
    ...["least_confidence", "margin", "entropy"],
    ...(withBald ? ["bald"] : []),
  ];
  const lines = rows.map((r) =>
    [
      csvEscape(r.file),
      csvEscape(r.label ?? ""),
      r.predicted,
      r.confidence.toFixed(6),
      ...classKeys.map((k) => (r.probs[k] ?? 0).toFixed(6)),
      r.leastConfidence.toFixed(6),
      r.margin.toFixed(6),
      r.entropy.toFixed(6),
      ...(withBald ? [(r.bald ?? 0).toFixed(6)] : []),
    ].join(","),
  );
  return `${header.join(",")}\n${lines.join("\n")}\n`;
}

export function runPredictCommand(argv: string[], env: CliEnv): Promise<void> {
  return runWithSignalAbort((signal) => runPredict(argv, env, signal));
}

async function runPredict(argv: string[], env: CliEnv, signal: AbortSignal): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { ...MODEL_INPUT_OPTIONS, out: { type: "string" }, "mc-passes": { type: "string" } },
  });
  const outPath = requireOption(values.out, "out", PREDICT_USAGE);
  const mcPasses = parseIntOption(values["mc-passes"], "mc-passes", 0, 0);
  const t0 = performance.now();
  const { modelDir, dataPath, model, config, batchSize, decode, adapt } = await openModelInputs(values, env, PREDICT_USAGE, signal);
  const items = await loadImageItems(dataPath, config.classKeys);
  const set = await decode(items);
  const adaptation = adapt(set);
  const preds = await predictImageSet(
    model,
    set,
    items.map((_, i) => i),
    config.normalization,
    { batchSize, mcPasses, signal },
  );
  // With MC passes the reported probabilities are the MC mean; otherwise the deterministic pass.
  const scores = scoreUncertainty(preds.mcPasses ?? [preds.probs]);
  const rows: PredictionRow[] = items.map((it, i) => {
    const mean = scores.mean[i] as number[];
    let arg = 0;
    for (let c = 1; c < mean.length; c++) if ((mean[c] as number) > (mean[arg] as number)) arg = c;
    return {
      file: it.file,
      ...(it.label ? { label: it.label } : {}),
      predicted: config.classKeys[arg] as string,
      confidence: mean[arg] as number,
      probs: Object.fromEntries(config.classKeys.map((k, c) => [k, mean[c] as number])),
      leastConfidence: scores.leastConfidence[i] as number,
      margin: scores.margin[i] as number,
      entropy: scores.entropy[i] as number,
      ...(mcPasses > 1 ? { bald: scores.bald[i] } : {}),
    };
  });
  if (outPath.toLowerCase().endsWith(".json")) {
    const doc = { model: path.resolve(modelDir), classKeys: config.classKeys, mcPasses, adaptation, predictions: rows };
    await writeJsonFile(outPath, doc);
  } else {
    await mkdir(path.dirname(path.resolve(outPath)), { recursive: true });
    await writeFile(outPath, toCsv(rows, config.classKeys, mcPasses > 1));
  }
  const seconds = (performance.now() - t0) / 1000;
  const summary = { out: path.resolve(outPath), n: rows.length, mcPasses, adaptation, seconds: Number(seconds.toFixed(1)) };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  model.dispose();
}
