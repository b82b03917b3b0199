import { and, desc, eq, isNotNull, sql } from "drizzle-orm";
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
  /** encodeEmbedding bytes (float16 / int8) of the penultimate layer. */
  embedding?: Uint8Array | null;
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
): Promise<{ written: number; idsByCell: Map<string, string> }> {
  const batchSize = options.batchSize ?? 500;
  const idsByCell = new Map<string, string>();
  for (let i = 0; i < rows.length; i += batchSize) {
    const batch = rows.slice(i, i + batchSize).map((r) => ({ ...r, bald: r.bald ?? null, embedding: r.embedding ?? null, modelVersionId }));
    const saved = await db.transaction(async (tx) =>
      tx
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
        })
        .returning({ id: prediction.id, cellId: prediction.cellId }),
    );
    for (const row of saved) idsByCell.set(row.cellId, row.id);
  }
  return { written: idsByCell.size, idsByCell };
}

export async function listPredictions(db: DbOrTx, modelVersionId: string, options: { limit?: number } = {}) {
  return db
    .select()
    .from(prediction)
    .where(and(eq(prediction.modelVersionId, modelVersionId)))
    .orderBy(desc(prediction.entropy))
    .limit(options.limit ?? 100);
}

/** The stored embeddings of a model version's predictions (encoded bytes), by cell id. */
export async function listPredictionEmbeddings(
  db: DbOrTx,
  modelVersionId: string,
): Promise<Array<{ cellId: string; embedding: Uint8Array }>> {
  const rows = await db
    .select({ cellId: prediction.cellId, embedding: prediction.embedding })
    .from(prediction)
    .where(and(eq(prediction.modelVersionId, modelVersionId), isNotNull(prediction.embedding)))
    .orderBy(prediction.cellId);
  return rows.map((r) => ({ cellId: r.cellId, embedding: r.embedding! }));
}
