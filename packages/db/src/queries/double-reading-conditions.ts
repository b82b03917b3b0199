import { sql, type SQL } from "drizzle-orm";
import type { ProjectSettings, reviewQueueItem } from "../schema";

type QueueKind = (typeof reviewQueueItem.$inferSelect)["kind"];

/**
 * A blind queue shows neither the prediction nor anyone else's reading, and accepts no prediction:
 * double reading always is; a project whose settings say `blindReading` makes every queue blind.
 */
export function isBlindQueue(kind: QueueKind, settings: ProjectSettings | null | undefined): boolean {
  return kind === "double_reading" || settings?.blindReading === true;
}

/**
 * Extra claim conditions per queue kind, over the candidate `review_queue_item` row (the inner
 * subqueries alias their table `o`, so the outer name still means the candidate):
 * - double_reading: never a round of a cell the reader holds or decided another round of, nor a cell
 *   they labelled already (the readings must be independent); round 2 only once round 1 is taken, so
 *   one claim statement never hands both rounds of a cell to the same reader;
 * - adjudication: never a cell the lead read in double reading;
 * - every other queue: never a cell picked for double reading (it is read blind, twice, there).
 */
export function claimConditionsForKind(kind: QueueKind, projectId: string, userId: string): SQL {
  const item = sql`"review_queue_item"`;
  if (kind === "double_reading") {
    return sql`(not exists (select 1 from review_queue_item o where o.project_id = ${projectId} and o.kind = 'double_reading'
        and o.cell_id = ${item}.cell_id and o.id <> ${item}.id and o.claimed_by = ${userId} and o.status in ('claimed', 'done'))
      and not exists (select 1 from label l where l.cell_id = ${item}.cell_id and l.reader_id = ${userId})
      and (${item}.round = 1 or not exists (select 1 from review_queue_item o where o.project_id = ${projectId}
        and o.kind = 'double_reading' and o.cell_id = ${item}.cell_id and o.round < ${item}.round
        and (o.status = 'pending' or (o.status = 'claimed' and o.lease_expires_at < now())))))`;
  }
  if (kind === "adjudication") {
    return sql`not exists (select 1 from review_queue_item o where o.project_id = ${projectId} and o.kind = 'double_reading'
      and o.cell_id = ${item}.cell_id and o.claimed_by = ${userId} and o.status = 'done')`;
  }
  return sql`not exists (select 1 from review_queue_item o where o.project_id = ${projectId} and o.kind = 'double_reading'
    and o.cell_id = ${item}.cell_id)`;
}
