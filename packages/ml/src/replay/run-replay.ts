/**
 * Label-budget replay: on a fully labelled set, hide the labels, start from a cold-start seed and
 * let each query strategy pick batches with the true labels as the oracle, retraining as the
 * product does (light head on cached embeddings every round; a full fine-tune and re-embedding
 * every `threshold` new labels when the featuriser can fine-tune), scoring every round on a
 * held-out test split that no strategy ever sees. Pure apart from the featuriser it is given, so
 * the CLI and a trainer job can both drive it; progress goes to a callback.
 */
import {
  fitLightHead,
  pickColdStartBatch,
  predictLightHead,
  sampleLightHeadDropout,
  selectQueryBatch,
  type LightHead,
  type LightHeadConfig,
  type QueryStrategy,
} from "../active-learning";
import { selectRows, type EmbeddingMatrix } from "../active-learning/embedding-matrix";
import type { ReplayReport, ReplayRound, ReplayRun } from "../contracts/replay-report";
import { deriveSeed } from "../data/rng";
import { splitDataset } from "../data/splits";
import type { LabeledItem } from "../data/labeled-items";
import { computeAccuracy, computeBalancedAccuracy, computeConfusionMatrix, computePerClassMetrics } from "../metrics";
import { computeNormalizedAulc, findLabelsToReach } from "./curve-metrics";
import { standardizeColumns } from "./standardize";

/** A model state the featuriser owns (e.g. a tfjs model); the replay only passes it back. */
export type FeaturiserState = object;

/** Where embeddings come from. Rows are the replay input's items, in order. */
export interface ReplayFeaturiser {
  /** Recorded in the report, e.g. "pretrained:/models/base" or "pixel-statistics". */
  name: string;
  /** Embeddings [items, dim] from the starting model: the cold start and head-only rounds use these. */
  embedStart(signal?: AbortSignal): Promise<EmbeddingMatrix>;
  /**
   * Full fine-tune from `previous` (undefined = the starting model) on the labelled rows, then
   * embeddings of every item from the new model. Absent: rounds are head-only.
   */
  fineTune?(args: {
    previous: FeaturiserState | undefined;
    rows: readonly number[];
    labels: readonly number[];
    seed: number;
    signal?: AbortSignal;
  }): Promise<{
    state: FeaturiserState;
    embeddings: EmbeddingMatrix;
  }>;
  /** Frees a state fineTune returned. */
  release?(state: FeaturiserState): void;
}

export interface ReplayInput {
  /** Items (only the grouping fields are read: patient, smear, and file for cells on field images). */
  items: readonly Pick<LabeledItem, "file" | "patient" | "smear" | "box" | "point">[];
  /** True class index per item: the oracle, and the test truth. */
  labels: readonly number[];
  classKeys: readonly string[];
  /** Recorded in the report (the manifest or folder). */
  dataName: string;
  featuriser: ReplayFeaturiser;
}

export interface ReplayOptions {
  strategies: readonly QueryStrategy[];
  /** Cold-start seed size (labels before the first strategy pick). */
  seedSize: number;
  batchSize: number;
  /** Stop once this many labels (seed included) are in. */
  budget: number;
  repeats: number;
  seed?: number;
  /** Share of the items held out for testing (grouped, stratified). Default 0.2. */
  testFraction?: number;
  /** Fine-tune every `threshold` new labels (product default 200); null/undefined = head-only. */
  threshold?: number | null;
  /** Minimum share per predicted class in each strategy batch; null = no quotas. */
  quotas?: number | null;
  /** MC-dropout passes of the head for BALD. Default 10. */
  mcPasses?: number;
  duplicateThreshold?: number;
  head?: LightHeadConfig;
  signal?: AbortSignal;
}

export interface ReplayProgress {
  phase: "embed" | "full-label" | "round";
  repeat?: number;
  strategy?: string;
  round?: number;
  labels?: number;
  accuracy?: number;
  /** Rounds done / planned over all runs. */
  done: number;
  total: number;
  /** Seconds left at the pace so far; null before the first round. */
  etaSeconds: number | null;
}

