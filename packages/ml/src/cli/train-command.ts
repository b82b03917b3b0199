/**
 * `ml train --data <folder|manifest.csv> --scheme <key> --out <dir> [options]`: decode, split,
 * train, evaluate on the held-out split, save artifacts (model.json, weights.bin, config.json,
 * evaluation.json). With only data/scheme/out it uses the CPU defaults below.
 */
import { availableParallelism } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { parseBackendPreference, selectBackend } from "../backend";
import {
  colourNormalisationSchema,
  countByClass,
  DEFAULT_CELL_FRACTION,
  DEFAULT_CROP_MARGIN,
  loadImageSet,
  loadLabeledSets,
  resolveClassKeys,
  splitDataset,
  toLabelIndices,
  type AugmentOptions,
  type BalanceMode,
} from "../data";
import { augmentSettingsSchema, backboneSchema, inputSizeSchema } from "../contracts";
import {
  DEFAULT_TRAIN_CONFIG,
  predictImageSet,
  saveClassifierArtifacts,
  toAugmentOptions,
  toCropSettings,
  trainClassifier,
  type ClassifierArtifactConfig,
  type ScheduleName,
  type TrainConfig,
} from "../train";
import {
  createDecodeProgress,
  formatRecalls,
  logLine,
  parseContractOption,
  parseIntOption,
  parseNumberOption,
  requireOption,
  runWithSignalAbort,
  writeJsonFile,
  type CliEnv,
} from "./cli-shared";
import { buildEvaluationReport, type EvaluationReport } from "./evaluation-report";

export const TRAIN_USAGE = `Usage: npm run ml -- train --data <folder|manifest.csv> [--data <another set> ...] --scheme <key|a,b,c> --out <dir>
  [--map <scheme the sets are labelled in> (once for all sets, or once per --data; 'none' = already in --scheme)]
  [--backbone resnet|mobilenet-v2|small-cnn] [--input-size 64] [--epochs 40] [--batch-size 64]
  [--lr 0.2] [--optimizer sgd|adam] [--schedule one-cycle|cosine] [--weight-decay 5e-4]
  [--label-smoothing 0.1] [--dropout 0.2] [--alpha 0.35] [--val-fraction 0.1] [--test-fraction 0.2]
  [--seed 42] [--time-budget-min N (cap; off by default)] [--patience 8] [--balance sampler|weights|none]
  [--margin 0.15] [--cell-centre (crop around the located nucleus, cell at a fixed scale)] [--cell-fraction 0.6]
  [--colour none|reinhard|standardise (per-crop colour normalisation)] [--pretrained <model dir>] [--frozen-epochs 3] [--no-calibrate] [--backend auto|tensorflow|wasm|cpu]
  [--zoom MIN,MAX (random zoom, off by default)] [--colour-jitter 0.1 (per-channel gain and bias)]
  [--workers 2] [--cache-dir <dir>] [--concurrency 4] [--limit N (subsample, for smoke tests)]`;

/**
 * CPU (wasm, 2 cores) defaults: the small ResNet recipe at 64 px. No time cap by default, so the
 * same data, seed and options give the same run on any machine; --time-budget-min is an upper cap
 * that stops training early (reported as stopReason "time-budget"), never a shorter schedule.
 */
export const CLI_TRAIN_DEFAULTS = {
  valFraction: 0.1,
  testFraction: 0.2,
};

function parseChoice<T extends string>(value: string | undefined, name: string, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) {
    throw new Error(`--${name} must be one of ${choices.join(", ")} (got '${value}')`);
  }
  return value as T;
}

export function runTrainCommand(argv: string[], env: CliEnv): Promise<void> {
  return runWithSignalAbort((signal) => runTrain(argv, env, signal));
}

