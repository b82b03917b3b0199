import { and, desc, eq, sql } from "drizzle-orm";
import type { DbOrTx } from "../client";
import { prediction } from "../schema";

export type PredictionInput = {
  cellId: string;
  predictedClassId: string;
  /** Mean probabilities in the scheme's class order. */
  probabilities: number[];
  confidence: number;
  leastConfidence: number;
  margin: number;
  entropy: number;
  bald?: number | null;
  embedding?: number[] | null;
};

/**
 * Writes predictions in batched transactions. Upserts on (cell, model version), so re-running a
 * prediction job replaces rows instead of duplicating them.
 */
export async function writePredictions(
  db: DbOrTx,
  modelVersionId: string,
  rows: PredictionInput[],
  options: { batchSize?: number } = {},
): Promise<number> {
  const batchSize = options.batchSize ?? 500;
  let written = 0;
  for (let i = 0; i < rows.length; i += batchSize) {
    const batch = rows.slice(i, i + batchSize).map((r) => ({ ...r, bald: r.bald ?? null, embedding: r.embedding ?? null, modelVersionId }));
    await db.transaction(async (tx) => {
      await tx
        .insert(prediction)
        .values(batch)
        .onConflictDoUpdate({
          target: [prediction.cellId, prediction.modelVersionId],
          set: {
            predictedClassId: sql`excluded.predicted_class_id`,
            probabilities: sql`excluded.probabilities`,
            confidence: sql`excluded.confidence`,
            leastConfidence: sql`excluded.least_confidence`,
            margin: sql`excluded.margin`,
            entropy: sql`excluded.entropy`,
            bald: sql`excluded.bald`,
            embedding: sql`excluded.embedding`,
          },
        });
    });
    written += batch.length;
  }
  return written;
}

export async function listPredictions(db: DbOrTx, modelVersionId: string, options: { limit?: number } = {}) {
  return db
    .select()
    .from(prediction)
    .where(and(eq(prediction.modelVersionId, modelVersionId)))
    .orderBy(desc(prediction.entropy))
    .limit(options.limit ?? 100);
}