export interface ReplayResult {
  report: ReplayReport;
  /** Item indices of the held-out test split (never offered to a strategy). */
  testRows: number[];
}

/** Runs the replay; see the module comment. Throws a clear error on inconsistent settings. */
export async function runLabelBudgetReplay(
  input: ReplayInput,
  options: ReplayOptions,
  onProgress: (p: ReplayProgress) => void = () => undefined,
): Promise<ReplayResult> {
  const t0 = performance.now();
  const { labels, classKeys, featuriser } = input;
  const numClasses = classKeys.length;
  const seed = options.seed ?? 0;
  const testFraction = options.testFraction ?? 0.2;
  const threshold = options.threshold ?? null;
  const quotas = options.quotas ?? null;
  const mcPasses = options.mcPasses ?? 10;
  validateOptions(input, options, testFraction);

  // Field-image crops share a field: group them so neighbours never sit on both sides.
  const splitItems = input.items.map((it, i) => ({
    file: it.file,
    label: classKeys[labels[i]!]!,
    patient: it.patient,
    smear: it.smear ?? (it.box || it.point ? `field:${it.file}` : undefined),
  }));
  const split = splitDataset(splitItems, labels, { valFraction: 0, testFraction, seed: deriveSeed(seed, "replay-test") });
  const test = split.test;
  const pool = [...split.train, ...split.val].sort((a, b) => a - b);
  if (test.length === 0) throw new Error("the test split is empty: use more items or a larger --test-fraction");
  if (options.budget > pool.length) {
    throw new Error(`budget ${options.budget} exceeds the ${pool.length} cells left for picking after the test split`);
  }
  const isTest = new Uint8Array(labels.length);
  for (const r of test) isTest[r] = 1;
  const testLabels = test.map((r) => labels[r]!);

  const roundsPerRun = 1 + Math.ceil((options.budget - options.seedSize) / options.batchSize);
  const total = roundsPerRun * options.strategies.length * options.repeats;
  let done = 0;
  let roundsStart = 0;
  const eta = (): number | null => (done === 0 ? null : (((performance.now() - roundsStart) / done) * Math.max(0, total - done)) / 1000);

  onProgress({ phase: "embed", done, total, etaSeconds: null });
  const start = standardizeColumns(await featuriser.embedStart(options.signal));
  if (start.rows !== labels.length) throw new Error(`the featuriser returned ${start.rows} embeddings for ${labels.length} items`);

  // Full-label reference: the same procedure with every pool label (one fine-tune when rounds fine-tune).
  onProgress({ phase: "full-label", done, total, etaSeconds: null });
  let fullEmbeddings = start;
  let fullState: FeaturiserState | undefined;
  if (threshold !== null && featuriser.fineTune) {
    const tuned = await featuriser.fineTune({
      previous: undefined,
      rows: pool,
      labels: pool.map((r) => labels[r]!),
      seed,
      signal: options.signal,
    });
    fullEmbeddings = standardizeColumns(tuned.embeddings);
    fullState = tuned.state;
  }
  const fullHead = fitHead(fullEmbeddings, pool, labels, numClasses, options.head);
  const fullScore = evaluateHead(fullHead, fullEmbeddings, test, testLabels, classKeys);
  if (fullState !== undefined) featuriser.release?.(fullState);

  const runs: ReplayRun[] = [];
  roundsStart = performance.now();
  for (let repeat = 0; repeat < options.repeats; repeat++) {
    const poolStart = selectRows(start, pool);
    // One cold-start seed per repeat, shared by every strategy, so strategies differ only in what they pick.
    const seedRows = pickColdStartBatch(poolStart, options.seedSize, {
      seed: deriveSeed(seed, `cold-start-${repeat}`),
      ...(options.duplicateThreshold !== undefined ? { duplicateThreshold: options.duplicateThreshold } : {}),
    }).map((p) => pool[p]!);
    for (const strategy of options.strategies) {
      const run = await replayOneRun({ strategy, repeat, seedRows });
      runs.push(run);
    }
  }

  async function replayOneRun(args: { strategy: QueryStrategy; repeat: number; seedRows: number[] }): Promise<ReplayRun> {
    const { strategy, repeat } = args;
    const labelled = [...args.seedRows];
    const isLabelled = new Uint8Array(labels.length);
    for (const r of labelled) isLabelled[r] = 1;
    const batches: number[][] = [[...args.seedRows]];
    const rounds: ReplayRound[] = [];
    let embeddings = start;
    let state: FeaturiserState | undefined;
    let sinceTune = labelled.length;
    try {
      for (let round = 0; ; round++) {
        options.signal?.throwIfAborted();
        const roundStart = performance.now();
        let fineTuned = false;
        if (threshold !== null && featuriser.fineTune && sinceTune >= threshold) {
          const tuned = await featuriser.fineTune({
            previous: state,
            rows: labelled,
            labels: labelled.map((r) => labels[r]!),
            seed: deriveSeed(seed, `tune-${strategy}-${repeat}-${round}`),
            signal: options.signal,
          });
          if (state !== undefined) featuriser.release?.(state);
          state = tuned.state;
          embeddings = standardizeColumns(tuned.embeddings);
          sinceTune = 0;
          fineTuned = true;
        }
        const head = fitHead(embeddings, labelled, labels, numClasses, options.head);
        const score = evaluateHead(head, embeddings, test, testLabels, classKeys);
        rounds.push({ round, labels: labelled.length, ...score, fineTuned, seconds: 0 });

        const room = options.budget - labelled.length;
        if (room > 0) {
          const picked = pickNextBatch(
            strategy,
            head,
            embeddings,
            labelled,
            Math.min(room, options.batchSize),
            deriveSeed(seed, `${strategy}-${repeat}-${round}`),
          );
          // budget <= pool size, so an empty batch before the budget means a strategy bug.
          if (picked.length === 0) throw new Error(`internal: strategy ${strategy} found no candidates with ${room} labels of budget left`);
          for (const r of picked) {
            if (isTest[r] === 1) throw new Error(`internal: strategy ${strategy} picked test row ${r}`);
            if (isLabelled[r] === 1) throw new Error(`internal: strategy ${strategy} picked labelled row ${r}`);
            isLabelled[r] = 1;
            labelled.push(r);
          }
          batches.push(picked);
          sinceTune += picked.length;
        }
        rounds[rounds.length - 1]!.seconds = round4((performance.now() - roundStart) / 1000);
        done++;
        onProgress({
          phase: "round",
          repeat,
          strategy,
          round,
          labels: rounds[rounds.length - 1]!.labels,
          accuracy: score.accuracy,
          done,
          total,
          etaSeconds: eta(),
        });
        if (room <= 0) break;
      }
    } finally {
      if (state !== undefined) featuriser.release?.(state);
    }
    const curve = rounds.map((r) => ({ labels: r.labels, accuracy: r.accuracy }));
    return {
      strategy,
      repeat,
      rounds,
      labelsTo99: findLabelsToReach(curve, 0.99 * fullScore.accuracy),
      aulc: computeNormalizedAulc(curve),
      firstLabelsWithClass: findFirstLabelsWithClass(batches, labels, classKeys),
      batches,
    };
  }

  function pickNextBatch(
    strategy: QueryStrategy,
    head: LightHead,
    embeddings: EmbeddingMatrix,
    labelled: readonly number[],
    k: number,
    roundSeed: number,
  ): number[] {
    const poolEmbeddings = selectRows(embeddings, pool);
    const probabilities = predictLightHead(head, poolEmbeddings);
    const mcSamples = strategy === "bald" ? sampleLightHeadDropout(head, poolEmbeddings, mcPasses, { seed: roundSeed }) : undefined;
    const batch = selectQueryBatch(
      { ids: pool, embeddings: poolEmbeddings, probabilities, ...(mcSamples ? { mcSamples } : {}), labelledIds: labelled },
      {
        strategy,
        batchSize: k,
        seed: roundSeed,
        ...(options.duplicateThreshold !== undefined ? { duplicateThreshold: options.duplicateThreshold } : {}),
        ...(quotas !== null ? { quotas: { minShare: quotas } } : {}),
      },
    );
    return batch.ids;
  }

  const report: ReplayReport = {
    version: 1,
    data: input.dataName,
    classKeys: [...classKeys],
    settings: {
      strategies: [...options.strategies],
      seedSize: options.seedSize,
      batchSize: options.batchSize,
      budget: options.budget,
      repeats: options.repeats,
      seed,
      testFraction,
      threshold,
      quotas,
      featuriser: featuriser.name,
    },
    split: { pool: pool.length, test: test.length, method: split.method },
    fullLabel: { labels: pool.length, accuracy: fullScore.accuracy, balancedAccuracy: fullScore.balancedAccuracy },
    runs,
    seconds: round4((performance.now() - t0) / 1000),
  };
  return { report, testRows: [...test] };
}

