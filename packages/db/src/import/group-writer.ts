import type { Db } from "../client";
import { type ImageRowsInput, insertImageRows } from "./insert-image-rows";

export type WriteOutcome =
  { status: "written"; imageId: string; labels: number } | { status: "duplicate" } | { status: "failed"; error: unknown };

/**
 * Group commit for image rows: callers await their own outcome, while everything queued during one
 * transaction goes into the next one. On the embedded database every statement runs on the main
 * thread, so fewer, larger transactions leave more of it to the rest of the import. A batch that
 * fails is retried one image at a time, so one bad image never takes others down with it.
 */
export function createGroupWriter(db: Db, context: { schemeId: string; actorId: string | null; maxBatch: number }) {
  type Pending = { item: ImageRowsInput; resolve: (outcome: WriteOutcome) => void };
  let queue: Pending[] = [];
  let running = false;

  async function writeBatch(batch: Pending[]): Promise<void> {
    try {
      const results = await insertImageRows(
        db,
        batch.map((p) => p.item),
        context,
      );
      batch.forEach((p, i) => {
        const r = results[i];
        p.resolve(r ? { status: "written", imageId: r.imageId, labels: r.labels } : { status: "duplicate" });
      });
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.resolve({ status: "failed", error });
        return;
      }
      for (const p of batch) await writeBatch([p]);
    }
  }

  async function run(): Promise<void> {
    if (running) return;
    running = true;
    try {
      while (queue.length > 0) {
        const batch = queue.slice(0, context.maxBatch);
        queue = queue.slice(batch.length);
        await writeBatch(batch);
      }
    } finally {
      running = false;
    }
  }

  return {
    write(item: ImageRowsInput): Promise<WriteOutcome> {
      return new Promise((resolve) => {
        queue.push({ item, resolve });
        void run();
      });
    },
  };
}
