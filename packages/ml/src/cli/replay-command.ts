/**
 * `ml replay --data <manifest.csv|folder> --scheme <key> --out <dir> [options]`: label-budget
 * replay of query strategies on a fully labelled set (see src/replay/run-replay.ts). Writes
 * replay.json, replay.svg (accuracy) and replay-balanced.svg; progress lines on stderr.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { QUERY_STRATEGIES, type QueryStrategy } from "../active-learning";
import { parseBackendPreference, selectBackend } from "../backend";
import { backboneSchema, inputSizeSchema, replayReportSchema } from "../contracts";
import { createRng, deriveSeed, loadImageSet, loadLabeledItems, resolveClassKeys, toLabelIndices, type LabeledItem } from "../data";
import { createImageFeaturiser, renderLearningCurveSvg, runLabelBudgetReplay, type ReplayProgress } from "../replay";
import { DEFAULT_TRAIN_CONFIG } from "../train";
import {
  createDecodeProgress,
  logLine,
  parseContractOption,
  parseIntOption,
  parseNumberOption,
  requireOption,
  runWithSignalAbort,
  writeJsonFile,
  type CliEnv,
} from "./cli-shared";

export const REPLAY_USAGE = `Usage: npm run ml -- replay --data <manifest.csv|folder> --scheme <key|a,b,c> --out <dir>
  [--strategies random,entropy,bald,coreset,hybrid] [--seed-size 40] [--batch 40] [--budget 1000] [--repeats 3]
  [--quotas <min share per predicted class, e.g. 0.05>] [--threshold 200|off (full fine-tune every N new labels)]
  [--seed 0] [--test-fraction 0.2] [--pretrained <model dir> (starting model for embeddings; else pixel statistics)]
  [--input-size 64] [--backbone resnet|mobilenet-v2|small-cnn] [--epochs 15 (per fine-tune)] [--batch-size 64]
  [--mc-passes 10 (head dropout passes for bald)] [--limit N (stratified subsample of the data)]
  [--subsample-class <key>=<share> (keep that share of one class, e.g. basophil=0.01; repeatable)]
  [--backend auto|tensorflow|wasm|cpu] [--cache-dir <dir>] [--concurrency 4]
  Strategies: ${QUERY_STRATEGIES.join(", ")}.`;

export function runReplayCommand(argv: string[], env: CliEnv): Promise<void> {
  return runWithSignalAbort((signal) => runReplay(argv, env, signal));
}

/** Keeps `share` of each named class's items (seeded), and at most `limit` items overall (every k-th per class). */
export function subsampleItems(
  items: readonly LabeledItem[],
  shares: Readonly<Record<string, number>>,
  limit: number | undefined,
  seed: number,
): LabeledItem[] {
  const rng = createRng(deriveSeed(seed, "replay-subsample"));
  let kept = items.filter((it) => (shares[it.label] === undefined ? true : rng() < shares[it.label]!));
  if (limit !== undefined && kept.length > limit) {
    const step = kept.length / limit;
    kept = Array.from({ length: limit }, (_, i) => kept[Math.floor(i * step)]!);
  }
  return kept;
}

function parseShares(values: readonly string[], classKeys: readonly string[]): Record<string, number> {
  const shares: Record<string, number> = {};
  for (const v of values) {
    const m = /^([^=]+)=([0-9.]+)$/.exec(v);
    if (!m) throw new Error(`--subsample-class must look like <class>=<share> (got '${v}')`);
    const [, key, share] = m;
    if (!classKeys.includes(key!)) throw new Error(`--subsample-class: '${key}' is not a class of the scheme (${classKeys.join(", ")})`);
    const s = Number(share);
    if (!(s > 0 && s <= 1)) throw new Error(`--subsample-class share must be in (0, 1] (got '${share}')`);
    shares[key!] = s;
  }
  return shares;
}

function formatDuration(seconds: number): string {
  if (seconds < 90) return `${seconds.toFixed(0)}s`;
  return `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, "0")}s`;
}

function logProgress(p: ReplayProgress): void {
  if (p.phase === "embed") return logLine("[replay] embedding every cell with the starting featuriser");
  if (p.phase === "full-label") return logLine("[replay] fitting the full-label reference");
  logLine(
    `[replay] round ${p.round} ${p.strategy} repeat ${(p.repeat ?? 0) + 1}: ${p.labels} labels, accuracy ${(p.accuracy ?? 0).toFixed(3)} ` +
      `(${p.done}/${p.total} rounds, ETA ${p.etaSeconds === null ? "?" : formatDuration(p.etaSeconds)})`,
  );
}