function validateOptions(input: ReplayInput, options: ReplayOptions, testFraction: number): void {
  const positive = (v: number, name: string): void => {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  };
  positive(options.seedSize, "seed size");
  positive(options.batchSize, "batch size");
  positive(options.budget, "budget");
  positive(options.repeats, "repeats");
  if (options.strategies.length === 0) throw new RangeError("at least one strategy is needed");
  if (options.seedSize > options.budget) throw new RangeError(`seed size ${options.seedSize} exceeds the budget ${options.budget}`);
  if (!(testFraction > 0 && testFraction < 1)) throw new RangeError(`test fraction must lie in (0, 1), got ${testFraction}`);
  if (options.threshold != null) positive(options.threshold, "threshold");
  if (options.quotas != null && !(options.quotas >= 0 && options.quotas <= 1))
    throw new RangeError(`quota share must lie in [0, 1], got ${options.quotas}`);
  if (input.items.length !== input.labels.length) throw new RangeError(`${input.items.length} items but ${input.labels.length} labels`);
  if (input.classKeys.length < 2) throw new RangeError("a replay needs at least 2 classes");
  for (const y of input.labels) {
    if (!Number.isInteger(y) || y < 0 || y >= input.classKeys.length)
      throw new RangeError(`label ${y} is not a class index below ${input.classKeys.length}`);
  }
}

