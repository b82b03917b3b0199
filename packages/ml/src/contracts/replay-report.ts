/**
 * replay.json: what a label-budget replay (`ml replay`, and later the replay job) writes. The web
 * app parses stored reports with this schema. Recall is null for a class absent from the test split.
 */
import { z } from "zod";

export const replayRoundSchema = z.object({
  /** 0-based round; round 0 is the cold-start seed. */
  round: z.number().int().nonnegative(),
  labels: z.number().int().positive(),
  accuracy: z.number().min(0).max(1),
  balancedAccuracy: z.number().min(0).max(1),
  /** Per class key, recall on the test split. */
  perClassRecall: z.record(z.string(), z.number().min(0).max(1).nullable()),
  /** Whether a full fine-tune (and re-embedding) ran before this round's head fit. */
  fineTuned: z.boolean(),
  seconds: z.number().nonnegative(),
});

export const replayRunSchema = z.object({
  strategy: z.string(),
  repeat: z.number().int().nonnegative(),
  rounds: z.array(replayRoundSchema).min(1),
  /** Labels at the first round reaching 99 % of the full-label accuracy; null if never within the budget. */
  labelsTo99: z.number().int().positive().nullable(),
  /** Area under accuracy-vs-labels (trapezoid), divided by the label range: mean accuracy over it, in [0, 1]. */
  aulc: z.number().min(0).max(1),
  /** Per class key: labels count when the class first appeared among the labelled cells; null if never. */
  firstLabelsWithClass: z.record(z.string(), z.number().int().positive().nullable()),
  /** Picks in order as item indices (row of the manifest/folder listing): batches[0] is the cold-start seed. */
  batches: z.array(z.array(z.number().int().nonnegative())),
});

export const replayReportSchema = z.object({
  version: z.literal(1),
  data: z.string(),
  classKeys: z.array(z.string()).min(2),
  settings: z.object({
    strategies: z.array(z.string()).min(1),
    seedSize: z.number().int().positive(),
    batchSize: z.number().int().positive(),
    budget: z.number().int().positive(),
    repeats: z.number().int().positive(),
    seed: z.number().int(),
    testFraction: z.number().gt(0).lt(1),
    /** Fine-tune every `threshold` new labels; null = head-only rounds. */
    threshold: z.number().int().positive().nullable(),
    quotas: z.number().min(0).max(1).nullable(),
    /** Where the embeddings came from (e.g. "pretrained:<dir>", "pixel-statistics"). */
    featuriser: z.string(),
  }),
  split: z.object({ pool: z.number().int().positive(), test: z.number().int().positive(), method: z.enum(["grouped", "stratified"]) }),
  fullLabel: z.object({ labels: z.number().int().positive(), accuracy: z.number(), balancedAccuracy: z.number() }),
  runs: z.array(replayRunSchema),
  seconds: z.number().nonnegative(),
});

export type ReplayRound = z.infer<typeof replayRoundSchema>;
export type ReplayRun = z.infer<typeof replayRunSchema>;
export type ReplayReport = z.infer<typeof replayReportSchema>;