async function runReplay(argv: string[], env: CliEnv, signal: AbortSignal): Promise<void> {
  const t0 = performance.now();
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      data: { type: "string" },
      scheme: { type: "string" },
      out: { type: "string" },
      strategies: { type: "string" },
      "seed-size": { type: "string" },
      batch: { type: "string" },
      budget: { type: "string" },
      repeats: { type: "string" },
      quotas: { type: "string" },
      threshold: { type: "string" },
      seed: { type: "string" },
      "test-fraction": { type: "string" },
      pretrained: { type: "string" },
      "input-size": { type: "string" },
      backbone: { type: "string" },
      epochs: { type: "string" },
      "batch-size": { type: "string" },
      "mc-passes": { type: "string" },
      limit: { type: "string" },
      "subsample-class": { type: "string", multiple: true },
      backend: { type: "string" },
      "cache-dir": { type: "string" },
      concurrency: { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    process.stdout.write(`${REPLAY_USAGE}\n`);
    return;
  }
  const dataPath = requireOption(values.data, "data", REPLAY_USAGE);
  const scheme = requireOption(values.scheme, "scheme", REPLAY_USAGE);
  const outDir = path.resolve(requireOption(values.out, "out", REPLAY_USAGE));
  const classKeys = resolveClassKeys(scheme);
  const strategies = (values.strategies ?? "random,entropy,bald,coreset,hybrid").split(",").map((s) => s.trim());
  for (const s of strategies) {
    if (!(QUERY_STRATEGIES as readonly string[]).includes(s))
      throw new Error(`--strategies: unknown strategy '${s}' (known: ${QUERY_STRATEGIES.join(", ")})`);
  }
  const seed = parseIntOption(values.seed, "seed", 0);
  const thresholdText = values.threshold ?? "200";
  const threshold = thresholdText === "off" ? null : parseIntOption(thresholdText, "threshold", 200, 1);
  const quotas = values.quotas === undefined ? null : parseNumberOption(values.quotas, "quotas", 0);
  const inputSize = parseContractOption(values["input-size"], "input-size", inputSizeSchema, 64, true);
  const batchSize = parseIntOption(values["batch-size"], "batch-size", 64, 1);
  const limit = values.limit === undefined ? undefined : parseIntOption(values.limit, "limit", 0, 1);
  const shares = parseShares(values["subsample-class"] ?? [], classKeys);
  const pretrained = values.pretrained ? path.resolve(values.pretrained) : undefined;

  const backend = await selectBackend({ preferred: parseBackendPreference(values.backend ?? env.backend), log: logLine });
  const loaded = await loadLabeledItems(dataPath, { classKeys });
  for (const [label, n] of Object.entries(loaded.skipped)) logLine(`[data] skipped ${n} items labelled '${label}' (not in ${scheme})`);
  const items = subsampleItems(loaded.items, shares, limit, seed);
  const labels = toLabelIndices(items, classKeys);
  const counts = classKeys.map((k) => `${k}=${items.filter((it) => it.label === k).length}`).join(" ");
  logLine(`[data] ${items.length} cells: ${counts}`);
  const set = await loadImageSet(items, {
    inputSize,
    concurrency: parseIntOption(values.concurrency, "concurrency", 4, 1),
    cacheDir: values["cache-dir"] ?? env.cacheDir,
    onProgress: createDecodeProgress("decode"),
    signal,
  });
  const featuriser = createImageFeaturiser({
    set,
    classKeys,
    ...(pretrained ? { pretrained } : {}),
    ...(threshold !== null
      ? {
          train: {
            ...DEFAULT_TRAIN_CONFIG,
            inputSize,
            backbone: parseContractOption(values.backbone, "backbone", backboneSchema, DEFAULT_TRAIN_CONFIG.backbone),
            epochs: parseIntOption(values.epochs, "epochs", 15, 1),
            batchSize,
            workers: 1,
          },
        }
      : {}),
    batchSize,
    log: logLine,
  });
  const { report } = await runLabelBudgetReplay(
    { items, labels, classKeys, dataName: path.resolve(dataPath), featuriser },
    {
      strategies: strategies as QueryStrategy[],
      seedSize: parseIntOption(values["seed-size"], "seed-size", 40, 1),
      batchSize: parseIntOption(values.batch, "batch", 40, 1),
      budget: parseIntOption(values.budget, "budget", 1000, 1),
      repeats: parseIntOption(values.repeats, "repeats", 3, 1),
      seed,
      testFraction: parseNumberOption(values["test-fraction"], "test-fraction", 0.2),
      threshold,
      quotas,
      mcPasses: parseIntOption(values["mc-passes"], "mc-passes", 10, 2),
      signal,
    },
    logProgress,
  );
  // The schema is the contract the web app reads: check what is written against it.
  const checked = replayReportSchema.parse(report);
  await writeJsonFile(path.join(outDir, "replay.json"), checked);
  await writeFile(path.join(outDir, "replay.svg"), renderLearningCurveSvg(checked, "accuracy"));
  await writeFile(path.join(outDir, "replay-balanced.svg"), renderLearningCurveSvg(checked, "balancedAccuracy"));
  const seconds = (performance.now() - t0) / 1000;
  const summary = {
    out: outDir,
    backend: backend.name,
    featuriser: checked.settings.featuriser,
    fullLabelAccuracy: Number(checked.fullLabel.accuracy.toFixed(4)),
    strategies: Object.fromEntries(
      strategies.map((s) => {
        const runs = checked.runs.filter((r) => r.strategy === s);
        const mean = (xs: number[]): number => Number((xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1)).toFixed(4));
        return [
          s,
          {
            aulc: mean(runs.map((r) => r.aulc)),
            finalAccuracy: mean(runs.map((r) => r.rounds.at(-1)!.accuracy)),
            labelsTo99: runs.map((r) => r.labelsTo99),
          },
        ];
      }),
    ),
    seconds: Number(seconds.toFixed(1)),
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}