async function runTrain(argv: string[], env: CliEnv, signal: AbortSignal): Promise<void> {
  const t0 = performance.now();
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      data: { type: "string", multiple: true },
      map: { type: "string", multiple: true },
      scheme: { type: "string" },
      out: { type: "string" },
      backbone: { type: "string" },
      "input-size": { type: "string" },
      epochs: { type: "string" },
      "batch-size": { type: "string" },
      lr: { type: "string" },
      optimizer: { type: "string" },
      schedule: { type: "string" },
      "weight-decay": { type: "string" },
      "label-smoothing": { type: "string" },
      dropout: { type: "string" },
      alpha: { type: "string" },
      "val-fraction": { type: "string" },
      "test-fraction": { type: "string" },
      seed: { type: "string" },
      "time-budget-min": { type: "string" },
      patience: { type: "string" },
      balance: { type: "string" },
      margin: { type: "string" },
      "cell-centre": { type: "boolean" },
      "cell-fraction": { type: "string" },
      colour: { type: "string" },
      pretrained: { type: "string" },
      "frozen-epochs": { type: "string" },
      "no-calibrate": { type: "boolean" },
      zoom: { type: "string" },
      "colour-jitter": { type: "string" },
      backend: { type: "string" },
      "cache-dir": { type: "string" },
      concurrency: { type: "string" },
      limit: { type: "string" },
      workers: { type: "string" },
    },
  });
  const dataPaths = values.data ?? [];
  if (dataPaths.length === 0) requireOption(undefined, "data", TRAIN_USAGE);
  const maps = values.map ?? [];
  if (maps.length > 1 && maps.length !== dataPaths.length) {
    throw new Error(`--map is given ${maps.length} times for ${dataPaths.length} --data sets: give it once (all sets) or once per set`);
  }
  const scheme = requireOption(values.scheme, "scheme", TRAIN_USAGE);
  const outDir = path.resolve(requireOption(values.out, "out", TRAIN_USAGE));
  const classKeys = resolveClassKeys(scheme);
  const d = DEFAULT_TRAIN_CONFIG;
  const optimizer = parseChoice(values.optimizer, "optimizer", ["sgd", "adam"] as const, d.optimizer);
  const config: TrainConfig = {
    backbone: parseContractOption(values.backbone, "backbone", backboneSchema, d.backbone),
    inputSize: parseContractOption(values["input-size"], "input-size", inputSizeSchema, d.inputSize, true),
    alpha: parseNumberOption(values.alpha, "alpha", d.alpha ?? 0.35),
    dropout: parseNumberOption(values.dropout, "dropout", d.dropout ?? 0.2),
    epochs: parseIntOption(values.epochs, "epochs", d.epochs, 1),
    batchSize: parseIntOption(values["batch-size"], "batch-size", d.batchSize, 1),
    optimizer,
    // Adam wants a far smaller rate than SGD; pick a sane default when only --optimizer is given.
    learningRate: parseNumberOption(values.lr, "lr", optimizer === "adam" ? 2e-3 : d.learningRate),
    momentum: d.momentum,
    weightDecay: parseNumberOption(values["weight-decay"], "weight-decay", d.weightDecay),
    labelSmoothing: parseNumberOption(values["label-smoothing"], "label-smoothing", d.labelSmoothing),
    schedule: parseChoice<ScheduleName>(values.schedule, "schedule", ["one-cycle", "cosine", "constant"], d.schedule),
    earlyStoppingPatience: parseIntOption(values.patience, "patience", d.earlyStoppingPatience),
    earlyStoppingStart: d.earlyStoppingStart,
    balance: parseChoice<BalanceMode>(values.balance, "balance", ["sampler", "weights", "none"], d.balance),
    augment: parseAugmentOptions(d.augment, values.zoom, values["colour-jitter"]),
    seed: parseIntOption(values.seed, "seed", d.seed),
    calibrate: !values["no-calibrate"],
    // One wasm replica per core (wasm is single-threaded in Node); capped at 2, this machine's size.
    workers: parseIntOption(values.workers, "workers", Math.min(2, availableParallelism()), 1),
    ...(values.pretrained
      ? {
          pretrained: {
            location: path.resolve(values.pretrained),
            frozenEpochs: parseIntOption(values["frozen-epochs"], "frozen-epochs", 3),
          },
        }
      : {}),
  };
  const timeBudgetMin =
    values["time-budget-min"] === undefined ? undefined : parseNumberOption(values["time-budget-min"], "time-budget-min", 0);
  if (timeBudgetMin !== undefined && !(timeBudgetMin > 0)) throw new Error(`--time-budget-min must be a positive number of minutes`);
  const valFraction = parseNumberOption(values["val-fraction"], "val-fraction", CLI_TRAIN_DEFAULTS.valFraction);
  const testFraction = parseNumberOption(values["test-fraction"], "test-fraction", CLI_TRAIN_DEFAULTS.testFraction);
  const margin = parseNumberOption(values.margin, "margin", DEFAULT_CROP_MARGIN);
  const cellFraction = parseNumberOption(values["cell-fraction"], "cell-fraction", DEFAULT_CELL_FRACTION);
  if (!(cellFraction > 0 && cellFraction <= 1)) throw new Error(`--cell-fraction must be in (0, 1] (got ${cellFraction})`);
  const colour = parseContractOption(values.colour, "colour", colourNormalisationSchema, "none");
  // Recorded in config.json: eval, predict and the trainer decode exactly like this.
  const crop: ClassifierArtifactConfig["crop"] = toCropSettings(
    { cellCentre: values["cell-centre"] === true, cellFraction, colour },
    margin,
  );
  const cacheDir = values["cache-dir"] ?? env.cacheDir;

  const backend = await selectBackend({ preferred: parseBackendPreference(values.backend ?? env.backend), log: logLine });
  const loaded = await loadLabeledSets(
    dataPaths.map((source, i) => {
      const from = maps.length === 1 ? maps[0] : maps[i];
      return { source, ...(from && from !== "none" ? { mapFrom: from } : {}) };
    }),
    scheme,
    classKeys,
  );
  for (const [set, skipped] of Object.entries(loaded.skipped)) {
    for (const [label, n] of Object.entries(skipped)) logLine(`[data] ${set}: skipped ${n} items labelled '${label}' (not in ${scheme})`);
  }
  let kept = loaded.items.map((_, i) => i);
  const limit = values.limit === undefined ? undefined : parseIntOption(values.limit, "limit", 0, 1);
  if (limit !== undefined) kept = kept.filter((_, i) => i % Math.max(1, Math.floor(kept.length / limit)) === 0).slice(0, limit);
  const items = kept.map((i) => loaded.items[i]!);
  const setOf = kept.map((i) => loaded.setOf[i]!);
  const multiSet = loaded.setNames.length > 1;
  const labels = toLabelIndices(items, classKeys);
  // Several sets: each set is split in its own class proportions, so every site is in every split.
  const split = splitDataset(items, labels, { valFraction, testFraction, seed: config.seed, ...(multiSet ? { strata: setOf } : {}) });
  if (multiSet) {
    for (const name of loaded.setNames) {
      const n = (idx: number[]): number => idx.filter((i) => setOf[i] === name).length;
      logLine(`[data] set ${name}: train ${n(split.train)}, val ${n(split.val)}, test ${n(split.test)}`);
    }
  }
  logLine(
    `[data] ${items.length} images, ${split.method} split: train ${split.train.length}, val ${split.val.length}, test ${split.test.length}; ` +
      `per class ${classKeys.map((k, i) => `${k}=${countByClass(labels, classKeys.length)[i]}`).join(" ")}`,
  );
  const set = await loadImageSet(items, {
    inputSize: config.inputSize,
    ...crop,
    concurrency: parseIntOption(values.concurrency, "concurrency", 4, 1),
    cacheDir,
    onProgress: createDecodeProgress("decode"),
    signal,
  });

  if (timeBudgetMin !== undefined) {
    // The cap covers the whole command: what decoding used, plus a reserve for test and saving.
    const elapsed = (performance.now() - t0) / 1000;
    const reserve = 30 + split.test.length / 200;
    config.timeBudgetSeconds = Math.max(60, timeBudgetMin * 60 - elapsed - reserve);
  }
  logLine(
    `[train] ${config.backbone} @${config.inputSize}px, ${config.epochs} epochs planned` +
      (config.timeBudgetSeconds === undefined ? "" : `, capped at ${(config.timeBudgetSeconds / 60).toFixed(1)} min`),
  );
  const result = await trainClassifier({ set, labels, classKeys, trainIndices: split.train, valIndices: split.val }, config, {
    log: logLine,
    signal,
    progressEveryBatches: 20,
    onProgress: (p) => {
      if (p.batch) {
        logLine(
          `[train]   epoch ${p.epoch} batch ${p.batch.done}/${p.batch.total} loss=${p.loss.toFixed(4)} ` +
            `${p.imagesPerSec.toFixed(1)} img/s lr=${p.learningRate.toExponential(2)}`,
        );
      }
    },
  });

  const evalIndices = split.test.length > 0 ? split.test : split.val;
  const dataSources = loaded.setNames.length === 1 ? path.resolve(dataPaths[0]!) : dataPaths.map((p) => path.resolve(p));
  let evaluation: EvaluationReport | undefined;
  if (evalIndices.length > 0) {
    const preds = await predictImageSet(result.model, set, evalIndices, result.stats);
    const context = {
      split: split.test.length > 0 ? "test" : "val",
      n: evalIndices.length,
      data: dataSources,
      seed: config.seed,
    };
    evaluation = buildEvaluationReport(
      evalIndices.map((i) => labels[i] as number),
      preds.probs,
      classKeys,
      context,
    );
    if (multiSet) evaluation = { ...evaluation, perSet: buildPerSetReports(evalIndices, preds.probs, labels, setOf, classKeys, context) };
  }
  const totalSeconds = (performance.now() - t0) / 1000;
  await saveClassifierArtifacts(outDir, result.model, {
    format: "hemaloop-classifier",
    version: 1,
    classKeys,
    scheme,
    inputSize: config.inputSize,
    backbone: config.pretrained ? "pretrained" : config.backbone,
    normalization: result.stats,
    crop,
    train: config,
    history: result.history,
    bestEpoch: result.bestEpoch,
    stopReason: result.stopReason,
    plannedEpochs: result.plannedEpochs,
    ...(result.timeBudget ? { timeBudget: result.timeBudget } : {}),
    trainSeconds: result.trainSeconds,
    temperature: result.temperature,
    backend: backend.name,
    createdAt: new Date().toISOString(),
    dataset: {
      source: dataSources,
      ...(multiSet ? { sets: Object.fromEntries(loaded.setNames.map((n) => [n, setOf.filter((s) => s === n).length])) } : {}),
      images: items.length,
      split: { method: split.method, train: split.train.length, val: split.val.length, test: split.test.length },
      totalSeconds,
    },
  });
  if (evaluation) await writeJsonFile(path.join(outDir, "evaluation.json"), evaluation);
  const summary = {
    out: outDir,
    backend: backend.name,
    backbone: config.backbone,
    inputSize: config.inputSize,
    epochs: result.history.length,
    plannedEpochs: result.plannedEpochs,
    bestEpoch: result.bestEpoch,
    stopReason: result.stopReason,
    ...(result.timeBudget ? { timeBudget: result.timeBudget } : {}),
    trainMinutes: Number((result.trainSeconds / 60).toFixed(1)),
    temperature: Number(result.temperature.toFixed(3)),
    totalMinutes: Number((totalSeconds / 60).toFixed(1)),
    ...(evaluation
      ? {
          evaluatedOn: evaluation.context["split"],
          accuracy: evaluation.accuracy,
          balancedAccuracy: evaluation.balancedAccuracy,
          kappa: evaluation.kappa,
          minRecall: Math.min(...Object.values(evaluation.perClass).map((m) => m.recall ?? 1)),
          collapsed: evaluation.collapsed,
          ...(evaluation.perSet
            ? {
                perSet: Object.fromEntries(
                  Object.entries(evaluation.perSet).map(([n, r]) => [
                    n,
                    { n: r.n, accuracy: r.accuracy, balancedAccuracy: r.balancedAccuracy },
                  ]),
                ),
              }
            : {}),
        }
      : {}),
  };
  if (evaluation) logLine(`[eval] recalls: ${formatRecalls(evaluation.perClass)}`);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  result.model.dispose();
}