function fitHead(
  embeddings: EmbeddingMatrix,
  rows: readonly number[],
  labels: readonly number[],
  numClasses: number,
  config?: LightHeadConfig,
): LightHead {
  return fitLightHead(
    selectRows(embeddings, rows),
    rows.map((r) => labels[r]!),
    numClasses,
    config,
  );
}

function evaluateHead(
  head: LightHead,
  embeddings: EmbeddingMatrix,
  test: readonly number[],
  testLabels: readonly number[],
  classKeys: readonly string[],
): Pick<ReplayRound, "accuracy" | "balancedAccuracy" | "perClassRecall"> {
  const probs = predictLightHead(head, selectRows(embeddings, test));
  const predicted = probs.map((row) => row.reduce((best, p, c) => (p > row[best]! ? c : best), 0));
  const confusion = computeConfusionMatrix([...testLabels], predicted, classKeys.length);
  const perClass = computePerClassMetrics(confusion);
  return {
    accuracy: computeAccuracy(confusion),
    balancedAccuracy: computeBalancedAccuracy(confusion),
    perClassRecall: Object.fromEntries(classKeys.map((k, c) => [k, perClass[c]!.recall])),
  };
}

function findFirstLabelsWithClass(
  batches: readonly number[][],
  labels: readonly number[],
  classKeys: readonly string[],
): Record<string, number | null> {
  const first: Record<string, number | null> = Object.fromEntries(classKeys.map((k) => [k, null]));
  let count = 0;
  for (const batch of batches) {
    for (const r of batch) {
      count++;
      const key = classKeys[labels[r]!]!;
      if (first[key] === null) first[key] = count;
    }
  }
  return first;
}

function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