/** The report of each set's share of the evaluated images. */
function buildPerSetReports(
  evalIndices: readonly number[],
  probs: readonly number[][],
  labels: readonly number[],
  setOf: readonly string[],
  classKeys: readonly string[],
  context: Record<string, unknown>,
): Record<string, EvaluationReport> {
  const bySet = new Map<string, number[]>();
  evalIndices.forEach((item, row) => {
    const rows = bySet.get(setOf[item]!) ?? [];
    rows.push(row);
    bySet.set(setOf[item]!, rows);
  });
  const out: Record<string, EvaluationReport> = {};
  for (const [name, rows] of bySet) {
    out[name] = buildEvaluationReport(
      rows.map((r) => labels[evalIndices[r]!]!),
      rows.map((r) => probs[r]!),
      classKeys,
      { ...context, set: name, n: rows.length },
    );
    logLine(`[eval] ${name}: n=${rows.length} accuracy=${out[name].accuracy?.toFixed(4)} recalls ${formatRecalls(out[name].perClass)}`);
  }
  return out;
}

/** --zoom "min,max" and --colour-jitter on top of the default augmentation, checked by the job payload's schema. */
function parseAugmentOptions(base: AugmentOptions, zoom: string | undefined, jitter: string | undefined): AugmentOptions {
  const zoomRange = zoom === undefined ? undefined : zoom.split(",").map(Number);
  const parsed = augmentSettingsSchema.safeParse({
    ...(zoomRange ? { zoom: zoomRange } : {}),
    ...(jitter !== undefined ? { colourJitter: Number(jitter) } : {}),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (issue?.path[0] === "zoom") throw new Error(`--zoom must be MIN,MAX with 0 < MIN <= MAX <= 8, got '${zoom}'`);
    throw new Error(`--colour-jitter must be in [0, 1), got '${jitter}'`);
  }
  return toAugmentOptions(
    { ...(zoomRange ? { zoom: parsed.data.zoom } : {}), ...(jitter !== undefined ? { colourJitter: parsed.data.colourJitter } : {}) },
    base,
  );
}
